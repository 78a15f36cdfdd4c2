"""Per-file entries kept between runs: a re-run reads only new or changed exports.

Two kinds of entries are kept, each in a folder, one file per export:

* :class:`bessx.cache.SummaryCache`: the per-file summaries of
  :func:`bessx.onepass.daily_from_exports`
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

An entry holds data, never code (:func:`dump_entry`): a JSON header giving the format
version, the bessx version, the value's structure (the fields of the kind's dataclasses:
lists, tuples, dicts, numbers, text) and each array's dtype and shape, then the arrays'
raw bytes. Reading one parses JSON and copies numbers, booleans, times and fixed-width text
out of bytes (never a pickle: an object array cannot be written or read); the only objects
made are the dataclasses the kind's type hints name, each field checked against its hint
while it is built, and :meth:`EntryCache.check` checks the arrays' shapes. An entry that
fails any check is discarded and recomputed, with one :class:`~bessx.errors.CacheWarning`
naming it. The cache degrades, it never stops a run: a folder that cannot be created or
written (a full disk, a read-only or foreign folder) gives one warning naming it and the
reason, and the run goes on uncached. A file whose fingerprint cannot be taken (no
permission, vanished) is a miss, and its entry is not written: reading it is what reports
the problem.

Entries are written to a temporary file and renamed into place, so a killed or concurrent
run never leaves a torn entry; :meth:`EntryCache.prune` removes the entries of files that
are gone or changed. The two kinds can share a folder (their file names end differently).
The cache never lives in the data folder: ``bessx run`` keeps it inside ``--out``.

A value computed from several files read as one (a day exported per block of inverters,
:mod:`bessx.io.groups`) is kept under one entry whose key is built from every member's key
(:meth:`EntryCache.put_group`): a change to any member is a miss for the group.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import math
import os
import tempfile
import threading
import time
import types
import typing
import warnings
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Final

from bessx.errors import CacheWarning, first_line

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "EntryCache",
    "fingerprint",
]


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


#: The kinds of array an entry may hold: numbers, booleans, times and fixed-width text.
_ARRAY_KINDS: Final = frozenset("biufcmMUS")


def _encode(value: Any, arrays: list[np.ndarray], classes: dict[str, type]) -> Any:
    """``value`` as JSON; its arrays and numpy times are put in ``arrays``."""
    import numpy as np  # here, not at import: an up-to-date run loads no numpy

    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    if isinstance(value, np.ndarray | np.generic):
        array = np.asarray(value)
        if array.dtype.kind not in _ARRAY_KINDS:
            raise TypeError(f"an array of {array.dtype} cannot be kept")
        arrays.append(array)
        return {"array" if isinstance(value, np.ndarray) else "scalar": len(arrays) - 1}
    if isinstance(value, list | tuple):
        return [_encode(item, arrays, classes) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("only dicts with text keys can be kept")
        return {key: _encode(item, arrays, classes) for key, item in value.items()}
    if dataclasses.is_dataclass(value) and classes.get(type(value).__name__) is type(value):
        return {
            item.name: _encode(getattr(value, item.name), arrays, classes) for item in fields(value)
        }
    raise TypeError(f"a {type(value).__name__} cannot be kept")


@functools.lru_cache(maxsize=32)
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


@functools.lru_cache(maxsize=128)
def _parts(hint: Any) -> tuple[Any, tuple[Any, ...]]:
    return typing.get_origin(hint), typing.get_args(hint)


_SCALARS: Final = {str: (str,), int: (int,), bool: (bool,), float: (int, float)}


def _scalar_rows(node: Any, items: tuple[Any, ...]) -> list[tuple[Any, ...]] | None:
    """A list of fixed tuples of scalars (the DC inputs' keys) built in one pass, or None
    when ``items`` are not all scalars."""
    kinds = [_SCALARS.get(item) for item in items]
    if any(kind is None for kind in kinds):
        return None
    width = len(items)
    for row in node:
        if type(row) is not list or len(row) != width:
            raise _Unusable("not a list of tuples")
        for value, kind in zip(row, kinds, strict=True):
            if type(value) not in kind:  # type: ignore[operator]
                raise _Unusable("not a list of tuples of the right types")
    floats = [index for index, item in enumerate(items) if item is float]
    rows = [tuple(row) for row in node]
    if floats:
        rows = [tuple(float(v) if i in floats else v for i, v in enumerate(row)) for row in rows]
    return rows


def _build(node: Any, hint: Any, arrays: list[np.ndarray]) -> Any:
    """The value of type ``hint`` that :func:`_encode` turned into ``node``, checked while
    it is built: only the dataclasses named by the type hints are made."""
    import numpy as np  # here, not at import: an up-to-date run loads no numpy

    origin, arguments = _parts(hint)
    if origin in (types.UnionType, typing.Union):
        members = arguments
        if node is None and type(None) in members:
            return None
        for member in members:
            if member is not type(None):
                try:
                    return _build(node, member, arrays)
                except _Unusable:
                    continue
        raise _Unusable(f"not a {hint}")
    if hint is np.ndarray or hint is np.datetime64:
        key = "array" if hint is np.ndarray else "scalar"
        index = node.get(key) if isinstance(node, dict) and len(node) == 1 else None
        if not isinstance(index, int) or not 0 <= index < len(arrays):
            raise _Unusable(f"not a {hint.__name__}")
        value = arrays[index] if key == "array" else arrays[index][()]
        if hint is np.datetime64 and not isinstance(value, np.datetime64):
            raise _Unusable("not a time")
        return value
    if hint is str or hint is bool:
        if type(node) is not hint:
            raise _Unusable(f"not a {hint.__name__}")
        return node
    if hint is int:
        if type(node) is not int:
            raise _Unusable("not an integer")
        return node
    if hint is float:
        if type(node) not in (int, float):
            raise _Unusable("not a number")
        return float(node)
    if origin is list:
        if not isinstance(node, list):
            raise _Unusable("not a list")
        (item,) = arguments
        if item is str:  # the columns' names: checked in one go
            if not all(type(element) is str for element in node):
                raise _Unusable("not a list of text")
            return list(node)
        item_origin, item_arguments = _parts(item)
        if item_origin is tuple and Ellipsis not in item_arguments:
            rows = _scalar_rows(node, item_arguments)
            if rows is not None:
                return rows
        return [_build(element, item, arrays) for element in node]
    if origin is tuple:
        if not isinstance(node, list):
            raise _Unusable("not a tuple")
        items = arguments
        if len(items) == 2 and items[1] is Ellipsis:
            if items[0] is str:
                if not all(type(element) is str for element in node):
                    raise _Unusable("not a tuple of text")
                return tuple(node)
            return tuple(_build(element, items[0], arrays) for element in node)
        if len(node) != len(items):
            raise _Unusable(f"not a tuple of {len(items)}")
        return tuple(
            _build(element, item, arrays) for element, item in zip(node, items, strict=True)
        )
    if origin is dict:
        key_hint, value_hint = arguments
        if not isinstance(node, dict) or key_hint is not str:
            raise _Unusable("not a dict")
        return {key: _build(element, value_hint, arrays) for key, element in node.items()}
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = _hints(hint)
        if not isinstance(node, dict) or set(node) != set(hints):
            raise _Unusable(f"the fields of a {hint.__name__} differ")
        built = {name: _build(node[name], hints[name], arrays) for name in hints}
        try:
            return hint(**built)
        except (TypeError, ValueError) as error:
            raise _Unusable(f"not a {hint.__name__}: {first_line(error)}") from None
    raise _Unusable(f"a {hint} cannot be read")


#: An entry's first bytes: what it is and its format's version.
_MAGIC: Final = b"bessx-cache\x00"


def dump_entry(value: Any, classes: Iterable[type], compressed: bool = False) -> bytes:
    """The bytes of an entry holding ``value``.

    The layout: ``_MAGIC`` (``bessx-cache`` and a NUL byte), the format version (1 byte),
    whether compressed (1 byte), then (zlib-compressed if so) the JSON header's length (8
    bytes, little-endian), the JSON header (format version, bessx version, the value's
    structure, and each array's dtype, shape and place) and the arrays' bytes, one after the
    other.

    Examples
    --------
    >>> load_entry(dump_entry((1, 2.5, "a"), ()), (), tuple[int, float, str])
    (1, 2.5, 'a')
    """
    from bessx import __version__

    registry = {cls.__name__: cls for cls in classes}
    arrays: list[np.ndarray] = []
    tree = _encode(value, arrays, registry)
    places, offset = [], 0
    for array in arrays:
        places.append([array.dtype.str, list(array.shape), offset])
        offset += array.nbytes
    header = {"version": FORMAT_VERSION, "bessx": __version__, "value": tree, "arrays": places}
    text = json.dumps(header, allow_nan=True, separators=(",", ":")).encode()
    body = b"".join([len(text).to_bytes(8, "little"), text, *(a.tobytes() for a in arrays)])
    flags = bytes([FORMAT_VERSION, int(compressed)])
    return _MAGIC + flags + (zlib.compress(body, 1) if compressed else body)


def load_entry(raw: bytes, classes: Iterable[type], kind: Any) -> Any:
    """The value of type ``kind`` an entry's bytes hold; nothing in them is run: the JSON
    is parsed, the arrays are copied from bytes (numbers, booleans, times and text only),
    and the only objects made are those ``kind``'s type hints name (of ``classes``).

    Raises
    ------
    ValueError
        When the bytes are not an entry of this format and bessx version, or hold a field
        of another type or an array of another kind.
    """
    import numpy as np  # here, not at import: an up-to-date run loads no numpy

    from bessx import __version__

    allowed = {cls.__name__ for cls in classes}
    if not raw.startswith(_MAGIC) or len(raw) < len(_MAGIC) + 2:
        raise ValueError("not an entry of this format")
    version, compressed = raw[len(_MAGIC)], raw[len(_MAGIC) + 1]
    if version != FORMAT_VERSION:
        raise ValueError(f"an entry of format {version}, not {FORMAT_VERSION}")
    body = raw[len(_MAGIC) + 2 :]
    try:
        body = zlib.decompress(body) if compressed else body
        length = int.from_bytes(body[:8], "little")
        header = json.loads(body[8 : 8 + length])
    except (zlib.error, ValueError) as error:
        raise ValueError(f"a torn entry ({first_line(error)})") from None
    if not isinstance(header, dict) or header.get("bessx") != __version__:
        raise ValueError("written by another bessx version")
    data = memoryview(body)[8 + length :]
    arrays = []
    try:
        for dtype_text, shape, offset in header["arrays"]:
            dtype = np.dtype(dtype_text)
            if dtype.kind not in _ARRAY_KINDS:
                raise ValueError(f"an array of {dtype}")
            count = math.prod(int(size) for size in shape)
            if offset < 0 or offset + count * dtype.itemsize > len(data):
                raise ValueError("an array beyond the entry's end")
            flat = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            arrays.append(flat.reshape(shape).copy())
        return _build(header["value"], kind, arrays) if _names_ok(kind, allowed) else None
    except (_Unusable, KeyError, TypeError, ValueError, RecursionError) as error:
        raise ValueError(first_line(error)) from None


def _names_ok(kind: Any, allowed: set[str]) -> bool:
    """Whether a dataclass ``kind`` is one of the allowed ones (a plain type always is)."""
    if isinstance(kind, type) and dataclasses.is_dataclass(kind) and kind.__name__ not in allowed:
        raise _Unusable(f"a {kind.__name__} is not kept here")
    return True


class EntryCache:
    """Values kept per export in ``folder`` between runs, under the key of
    :mod:`bessx.io.entries`.

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
        """The type of the values kept (:attr:`~bessx.io.entries.EntryCache.holds`, unless a
        subclass says otherwise)."""
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
        return self._get_entry(self._entry(Path(path), settings))

    def _group_entry(self, paths: Sequence[str | os.PathLike], settings: Any) -> Path | None:
        """The entry of a group of files read as one (:mod:`bessx.io.groups`): its name
        is built from every member's own key, so a change to any member is a miss; None
        when a member has no fingerprint now."""
        members = [self._entry(Path(path), settings) for path in paths]
        if any(member is None for member in members):
            return None
        resolved = [str(Path(path).resolve()) for path in paths]
        names = [member.name for member in members if member is not None]
        return self.folder / f"{_digest(*resolved)}-{_digest(*names)}{self.suffix}"

    def get_group(self, paths: Sequence[str | os.PathLike], settings: Any) -> Any | None:
        """:meth:`get` for a group of files whose value was computed from all of them."""
        return self._get_entry(self._group_entry(paths, settings))

    def put_group(self, paths: Sequence[str | os.PathLike], settings: Any, value: Any) -> None:
        """:meth:`put` for a group of files whose value was computed from all of them."""
        if self._unwritable is None:
            self._put_entry(self._group_entry(paths, settings), value)

    def _get_entry(self, entry: Path | None) -> Any | None:
        if not self._readable or entry is None:
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
            value = load_entry(raw, self.classes(), self.kind())
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
        if self._unwritable is None:
            self._put_entry(self._entry(Path(path), settings), value)

    def _put_entry(self, entry: Path | None, value: Any) -> None:
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
        self,
        paths: Iterable[str | os.PathLike],
        settings: Any,
        *,
        others: bool = True,
        groups: Iterable[Sequence[str | os.PathLike]] = (),
    ) -> int:
        """Remove the entries of ``paths`` that are stale (the file changed since, or other
        settings) and, with ``others``, the entries of every other file; returns how many.
        The current entries of ``groups`` (:meth:`put_group`) are kept.

        Temporary files abandoned by a killed run are removed too. A folder that cannot be
        listed or changed is left as it is (with a warning, unless writing failed already).
        """
        entries = [self._entry(Path(path), settings) for path in paths]
        entries += [self._group_entry(group, settings) for group in groups]
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
