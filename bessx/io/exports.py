"""Read the plant's daily parquet exports into one labelled, lazy Dataset.

The exports are very wide (~2,800 columns) and only ~500 of them matter, so the reader
reads each file's footer once, projects onto the needed columns and builds one dask chunk
per file. At open only the ``Timestamp`` column is read: it becomes the ``time`` index.
With ``cache=``, what the open learns from each footer is kept in a small per-file index
(:mod:`bessx.io.index`), and opening the same files again parses no footer.

Before any data are read, the timestamps are checked for sanity: they must lie in a
plausible window (:data:`EARLIEST_TIME` to now + :data:`FUTURE_TOLERANCE_DAYS`), fit the
date in the file's name as a local or a UTC date (within :data:`NAME_DATE_SLACK_HOURS`;
``attrs["file_naming"]`` says which convention the files follow), and lie within
``max_gap_days`` (default :data:`MAX_GAP_DAYS`) of the rest of the history. A file that
does not is refused with a one-line :class:`~bessx.errors.ExportError`.
"""

from __future__ import annotations

import dataclasses
import glob
import itertools
import operator
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize

from bessx import schema
from bessx.config import ColumnPatterns, require_timezone
from bessx.errors import CONTROL, BessxError, ConfigError, ExportError, reason
from bessx.io.archive import open_history
from bessx.io.conventions import (
    POWER_SIGNS,
    POWER_UNITS,
    POWER_VARIABLES,
    check_power_convention,
    convention_attrs,
    is_native,
    power_in_kw,
)
from bessx.io.engines import Engine, Scan, UnreadableData, get_engine
from bessx.io.files import ColumnMap, ExportFile, minute_text
from bessx.io.groups import file_grouping, group_overlapping, join_members
from bessx.io.index import ExportIndex, IndexSettings, ScanRecord, as_index
from bessx.topology import (
    Topology,
    TopologyLike,
    check_topology,
    dc_input_count,
    find_resplit,
    infer_topology,
    read_topology,
    sort_enclosures,
    sort_inverters,
)

if TYPE_CHECKING:
    import dask.array as da
    from dask.typing import Key

PathsLike = str | os.PathLike | Iterable[str | os.PathLike]

#: Earliest plausible sample time: no export of a grid battery predates it (naive local
#: or UTC; the window is far wider than any timezone offset).
EARLIEST_TIME: Final = np.datetime64("2000-01-01T00:00", "ns")
#: How far ahead of the current time a sample may lie [days]: a clock in the future is
#: impossible, but a plant clock may run ahead and local time is ahead of UTC.
FUTURE_TOLERANCE_DAYS: Final = 2
#: Default of ``max_gap_days`` [days]: exports further apart than this are not one history.
MAX_GAP_DAYS: Final = 730.0
#: How far the rows of a file named after a date may reach beyond that local date [h],
#: on either side: a daily export may close with the next day's midnight sample.
NAME_DATE_SLACK_HOURS: Final = 1
#: A date ``YYYYMMDD`` in a file name (``20230501.parquet``, ``bess_20230501_a.parquet``).
#: The dates a file's name may give: its rows' local date or their UTC date.
NAMING_CONVENTIONS: Final = ("local", "UTC")
NAME_DATE_PATTERN: Final = re.compile(r"(?<!\d)((?:19|20)\d{2}(?:0[1-9]|1[0-2])\d{2})(?!\d)")
#: Attributes of the ``duplicates_dropped`` coordinate.
DUPLICATES_ATTRS: Final = {
    "long_name": "duplicate rows dropped at this timestamp",
    "units": "1",
    "comment": "rows that repeated this timestamp with identical values; saturates at 65535",
}
DUPLICATES_DROPPED: Final = "duplicates_dropped"


#: What :func:`open_exports` does with an export it cannot use (``bad_files=``).
BAD_FILE_POLICIES: Final = ("raise", "skip")


class ExportWarning(UserWarning):
    """Something in the exports was repaired or filled in; the data can still be analysed."""


class ExportNote(ExportWarning):
    """Something about the exports as a whole that a result depends on, said once per run
    (such as a plant without meter columns); not a problem with any file."""


class SkippedFileWarning(ExportWarning):
    """An export that could not be used was left out (``bad_files="skip"``).

    Parameters
    ----------
    path
        The export that was left out.
    problem
        Why, as the :class:`~bessx.errors.ExportError` that refused it says.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: skipped: {problem}")


# Discovering files ------------------------------------------------------------------------
def export_paths(paths: PathsLike) -> list[Path]:
    """The parquet files named by a folder, a glob pattern or a list of files.

    Hidden files (names starting with ``.``, such as the ``._20230501.parquet`` that macOS
    leaves next to each file on a foreign disk) are not exports: a folder's are left out with
    an :class:`ExportWarning` saying how many, and a glob pattern's ``*`` does not match them.
    Files given one by one are taken as given.

    Raises
    ------
    ExportError
        The folder has no ``*.parquet`` file, the pattern matches nothing or a file is missing.
    """
    if isinstance(paths, str | os.PathLike):
        path = Path(paths)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            hidden = [file.name for file in found if file.name.startswith(".")]
            found = [file for file in found if not file.name.startswith(".")]
            if hidden:
                warnings.warn(
                    f"{path}: {len(hidden)} hidden file(s) ignored ({_short_list(hidden)}): "
                    "not exports",
                    ExportWarning,
                    stacklevel=2,
                )
            if not found:
                raise ExportError(path, "no *.parquet exports in this folder")
            return found
        if path.exists():
            return [path]
        found = sorted(Path(p) for p in glob.glob(str(paths)))
        if not found:
            raise ExportError(paths, "no such file, folder or matching files")
        return found
    found = [Path(p) for p in paths]
    if not found:
        raise ExportError("(no paths)", "no export files given")
    for path in found:
        if not path.exists():  # anything else there is refused by the file's own reading
            raise ExportError(path, "no such file")
    return found


# Columns ---------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def map_columns(
    names: tuple[str, ...], patterns: ColumnPatterns, n_dc: int = len(schema.DC_INPUTS)
) -> ColumnMap:
    """Match column names against the export patterns; cached per distinct schema.

    DC input power columns of a DC input beyond ``n_dc`` (the plant arrays' DC inputs) are
    kept aside as ``unplaced``: they are not read, and the open reports them once.
    """
    dc_power: dict[tuple[str, int], str] = {}
    soc: dict[str, str] = {}
    unplaced: list[str] = []
    dc_pattern, soc_pattern = patterns.pattern("dc_power"), patterns.pattern("soc")
    for name in names:
        if match := dc_pattern.match(name):
            dc_input = int(match["dc_input"])
            if 1 <= dc_input <= n_dc:
                dc_power[(match["inverter"], dc_input)] = name
            else:
                unplaced.append(name)
        elif match := soc_pattern.match(name):
            soc[match["enclosure_id"]] = name
    plant: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for var in schema.PLANT_COLUMNS.values():
        pattern = patterns.pattern(var)
        found = tuple(name for name in names if pattern.match(name))
        if len(found) == 1:
            plant[var] = found[0]
        elif found:
            ambiguous[var] = found
    return ColumnMap(dc_power, soc, plant, ambiguous, tuple(unplaced))


# Timestamps --------------------------------------------------------------------------------
def _localize(naive: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """Localize naive local times; the repeated autumn hour is resolved from row order.

    In the repeated hour the first pass (in row order) is daylight time, the second
    standard time: the times step back by about an hour where the second pass starts.
    A file that holds only one pass of the hour (a day split into several files) is
    resolved by the rows around it: with earlier rows only, it is the first pass; with
    later rows only, the second. Anything else cannot be resolved and is an error.
    """
    _refuse_skipped_times(naive, timezone)
    probe = naive.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    unresolved = pd.isna(probe) & ~pd.isna(naive)
    if not unresolved.any():
        return probe
    dst = np.ones(len(naive), dtype=bool)
    positions = np.flatnonzero(unresolved)
    dates = naive[positions].normalize().asi8
    for date in np.unique(dates):  # one per autumn change in the file
        on_date = positions[dates == date]
        times = naive.asi8[on_date]
        steps_back = np.flatnonzero(np.diff(times) < 0)
        day = f"{pd.Timestamp(date):%Y-%m-%d}"
        if len(steps_back) > 1:
            raise BessxError(
                f"rows out of time order within the repeated hour of {day}: "
                "daylight and standard time cannot be told apart"
            )
        if len(steps_back) == 1:
            dst[on_date[steps_back[0] + 1 :]] = False
            continue
        before = bool((naive.asi8 < times.min()).any())
        after = bool((naive.asi8 > times.max()).any())
        if before == after:
            raise BessxError(
                f"the repeated hour of {day} appears once, with "
                f"{'rows on both sides' if before else 'no rows around it'}: "
                "daylight and standard time cannot be told apart"
            )
        dst[on_date] = before
    try:
        localized = naive.tz_localize(timezone, ambiguous=dst, nonexistent="raise")
    except Exception as error:  # pytz/zoneinfo errors name the offending time
        raise BessxError(f"local times that do not exist in {timezone} ({error})") from None
    return localized


def _refuse_skipped_times(naive: pd.DatetimeIndex, timezone: str) -> None:
    """Refuse naive local times that do not exist (the hour the clocks skip in spring),
    naming the skipped hour and the rows that lie in it (1-based, in file order)."""
    every_repeat = np.ones(len(naive), dtype=bool)  # how a repeated hour resolves: no matter
    shifted = naive.tz_localize(timezone, ambiguous=every_repeat, nonexistent="NaT")
    skipped = np.flatnonzero(pd.isna(shifted) & ~pd.isna(naive))
    if skipped.size == 0:
        return
    first = naive[skipped[0]]
    # the local wall times on both sides of the jump: where the clocks stop and resume
    before = pd.DatetimeIndex([first]).tz_localize(timezone, nonexistent="shift_backward")
    after = pd.DatetimeIndex([first]).tz_localize(timezone, nonexistent="shift_forward")
    stop = before[0].tz_localize(None) + pd.Timedelta(1, "ns")
    resume = after[0].tz_localize(None)
    on_that_day = skipped[(naive[skipped] >= stop) & (naive[skipped] < resume)]
    rows = on_that_day + 1
    where = f"row {rows[0]}" if len(rows) == 1 else f"rows {rows[0]} to {rows[-1]}"
    span = f"{naive[on_that_day[0]]:%H:%M:%S}"
    if len(rows) > 1:
        span += f" to {naive[on_that_day[-1]]:%H:%M:%S}"
    more = len(skipped) - len(on_that_day)
    raise BessxError(
        f"local times that do not exist in {timezone}: on {stop:%Y-%m-%d} the clocks jump "
        f"from {stop:%H:%M} to {resume:%H:%M} (daylight saving time begins), but "
        f"{len(rows)} row(s) lie in the skipped hour ({span}, {where})"
        + (f", and {more} row(s) in other skipped hours" if more else "")
        + f": are they local {timezone} times, or UTC or another zone's?"
    )


def _utc_times(scan: Scan, timezone: str) -> np.ndarray:
    """Timestamps of a file as UTC ``datetime64[ns]`` in row order."""
    if scan.timezone is not None:
        return scan.time.astype("datetime64[ns]")
    local = _localize(pd.DatetimeIndex(scan.time).as_unit("ns"), timezone)
    return local.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy()


def _check_time_window(path: Path, time: np.ndarray) -> None:
    """Refuse timestamps before :data:`EARLIEST_TIME` or in the future (a clock error).

    ``time`` is in its stored unit: the check comes before the conversion to nanoseconds,
    which cannot hold dates beyond 1677-2262, and compares whole seconds (comparing in
    nanoseconds would overflow for such dates).
    """
    first, last = time.min().astype("datetime64[s]"), time.max().astype("datetime64[s]")
    now = np.datetime64(pd.Timestamp.now("UTC").tz_localize(None), "s")
    latest = now + np.timedelta64(FUTURE_TOLERANCE_DAYS, "D")
    if first < EARLIEST_TIME.astype("datetime64[s]") or last > latest:
        raise ExportError(
            path,
            f"timestamps from {minute_text(first)} to {minute_text(last)} lie outside the "
            f"plausible window {minute_text(EARLIEST_TIME)} to {minute_text(latest)} "
            f"(now + {FUTURE_TOLERANCE_DAYS} days): a clock error?",
        )


def name_date(path: Path) -> np.datetime64 | None:
    """The local date ``YYYYMMDD`` in a file's name, or None (no date, or several)."""
    found = set(NAME_DATE_PATTERN.findall(path.stem))
    if len(found) != 1:
        return None
    try:
        return np.datetime64(pd.Timestamp(found.pop()).date(), "ns")
    except ValueError:  # eight digits that are not a date, such as 20230231
        return None


def _check_name_date(path: Path, local_wall: np.ndarray, utc: np.ndarray) -> str | None:
    """Refuse a file named after a date whose rows lie on another date; say how it is named.

    The date in a name is a hint: the rows must lie on that date in local wall time or in
    UTC (a historian that writes one file per UTC day), from the date's midnight to the
    next, each widened by :data:`NAME_DATE_SLACK_HOURS`. The same file is then accepted in
    every season, whatever the plant's UTC offset. Rows days away from the name (a clock or
    copy error) are refused.

    Returns
    -------
    str or None
        ``"local"`` or ``"UTC"``: the convention whose day the rows fit more closely (the
        local one on a tie); None for a name without a date.
    """
    date = name_date(path)
    if date is None:
        return None
    slack = np.timedelta64(NAME_DATE_SLACK_HOURS, "h")
    day = np.timedelta64(1, "D")
    start, end = date - slack, date + day + slack
    misfit = {}
    for convention, times in (("local", local_wall), ("UTC", utc)):
        first = times.min().astype("datetime64[ns]")
        last = times.max().astype("datetime64[ns]")
        if start <= first and last <= end:
            misfit[convention] = abs(first - date) + abs(last - (date + day))
    if misfit:
        return min(misfit, key=lambda convention: misfit[convention])
    raise ExportError(
        path,
        f"its rows run from {minute_text(local_wall.min())} to {minute_text(local_wall.max())} "
        f"local time ({minute_text(utc.min())} to {minute_text(utc.max())} UTC), which does not "
        f"fit the "
        f"date {str(date)[:10]} in its name, as a local or as a UTC date (allowed: "
        f"{minute_text(start)} to {minute_text(end)})",
    )


def file_naming(conventions: Iterable[str | None]) -> str | None:
    """How a history's files are named, in one line (None: no file has a date in its name).

    Examples
    --------
    >>> file_naming(["UTC", "UTC", None])
    'files are named by their UTC date'
    >>> file_naming(["local", "UTC", "UTC"])
    'files are named by their local date (1) or by their UTC date (2)'
    """
    counts = {kind: 0 for kind in NAMING_CONVENTIONS}
    for convention in conventions:
        if convention is not None:
            counts[convention] += 1
    found = [kind for kind in NAMING_CONVENTIONS if counts[kind]]
    if not found:
        return None
    if len(found) == 1:
        return f"files are named by their {found[0]} date"
    return " or ".join(f"by their {kind} date ({counts[kind]})" for kind in found).join(
        ("files are named ", "")
    )


def _local_wall(scan: Scan, utc: np.ndarray, timezone: str) -> np.ndarray:
    """Local wall times of a file's rows: as stored if naive, else converted from UTC."""
    if scan.timezone is None:
        return scan.time
    index = pd.DatetimeIndex(utc).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    return index.to_numpy()


def scan_export(
    path: Path,
    timezone: str,
    engine: Engine,
    patterns: ColumnPatterns | None = None,
    index: ExportIndex | None = None,
    n_dc: int = len(schema.DC_INPUTS),
) -> ExportFile:
    """Parse one export's footer and timestamps; raise a one-line error if it is unusable.

    With an ``index``, an unchanged file's footer is not parsed: its record is used, and a
    new or changed file's record is kept for the next time (see :mod:`bessx.io.index`).
    """
    time_column = None if patterns is None else patterns.time
    if index is None:
        scan = _scan(path, engine, time_column)
    else:
        scan = _indexed_scan(path, engine, index, time_column)
    return export_from_scan(path, scan, timezone, patterns, n_dc)


def export_from_scan(
    path: Path,
    scan: Scan,
    timezone: str,
    patterns: ColumnPatterns | None = None,
    n_dc: int = len(schema.DC_INPUTS),
) -> ExportFile:
    """Check what a footer parse found and put the rows in time order (see :func:`scan_export`).

    ``n_dc`` is the number of DC inputs of the plant's arrays
    (:func:`~bessx.topology.dc_input_count`).
    """
    columns = map_columns(scan.names, patterns or ColumnPatterns(), n_dc)
    if not columns.dc_power:
        raise ExportError(path, "no DC input power columns ('BESS1 DC Input Power (kW) [...]')")
    for var, found in columns.ambiguous.items():
        raise ExportError(
            path,
            f"the [columns] {var} pattern matches {len(found)} columns "
            f"({_short_list([repr(name) for name in found], 3)}): make it match one",
        )
    for name in (*columns.dc_power.values(), *columns.soc.values(), *columns.plant.values()):
        if (refusal := scan.refusal(name)) is not None:
            raise ExportError(path, f"column '{name}' is not numeric ({refusal})")
    _check_time_window(path, scan.time)
    try:
        utc = _utc_times(scan, timezone)
    except BessxError as error:
        raise ExportError(path, str(error)) from None
    naming = _check_name_date(path, _local_wall(scan, utc, timezone), utc)
    export = ExportFile(path, columns, utc, None, naming=naming)
    _sort_rows(export)
    return export


def _scan(path: Path, engine: Engine, time_column: str | None = None) -> Scan:
    try:
        if path.stat().st_size == 0:
            raise ExportError(path, "empty file (0 bytes)")
        return engine.scan_with(path, time_column)
    except ExportError:
        raise
    except UnreadableData as error:
        raise ExportError(
            path, f"cannot read its data ({reason(error.__cause__ or error)})"
        ) from None
    except OSError as error:
        raise ExportError(path, f"cannot read it ({reason(error)})") from None
    except CONTROL:
        raise
    except BaseException as error:  # each engine has its own errors (and panics) for a broken file
        raise ExportError(path, f"not a readable parquet file ({reason(error)})") from None


def _indexed_scan(
    path: Path, engine: Engine, index: ExportIndex, time_column: str | None = None
) -> Scan:
    """The record of ``path`` in ``index``, else a footer parse (then recorded)."""
    settings = IndexSettings(engine.name, time_column)
    try:
        record = index.get(path, settings)
    except OSError:  # gone or unreadable: the parse below says so in the reader's words
        record = None
    if record is not None:
        return record.scan()
    scan = _scan(path, engine, time_column)
    index.put(path, settings, ScanRecord.of(scan))
    return scan


def _sort_rows(export: ExportFile) -> None:
    """Order the rows in time and drop repeated timestamps.

    A dropped row must equal the row kept for its timestamp in the needed columns: that is
    checked when the file's data are read (:func:`read_block`), which is the first time
    they are (checking at open would read each such file twice). The note given at open
    says so, and a difference is then an error, never a repeat silently dropped.
    """
    steps = np.diff(export.time.view("i8"))
    if (steps > 0).all():
        return
    order = np.argsort(export.time, kind="stable")
    ordered = export.time[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    run_start = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    export.rows = order[first]
    export.time = ordered[first]
    if (steps < 0).any():
        export.notes.append("rows out of time order were sorted")
    if not first.all():
        export.repeats = (order[~first], order[run_start[~first]])
        run_lengths = np.diff(np.r_[np.flatnonzero(first), len(first)])
        export.dropped = np.minimum(run_lengths - 1, np.iinfo(np.uint16).max).astype(np.uint16)
        export.notes.append(
            f"{int((~first).sum())} duplicate row(s) dropped if equal to the row kept "
            "(repeated timestamps; compared in the needed columns when the data are read, "
            "where a difference is an error)"
        )


# Reading the needed columns ----------------------------------------------------------------
@dataclass(frozen=True)
class ReadPlan:
    """Everything a worker needs to read one file's chunk: picklable and small."""

    path: str
    engine: str
    rows: np.ndarray | None
    repeats: tuple[np.ndarray, np.ndarray] | None
    n_rows: int
    dc_columns: tuple[str, ...]
    dc_positions: np.ndarray  # flat index into (inverter, dc_input)
    soc_columns: tuple[str, ...]
    soc_positions: np.ndarray  # flat index into (inverter, dc_input, enclosure)
    plant_columns: tuple[str, ...]
    plant_variables: tuple[str, ...]
    shape: tuple[int, int, int]  # inverters, dc inputs, enclosure slots
    variables: tuple[str, ...]
    power_sign: str = POWER_SIGNS[0]
    power_unit: str = POWER_UNITS[0]
    #: for files that overlap in time, the group: its members are read and joined
    group: ExportFile | None = None


def check_repeats(
    path: str | Path,
    values: np.ndarray,
    repeats: tuple[np.ndarray, np.ndarray],
    columns: Sequence[str],
) -> None:
    """Refuse a dropped repeated row that differs from the row kept (``values``: column, row)."""
    dropped, kept = values[:, repeats[0]], values[:, repeats[1]]
    differs = ~((dropped == kept) | (np.isnan(dropped) & np.isnan(kept)))
    if differs.any():
        repeat, column = np.argwhere(differs.T)[0]
        row, kept_row = int(repeats[0][repeat]), int(repeats[1][repeat])
        raise ExportError(
            path,
            f"row {row} repeats a timestamp with different values "
            f"(row {kept_row} differs in '{columns[column]}')",
        )


def _read_file(
    engine: str,
    path: str,
    columns: Sequence[str],
    rows: np.ndarray | None,
    repeats: tuple[np.ndarray, np.ndarray] | None,
) -> np.ndarray:
    """One file's ``columns`` ``(column, row)`` in time order, repeats checked and dropped."""
    try:
        values = get_engine(engine).read(path, columns).T
    except CONTROL:
        raise
    except BaseException as error:  # the file changed or its data pages are broken (a panic)
        raise ExportError(path, f"cannot read its data ({reason(error)})") from None
    if repeats is not None:
        check_repeats(path, values, repeats, columns)
    if rows is not None:
        values = values[:, rows]
    return values


def _read_group(engine: str, group: ExportFile, columns: Sequence[str]) -> np.ndarray:
    """The members of a group read and joined on its timestamps (:mod:`bessx.io.groups`)."""

    wanted = set(columns)
    parts = []
    for member in group.members:
        names = [
            name
            for name in (
                *member.columns.dc_power.values(),
                *member.columns.soc.values(),
                *member.columns.plant.values(),
            )
            if name in wanted
        ]
        values = _read_file(engine, str(member.path), names, member.rows, member.repeats)
        parts.append((member, names, values))
    return join_members(group, columns, parts)


def read_block(plan: ReadPlan) -> dict[str, np.ndarray]:
    """Read one export's needed columns and lay them out as the Dataset's arrays.

    Columns absent from the file come out as NaN. Rows are put in time order and repeated
    timestamps dropped, as decided at open; a dropped row that differs from the kept one is
    an error.
    """
    columns = (*plan.dc_columns, *plan.soc_columns, *plan.plant_columns)
    if plan.group is not None:
        values = _read_group(plan.engine, plan.group, columns)
    else:
        values = _read_file(plan.engine, plan.path, columns, plan.rows, plan.repeats)
    n_dc_cols, n_soc_cols = len(plan.dc_columns), len(plan.soc_columns)
    if not is_native(plan.power_sign, plan.power_unit):
        power_rows = [
            *range(n_dc_cols),
            *(
                n_dc_cols + n_soc_cols + i
                for i, var in enumerate(plan.plant_variables)
                if var in POWER_VARIABLES
            ),
        ]
        values = np.array(values)  # never the engine's buffer
        values[power_rows] = power_in_kw(values[power_rows], plan.power_sign, plan.power_unit)
    n_inv, n_dc, n_slots = plan.shape
    time_len = values.shape[1]
    out: dict[str, np.ndarray] = {}
    if "dc_power" in plan.variables:
        dc_power = np.full((time_len, n_inv * n_dc), np.nan)
        dc_power[:, plan.dc_positions] = values[:n_dc_cols].T
        out["dc_power"] = dc_power.reshape(time_len, n_inv, n_dc)
    if "soc" in plan.variables:
        soc = np.full((time_len, n_inv * n_dc * n_slots), np.nan)
        soc[:, plan.soc_positions] = values[n_dc_cols : n_dc_cols + n_soc_cols].T
        out["soc"] = soc.reshape(time_len, n_inv, n_dc, n_slots)
    plant_rows = dict(zip(plan.plant_variables, values[n_dc_cols + n_soc_cols :], strict=True))
    for var in schema.PLANT_COLUMNS.values():
        if var in plan.variables:
            out[var] = plant_rows.get(var, np.full(time_len, np.nan))
    return out


# The Dataset ------------------------------------------------------------------------------
def open_exports(
    paths: PathsLike,
    *,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    chunks: str | None = "file",
    variables: Sequence[str] = schema.VARIABLES,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    cache: str | os.PathLike | ExportIndex | None = None,
    power_sign: str = POWER_SIGNS[0],
    power_unit: str = POWER_UNITS[0],
) -> xr.Dataset:
    """Open a folder of daily parquet exports as one labelled, lazy Dataset.

    Parameters
    ----------
    paths
        A folder (all ``*.parquet`` in it), a glob pattern, or a list of files, in any order;
        or a history archive written by :func:`bessx.to_netcdf` (``.nc``).
    timezone
        IANA timezone of the plant, such as ``"Europe/Berlin"``: naive timestamps are local
        times of it, tz-aware ones are converted, and local days are cut at its midnights.
        Kept in ``attrs["timezone"]``. Required for exports (there is no default zone); for
        a history archive, by default the archive's.
    topology
        Site topology (CSV path, DataFrame or mapping, see :func:`bessx.topology.read_topology`).
        By default it is inferred from the battery-system columns.
    interval
        Nominal sampling interval [s]. By default the median positive time step.
    chunks
        ``"file"``: one dask chunk per file along ``time``; ``None``: read into memory now.
    variables
        The variables to read; only their columns are read.
    engine
        Parquet engine: ``"polars"`` (faster footers), ``"pyarrow"``, or ``"auto"`` (polars
        when installed). Both give identical results.
    columns
        Column-name patterns, for a site whose exports name their columns differently.
    max_gap_days
        Largest gap between consecutive exports [days] (default :data:`MAX_GAP_DAYS`, two
        years). Exports further apart are not taken as one history: the files outside the
        largest group are refused.
    bad_files
        What to do with an export that cannot be used (see Raises): ``"raise"`` the
        :class:`~bessx.errors.ExportError`, or ``"skip"`` the file with a
        :class:`SkippedFileWarning` naming it and the reason, and read the others (an
        error only when none is left). Problems found only when the data are read are
        raised either way.
    cache
        A folder (created if missing) or an :class:`~bessx.io.index.ExportIndex` that keeps
        a small index of each export: its column names and types and its timestamps, as the
        open's footer parse found them. Opening unchanged files again reads the index
        instead of parsing their footers, so each footer is parsed once, when the data are
        read. A changed file is parsed again; every setting of the open applies anew (see
        :mod:`bessx.io.index`). None (the default): nothing is kept. Keep it out of the
        data folder; ``bessx run``'s cache folder will do. Ignored for a history archive.
    power_sign
        How the exports sign power: ``"discharge_positive"`` (default) or
        ``"charge_positive"`` (see :mod:`bessx.io.conventions`).
    power_unit
        The unit of the exports' power: ``"kW"`` (default), ``"W"`` or ``"MW"``. DC input
        power, plant power and setpoint are converted to kW, discharging positive, as they
        are read; ``attrs`` record the exports' convention (``export_power_sign``,
        ``export_power_unit``).

    Returns
    -------
    xarray.Dataset
        ``dc_power`` (time, inverter, dc_input) [kW], ``soc`` (time, inverter, dc_input,
        enclosure) [%], ``plant_power``, ``plant_soc``, ``setpoint`` (time); ``time`` in UTC,
        with the coordinate ``duplicates_dropped`` (time) [1]: how many rows repeating each
        timestamp were dropped (uint16, 0 for most).

    Raises
    ------
    ConfigError
        No ``timezone`` for exports (:data:`bessx.config.NO_TIMEZONE`), before any file is
        read.
    ExportError
        A file that cannot be used, named in a one-line message: unreadable, without
        timestamps or DC power columns, a needed column that is not numeric, timestamps
        outside the plausible window, off the date in its name or far from the other
        exports, or (with an inferred topology) battery systems that would re-split an
        inverter.

    Warns
    -----
    ExportWarning
        Something repaired or filled in: rows sorted, duplicate rows dropped, columns
        missing in some files (NaN), enclosures of a given topology that no export has.

    Notes
    -----
    **Stable topology.** An inferred topology comes from the union of all files'
    battery systems, and splits each inverter on every day alike. For each inverter the
    battery systems present in more than half of the files that have any of its battery
    systems are its usual set. If the union splits that usual set differently from the
    usual set on its own (two extra battery systems in one export turn a 2 + 2 inverter
    into 3 + 3, moving an enclosure to the other DC input on every day), the open stops,
    naming the first file in time order with the extra battery systems: give a topology.
    Battery systems missing from some files (a whole inverter absent from one export, or
    a few SOC columns) leave the split unchanged: their SOC is NaN in those files, with
    an :class:`ExportWarning`. A tie (as many files with as without) counts as a change.
    """
    unknown = sorted(set(variables) - set(schema.VARIABLES))
    if unknown:
        raise ValueError(f"unknown variable(s) {unknown}; choose from {list(schema.VARIABLES)}")
    if chunks not in ("file", None):
        raise ValueError(f"chunks must be 'file' or None, not {chunks!r}")
    if interval is not None and not 0.1 <= interval <= 86_400:
        raise ValueError(f"interval must be from 0.1 to 86400 s (one day), not {interval!r}")
    check_power_convention(power_sign, power_unit)
    variables = tuple(v for v in schema.VARIABLES if v in variables)
    parquet = get_engine(engine)
    files = export_paths(paths)
    if len(files) == 1 and files[0].suffix == ".nc":
        return _open_archive(files[0], timezone, topology, interval, chunks, variables)
    timezone = require_timezone(timezone)
    patterns = columns or ColumnPatterns()
    if bad_files not in BAD_FILE_POLICIES:
        raise ValueError(f"bad_files must be one of {BAD_FILE_POLICIES}, not {bad_files!r}")
    skip = bad_files == "skip"
    index = as_index(cache)
    n_dc = dc_input_count(None if topology is None else read_topology(topology))

    def scan(path: Path) -> ExportFile | ExportError:
        try:
            return scan_export(path, timezone, parquet, patterns, index, n_dc)
        except ExportError as error:
            if not skip:
                raise
            return error

    # both engines parse footers with the GIL released: two threads measured 1.2-1.5x faster
    with ThreadPoolExecutor(max_workers=2) as pool:
        scanned = list(pool.map(scan, files))
    if index is not None:  # the entries of these files' earlier states
        opened = [item.path for item in scanned if isinstance(item, ExportFile)]
        index.prune(opened, IndexSettings(parquet.name, patterns.time), others=False)
    skipped = [item for item in scanned if isinstance(item, ExportError)]

    exports = group_overlapping([item for item in scanned if isinstance(item, ExportFile)])
    folder = paths if isinstance(paths, str | os.PathLike) else files[0].parent
    exports, checked, refused = check_history(
        exports, topology, max_gap_days, skip=skip, source=folder, total=len(files), skipped=skipped
    )
    topo, source, absent, metered = checked
    skipped += refused
    check_patterns_found(exports, patterns)
    inverters = sort_inverters({inv for inv, _ in metered} | set(topo.inverters))
    enclosure_id, n_enclosures = topo.arrays(inverters)
    plans = [
        dataclasses.replace(
            _plan(export, inverters, topo, variables, parquet),
            power_sign=power_sign,
            power_unit=power_unit,
        )
        for export in exports
    ]
    time = np.concatenate([export.time for export in exports])
    dropped = np.concatenate(
        [
            np.zeros(len(export.time), np.uint16) if export.dropped is None else export.dropped
            for export in exports
        ]
    )
    if interval is None:
        steps = np.diff(time).astype("m8[ns]").astype(np.int64)
        if len(steps) == 0:
            raise ExportError(
                files[0], "a single sample: the interval cannot be inferred (give interval=)"
            )
        interval = float(np.median(steps)) / 1e9

    # warned only once every check at open has passed: no warning precedes an open error
    order = {str(path): index for index, path in enumerate(files)}
    for left_out in sorted(skipped, key=lambda left_out: order.get(left_out.path, len(order))):
        warnings.warn(SkippedFileWarning(left_out.path, left_out.problem), stacklevel=2)
    if absent:
        warnings.warn(
            f"{source}: enclosure(s) {_short_list(sort_enclosures(absent))} of the topology "
            "appear in no export (their state of charge is NaN)",
            ExportWarning,
            stacklevel=2,
        )
    unplaced = unplaced_columns(
        (name for export in exports for name in export.columns.unplaced), topo.n_dc_inputs
    )
    if unplaced is not None:
        warnings.warn(unplaced, ExportWarning, stacklevel=2)
    for note in missing_notes(exports, inverters, topo, variables, absent):
        warnings.warn(note, ExportNote, stacklevel=2)
    for export in exports:
        for file in export.files:
            for note in file.notes:
                warnings.warn(f"{file.path}: {note}", ExportWarning, stacklevel=2)
        if export.members:  # a note of the group as a whole
            for note in export.notes:
                warnings.warn(f"{export.path}: {note}", ExportWarning, stacklevel=2)

    arrays = _dask_arrays(plans, variables)
    if chunks is None:
        arrays = {var: array.compute() for var, array in arrays.items()}
    data_vars = {
        var: (schema.VARIABLE_DIMS[var], arrays[var], dict(schema.VARIABLE_ATTRS[var]))
        for var in variables
    }
    coords = {
        schema.TIME: (schema.TIME, time, schema.COORD_ATTRS[schema.TIME]),
        DUPLICATES_DROPPED: (schema.TIME, dropped, DUPLICATES_ATTRS),
        schema.INVERTER: (
            schema.INVERTER,
            np.array(inverters, dtype=str),
            schema.COORD_ATTRS[schema.INVERTER],
        ),
        schema.DC_INPUT: (
            schema.DC_INPUT,
            np.arange(1, topo.n_dc_inputs + 1),
            schema.COORD_ATTRS[schema.DC_INPUT],
        ),
        schema.ENCLOSURE: (
            schema.ENCLOSURE,
            np.arange(1, topo.max_slots + 1),
            schema.COORD_ATTRS[schema.ENCLOSURE],
        ),
        "enclosure_id": (
            (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
            enclosure_id,
            schema.COORD_ATTRS["enclosure_id"],
        ),
        "n_enclosures": (
            (schema.INVERTER, schema.DC_INPUT),
            n_enclosures,
            schema.COORD_ATTRS["n_enclosures"],
        ),
    }
    n_files = sum(len(export.files) for export in exports)
    attrs = {
        "Conventions": schema.CF_CONVENTIONS,
        "timezone": timezone,
        "interval_seconds": interval,
        "source_files": n_files,
        "source_samples": len(time),
        "history": schema.add_history(None, f"bessx.open_exports: read {n_files} export file(s)"),
        **export_attrs(exports),
        **convention_attrs(power_sign, power_unit),
    }
    return xr.Dataset(data_vars, coords, attrs)


def export_attrs(exports: Sequence[ExportFile]) -> dict[str, str]:
    """What a history's attrs say about how its exports were written: ``file_naming``
    (:func:`file_naming`, absent when no name holds a date) and ``file_grouping``
    (:func:`bessx.io.groups.file_grouping`, absent for one file per period)."""

    attrs = {}
    naming = file_naming(file.naming for export in exports for file in export.files)
    if naming is not None:
        attrs["file_naming"] = naming
    grouping = file_grouping(exports)
    if grouping is not None:
        attrs["file_grouping"] = grouping
    return attrs


def check_history(
    exports: list[ExportFile],
    topology: TopologyLike | None,
    max_gap_days: float,
    *,
    skip: bool,
    source: str | os.PathLike,
    total: int,
    skipped: Sequence[ExportError] = (),
) -> tuple[
    list[ExportFile],
    tuple[Topology, str, set[str], set[tuple[str, int]]],
    list[ExportError],
]:
    """The checks across files (gaps, overlaps, the topology); with ``skip``, a file a check refuses
    is left out in turn. Returns the exports kept, the checks' result and the refusals.

    ``source`` and ``total`` (the number of files asked for) name the folder when no file is
    left; then each file left out (``skipped`` earlier, and here) is named with its reason
    first, in a :class:`SkippedFileWarning`.
    """
    kept, refusals = list(exports), list[ExportError]()
    while True:
        try:
            if not kept:
                for left_out in (*skipped, *refusals):
                    warnings.warn(SkippedFileWarning(left_out.path, left_out.problem), stacklevel=3)
                raise ExportError(source, f"no usable export: all {total} file(s) were skipped")
            return kept, _check_together(kept, topology, max_gap_days), refusals
        except ExportError as error:
            refused = [export for export in kept if str(export.path) == error.path]
            if not (skip and refused):
                raise
            kept.remove(refused[0])
            refusals.append(error)


def _check_together(
    exports: list[ExportFile], topology: TopologyLike | None, max_gap_days: float
) -> tuple[Topology, str, set[str], set[tuple[str, int]]]:
    """The checks across files, and the topology: (topology, its name, absent ids, metered)."""
    _check_gaps(exports, max_gap_days)
    _check_no_overlap(exports)
    metered = {key for export in exports for key in export.columns.dc_power}
    seen_ids = set().union(*(export.columns.soc for export in exports))
    absent: set[str] = set()
    if topology is None:
        source = str(exports[0].path.parent)
        _check_stable_split(exports)
        try:
            topo = infer_topology(seen_ids)
        except BessxError as error:
            raise ExportError(_first_with_bad_names(exports, source), str(error)) from None
    else:
        topo = read_topology(topology)
        source = str(topology) if isinstance(topology, str | os.PathLike) else "topology"
        absent = set(topo.table["enclosure_id"]) - seen_ids
    check_topology(topo, metered, source)
    return topo, source, absent, metered


def unplaced_columns(columns: Iterable[str], n_dc: int) -> str | None:
    """The one warning of a run about DC input power ``columns`` the topology does not know
    (their DC input is beyond the plant arrays' ``n_dc``), or None when there are none."""
    names = sorted(set(columns))
    if not names:
        return None
    return (
        f"{len(names)} DC input power column(s) of a DC input the topology does not have "
        f"(it has DC inputs 1 to {n_dc}): {_short_list([repr(name) for name in names], 3)}; "
        "not read, their energy is not in the results: give a topology that lists their "
        "enclosures"
    )


def check_patterns_found(exports: Sequence[ExportFile], patterns: ColumnPatterns) -> None:
    """Refuse a plant-column pattern that was given but matches no column of any export.

    Raises
    ------
    ConfigError
        Naming the key and the pattern (a configuration error: exit 2).
    """
    for var in schema.PLANT_COLUMNS.values():
        given = getattr(patterns, var)
        if given is not None and not any(var in export.columns.plant for export in exports):
            raise ConfigError(
                f"[columns] {var} = {given.pattern!r} matches no column of any export"
            )


def _first_with_bad_names(exports: list[ExportFile], folder: str) -> str:
    """The first export (in time order) whose own battery-system names cannot be split."""
    for export in exports:
        try:
            infer_topology(export.columns.soc)
        except BessxError:
            return str(export.path)
    return folder  # each file alone is fine: only their union cannot be split


def _open_archive(
    path: Path,
    timezone: str | None,
    topology: TopologyLike | None,
    interval: float | None,
    chunks: str | None,
    variables: tuple[str, ...],
) -> xr.Dataset:
    """A history archive as :func:`open_exports` gives it; ``timezone``, ``interval`` apply."""
    if topology is not None:
        raise ValueError(f"{path}: a history archive keeps its topology; topology= cannot apply")
    history = open_history(path, chunks="day" if chunks == "file" else None)
    history = history[[var for var in variables if var in history.data_vars]]
    if DUPLICATES_DROPPED not in history.coords:  # an archive written before it existed
        zeros = np.zeros(history.sizes[schema.TIME], np.uint16)
        history = history.assign_coords(
            {DUPLICATES_DROPPED: (schema.TIME, zeros, DUPLICATES_ATTRS)}
        )
    overrides = {"timezone": timezone, "interval_seconds": interval}
    return history.assign_attrs({k: v for k, v in overrides.items() if v is not None})


def _plan(
    export: ExportFile,
    inverters: list[str],
    topo: Topology,
    variables: tuple[str, ...],
    engine: Engine,
) -> ReadPlan:
    columns = export.columns
    n_dc, n_slots = topo.n_dc_inputs, topo.max_slots
    inverter_index = {name: i for i, name in enumerate(inverters)}
    dc_items = []
    if "dc_power" in variables:
        dc_items = [
            (inverter_index[inv] * n_dc + dc - 1, name)
            for (inv, dc), name in columns.dc_power.items()
        ]
    soc_items = []
    if "soc" in variables:
        table = topo.table
        for inv, dc, enclosure_id, slot in zip(
            table["inverter"],
            table["dc_input"],
            table["enclosure_id"],
            table["slot"],
            strict=True,
        ):
            if enclosure_id in columns.soc and inv in inverter_index:
                flat = (inverter_index[inv] * n_dc + dc - 1) * n_slots + slot - 1
                soc_items.append((flat, columns.soc[enclosure_id]))
    plant_items = [(var, columns.plant[var]) for var in columns.plant if var in variables]
    return ReadPlan(
        group=export if export.members else None,
        path=str(export.path),
        engine=engine.name,
        rows=export.rows,
        repeats=export.repeats,
        n_rows=len(export.time),
        dc_columns=tuple(name for _, name in dc_items),
        dc_positions=np.array([pos for pos, _ in dc_items], dtype=np.intp),
        soc_columns=tuple(name for _, name in soc_items),
        soc_positions=np.array([pos for pos, _ in soc_items], dtype=np.intp),
        plant_columns=tuple(name for _, name in plant_items),
        plant_variables=tuple(var for var, _ in plant_items),
        shape=(len(inverters), n_dc, n_slots),
        variables=variables,
    )


def _dask_arrays(plans: list[ReadPlan], variables: tuple[str, ...]) -> dict[str, da.Array]:
    """One read task per file, and a cheap item-getter per variable on top of it."""
    import dask.array as da  # here: a run from the summaries never builds a graph
    from dask.highlevelgraph import HighLevelGraph

    token = tokenize(
        [
            (p.path, p.dc_columns, p.soc_columns, p.n_rows, p.power_sign, p.power_unit)
            + (() if p.group is None else tuple(str(m.path) for m in p.group.members))
            for p in plans
        ],
        variables,
    )
    read_name = f"read-exports-{token}"
    read_layer: dict[Key, Any] = {
        (read_name, i): (read_block, plan) for i, plan in enumerate(plans)
    }
    n_inv, n_dc, n_slots = plans[0].shape
    time_chunks = tuple(plan.n_rows for plan in plans)
    arrays = {}
    for var in variables:
        name = f"{var}-{token}"
        tail = {"dc_power": (n_inv, n_dc), "soc": (n_inv, n_dc, n_slots)}.get(var, ())
        zeros = (0,) * len(tail)
        layer: dict[Key, Any] = {
            (name, i, *zeros): (operator.getitem, (read_name, i), var) for i in range(len(plans))
        }
        graph = HighLevelGraph(
            {read_name: read_layer, name: layer}, {read_name: set(), name: {read_name}}
        )
        chunks = (time_chunks, *((size,) for size in tail))
        arrays[var] = da.Array(graph, name, chunks, dtype=np.float64)
    return arrays


# Checks ------------------------------------------------------------------------------------
def _check_gaps(exports: list[ExportFile], max_gap_days: float) -> None:
    """Refuse exports more than ``max_gap_days`` from the rest of the history.

    The exports (in time order) fall into groups separated by gaps longer than
    ``max_gap_days``. The group with the most files (on a tie, the most rows, then the
    latest) is the history; the first file outside it is refused.
    """
    if not max_gap_days > 0:
        raise ValueError(f"max_gap_days must be positive, not {max_gap_days!r}")
    if len(exports) < 2:
        return
    max_gap = np.timedelta64(round(max_gap_days * 86_400), "s")
    starts = np.array([export.time[0] for export in exports])
    ends = np.array([export.time[-1] for export in exports])
    group = np.r_[0, np.cumsum(starts[1:] - ends[:-1] > max_gap)]
    if group[-1] == 0:
        return
    files = np.bincount(group)
    rows = np.bincount(group, weights=[len(export.time) for export in exports])
    history = max(range(len(files)), key=lambda g: (files[g], rows[g], g))
    outside = int(np.flatnonzero(group != history)[0])
    inside = np.flatnonzero(group == history)
    nearest = inside[np.argmin(np.abs(inside - outside))]
    years = abs(float((starts[nearest] - starts[outside]) / np.timedelta64(1, "D"))) / 365.25
    raise ExportError(
        exports[outside].path,
        f"its timestamps ({minute_text(starts[outside])} UTC) lie {years:.1f} years from the rest "
        f"of the history ({int(files[history])} file(s), nearest {exports[nearest].path.name}); "
        f"exports more than {max_gap_days:g} days apart are refused (a clock error? "
        "else give max_gap_days=)",
    )


def _check_stable_split(exports: list[ExportFile]) -> None:
    """Refuse battery systems that would make the inferred topology re-split an inverter.

    See the Notes of :func:`open_exports` for the rule.
    """
    change = find_resplit([export.columns.soc.keys() for export in exports])
    if change is None:
        return
    index, inverter, extra, other = change
    raise ExportError(
        exports[index].path,
        f"battery systems {', '.join(extra)} appear here but not in "
        f"{exports[other].path.name}; the inferred topology would re-split inverter "
        f"{inverter} on every day: give --topology (topology= in Python)",
    )


def _check_no_overlap(exports: list[ExportFile]) -> None:
    for before, after in itertools.pairwise(exports):
        if after.time[0] <= before.time[-1]:
            raise ExportError(
                after.path, f"overlaps {before.path.name} in time (the same period exported twice?)"
            )


def missing_notes(
    exports: list[ExportFile],
    inverters: list[str],
    topo: Topology,
    variables: tuple[str, ...],
    absent: set[str],
) -> list[str]:
    """Note columns missing in a file; enclosures no file has are reported once, elsewhere.

    Plant columns that no export has are not a gap in some files but a plant without a
    meter in its exports: they are returned as one note for the run (an
    :class:`ExportNote`), not noted per file.
    """
    # the DC inputs with enclosures: an inverter with one DC input has no second to miss
    expected_dc = set(zip(topo.table["inverter"], topo.table["dc_input"], strict=True))
    plant_wanted = [v for v in schema.PLANT_COLUMNS.values() if v in variables]
    nowhere = [v for v in plant_wanted if not any(v in e.columns.plant for e in exports)]
    for export in exports:
        problems = []
        if "dc_power" in variables:
            missing = expected_dc - set(export.columns.dc_power)
            if missing:
                names = sorted({f"{inv} DC{dc}" for inv, dc in missing})
                problems.append(f"no power column for {_short_list(names)}")
        if "soc" in variables:
            missing_soc = set(topo.table["enclosure_id"]) - set(export.columns.soc) - absent
            if missing_soc:
                names = sort_enclosures(missing_soc)
                problems.append(f"no state of charge for {_short_list(names)}")
        plant_missing = [
            v for v in plant_wanted if v not in export.columns.plant and v not in nowhere
        ]
        if plant_missing:
            problems.append(f"no plant column for {', '.join(plant_missing)}")
        if problems:
            export.notes.append(f"{'; '.join(problems)} (filled with NaN)")
    if not nowhere:
        return []
    if "plant_power" in nowhere:
        return [
            "no plant meter columns: conversion efficiency not computed "
            f"(no plant column for {', '.join(nowhere)} in any export)"
        ]
    return [f"no plant column for {', '.join(nowhere)} in any export (NaN)"]


def _short_list(names: list[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown if len(names) <= limit else f"{shown} and {len(names) - limit} more"
