"""A persistent cache of per-file summaries: a re-run reads only new or changed exports.

:func:`bessx.onepass.daily_from_exports` reduces each export to a small summary (tens of
kB). :class:`SummaryCache` keeps them in a folder, one file per export, under a key made of

* the export's resolved path, size and modification time (ns),
* a content fingerprint: a BLAKE2 hash of its first and last 64 KiB (the parquet footer,
  which describes every column chunk, lies at the end), so a file replaced by another of
  the same size with an older time is still recognised as changed,
* every setting the summary depends on (:class:`bessx.onepass.Settings`) and the bessx
  version.

An entry that cannot be read is discarded and recomputed; entries are written to a
temporary file and renamed into place, so a killed or concurrent run never leaves a torn
entry; :meth:`SummaryCache.prune` removes the entries of files that are gone or changed.
The cache never lives in the data folder: ``bessx run`` keeps it inside ``--out``.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
import time
from collections.abc import Iterable
from dataclasses import fields
from pathlib import Path
from typing import Any, Final

__all__ = ["SummaryCache"]

#: Bytes hashed at each end of an export for its fingerprint.
FINGERPRINT_BYTES: Final = 64 * 1024
_SUFFIX: Final = ".summary"
_TEMPORARY: Final = ".partial-"
#: Temporary files older than this were left by a killed run [s].
_ABANDONED_AFTER: Final = 3600.0


def _digest(*parts: Any) -> str:
    return hashlib.blake2b(repr(parts).encode(), digest_size=16).hexdigest()


def _settings_token(settings: Any) -> str:
    from bessx import __version__

    values = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if hasattr(value, "pattern"):  # column patterns: the expressions in force
            value = (value.pattern("dc_power").pattern, value.pattern("soc").pattern)
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


class SummaryCache:
    """Per-export summaries kept in ``folder`` between runs.

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

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.hits = 0
        self.misses = 0
        self._entries: dict[tuple[str, int, int, str], Path] = {}

    def _entry(self, path: Path, settings: Any) -> Path:
        """The entry's file; the fingerprint is taken once per file and state."""
        resolved, stat = str(path.resolve()), path.stat()
        token = _settings_token(settings)
        memo = (resolved, stat.st_size, stat.st_mtime_ns, token)
        if memo not in self._entries:
            key = _digest(resolved, stat.st_size, stat.st_mtime_ns, fingerprint(path))
            name = f"{_digest(resolved)}-{_digest(key, token)}{_SUFFIX}"
            self._entries[memo] = self.folder / name
        return self._entries[memo]

    def get(self, path: str | os.PathLike, settings: Any) -> Any | None:
        """The summary kept for ``path`` under ``settings``, or None (then it is a miss)."""
        entry = self._entry(Path(path), settings)
        try:
            with entry.open("rb") as file:
                summary = pickle.load(file)
        except FileNotFoundError:
            self.misses += 1
            return None
        except Exception:  # a torn or foreign file: discard it, recompute
            entry.unlink(missing_ok=True)
            self.misses += 1
            return None
        self.hits += 1
        return summary

    def put(self, path: str | os.PathLike, settings: Any, summary: Any) -> None:
        """Keep ``summary`` for ``path``: written aside, then renamed into place."""
        entry = self._entry(Path(path), settings)
        handle, temporary = tempfile.mkstemp(prefix=_TEMPORARY, dir=self.folder)
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump(summary, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, entry)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def prune(self, paths: Iterable[str | os.PathLike], settings: Any) -> int:
        """Remove entries of files not in ``paths`` or changed since; returns how many."""
        current = {self._entry(Path(path), settings).name for path in paths}
        removed = 0
        for entry in self.folder.iterdir():
            if entry.name.startswith(_TEMPORARY):
                if time.time() - entry.stat().st_mtime > _ABANDONED_AFTER:
                    entry.unlink(missing_ok=True)
                continue
            if entry.suffix == _SUFFIX and entry.name not in current:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed
