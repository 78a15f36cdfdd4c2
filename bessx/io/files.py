"""What the reader learns about one export file at open: its column map and its times.

:mod:`bessx.io.exports` makes them (one :class:`ExportFile` per file) and
:mod:`bessx.io.groups` joins the files of a day exported in parts into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class ColumnMap:
    """Where the needed signals sit among one file's columns (shared by identical schemas)."""

    dc_power: dict[tuple[str, int], str]
    soc: dict[str, str]
    plant: dict[str, str]
    #: plant variables whose pattern matches several columns, and those columns
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: DC input power columns whose DC input the plant's arrays do not have (not read)
    unplaced: tuple[str, ...] = ()


@dataclass
class ExportFile:
    """What the reader learnt about one export at open: its times and its columns."""

    path: Path
    columns: ColumnMap
    time: np.ndarray  # UTC, datetime64[ns], sorted and unique
    rows: np.ndarray | None  # file rows that give ``time`` (None: all rows, as stored)
    #: file rows dropped for a repeated timestamp, and the kept row each must equal
    repeats: tuple[np.ndarray, np.ndarray] | None = None
    #: rows dropped at each kept timestamp (None: none)
    dropped: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    #: the date in the file's name is its ``"local"`` or its ``"UTC"`` date (None: no date)
    naming: str | None = None
    #: the files of a group that overlap in time (:mod:`bessx.io.groups`); () for one file
    members: tuple[ExportFile, ...] = ()

    @property
    def files(self) -> tuple[ExportFile, ...]:
        """The files this export is made of: its members, or itself."""
        return self.members or (self,)


def minute_text(time: np.datetime64) -> str:
    """``2023-05-01 13:45``: a time to the minute, for messages."""
    return str(time.astype("datetime64[m]")).replace("T", " ")
