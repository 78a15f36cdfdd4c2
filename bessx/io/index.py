"""A per-file index of the exports, so that opening them again parses no footer.

:func:`bessx.open_exports` needs the ``time`` index before anything is computed, so it
parses every export's footer and reads its timestamps when the Dataset is opened; the read
tasks parse the footer again when the data are computed. A wide export's footer costs more
to parse than the columns bessx reads (see ``docs/performance.md``).

With ``open_exports(..., cache=folder)`` what the open's footer parse learnt about each
export is kept in ``folder`` as a :class:`ScanRecord` (:class:`ExportIndex`, ~30 kB per
full-width export): the column names, which columns are not numbers and why, the timestamps
as stored and their timezone. The next open of an unchanged file reads its record instead
of the file, so each footer is parsed once per open-and-compute instead of twice.

A record holds what the footer says, not what the open concluded from it: the timezone,
the column patterns, the topology, the variables and every check are applied again on each
open, so no setting of an open can reuse a wrong entry, and one entry serves them all.
Besides the file itself (see :mod:`bessx.cache` for the key: path, size, modification time
and a content fingerprint) an entry depends only on the parquet engine that parsed it, the
timestamp column it was read from and the bessx version.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from bessx.io.engines import Scan
from bessx.io.entries import EntryCache

__all__ = ["ExportIndex", "IndexSettings", "ScanRecord", "as_index"]


@dataclass(frozen=True)
class IndexSettings:
    """What an index entry depends on besides the file and the bessx version."""

    #: the parquet engine that parsed the footer (``"polars"`` or ``"pyarrow"``)
    engine: str
    #: the timestamp column named by ``[columns] time`` (None: the default candidates)
    time_column: str | None = None


@dataclass(frozen=True, eq=False)
class ScanRecord:
    """What one footer parse tells about an export (a :class:`~bessx.io.engines.Scan`),
    in a form that can be kept on disk."""

    names: tuple[str, ...]
    #: the columns that do not hold numbers, and why (words of ``engines.REFUSALS``)
    refusals: dict[str, str]
    #: the timestamps as stored: naive ``datetime64``, local if ``timezone`` is None, else UTC
    time: np.ndarray
    timezone: str | None

    @classmethod
    def of(cls, scan: Scan) -> ScanRecord:
        """The record of a footer parse (asks the scan about every column)."""
        refusals = {name: why for name in scan.names if (why := scan.refusal(name)) is not None}
        return cls(scan.names, refusals, scan.time, scan.timezone)

    def scan(self) -> Scan:
        """The footer parse this record was made from, as the engine gave it."""
        return Scan(self.names, self.refusals.get, self.time, self.timezone)


class ExportIndex(EntryCache):
    """Per-export :class:`ScanRecord` kept in ``folder`` for :func:`bessx.open_exports`.

    ``hits`` counts the exports opened from their record, ``misses`` those whose footer
    was parsed (and whose record was then written). The entries of a file that changed
    are never used; an open removes them. Entries of files that are gone stay until
    :meth:`~bessx.io.entries.EntryCache.prune` removes them (an open may name only some of the
    files a folder's index knows). The folder may be shared with a
    :class:`~bessx.cache.SummaryCache`. Made from a ``folder``, as every
    :class:`~bessx.io.entries.EntryCache` is (keep it out of the data folder).
    """

    suffix = ".index"
    holds = ScanRecord
    compressed = True  # the ~2,800 column names shrink about fourteen-fold

    def check(self, value: ScanRecord) -> None:
        """The timestamps are one row of times; the refused columns are columns."""
        if value.time.ndim != 1 or value.time.dtype.kind != "M":
            raise ValueError(f"time is {value.time.dtype}{list(value.time.shape)}")
        if not set(value.refusals) <= set(value.names):
            raise ValueError("a refused column is not a column")


def as_index(cache: str | os.PathLike | EntryCache | None) -> ExportIndex | None:
    """The index that ``open_exports(cache=...)`` names: a folder or a cache object.

    Another kind of cache (a :class:`~bessx.cache.SummaryCache`) lends its folder.
    """
    if cache is None or isinstance(cache, ExportIndex):
        return cache
    if isinstance(cache, EntryCache):
        return ExportIndex(cache.folder)
    if isinstance(cache, str | os.PathLike):
        return ExportIndex(cache)
    raise TypeError(f"cache must be a folder, an ExportIndex or None, not {type(cache).__name__}")
