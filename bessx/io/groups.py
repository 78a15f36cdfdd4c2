"""Several files for one period: exports split by columns, joined on their timestamps.

Some historians write one period as several files: one per block of inverters, per group
of inverters or per family of signals, all with the same timestamps. Files whose time
ranges overlap are one export: :func:`group_overlapping` makes them one
:class:`~bessx.io.files.ExportFile` (its ``members`` the files, in time order), and
:func:`join_members` joins the members' columns on the union of their timestamps (an
outer join: a timestamp missing from one file is missing data for that file's columns
only). A needed column that two overlapping files share must hold the same value at every
timestamp both have (a period exported twice): it is then kept once, else the join is an
:class:`~bessx.errors.ExportError` naming both files, the column and the first timestamp
where they differ.

The unit of work of the one pass and of its cache is such a group (see
:mod:`bessx.onepass`), and its results are bit for bit those of the same history written
as one file per period: every sample is the same value at the same place.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bessx.errors import ExportError
from bessx.io.files import ColumnMap, ExportFile, minute_text

__all__ = ["file_grouping", "group_overlapping", "join_members", "merge_members", "union_columns"]


def group_overlapping(exports: Sequence[ExportFile]) -> list[ExportFile]:
    """Exports in time order, files whose time ranges overlap made one (see the module).

    A file joins the group before it when its first timestamp comes before the group's
    last; single files are returned as they are. Files that share only a boundary
    timestamp (one closing with the midnight sample the next opens with) are not grouped:
    a chain of them would make one group of the whole history, so they stay the overlap
    error of :func:`bessx.open_exports`.
    """
    ordered = sorted(exports, key=lambda export: (export.time[0], str(export.path)))
    groups: list[list[ExportFile]] = []
    end = None
    for export in ordered:
        if groups and end is not None and export.time[0] < end:
            groups[-1].append(export)
            end = max(end, export.time[-1])
        else:
            groups.append([export])
            end = export.time[-1]
    return [group[0] if len(group) == 1 else merge_members(group) for group in groups]


def union_columns(maps: Sequence[ColumnMap]) -> ColumnMap:
    """The columns of several files together, in member order (a column once)."""
    dc_power: dict[tuple[str, int], str] = {}
    soc: dict[str, str] = {}
    plant: dict[str, str] = {}
    unplaced: dict[str, None] = {}
    for columns in maps:
        for dc_key, name in columns.dc_power.items():
            dc_power.setdefault(dc_key, name)
        for enclosure_id, name in columns.soc.items():
            soc.setdefault(enclosure_id, name)
        for variable, name in columns.plant.items():
            plant.setdefault(variable, name)
        unplaced.update(dict.fromkeys(columns.unplaced))
    return ColumnMap(dc_power, soc, plant, {}, tuple(unplaced))


def merge_members(members: Sequence[ExportFile]) -> ExportFile:
    """One export standing for overlapping files: their columns, the union of their times."""
    time = members[0].time
    for member in members[1:]:
        time = np.union1d(time, member.time)
    dropped = None
    if any(member.dropped is not None for member in members):
        counts = np.zeros(len(time), dtype=np.int64)
        for member in members:
            if member.dropped is not None:
                np.add.at(counts, np.searchsorted(time, member.time), member.dropped)
        dropped = np.minimum(counts, np.iinfo(np.uint16).max).astype(np.uint16)
    group = ExportFile(
        path=members[0].path,
        columns=union_columns([member.columns for member in members]),
        time=time,
        rows=None,
        dropped=dropped,
        naming=members[0].naming,
        members=tuple(members),
    )
    for member, note in shared_columns(group):
        member.notes.append(note)
    return group


def join_members(
    group: ExportFile,
    columns: Sequence[str],
    member_values: Sequence[tuple[ExportFile, Sequence[str], np.ndarray]],
) -> np.ndarray:
    """The members' values of ``columns`` on the group's timestamps, ``(column, row)``.

    Parameters
    ----------
    group
        The group (:func:`group_overlapping`).
    columns
        The group's needed columns, in the order wanted.
    member_values
        For each member: the member, the names of its needed columns, and their values
        ``(column, row)`` on the member's own (sorted, unique) timestamps.

    Raises
    ------
    ExportError
        Two members hold different values of one column at one timestamp (NaN differs
        from a number): names both files, the column and the timestamp [UTC].
    """
    position = {name: i for i, name in enumerate(columns)}
    joined = np.full((len(columns), len(group.time)), np.nan)
    owner = np.full((len(columns), len(group.time)), -1, dtype=np.int16)
    for index, (member, names, values) in enumerate(member_values):
        rows = np.searchsorted(group.time, member.time)
        targets = np.array([position[name] for name in names], dtype=np.intp)
        if not len(targets):
            continue
        cells = np.ix_(targets, rows)
        earlier = owner[cells]
        taken = earlier >= 0
        if taken.any():
            before = joined[cells]
            same = (before == values) | (np.isnan(before) & np.isnan(values))
            clash = taken & ~same
            if clash.any():
                column, row = np.argwhere(clash)[0]
                other = member_values[int(earlier[column, row])][0]
                raise ExportError(
                    member.path,
                    f"overlaps {other.path.name} in time and differs from it in "
                    f"'{names[column]}' at {minute_text(member.time[row])} UTC (the same period "
                    "exported twice with other values?)",
                )
        joined[cells] = values
        owner[cells] = index
    return joined


def shared_columns(group: ExportFile) -> list[tuple[ExportFile, str]]:
    """Notes for members that share needed columns with an earlier member (kept once)."""
    notes = []
    seen: dict[str, str] = {}
    for member in group.members:
        names = [
            *member.columns.dc_power.values(),
            *member.columns.soc.values(),
            *member.columns.plant.values(),
        ]
        shared = [name for name in names if name in seen]
        if shared:
            others = sorted({seen[name] for name in shared})
            notes.append(
                (
                    member,
                    f"{len(shared)} column(s) also in {', '.join(others)}, which overlaps it in "
                    "time: kept once where equal (compared when the data are read, where a "
                    "difference is an error)",
                )
            )
        for name in names:
            seen.setdefault(name, member.path.name)
    return notes


def file_grouping(exports: Sequence[ExportFile]) -> str | None:
    """How many files make one export, in one line (None: one file each)."""
    sizes = [len(export.members) for export in exports if export.members]
    if not sizes:
        return None
    low, high = min(sizes), max(sizes)
    count = f"{low}" if low == high else f"{low} to {high}"
    return (
        f"{sum(sizes)} files overlap in time in groups of {count}: joined on their "
        f"timestamps ({len(sizes)} such group(s) of {len(exports)} export(s))"
    )
