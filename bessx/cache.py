"""Per-file entries kept between runs: a re-run reads only new or changed exports.

Two kinds of entries are kept, each in a folder, one file per export:

* :class:`SummaryCache`: the per-file summaries of :func:`bessx.onepass.daily_from_exports`
  (tens of kB each), so that a re-run of ``bessx run`` reads no unchanged export;
* :class:`bessx.io.index.ExportIndex`: what :func:`bessx.open_exports` learns from each
  export's footer (its columns and timestamps), so that a second open parses no footer.

Both are :class:`EntryCache` and share its key:

* the export's resolved path, size and modification time (ns),
* a content fingerprint: a BLAKE2 hash of its first and last 64 KiB (the parquet footer,
  which describes every column chunk, lies at the end), so a file replaced by another of
  the same size with an older time is still recognised as changed,
* every setting the entry depends on (a frozen dataclass, such as
  :class:`bessx.onepass.Settings`) and the bessx version.

A value computed from several files read as one (a day exported per block of inverters,
:mod:`bessx.io.groups`) is kept under one entry whose key is built from every member's key
(:meth:`EntryCache.put_group`): a change to any member is a miss for the group.

An entry that cannot be read is discarded and recomputed; entries are written to a
temporary file and renamed into place, so a killed or concurrent run never leaves a torn
entry; :meth:`EntryCache.prune` removes the entries of files that are gone or changed.
The two kinds can share a folder (their file names end differently). The cache never lives
in the data folder: ``bessx run`` keeps it inside ``--out``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import tempfile
import threading
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, ClassVar, Final

__all__ = ["EntryCache", "SummaryCache"]

#: Bytes hashed at each end of an export for its fingerprint.
FINGERPRINT_BYTES: Final = 64 * 1024
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
            value = value.expressions()
        values.append((item.name, repr(value)))
    return _digest(__version__, values)


def fingerprint(path: Path) -> str:
    """A hash of the size, the first and the last :data:`FINGERPRINT_BYTES` of a file."""
    size = path.stat().st_size
    digest = hashlib.blake2b(str(size).encode(), digest_size=16)
    with path.open("rb") as file:
        digest.update(file.read(FINGERPRINT_BYTES))
        if size > FINGERPRINT_BYTES:
            file.seek(max(size - FINGERPRINT_BYTES, FINGERPRINT_BYTES))
            digest.update(file.read())
    return digest.hexdigest()


class EntryCache:
    """Values kept per export in ``folder`` between runs, under the key of :mod:`bessx.cache`.

    A subclass says what its entries hold (:attr:`holds`: anything else read back is
    discarded), how their file names end (:attr:`suffix`) and whether they are compressed.
    ``get`` and ``put`` may be called from several threads at once.

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
    #: Whether entries are zlib-compressed (worth it for text, such as column names).
    compressed: ClassVar[bool] = False

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[str, int, int, str], Path] = {}
        self._count_lock = threading.Lock()

    def _entry(self, path: Path, settings: Any) -> Path:
        """The entry's file; the fingerprint is taken once per file and state."""
        resolved, stat = str(path.resolve()), path.stat()
        token = _settings_token(settings)
        memo = (resolved, stat.st_size, stat.st_mtime_ns, token)
        if memo not in self._entries:
            key = _digest(resolved, stat.st_size, stat.st_mtime_ns, fingerprint(path))
            name = f"{_digest(resolved)}-{_digest(key, token)}{self.suffix}"
            self._entries[memo] = self.folder / name
        return self._entries[memo]

    def _count(self, hit: bool) -> None:
        with self._count_lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1

    def _group_entry(self, paths: Sequence[str | os.PathLike], settings: Any) -> Path:
        """The entry of a group of files read as one (:mod:`bessx.io.groups`): its name
        is built from every member's own key, so a change to any member is a miss."""
        members = [self._entry(Path(path), settings).name for path in paths]
        resolved = [str(Path(path).resolve()) for path in paths]
        return self.folder / f"{_digest(*resolved)}-{_digest(*members)}{self.suffix}"

    def get_group(self, paths: Sequence[str | os.PathLike], settings: Any) -> Any | None:
        """:meth:`get` for a group of files whose value was computed from all of them."""
        return self._get_entry(self._group_entry(paths, settings))

    def put_group(self, paths: Sequence[str | os.PathLike], settings: Any, value: Any) -> None:
        """:meth:`put` for a group of files whose value was computed from all of them."""
        self._put_entry(self._group_entry(paths, settings), value)

    def get(self, path: str | os.PathLike, settings: Any) -> Any | None:
        """The value kept for ``path`` under ``settings``, or None (then it is a miss)."""
        return self._get_entry(self._entry(Path(path), settings))

    def _get_entry(self, entry: Path) -> Any | None:
        try:
            with entry.open("rb") as file:
                if self.compressed:
                    value = pickle.loads(zlib.decompress(file.read()))
                else:
                    value = pickle.load(file)
            if not isinstance(value, self.holds):
                raise TypeError(f"not a {self.holds.__name__}")
        except FileNotFoundError:
            self._count(hit=False)
            return None
        except Exception:  # a torn or foreign file: discard it, recompute
            entry.unlink(missing_ok=True)
            self._count(hit=False)
            return None
        self._count(hit=True)
        return value

    def put(self, path: str | os.PathLike, settings: Any, value: Any) -> None:
        """Keep ``value`` for ``path``: written aside, then renamed into place."""
        self._put_entry(self._entry(Path(path), settings), value)

    def _put_entry(self, entry: Path, value: Any) -> None:
        handle, temporary = tempfile.mkstemp(prefix=_TEMPORARY, dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                if self.compressed:
                    raw = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
                    file.write(zlib.compress(raw, 1))
                else:
                    pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        except BaseException:
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

        Temporary files abandoned by a killed run are removed too.
        """
        current = {self._entry(Path(path), settings).name for path in paths}
        current |= {self._group_entry(group, settings).name for group in groups}
        files = {name.partition("-")[0] for name in current}
        removed = 0
        for entry in self.folder.iterdir():
            if entry.name.startswith(_TEMPORARY):
                if time.time() - entry.stat().st_mtime > _ABANDONED_AFTER:
                    entry.unlink(missing_ok=True)
                continue
            if entry.suffix != self.suffix or entry.name in current:
                continue
            if others or entry.name.partition("-")[0] in files:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed


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
