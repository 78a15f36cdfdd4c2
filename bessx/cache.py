"""Per-file entries kept between runs: a re-run reads only new or changed exports.

Two kinds of entries are kept, each in a folder, one file per export:

* :class:`SummaryCache`: the per-file summaries of :func:`bessx.onepass.daily_from_exports`
  (tens of kB each), so that a re-run of ``bessx run`` reads no unchanged export;
* :class:`bessx.io.index.ExportIndex`: what :func:`bessx.open_exports` learns from each
  export's footer (its columns and timestamps), so that a second open parses no footer.

Both are :class:`EntryCache` and share its key:

* the export's resolved path and :func:`fingerprint`: its size, modification and status
  change times (ns), inode, its first 64 KiB and a CRC-32 of its whole parquet footer
  (which describes every column chunk: where it lies, how long it is, its statistics).
  A rewrite changes the status change time and usually the inode, which ``touch -r`` or a
  copy tool that keeps times cannot restore;
* every setting the entry depends on (a frozen dataclass, such as
  :class:`bessx.onepass.Settings`) and the bessx version.

An entry holds data, never code: it is a ``.npz`` archive (read with
``allow_pickle=False``) of the value's arrays and a JSON header that gives the format
version, the bessx version and the value's structure (dataclasses of the kind's own list,
lists, tuples, dicts, numbers, text). Reading an entry builds only those classes, and checks
every field's type and the arrays' shapes; an entry that fails any check is discarded and
recomputed, with one :class:`~bessx.errors.CacheWarning` naming it. The cache degrades,
it never stops a run: a folder that cannot be created or written (a full disk, a read-only
or foreign folder) gives one warning naming it and the reason, and the run goes on
uncached. A file whose fingerprint cannot be taken (no permission, vanished) is a miss, and
its entry is not written: reading it is what reports the problem.

Entries are written to a temporary file and renamed into place, so a killed or concurrent
run never leaves a torn entry; :meth:`EntryCache.prune` removes the entries of files that
are gone or changed. The two kinds can share a folder (their file names end differently).
The cache never lives in the data folder: ``bessx run`` keeps it inside ``--out``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import io
import json
import os
import tempfile
import threading
import time
import types
import typing
import warnings
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Final

import numpy as np

from bessx.errors import CacheWarning, first_line

__all__ = ["EntryCache", "SummaryCache", "fingerprint"]

#: Bytes hashed at the start of an export for its fingerprint (its footer is hashed whole).
FINGERPRINT_BYTES: Final = 64 * 1024
#: The version of the entries' format: an entry of another version is discarded.
FORMAT_VERSION: Final = 1
_FORMAT: Final = "bessx-cache"
_HEADER: Final = "header"
_PARQUET_MAGIC: Final = b"PAR1"
_TEMPORARY: Final = ".partial-"
#: Temporary files older than this were left by a killed run [s].
_ABANDONED_AFTER: Final = 3600.0


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _settings_token(settings: Any) -> str:
    """The digest of the settings and the bessx version (worked out once per settings)."""
    try:
        return _hashable_settings_token(settings)
    except TypeError:  # unhashable settings: every time
        return _token(settings)


@functools.lru_cache(maxsize=16)
def _hashable_settings_token(settings: Any) -> str:
    return _token(settings)


def _token(settings: Any) -> str:
    from bessx import __version__

    values = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if hasattr(value, "pattern"):  # column patterns: the expressions in force
            value = (value.pattern("dc_power").pattern, value.pattern("soc").pattern)
        values.append((item.name, repr(value)))
    return _digest(__version__, values)


@functools.lru_cache(maxsize=8)
def _layout_digest(classes: tuple[type, ...], version: int) -> str:
    return _digest(
        version, [(cls.__name__, [item.name for item in fields(cls)]) for cls in classes]
    )


def fingerprint(path: str | os.PathLike) -> str:
    """A hash that changes whenever a file is rewritten, even with its times restored.

    A BLAKE2 hash of the file's size, modification and status change times [ns], device
    and inode, its first :data:`FINGERPRINT_BYTES` and a CRC-32 of its whole parquet footer
    (the footer's length is read from the file's last 8 bytes; a file that does not end
    like a parquet file has its last :data:`FINGERPRINT_BYTES` taken instead). About 2 ms
    for a full-width export (a 2.2 MB footer).

    Parameters
    ----------
    path
        The file.

    Returns
    -------
    str
        32 hexadecimal digits.

    Raises
    ------
    OSError
        When the file cannot be opened or read (then it has no fingerprint: a cache must
        treat it as changed).

    Examples
    --------
    >>> import os, tempfile
    >>> handle, name = tempfile.mkstemp()
    >>> _ = os.write(handle, b"PAR1 data PAR1"); os.close(handle)
    >>> before = fingerprint(name)
    >>> stat = os.stat(name)
    >>> with open(name, "r+b") as file:
    ...     _ = file.write(b"PAR1 DATA PAR1")
    >>> os.utime(name, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the time restored
    >>> fingerprint(name) == before
    False
    >>> os.remove(name)
    """
    with open(path, "rb") as file:
        stat = os.fstat(file.fileno())
        size = stat.st_size
        digest = hashlib.blake2b(digest_size=16)
        digest.update(
            repr((size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_dev, stat.st_ino)).encode()
        )
        digest.update(file.read(FINGERPRINT_BYTES))
        tail = min(size, FINGERPRINT_BYTES)
        if size >= 12:
            file.seek(size - 8)
            end = file.read(8)
            footer = int.from_bytes(end[:4], "little") + 8
            if end[4:] == _PARQUET_MAGIC and footer <= size - 4:
                tail = footer
        file.seek(size - tail)
        # CRC-32 runs at memory speed (a full-width footer is ~2 MB, hashed in ~2 ms where
        # BLAKE2 takes ~10 ms): it guards against mistakes, not forgeries (whoever can write
        # the export decides its numbers anyway)
        digest.update(repr((tail, zlib.crc32(file.read(tail)))).encode())
    return digest.hexdigest()


# The entries' format: data only -------------------------------------------------------------
class _Unusable(Exception):
    """An entry that cannot be used (torn, foreign, of another version or shape)."""


def _encode(value: Any, arrays: dict[str, np.ndarray], classes: dict[str, type]) -> Any:
    """``value`` as JSON, its arrays (and numpy scalars) put in ``arrays``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError("an array of Python objects cannot be kept")
        key = f"a{len(arrays)}"
        arrays[key] = array
        return {"array" if isinstance(value, np.ndarray) else "scalar": key}
    if isinstance(value, list):
        return [_encode(item, arrays, classes) for item in value]
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, arrays, classes) for item in value]}
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("only dicts with text keys can be kept")
        return {"dict": {key: _encode(item, arrays, classes) for key, item in value.items()}}
    if dataclasses.is_dataclass(value) and classes.get(type(value).__name__) is type(value):
        return {
            "class": type(value).__name__,
            "fields": {
                item.name: _encode(getattr(value, item.name), arrays, classes)
                for item in fields(value)
            },
        }
    raise TypeError(f"a {type(value).__name__} cannot be kept")


def _decode(node: Any, arrays: Any, classes: dict[str, type]) -> Any:
    """The value that :func:`_encode` turned into ``node``; builds only ``classes``."""
    if node is None or isinstance(node, bool | int | float | str):
        return node
    if isinstance(node, list):
        return [_decode(item, arrays, classes) for item in node]
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise _Unusable("an unknown kind of value")
    if "array" in node or "scalar" in node:
        key = node.get("array", node.get("scalar"))
        if not isinstance(key, str) or key not in arrays:
            raise _Unusable(f"array {key!r} is missing")
        array = arrays[key]
        return array if "array" in node else array[()]
    if "tuple" in node and isinstance(node["tuple"], list):
        return tuple(_decode(item, arrays, classes) for item in node["tuple"])
    if "dict" in node and isinstance(node["dict"], dict):
        return {key: _decode(item, arrays, classes) for key, item in node["dict"].items()}
    name, values = node.get("class"), node.get("fields")
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None or not isinstance(values, dict):
        raise _Unusable(f"an unknown class {name!r}")
    names = {item.name for item in fields(cls)}
    if set(values) != names:
        raise _Unusable(f"the fields of a {name} differ")
    decoded = {key: _decode(item, arrays, classes) for key, item in values.items()}
    hints = typing.get_type_hints(cls)
    for key, item in decoded.items():
        if not _is_a(item, hints[key]):
            raise _Unusable(f"{name}.{key} is not a {hints[key]}")
    try:
        return cls(**decoded)
    except (TypeError, ValueError) as error:
        raise _Unusable(f"not a {name}: {first_line(error)}") from None


def _is_a(value: Any, hint: Any) -> bool:
    """Whether ``value`` is of the type hint ``hint`` (the kinds an entry may hold)."""
    if hint is Any:
        return True
    if hint is type(None) or hint is None:
        return value is None
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        return any(_is_a(value, argument) for argument in arguments)
    if origin is list:
        return isinstance(value, list) and all(_is_a(item, arguments[0]) for item in value)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return all(_is_a(item, arguments[0]) for item in value)
        return len(value) == len(arguments) and all(map(_is_a, value, arguments))
    if origin is dict:
        return isinstance(value, dict) and all(
            _is_a(key, arguments[0]) and _is_a(item, arguments[1]) for key, item in value.items()
        )
    if hint is float:
        return isinstance(value, float | int | np.floating | np.integer) and not isinstance(
            value, bool
        )
    if hint is int:
        return isinstance(value, int | np.integer) and not isinstance(value, bool)
    if hint is np.datetime64:
        return isinstance(value, np.datetime64)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return False


def dump_entry(value: Any, classes: Iterable[type], compressed: bool = False) -> bytes:
    """The bytes of an entry holding ``value`` (see the module docstring for the format).

    Examples
    --------
    >>> load_entry(dump_entry({"a": (1, 2.5)}, ()), ())
    {'a': (1, 2.5)}
    """
    from bessx import __version__

    registry = {cls.__name__: cls for cls in classes}
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(value, arrays, registry)
    header = {"format": _FORMAT, "version": FORMAT_VERSION, "bessx": __version__, "value": tree}
    text = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    members: dict[str, Any] = {_HEADER: np.frombuffer(text, dtype=np.uint8), **arrays}
    save: Any = np.savez_compressed if compressed else np.savez
    save(buffer, **members)
    return buffer.getvalue()


def load_entry(raw: bytes, classes: Iterable[type]) -> Any:
    """The value of an entry's bytes; never runs code of the entry (``allow_pickle=False``).

    Raises
    ------
    ValueError
        When the bytes are not an entry of this format and bessx version, or hold a class
        not in ``classes``, a field of the wrong type or an array holding Python objects.
    """
    from bessx import __version__

    registry = {cls.__name__: cls for cls in classes}
    if not raw.startswith(b"PK"):
        raise ValueError("not an entry of this format")
    try:
        with np.load(io.BytesIO(raw), allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"not an entry ({first_line(error)})") from None
    try:
        header = json.loads(bytes(arrays.pop(_HEADER)).decode())
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"no header ({first_line(error)})") from None
    if not isinstance(header, dict) or header.get("format") != _FORMAT:
        raise ValueError("not a bessx cache entry")
    if header.get("version") != FORMAT_VERSION or header.get("bessx") != __version__:
        raise ValueError(
            f"written by another version (format {header.get('version')!r}, "
            f"bessx {header.get('bessx')!r})"
        )
    try:
        return _decode(header.get("value"), arrays, registry)
    except (_Unusable, RecursionError, TypeError, ValueError) as error:
        raise ValueError(first_line(error)) from None


class EntryCache:
    """Values kept per export in ``folder`` between runs, under the key of :mod:`bessx.cache`.

    A subclass says what its entries hold (:attr:`holds`, built of the dataclasses that
    :meth:`classes` lists and checked by :meth:`check`: anything else read back is
    discarded), how their file names end (:attr:`suffix`) and whether they are compressed.
    ``get`` and ``put`` may be called from several threads at once. No failure of the cache
    itself stops a run: each gives one :class:`~bessx.errors.CacheWarning` naming the entry
    or folder and the reason, and the value is then computed, not kept.

    Parameters
    ----------
    folder
        Created if missing. Keep it out of the data folder.

    Attributes
    ----------
    hits, misses : int
        How many ``get`` calls found a usable entry, and how many did not.
    """

    #: The ending of this kind's entry files.
    suffix: ClassVar[str] = ".entry"
    #: The type of the values kept.
    holds: ClassVar[type] = object
    #: Whether entries are compressed (worth it for text, such as column names).
    compressed: ClassVar[bool] = False

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[str, int, int, int, int, str], Path | None] = {}
        self._count_lock = threading.Lock()
        #: set once writing failed: the rest of the run goes on without writing
        self._unwritable: str | None = None
        #: whether the folder exists (else nothing is read or written)
        self._readable = True
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            self._readable = False
            self._give_up(self.folder, error)

    @classmethod
    def kind(cls) -> type:
        """The type of the values kept (:attr:`holds`, unless a subclass says otherwise)."""
        return cls.holds

    @classmethod
    def classes(cls) -> tuple[type, ...]:
        """The dataclasses an entry of this kind may hold (:meth:`kind` itself, if one)."""
        return (cls.kind(),) if dataclasses.is_dataclass(cls.kind()) else ()

    def check(self, value: Any) -> None:
        """Raise ValueError if a value read back is not one this kind keeps (its shapes)."""

    @classmethod
    def layout(cls) -> str:
        """A digest of the kept classes' fields, part of the key: entries of an earlier
        layout of the classes are never read (only pruned), so a code change is not taken
        for a damaged entry."""
        return _layout_digest(cls.classes(), FORMAT_VERSION)

    def _give_up(self, where: Path, error: OSError) -> None:
        """Stop writing for this run, with one warning naming the place and the reason."""
        with self._count_lock:
            if self._unwritable is not None:
                return
            self._unwritable = f"{where}: {error.strerror or first_line(error)}"
        warnings.warn(
            CacheWarning(
                f"{where}: cannot write the cache ({error.strerror or first_line(error)}); "
                "this run goes on without it"
            ),
            stacklevel=3,
        )

    def _entry(self, path: Path, settings: Any) -> Path | None:
        """The entry's file, or None when the file has no fingerprint now (no permission,
        vanished); the fingerprint is taken once per file and state."""
        try:
            resolved, stat = str(path.resolve()), path.stat()
        except OSError:
            return None
        token = _settings_token(settings)
        memo = (resolved, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, token)
        if memo not in self._entries:
            try:
                key = fingerprint(path)
            except OSError:
                return None  # not remembered: it may be readable next time
            name = f"{_digest(resolved)}-{_digest(key, token, self.layout())}{self.suffix}"
            self._entries[memo] = self.folder / name
        return self._entries[memo]

    def _count(self, hit: bool) -> None:
        with self._count_lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def get(self, path: str | os.PathLike, settings: Any) -> Any | None:
        """The value kept for ``path`` under ``settings``, or None (then it is a miss)."""
        entry = self._entry(Path(path), settings) if self._readable else None
        if entry is None:
            self._count(hit=False)
            return None
        try:
            raw = entry.read_bytes()
        except FileNotFoundError:
            self._count(hit=False)
            return None
        except OSError as error:  # a permission, an I/O error: computed instead
            warnings.warn(
                CacheWarning(
                    f"{entry}: cannot read the cache entry ({error.strerror or error}); recomputed"
                ),
                stacklevel=2,
            )
            self._count(hit=False)
            return None
        try:
            value = load_entry(raw, self.classes())
            if not isinstance(value, self.kind()):
                raise ValueError(f"not a {self.kind().__name__}")
            self.check(value)
        except (ValueError, TypeError, IndexError, KeyError) as error:
            warnings.warn(
                CacheWarning(f"{entry}: cache entry discarded ({first_line(error)}); recomputed"),
                stacklevel=2,
            )
            with _quietly():
                entry.unlink(missing_ok=True)
            self._count(hit=False)
            return None
        self._count(hit=True)
        return value

    def put(self, path: str | os.PathLike, settings: Any, value: Any) -> None:
        """Keep ``value`` for ``path``: written aside, then renamed into place."""
        if self._unwritable is not None:
            return
        entry = self._entry(Path(path), settings)
        if entry is None:
            return
        raw = dump_entry(value, self.classes(), compressed=self.compressed)
        try:
            handle, temporary = tempfile.mkstemp(prefix=_TEMPORARY, dir=self.folder)
        except OSError as error:
            self._give_up(self.folder, error)
            return
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(raw)
            os.replace(temporary, entry)
        except OSError as error:
            with _quietly():
                Path(temporary).unlink(missing_ok=True)
            self._give_up(entry, error)
        except BaseException:
            with _quietly():
                Path(temporary).unlink(missing_ok=True)
            raise

    def prune(
        self, paths: Iterable[str | os.PathLike], settings: Any, *, others: bool = True
    ) -> int:
        """Remove the entries of ``paths`` that are stale (the file changed since, or other
        settings) and, with ``others``, the entries of every other file; returns how many.

        Temporary files abandoned by a killed run are removed too. A folder that cannot be
        listed or changed is left as it is (with a warning, unless writing failed already).
        """
        entries = [self._entry(Path(path), settings) for path in paths]
        current = {entry.name for entry in entries if entry is not None}
        files = {name.partition("-")[0] for name in current}
        removed = 0
        if not self._readable:
            return removed
        try:
            for entry in self.folder.iterdir():
                if entry.name.startswith(_TEMPORARY):
                    if time.time() - entry.stat().st_mtime > _ABANDONED_AFTER:
                        entry.unlink(missing_ok=True)
                    continue
                if entry.suffix != self.suffix or entry.name in current:
                    continue
                owner = entry.name.partition("-")[0]
                if others or owner in files:
                    entry.unlink(missing_ok=True)
                    removed += 1
        except OSError as error:
            if self._unwritable is None:
                self._give_up(self.folder, error)
        return removed


def _quietly() -> contextlib.AbstractContextManager[None]:
    """Ignore an OS error (removing what a failed cache left behind)."""
    return contextlib.suppress(OSError)


class SummaryCache(EntryCache):
    """Per-export summaries of :func:`bessx.onepass.daily_from_exports`, kept in ``folder``.

    Parameters
    ----------
    folder
        Created if missing. Keep it out of the data folder.

    Examples
    --------
    >>> import tempfile
    >>> cache = SummaryCache(tempfile.mkdtemp())
    >>> cache.hits, cache.misses
    (0, 0)
    """

    suffix = ".summary"

    @classmethod
    def kind(cls) -> type:
        from bessx.onepass.summary import Summary

        return Summary

    @classmethod
    def classes(cls) -> tuple[type, ...]:
        from bessx.health_kernels import DayParts
        from bessx.onepass.summary import DailySummary, HealthSummary, Summary

        return (Summary, DailySummary, HealthSummary, DayParts)

    def check(self, value: Any) -> None:
        """The arrays of a summary agree with its days, DC inputs and SOC columns."""
        days, dc, soc = len(value.dates), len(value.dc_keys), len(value.soc_ids)
        expect: list[tuple[str, np.ndarray, tuple[int | None, ...], str]] = [
            ("dates", value.dates, (days,), "M"),
            ("soc_dc_input", value.soc_dc_input, (soc,), "iu"),
            ("steps", value.steps[0], (len(value.steps[1]),), "iu"),
        ]
        if value.daily is not None:
            daily = value.daily
            expect += [
                ("energy", daily.energy, (3, days, dc), "f"),
                ("swings", daily.swings, (3, days, soc), "f"),
                ("power_counts", daily.power_counts, (None, days, dc), "iu"),
                ("soc_counts", daily.soc_counts, (None, days, soc), "iu"),
                ("power_held", daily.power_held, (days, dc), "f"),
                ("soc_held", daily.soc_held, (days, soc), "f"),
                ("duplicates", daily.duplicates, (days,), "iu"),
                ("last_power", daily.last_power, (dc,), "f"),
                ("last_power_received", daily.last_power_received, (dc,), "b"),
                ("last_soc_received", daily.last_soc_received, (soc,), "b"),
            ]
        if value.health is not None:
            parts = value.health.parts
            inputs, slots = (
                parts.per_enclosure.shape[2:]
                if parts.per_enclosure.ndim == 4
                else (
                    -1,
                    -1,
                )
            )
            n = len(parts.present)
            expect += [
                ("present", parts.present, (n,), "b"),
                ("per_input", parts.per_input, (5, n, inputs), "f"),
                ("per_enclosure", parts.per_enclosure, (2, n, inputs, slots), "f"),
                ("held", parts.held, (5, n, inputs), "f"),
                ("plant", parts.plant, (5, n), "f"),
                ("last_power", value.health.last_power, (inputs,), "f"),
            ]
        for name, array, shape, kinds in expect:
            if (
                array.dtype.kind not in kinds
                or len(array.shape) != len(shape)
                or any(
                    want is not None and got != want
                    for got, want in zip(array.shape, shape, strict=True)
                )
            ):
                raise ValueError(
                    f"{name} is {array.dtype}{list(array.shape)}, not of shape {shape}"
                )
