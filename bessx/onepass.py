"""Daily results straight from the exports: one pass over each file, then a small reduce.

:func:`bessx.open_exports` followed by :func:`bessx.daily_energy` parses every export's
footer twice (once to build the lazy Dataset's ``time`` index, once to read the data), and
the footer of a wide export costs more than its data. :func:`daily_from_exports` reads each
file once: a task per file (:func:`summarise_export`) parses the footer, reads the
timestamps and the needed columns together, applies the plausibility rules and reduces the
file to per-day partial sums, flag counts and the few values its neighbour needs; the
reduce (:func:`combine`) joins the files and checks the interval. The summaries are small
(tens of kB per file), so they are what :mod:`bessx.cache` keeps between runs. The battery
health comes from the same pass (:func:`from_exports` with ``health=True``, or
:func:`health_from_exports` for the health alone): a file's summary then also holds its
per-day health partials (:func:`bessx.health_kernels.day_parts`).

The results are the same as :func:`bessx.daily_energy`, :func:`bessx.quality` and
:func:`bessx.health.daily_health` of :func:`bessx.open_exports`, bit for bit: a day's sums are
taken sample after sample in the same order, and the only value a file cannot know, the hold
of its last sample (the step to the next file's first sample), is added last by the reduce
(the health uses nothing else of the next file: a discharge segment that runs to midnight is
not used). That holds when every local day lies within one file, as with daily exports. A
history where a day is split over files, whose files do not share one sampling interval,
whose state-of-charge columns the per-file topology maps differently, or (for the health)
whose files' columns give another plant layout than the history's is computed the classic
way instead (same results, two footer parses per file).
"""

from __future__ import annotations

import itertools
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.energy import (
    ALLOCATIONS,
    daily_soc_throughput,
    energy_dataset,
    hold_seconds,
    local_days,
)
from bessx.errors import BessxError, ExportError, first_line
from bessx.health import _window_days, check_min_swing, partials_array, plant_threshold
from bessx.health_kernels import (
    PARTIALS,
    DayParts,
    add_sample,
    day_parts,
    finish_parts,
    power_terms,
    running_power_sums,
)
from bessx.io.engines import UnreadableData, get_engine
from bessx.io.exports import (
    BAD_FILE_POLICIES,
    MAX_GAP_DAYS,
    ColumnMap,
    ColumnPatterns,
    ExportFile,
    ExportWarning,
    SkippedFileWarning,
    _column_map,
    _note_missing,
    check_history,
    check_repeats,
    export_from_scan,
    export_paths,
)
from bessx.plausibility import Limits, masked
from bessx.quality import (
    EXCLUDABLE,
    FLAGS,
    POWER_FLAGS,
    SOC_FLAGS,
    QualitySettings,
    _count_per_day,
    _power_flags,
    _soc_flags,
    flags_dataset,
)
from bessx.topology import (
    Topology,
    TopologyLike,
    infer_topology,
    read_topology,
    sort_inverters,
)

__all__ = [
    "DailySummary",
    "HealthSettings",
    "HealthSummary",
    "NotOnePass",
    "Results",
    "Settings",
    "Summary",
    "combine",
    "daily_from_exports",
    "from_exports",
    "health_from_exports",
    "summarise_export",
]

#: The columns of a topology table, in the order :class:`Settings` keeps its rows.
_TOPOLOGY_COLUMNS = ("inverter", "dc_input", "enclosure_id", "slot")


@dataclass(frozen=True)
class HealthSettings:
    """What the battery health's per-day partials depend on beyond :class:`Settings`."""

    #: smallest mean-SOC decrease of a discharge segment used for the usable capacity [%]
    min_swing: float = 20.0


@dataclass(frozen=True)
class Settings:
    """Everything a file's summary depends on, besides the file (part of the cache key)."""

    timezone: str = schema.DEFAULT_TIMEZONE
    engine: str = "auto"
    patterns: ColumnPatterns = field(default_factory=ColumnPatterns)
    #: the nominal interval [s] if given, else None (each file uses its own median step)
    interval: float | None = None
    max_gap: float = 3.0
    limits: Limits = field(default_factory=Limits)
    quality: QualitySettings = field(default_factory=QualitySettings)
    exclude: tuple[str, ...] = ()
    #: the rows (inverter, dc_input, enclosure_id, slot) of a given topology (None:
    #: inferred per file)
    topology: tuple[tuple[str, int, str, int], ...] | None = None
    #: whether the daily energy and flags use the enclosures' SOC (``allocation="soc"``
    #: and the SOC flags)
    soc: bool = True
    #: whether the summaries keep what the daily energy and the quality flags need
    daily: bool = True
    #: the battery health's settings, when the summaries keep its per-day partials too (it
    #: reads the SOC and the plant meter's power)
    health: HealthSettings | None = None

    def __post_init__(self) -> None:
        if not (self.daily or self.health):
            raise ValueError("the summaries must keep the daily results, the health or both")

    @property
    def variables(self) -> tuple[str, ...]:
        """The Dataset variables these settings read."""
        soc = ("soc",) if self.soc or self.health else ()
        plant = ("plant_power",) if self.health else ()
        return ("dc_power", *soc, *plant)

    @property
    def dc_input_of(self) -> tuple[tuple[str, int], ...] | None:
        """enclosure -> DC input, from a given topology (None: inferred per file)."""
        if self.topology is None:
            return None
        return tuple((enclosure_id, dc_input) for _, dc_input, enclosure_id, _ in self.topology)


@dataclass
class DailySummary:
    """What the daily energy and the quality flags need of one export."""

    #: (positive part, negative part, valid seconds) of the power per day and DC input
    #: column, without the last sample (whose hold the next file decides)
    energy: np.ndarray
    swings: np.ndarray  # (down, up, finite pairs) of the SOC per day and SOC column
    power_counts: np.ndarray  # (flag, day, DC column), the per-sample power flags
    soc_counts: np.ndarray  # (flag, day, SOC column)
    power_held: np.ndarray  # (day, DC column) hold seconds of received samples, no last
    soc_held: np.ndarray  # (day, SOC column)
    duplicates: np.ndarray  # (day,) repeated rows dropped
    last_power: np.ndarray  # (DC column,) the last sample, plausible (else NaN)
    last_power_received: np.ndarray  # (DC column,) whether it was received (not NaN)
    last_soc_received: np.ndarray  # (SOC column,)


@dataclass
class HealthSummary:
    """What the battery health needs of one export: its per-day parts on the plant's layout."""

    inverters: list[str]  # the layout the parts are on, which the history's must equal
    enclosure_id: np.ndarray  # (inverter, dc_input, slot)
    #: :func:`bessx.health_kernels.day_parts`, held sums without the last sample
    parts: DayParts
    last_power: np.ndarray  # (inverter * dc_input,) the last sample, plausible (else NaN)
    last_plant: float  # the last sample of the plant meter [kW]


@dataclass
class Summary:
    """One export reduced to what the results need (see :func:`summarise_export`)."""

    path: str
    first: np.datetime64  # UTC
    last: np.datetime64  # UTC
    rows: int
    interval: float  # provisional nominal interval [s]; NaN for a single sample
    steps: tuple[np.ndarray, np.ndarray]  # distinct time steps [ns] and their counts
    dates: np.ndarray  # local dates of the file's days (datetime64[ns])
    dc_keys: list[tuple[str, int]]
    soc_ids: list[str]
    soc_dc_input: np.ndarray  # DC input (1, 2) each SOC column was checked against
    plant: list[str]  # the plant variables the file has a column for
    daily: DailySummary | None  # None unless ``settings.daily``
    health: HealthSummary | None  # None unless ``settings.health`` (and a topology)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------
# map: one export -> one Summary
# ---------------------------------------------------------------------------------------
def _pick(patterns: ColumnPatterns, path: Path, settings: Settings) -> Callable[..., list[str]]:
    def pick(names: tuple[str, ...], refusal: Callable[[str], str | None]) -> list[str]:
        needed = _needed(_column_map(names, patterns), settings)
        for name in needed:
            if (why := refusal(name)) is not None:
                raise ExportError(path, f"column '{name}' is not numeric ({why})")
        return needed

    return pick


def _needed(columns: ColumnMap, settings: Settings) -> list[str]:
    """The columns to read, in this order: DC power, SOC, the plant meter's power."""
    soc = columns.soc.values() if "soc" in settings.variables else ()
    plant = [
        columns.plant[name]
        for name in ("plant_power",)
        if name in settings.variables and name in columns.plant
    ]
    return [*columns.dc_power.values(), *soc, *plant]


def _load(path: Path, settings: Settings) -> tuple[ExportFile, np.ndarray]:
    """One footer parse: the checked export and its needed columns (column, row), in time order."""
    engine = get_engine(settings.engine)
    try:
        if path.stat().st_size == 0:
            raise ExportError(path, "empty file (0 bytes)")
        scan, matrix = engine.load(path, _pick(settings.patterns, path, settings))
    except ExportError:
        raise
    except UnreadableData as error:
        cause = error.__cause__ or error
        raise ExportError(path, f"cannot read its data ({first_line(cause)})") from None
    except Exception as error:  # each engine has its own errors for a broken file
        raise ExportError(path, f"not a readable parquet file ({first_line(error)})") from None
    export = export_from_scan(path, scan, settings.timezone, settings.patterns)
    values = matrix.T
    if export.repeats is not None:
        check_repeats(path, values, export.repeats, _needed(export.columns, settings))
    if export.rows is not None:
        values = values[:, export.rows]
    return export, values


@lru_cache(maxsize=16)
def _soc_dc_inputs(
    soc_ids: tuple[str, ...], dc_input_of: tuple[tuple[str, int], ...] | None
) -> np.ndarray:
    """The DC input of each SOC column: from the topology given, else inferred from the
    file's own battery systems (0 where unknown; the reduce checks it against the history's).
    Cached: the files of a history share their columns."""
    if dc_input_of is not None:
        known = pd.Series(dict(dc_input_of), dtype=np.int64)
        return known.reindex(list(soc_ids)).fillna(0).to_numpy(np.int64)
    try:
        table = infer_topology(soc_ids).table
    except BessxError:
        return np.zeros(len(soc_ids), dtype=np.int64)
    return table.set_index("enclosure_id")["dc_input"].reindex(list(soc_ids)).to_numpy(np.int64)


@lru_cache(maxsize=16)
def _cached_positions(
    dc_keys: tuple[tuple[str, int], ...], soc_ids: tuple[str, ...], dc_inputs: tuple[int, ...]
) -> np.ndarray:
    if not soc_ids:
        return np.zeros(0, dtype=np.intp)
    index = pd.MultiIndex.from_tuples(dc_keys) if dc_keys else pd.MultiIndex.from_tuples([("", 0)])
    owners = pd.Series(list(soc_ids), dtype=object).str.extract(schema.ENCLOSURE_ID_PATTERN)
    inverters = owners["block"] + owners["side"] + "PCS" + owners["n"]
    wanted = pd.MultiIndex.from_arrays([inverters.fillna(""), list(dc_inputs)])
    positions = index.get_indexer(wanted)
    return positions if dc_keys else np.full(len(soc_ids), -1)


def _power_positions(
    dc_keys: tuple[tuple[str, int], ...], soc_ids: tuple[str, ...], dc_inputs: np.ndarray
) -> np.ndarray:
    """Column of each SOC column's DC input among the power columns, -1 if none."""
    return _cached_positions(dc_keys, soc_ids, tuple(int(d) for d in dc_inputs))


def summarise_export(path: str | Path, settings: Settings) -> Summary:
    """Read one export once and reduce it to per-day partial sums and flag counts.

    Parameters
    ----------
    path
        The parquet export.
    settings
        The settings of the analysis (:class:`Settings`).

    Returns
    -------
    Summary
        The file's time steps, and, with ``settings.daily``, per local day of the file and
        per DC input power column: the sums of :func:`bessx.energy.daily_power_sums` over
        every sample but the last, the SOC swings of
        :func:`bessx.energy.daily_soc_throughput`, the flag counts of
        :func:`bessx.quality.power_sample_flags` and :func:`~bessx.quality.soc_sample_flags`
        and the held seconds of the received samples, and the last sample's values. With
        ``settings.health``, the battery health's :func:`bessx.health_kernels.day_parts`
        (held sums over every sample but the last) and the last sample's values.
        Implausible samples (and, for the daily energy, the flags in ``settings.exclude``)
        are treated as missing, as in :func:`bessx.daily_energy` and :func:`bessx.health`.

    Raises
    ------
    ExportError
        A file that cannot be used, in one line naming it.
    """
    path = Path(path)
    export, values = _load(path, settings)
    time = export.time
    n_dc = len(export.columns.dc_power)
    n_soc = len(export.columns.soc) if "soc" in settings.variables else 0
    # a contiguous copy of the power: every kernel then runs faster than on a view
    power, soc = np.ascontiguousarray(values[:n_dc].T), values[n_dc : n_dc + n_soc].T
    steps = np.diff(time.view(np.int64))
    interval = settings.interval or (float(np.median(steps)) / 1e9 if len(steps) else np.nan)
    day_index, dates, _ = local_days(time, settings.timezone)
    n = len(time)
    holds = hold_seconds(time, interval, settings.max_gap) if n > 1 else np.array([np.nan])
    n_days = int(day_index[-1]) + 1
    head = slice(0, n - 1)  # every sample but the last, whose hold the next file decides

    plausible = masked(power, "dc_power", settings.limits)
    power_sums = running_power_sums(plausible[head], holds[head], day_index[head], n_days)
    soc_ids = list(export.columns.soc)  # the battery systems named, read or not
    soc_dc_input = _soc_dc_inputs(tuple(soc_ids), settings.dc_input_of)
    daily = None
    if settings.daily:
        daily = _daily_summary(
            export, power, plausible, soc, soc_dc_input, power_sums, holds, day_index,
            interval, settings,
        )  # fmt: skip
    health = None
    if settings.health is not None:
        plant = values[n_dc + n_soc] if "plant_power" in export.columns.plant else None
        health = _health_summary(
            export, plausible, values.T, n_dc, plant, power_sums, holds, day_index,
            interval, settings, settings.health,
        )  # fmt: skip
    return Summary(
        path=str(path),
        first=time[0],
        last=time[-1],
        rows=n,
        interval=float(interval),
        steps=np.unique(steps, return_counts=True),
        dates=dates,
        dc_keys=list(export.columns.dc_power),
        soc_ids=soc_ids,
        soc_dc_input=soc_dc_input,
        plant=list(export.columns.plant),
        daily=daily,
        health=health,
        notes=list(export.notes),
    )


def _daily_summary(
    export: ExportFile,
    power: np.ndarray,
    plausible: np.ndarray,
    soc: np.ndarray,
    soc_dc_input: np.ndarray,
    power_sums: np.ndarray,
    holds: np.ndarray,
    day_index: np.ndarray,
    interval: float,
    settings: Settings,
) -> DailySummary:
    """The daily energy's and the flags' part of :func:`summarise_export`."""
    quality, limits = settings.quality, settings.limits
    n, n_days = len(day_index), int(day_index[-1]) + 1
    head = slice(0, n - 1)
    power_flags, _ = _power_flags(power, day_index, interval, quality, limits)
    with np.errstate(invalid="ignore"):  # before the exclusions, as soc_sample_flags has it
        flowing_dc = np.abs(plausible) > quality.moving_kw
    if settings.exclude:
        bits = sum(FLAGS[name].mask for name in settings.exclude)
        plausible = np.where((power_flags & bits) != 0, np.nan, plausible)
        power_sums = running_power_sums(plausible[head], holds[head], day_index[head], n_days)
    if not settings.soc:  # the battery systems are named, their SOC not used
        soc = soc[:, :0]
    soc_plausible = masked(soc, "soc", limits)
    read_ids = list(export.columns.soc)[: soc.shape[1]]
    # whether each SOC column's DC input carries power (False where it has none)
    position = _power_positions(
        tuple(export.columns.dc_power), tuple(read_ids), soc_dc_input[: len(read_ids)]
    )
    flowing = np.take(flowing_dc, position, axis=1, mode="clip") & (position >= 0)
    soc_flags = _soc_flags(soc, flowing, day_index, interval, quality, limits)

    held_power = np.zeros((n_days, power.shape[1]))
    held_soc = np.zeros((n_days, soc.shape[1]))
    if n > 1:
        days = int(day_index[n - 2]) + 1
        held_power[:days] = _held(~np.isnan(power[head]), holds[head], day_index[head])
        held_soc[:days] = _held(~np.isnan(soc[head]), holds[head], day_index[head])
    duplicates = np.zeros(n_days, dtype=np.int64)
    if export.dropped is not None:
        np.add.at(duplicates, day_index, export.dropped.astype(np.int64))
    return DailySummary(
        energy=power_sums,
        swings=np.nan_to_num(daily_soc_throughput(soc_plausible, day_index)),
        power_counts=_count_per_day(power_flags, POWER_FLAGS[:5], day_index),
        soc_counts=_count_per_day(soc_flags, SOC_FLAGS[:-1], day_index),
        power_held=held_power,
        soc_held=held_soc,
        duplicates=duplicates,
        last_power=plausible[-1].copy(),
        last_power_received=~np.isnan(power[-1]),
        last_soc_received=~np.isnan(soc[-1]),
    )


def _health_summary(
    export: ExportFile,
    plausible: np.ndarray,
    matrix: np.ndarray,
    soc_offset: int,
    plant: np.ndarray | None,
    power_sums: np.ndarray,
    holds: np.ndarray,
    day_index: np.ndarray,
    interval: float,
    settings: Settings,
    health: HealthSettings,
) -> HealthSummary | None:
    """The battery health's part of :func:`summarise_export`: the file's
    :func:`~bessx.health_kernels.day_parts` on the plant layout its columns give (None when
    its battery systems give no topology). ``matrix`` is ``(sample, column)`` as read, its
    SOC columns from ``soc_offset`` on."""
    found = _health_layout(
        tuple(export.columns.dc_power), tuple(export.columns.soc), settings.topology
    )
    if found is None:
        return None
    layout, power_source, slot_source = found
    n = len(day_index)
    n_slots, m = slot_source.shape
    power = _take_columns(plausible, power_source, np.nan)
    # each slot's columns gathered from the whole matrix read (twice as fast as from a view
    # of it) into one contiguous array per slot; the plausibility rules after it
    slots = np.empty((n_slots, n, m))
    for slot, source in enumerate(slot_source):
        np.take(matrix, np.maximum(source, 0) + soc_offset, axis=1, out=slots[slot], mode="clip")
        slots[slot][:, source == -1] = np.nan
        slots[slot][:, source == -2] = 0.0
    slots = masked(slots, "soc", settings.limits)
    plant_power = np.full(n, np.nan) if plant is None else plant
    time_ns = export.time.view(np.int64)
    joined = np.append(np.diff(time_ns) / 1e9 <= settings.max_gap * interval, False)
    used = layout.enclosure_id != ""
    parts = day_parts(
        power,
        slots,
        plant_power,
        holds,
        joined,
        day_index,
        used.reshape(m, n_slots),
        min_swing=health.min_swing,
        plant_threshold=plant_threshold(used),
        held=n - 1,
        power_sums=_take_columns(power_sums, power_source, 0.0),
    )
    return HealthSummary(
        inverters=layout.inverters,
        enclosure_id=layout.enclosure_id,
        parts=parts,
        last_power=power[-1].copy(),
        last_plant=float(plant_power[-1]),
    )


def _take_columns(values: np.ndarray, source: np.ndarray, fill: float) -> np.ndarray:
    """``values[..., source]`` along the last axis, ``fill`` where ``source`` is -1 and 0
    where it is -2; ``values`` itself when ``source`` takes every column in order."""
    if np.array_equal(source, np.arange(values.shape[-1])):
        return values
    taken = np.take(values, np.maximum(source, 0), axis=-1) if values.shape[-1] else None
    if taken is None:
        taken = np.full((*values.shape[:-1], len(source)), fill)
    taken[..., source == -1] = fill
    taken[..., source == -2] = 0.0
    return taken


@lru_cache(maxsize=16)
def _health_layout(
    dc_keys: tuple[tuple[str, int], ...],
    soc_ids: tuple[str, ...],
    topology: tuple[tuple[str, int, str, int], ...] | None,
) -> tuple[_Layout, np.ndarray, np.ndarray] | None:
    """The plant layout a file's columns give, as :func:`bessx.open_exports` makes it, and
    where each of its DC inputs (``(m,)``) and enclosure slots (``(slot, m)``) finds its
    column: -1 for none (NaN), -2 for the 0 of a DC input without enclosures. An unused
    slot reads the DC input's first used slot (:func:`bessx.health_kernels.soc_slots`).
    None when the battery systems give no topology. Cached: the files of a history share
    their columns."""
    if topology is not None:
        topo = Topology(pd.DataFrame(list(topology), columns=list(_TOPOLOGY_COLUMNS)))
    else:
        try:
            topo = infer_topology(soc_ids)
        except BessxError:
            return None
    layout = _Layout.of(topo, sort_inverters({inv for inv, _ in dc_keys} | set(topo.inverters)))
    keys = pd.MultiIndex.from_tuples(dc_keys) if dc_keys else pd.MultiIndex.from_tuples([("", 0)])
    wanted = pd.MultiIndex.from_product([layout.inverters, list(schema.DC_INPUTS)])
    power_source = keys.get_indexer(wanted) if dc_keys else np.full(len(wanted), -1)
    ids = layout.enclosure_id.reshape(len(wanted), -1)
    found = (
        pd.Index(list(soc_ids), dtype=object).get_indexer(pd.Index(ids.ravel())).reshape(ids.shape)
    )
    used = ids != ""
    first_used = found[np.arange(len(ids)), np.argmax(used, axis=1)]
    slot_source = np.where(used, found, first_used[:, np.newaxis])
    slot_source[~used.any(axis=1)] = -2
    return layout, power_source, np.ascontiguousarray(slot_source.T)


def _held(received: np.ndarray, holds: np.ndarray, day_index: np.ndarray) -> np.ndarray:
    """Hold seconds of the received samples per day ``(day, column)``, summed in order."""
    from bessx.energy import _held_sums, _scatter_days, _segments

    segments = _segments(day_index)
    sums = _held_sums(received, segments, holds)
    return np.nan_to_num(_scatter_days(sums[np.newaxis], segments.days, int(day_index[-1]) + 1)[0])


# ---------------------------------------------------------------------------------------
# reduce: summaries -> daily energy and flags
# ---------------------------------------------------------------------------------------
class NotOnePass(Exception):
    """The history cannot be joined from per-file summaries exactly (see the module doc)."""


def _proxy(summary: Summary) -> ExportFile:
    """An :class:`ExportFile` standing for a summarised file in the reader's checks."""
    columns = ColumnMap(
        {key: "" for key in summary.dc_keys},
        {name: "" for name in summary.soc_ids},
        {name: "" for name in summary.plant},
    )
    time = np.array([summary.first, summary.last], dtype="datetime64[ns]")
    return ExportFile(Path(summary.path), columns, time, None, notes=list(summary.notes))


def _median_step(summaries: Sequence[Summary]) -> float:
    """The median of every time step of the history [s], as :func:`open_exports` takes it."""
    values = [summary.steps[0] for summary in summaries]
    counts = [summary.steps[1] for summary in summaries]
    for before, after in itertools.pairwise(summaries):  # the steps from file to file
        values.append(np.array([(after.first - before.last).astype(np.int64)]))
        counts.append(np.array([1]))
    steps, weights = np.concatenate(values), np.concatenate(counts)
    if weights.sum() == 0:
        raise ExportError(
            summaries[0].path, "a single sample: the interval cannot be inferred (give interval=)"
        )
    order = np.argsort(steps, kind="stable")
    steps, cumulative = steps[order], np.cumsum(weights[order])
    total = int(cumulative[-1])
    low = steps[np.searchsorted(cumulative, (total - 1) // 2 + 1)]
    high = steps[np.searchsorted(cumulative, total // 2 + 1)]
    return float(np.median([low, high])) / 1e9


class Results(NamedTuple):
    """What the one pass computes, in memory; None for what the settings did not ask."""

    #: :func:`bessx.daily_energy`
    daily: xr.Dataset | None
    #: :func:`bessx.quality`
    flags: xr.Dataset | None
    #: :func:`bessx.health.daily_health`: the battery health's per-day partials
    health: xr.DataArray | None


def combine(
    summaries: Sequence[Summary],
    settings: Settings,
    *,
    topology: TopologyLike | None = None,
    allocation: str = "equal",
    max_gap_days: float = MAX_GAP_DAYS,
    source: str = "",
    skip: bool = False,
    skipped: Sequence[ExportError] = (),
) -> Results:
    """Join per-file summaries into the daily energy, the quality flags and the health.

    Returns what ``daily_energy(ds, ...)``, ``quality(ds, ...)`` and
    ``daily_health(ds, ...)`` return for ``ds = open_exports(files, ...)``, computed:
    the first two with ``settings.daily``, the last with ``settings.health``.

    Raises
    ------
    NotOnePass
        The history needs the classic path: a local day split over files, files whose
        provisional interval differs from the history's, SOC columns mapped to another
        DC input than the history's topology says, or (for the health) a file whose
        columns give another plant layout than the history's.
    ExportError
        As :func:`bessx.open_exports`; with ``skip``, a file refused by a check across
        files is left out instead (``skipped`` lists the files already left out: each gets
        a :class:`~bessx.io.exports.SkippedFileWarning`).
    """
    summaries = sorted(summaries, key=lambda summary: summary.first)
    exports, checked, refused = check_history(
        [_proxy(summary) for summary in summaries],
        topology,
        max_gap_days,
        skip=skip,
        source=source or "exports",
        total=len(summaries) + len(skipped),
    )
    topo, source, absent, metered = checked
    kept = {str(export.path) for export in exports}
    summaries = [summary for summary in summaries if summary.path in kept]
    skipped = [*skipped, *refused]
    if any(np.isnan(summary.interval) for summary in summaries):
        raise NotOnePass("a file with a single sample")
    for before, after in itertools.pairwise(summaries):
        if before.dates[-1] == after.dates[0]:
            raise NotOnePass(f"{Path(after.path).name} shares a local day with the file before")
    interval = settings.interval or _median_step(summaries)
    if any(summary.interval != interval for summary in summaries):
        raise NotOnePass("files with another provisional interval")

    inverters = sort_inverters({inv for inv, _ in metered} | set(topo.inverters))
    layout = _Layout.of(topo, inverters)
    dc_inputs: dict[tuple[str, ...], np.ndarray] = {}  # the files of a history share columns
    for summary in summaries:
        soc_ids = tuple(summary.soc_ids)
        if soc_ids not in dc_inputs:
            dc_inputs[soc_ids] = layout.dc_input_of(summary.soc_ids)
        if not np.array_equal(summary.soc_dc_input, dc_inputs[soc_ids]):
            raise NotOnePass(f"{Path(summary.path).name}: SOC columns on other DC inputs")
        if settings.health is not None and not layout.holds(summary.health):
            raise NotOnePass(f"{Path(summary.path).name}: its columns give another plant layout")

    _note_missing(exports, inverters, topo, settings.variables, absent)
    for left_out in skipped:
        warnings.warn(SkippedFileWarning(left_out.path, left_out.problem), stacklevel=3)
    if absent:
        warnings.warn(
            f"{source}: enclosure(s) {', '.join(sorted(absent))} of the topology appear in no "
            "export (their state of charge is NaN)",
            ExportWarning,
            stacklevel=3,
        )
    for export in exports:
        for note in export.notes:
            warnings.warn(f"{export.path}: {note}", ExportWarning, stacklevel=3)

    first_and_last = np.array([summaries[0].first, summaries[-1].last], dtype="datetime64[ns]")
    _, dates, day_seconds = local_days(first_and_last, settings.timezone)
    coords = layout.coords()
    attrs = {
        "Conventions": schema.CF_CONVENTIONS,
        "timezone": settings.timezone,
        "interval_seconds": interval,
        "source_files": len(summaries),
        "source_samples": sum(summary.rows for summary in summaries),
        "history": f"{pd.Timestamp.now('UTC'):%Y-%m-%dT%H:%M:%SZ} bessx."
        f"{'daily' if settings.daily else 'health'}_from_exports: "
        f"read {len(summaries)} export file(s)",
    }
    daily = flags = health = None
    if settings.daily:
        days = _join(summaries, layout, settings, interval, dates, day_seconds)
        flags = flags_dataset(
            days.counts,
            days.dates,
            coords,
            attrs,
            settings.quality,
            settings.limits,
            has_soc=settings.soc,
        )
        daily = energy_dataset(
            days.energy(ALLOCATIONS[allocation]),
            days.dates,
            coords,
            attrs,
            flags,
            allocation,
            max_gap=settings.max_gap,
            limits=settings.limits,
            excluded=settings.exclude,
        )
    if settings.health is not None:
        health = partials_array(
            _join_health(summaries, layout, settings, interval, dates, day_seconds),
            dates,
            coords,
            attrs,
            min_swing=settings.health.min_swing,
            max_gap=settings.max_gap,
            limits=settings.limits,
            has_plant=True,  # as open_exports reads it: NaN in files without the column
        )
    return Results(daily, flags, health)


@dataclass(frozen=True)
class _Layout:
    """Where each power and SOC column of the exports sits in the plant's arrays."""

    inverters: list[str]
    enclosure_id: np.ndarray  # (inverter, dc_input, slot)
    n_enclosures: np.ndarray  # (inverter, dc_input)
    #: positions already looked up: the files of a history share their columns
    _found: dict[tuple[str, tuple[Any, ...]], np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, topo: Topology, inverters: list[str]) -> _Layout:
        enclosure_id, n_enclosures = topo.arrays(inverters)
        return cls(inverters, enclosure_id, n_enclosures)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.enclosure_id.shape

    def dc_positions(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        """Flat (inverter, dc_input) position of each power column."""
        memo = ("dc", tuple(keys))
        if memo not in self._found:
            index = pd.MultiIndex.from_product([self.inverters, list(schema.DC_INPUTS)])
            self._found[memo] = index.get_indexer(pd.MultiIndex.from_tuples(list(keys)))
        return self._found[memo]

    def slot_positions(self, soc_ids: Sequence[str]) -> np.ndarray:
        """Flat (inverter, dc_input, slot) position of each SOC column (-1: not in topology)."""
        memo = ("soc", tuple(soc_ids))
        if memo not in self._found:
            flat = self.enclosure_id.ravel()
            used = np.flatnonzero(flat != "")
            found = pd.Index(flat[used]).get_indexer(list(soc_ids))
            self._found[memo] = np.where(found >= 0, used[found], -1)
        return self._found[memo]

    def holds(self, health: HealthSummary | None) -> bool:
        """Whether a file's health parts were computed on this layout."""
        return (
            health is not None
            and health.inverters == self.inverters
            and np.array_equal(health.enclosure_id, self.enclosure_id)
        )

    def dc_input_of(self, soc_ids: Sequence[str]) -> np.ndarray:
        positions = self.slot_positions(soc_ids)
        n_dc, n_slots = self.shape[1], self.shape[2]
        return np.where(positions >= 0, positions // n_slots % n_dc + 1, 0)

    def coords(self) -> dict[str, Any]:
        return {
            schema.INVERTER: xr.Variable(
                schema.INVERTER,
                np.array(self.inverters, dtype=str),
                schema.COORD_ATTRS[schema.INVERTER],
            ),
            schema.DC_INPUT: xr.Variable(
                schema.DC_INPUT, np.array(schema.DC_INPUTS), schema.COORD_ATTRS[schema.DC_INPUT]
            ),
            schema.ENCLOSURE: xr.Variable(
                schema.ENCLOSURE,
                np.arange(1, self.shape[2] + 1),
                schema.COORD_ATTRS[schema.ENCLOSURE],
            ),
            "enclosure_id": xr.Variable(
                (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
                self.enclosure_id,
                schema.COORD_ATTRS["enclosure_id"],
            ),
            "n_enclosures": xr.Variable(
                (schema.INVERTER, schema.DC_INPUT),
                self.n_enclosures,
                schema.COORD_ATTRS["n_enclosures"],
            ),
        }


@dataclass
class _Days:
    """The history's per-day sums on the plant's layout, before allocation."""

    dates: np.ndarray
    power: np.ndarray  # (3, day, inverter * dc_input): positive, negative, valid seconds
    swings: np.ndarray  # (3, day, inverter * dc_input * slot)
    counts: np.ndarray  # (flag, day, inverter, dc_input, slot)
    day_seconds: np.ndarray
    used: np.ndarray  # (inverter, dc_input, slot)

    def energy(self, allocation: Any) -> np.ndarray:
        """``(3, day, inverter, dc_input, slot)`` as :func:`bessx.daily_energy`'s kernel."""
        n_days = len(self.dates)
        shape = self.used.shape
        positive, negative, valid = self.power.reshape(3, n_days, *shape[:2])
        no_valid = ~(valid > 0.0)
        discharged = np.where(no_valid, np.nan, positive)
        charged = np.where(no_valid, np.nan, 0.0 - negative)
        swings = self.swings.reshape(3, n_days, *shape)
        discharge_shares, charge_shares = allocation.shares(swings, self.used)
        lengths = self.day_seconds.reshape(n_days, 1, 1)
        coverage = np.clip(valid / lengths, 0.0, 1.0)
        out = np.empty((3, n_days, *shape))
        np.multiply(discharged[..., np.newaxis], discharge_shares, out=out[0])
        np.multiply(charged[..., np.newaxis], charge_shares, out=out[1])
        np.multiply(coverage[..., np.newaxis], np.where(self.used, 1.0, np.nan), out=out[2])
        return out


def _last_hold(summaries: Sequence[Summary], index: int, interval: float, limit: float) -> float:
    """How long file ``index``'s last sample holds [s]: until the next file's first sample,
    within the gap ``limit`` [s]; else, and for the last file, one interval."""
    if index + 1 == len(summaries):
        return interval
    step = float((summaries[index + 1].first - summaries[index].last).astype(np.int64)) / 1e9
    return step if step <= limit else interval


def _join(
    summaries: Sequence[Summary],
    layout: _Layout,
    settings: Settings,
    interval: float,
    dates: np.ndarray,
    day_seconds: np.ndarray,
) -> _Days:
    """Place every file's partial sums on the history's days and add each last sample."""
    n_days = len(dates)
    n_inv, n_dc, n_slots = layout.shape
    used = layout.enclosure_id != ""
    power = np.zeros((3, n_days, n_inv * n_dc))
    swings = np.full((3, n_days, n_inv * n_dc * n_slots), np.nan)
    held_power = np.zeros((n_days, n_inv * n_dc))
    held_soc = np.zeros((n_days, n_inv * n_dc * n_slots))
    power_counts = np.zeros((5, n_days, n_inv * n_dc))
    soc_counts = np.zeros((3, n_days, n_inv * n_dc * n_slots))
    duplicates = np.zeros(n_days)
    limit = settings.max_gap * interval
    for index, summary in enumerate(summaries):
        parts = summary.daily
        if parts is None:
            raise ValueError(f"{summary.path}: summarised without the daily results")
        rows = np.searchsorted(dates, summary.dates)
        columns = layout.dc_positions(summary.dc_keys)
        slots = layout.slot_positions(summary.soc_ids if settings.soc else [])
        kept = slots >= 0
        day_rows, dc_columns = np.ix_(rows, columns)
        power[:, day_rows, dc_columns] = parts.energy
        held_power[day_rows, dc_columns] = parts.power_held
        power_counts[:, day_rows, dc_columns] = parts.power_counts
        swings[:, rows] = 0.0  # a day with samples: a missing SOC column swings by 0
        soc_rows, soc_slots = np.ix_(rows, slots[kept])
        swings[:, soc_rows, soc_slots] = parts.swings[:, :, kept]
        held_soc[soc_rows, soc_slots] = parts.soc_held[:, kept]
        soc_counts[:, soc_rows, soc_slots] = parts.soc_counts[:, :, kept]
        duplicates[rows] += parts.duplicates
        hold, last_day = _last_hold(summaries, index, interval, limit), rows[-1]
        power[:, last_day, columns] += power_terms(parts.last_power, hold)
        held_power[last_day, columns] += parts.last_power_received * hold
        held_soc[last_day, slots[kept]] += parts.last_soc_received[kept] * hold

    gap_power = np.round(np.maximum(day_seconds[:, np.newaxis] - held_power, 0.0) / interval)
    gap_soc = np.round(np.maximum(day_seconds[:, np.newaxis] - held_soc, 0.0) / interval)
    counts = np.zeros((len(POWER_FLAGS) + len(SOC_FLAGS), n_days, n_inv, n_dc, n_slots))
    power_part = np.concatenate(
        [
            power_counts,
            np.broadcast_to(duplicates[:, np.newaxis], held_power.shape)[np.newaxis],
            gap_power[np.newaxis],
        ]
    ).reshape(len(POWER_FLAGS), n_days, n_inv, n_dc)
    counts[: len(POWER_FLAGS)] = power_part[..., np.newaxis]
    soc_part = np.concatenate([soc_counts, gap_soc[np.newaxis]])
    counts[len(POWER_FLAGS) :] = soc_part.reshape(len(SOC_FLAGS), n_days, n_inv, n_dc, n_slots)
    counts[len(POWER_FLAGS) :, :, ~used] = 0.0
    return _Days(dates, power, swings, counts, day_seconds, used)


def _join_health(
    summaries: Sequence[Summary],
    layout: _Layout,
    settings: Settings,
    interval: float,
    dates: np.ndarray,
    day_seconds: np.ndarray,
) -> np.ndarray:
    """The history's health partials ``(quantity, day, inverter, dc_input, enclosure)``:
    every file's parts on the history's days, each last sample added with its hold."""
    n_inv, n_dc, n_slots = layout.shape
    history = DayParts.empty(len(dates), n_inv * n_dc, n_slots)
    threshold = plant_threshold(layout.enclosure_id != "")
    limit = settings.max_gap * interval
    for index, summary in enumerate(summaries):
        parts = summary.health
        if parts is None:
            raise ValueError(f"{summary.path}: summarised without the health")
        rows = np.searchsorted(dates, summary.dates)
        history.place(rows, parts.parts)
        hold = _last_hold(summaries, index, interval, limit)
        add_sample(history, rows[-1], parts.last_power, parts.last_plant, hold, threshold)
    partials = finish_parts(history, day_seconds)
    return partials.reshape(len(PARTIALS), len(dates), n_inv, n_dc, n_slots)


# ---------------------------------------------------------------------------------------
# the whole history
# ---------------------------------------------------------------------------------------
def from_exports(
    paths: Any,
    *,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    soc: bool = True,
    daily: bool = True,
    health: bool = False,
    min_swing: float = 20.0,
    cache: Any | None = None,
) -> Results:
    """The daily energy, the quality flags and the battery health's per-day partials of a
    folder of exports, reading each file once.

    :func:`daily_from_exports` and :func:`health_from_exports` are this function; ``bessx
    run`` calls it for all three at once.

    Parameters
    ----------
    paths, timezone, topology, interval, allocation, max_gap, dc_power_limit_kw, exclude
    quality, engine, columns, max_gap_days, bad_files, soc
        As for :func:`daily_from_exports`.
    daily : bool
        Compute the daily energy and the quality flags.
    health : bool
        Compute the battery health's per-day partials (:func:`bessx.health.daily_health`),
        for :func:`bessx.health.health_from_daily`: this also reads every enclosure's
        state of charge and the plant meter's power.
    min_swing : float
        As for :func:`bessx.health`.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.

    Returns
    -------
    Results
        In memory; ``daily`` and ``flags`` None without ``daily``, ``health`` None without
        ``health``. The file tasks run under the active dask scheduler (a
        ``distributed.Client`` when one is active: the files are read on its workers).
        Where the one pass cannot join the files exactly (:class:`NotOnePass`), the results
        come from :func:`bessx.open_exports` instead (the same results, two footer parses
        per file).
    """
    import dask
    from dask import delayed

    if allocation not in ALLOCATIONS:
        raise ValueError(
            f"unknown allocation {allocation!r}; choose one of {', '.join(map(repr, ALLOCATIONS))}"
        )
    unknown = sorted(set(exclude) - set(EXCLUDABLE))
    if unknown:
        raise ValueError(f"cannot exclude {unknown}: choose from {', '.join(EXCLUDABLE)}")
    if interval is not None and not interval > 0:
        raise ValueError(f"interval must be positive seconds, not {interval!r}")
    if allocation == "soc" and not soc:
        raise ValueError("allocation='soc' needs the state of charge: soc=True")
    if not max_gap >= 1:
        raise ValueError(f"max_gap must be >= 1 nominal interval, not {max_gap!r}")
    files = export_paths(paths)
    topo = read_topology(topology) if topology is not None else None
    settings = Settings(
        timezone=timezone or schema.DEFAULT_TIMEZONE,
        engine=get_engine(engine).name,
        patterns=columns or ColumnPatterns(),
        interval=None if interval is None else float(interval),
        max_gap=float(max_gap),
        limits=Limits() if dc_power_limit_kw is None else Limits(dc_power_limit_kw),
        quality=quality or QualitySettings(),
        exclude=tuple(name for name in EXCLUDABLE if name in exclude),
        topology=None
        if topo is None
        else tuple(
            (str(inverter), int(dc_input), str(enclosure_id), int(slot))
            for inverter, dc_input, enclosure_id, slot in topo.table[
                list(_TOPOLOGY_COLUMNS)
            ].itertuples(index=False)
        ),
        soc=soc,
        daily=daily,
        health=HealthSettings(check_min_swing(min_swing)) if health else None,
    )
    if bad_files not in BAD_FILE_POLICIES:
        raise ValueError(f"bad_files must be one of {BAD_FILE_POLICIES}, not {bad_files!r}")
    skip = bad_files == "skip"
    found = {path: cache.get(path, settings) for path in files} if cache is not None else {}
    missing = [path for path in files if found.get(path) is None]
    tasks = [delayed(_summarise_or_refuse)(path, settings) for path in missing]
    computed = dask.compute(*tasks, scheduler=_scheduler())
    skipped = [item for item in computed if isinstance(item, ExportError)]
    if skipped and not skip:
        raise skipped[0]  # the first bad file in order, whichever task failed first
    for path, summary in zip(missing, computed, strict=True):
        if isinstance(summary, Summary):
            found[path] = summary
            if cache is not None:
                cache.put(path, settings, summary)
    if cache is not None:
        cache.prune(files, settings)
    usable = [path for path in files if isinstance(found.get(path), Summary)]
    named = str(paths) if isinstance(paths, str | os.PathLike) else str(files[0].parent)
    try:
        return combine(
            [found[path] for path in usable],
            settings,
            topology=topology,
            allocation=allocation,
            max_gap_days=max_gap_days,
            source=named,
            skip=skip,
            skipped=skipped,
        )
    except NotOnePass:
        return _classic(files, settings, topology, allocation, max_gap_days, bad_files, cache)


def daily_from_exports(
    paths: Any,
    *,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    soc: bool = True,
    cache: Any | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Daily energy and quality flags of a folder of exports, reading each file once.

    The same results as ``daily_energy(open_exports(paths, ...), ...)`` and
    ``quality(open_exports(paths, ...), ...)``, computed, in about half the time: each
    export's footer is parsed once instead of twice (see the module docstring).

    Parameters
    ----------
    paths
        A folder, glob pattern or list of exports, as for :func:`bessx.open_exports`.
    timezone, topology, interval, engine, columns, max_gap_days, bad_files
        As for :func:`bessx.open_exports`.
    allocation, max_gap, dc_power_limit_kw, exclude, quality
        As for :func:`bessx.daily_energy` and :func:`bessx.quality`.
    soc : bool
        Read the enclosures' state of charge: needed for ``allocation="soc"`` and for the
        SOC flags; without it only the DC input power columns are read (about three times
        fewer columns), and ``flags`` holds the power flags alone.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.

    Returns
    -------
    daily, flags : xarray.Dataset
        In memory. The file tasks run under the active dask scheduler (a
        ``distributed.Client`` when one is active: the files are read on its workers).
    """
    results = from_exports(
        paths,
        timezone=timezone,
        topology=topology,
        interval=interval,
        allocation=allocation,
        max_gap=max_gap,
        dc_power_limit_kw=dc_power_limit_kw,
        exclude=exclude,
        quality=quality,
        engine=engine,
        columns=columns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        soc=soc,
        cache=cache,
    )
    assert results.daily is not None and results.flags is not None  # asked for: daily=True
    return results.daily, results.flags


def health_from_exports(
    paths: Any,
    *,
    window: str | pd.Timedelta = "30D",
    min_swing: float = 20.0,
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    cache: Any | None = None,
) -> xr.Dataset:
    """Battery health of a folder of exports, reading each file once.

    The same result as ``health(open_exports(paths, variables=["dc_power", "soc",
    "plant_power"], ...), ...)``, computed, bit for bit: each export is read once (its DC
    input power, every enclosure's state of charge and the plant meter's power) and
    reduced to its per-day health partials; the reduce adds each file's last sample with
    the hold the next file's first timestamp gives it (see :mod:`bessx.onepass`).

    Parameters
    ----------
    paths
        A folder, glob pattern or list of exports, as for :func:`bessx.open_exports`.
    window, min_swing, max_gap, dc_power_limit_kw
        As for :func:`bessx.health`.
    timezone, topology, interval, engine, columns, max_gap_days, bad_files
        As for :func:`bessx.open_exports`.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.

    Returns
    -------
    xarray.Dataset
        As :func:`bessx.health` returns, in memory.

    Examples
    --------
    >>> import tempfile
    >>> from bessx import synthetic
    >>> plant = synthetic.write_plant(tempfile.mkdtemp(), "2023-03-01", 4, inverters=1)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the synthetic plant's repaired rows
    ...     result = health_from_exports(plant.folder, window="2D")
    >>> result["usable_capacity"].dims
    ('window', 'inverter', 'dc_input')
    """
    from bessx.health import health_from_daily

    window = f"{_window_days(window)}D"  # checked before any file is read
    results = from_exports(
        paths,
        timezone=timezone,
        topology=topology,
        interval=interval,
        max_gap=max_gap,
        dc_power_limit_kw=dc_power_limit_kw,
        engine=engine,
        columns=columns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        soc=False,
        daily=False,
        health=True,
        min_swing=min_swing,
        cache=cache,
    )
    assert results.health is not None  # asked for: health=True
    return health_from_daily(results.health, window=window)


def _scheduler() -> Any:
    """dask's own choice (a distributed client, a configured scheduler) where there may be
    one, else its threaded scheduler: without ``dask.distributed`` imported no client can
    exist, and asking dask would import it (~0.2 s) only to find none."""
    import dask

    if "distributed" in sys.modules or dask.config.get("scheduler", None) is not None:
        return None
    from dask.threaded import get

    return get


def _summarise_or_refuse(path: Path, settings: Settings) -> Summary | ExportError:
    """:func:`summarise_export`, with a file's error returned rather than raised."""
    try:
        return summarise_export(path, settings)
    except ExportError as error:
        return error


def _classic(
    files: list[Path],
    settings: Settings,
    topology: TopologyLike | None,
    allocation: str,
    max_gap_days: float,
    bad_files: str = "raise",
    cache: Any | None = None,
) -> Results:
    """The two-pass path: :func:`open_exports`, then every result in one compute.

    With a ``cache``, its folder keeps the exports' index too: a re-run opens them without
    parsing a footer (see :mod:`bessx.io.index`).
    """
    from bessx.energy import daily_energy
    from bessx.health import daily_health
    from bessx.io.exports import open_exports
    from bessx.quality import quality

    history = open_exports(
        files,
        timezone=settings.timezone,
        topology=topology,
        interval=settings.interval,
        variables=settings.variables,
        engine=settings.engine,
        columns=settings.patterns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        cache=cache,
    )
    options = {
        "max_gap": settings.max_gap,
        "dc_power_limit_kw": settings.limits.dc_power_limit_kw,
    }
    health = None
    if settings.health is not None:
        health = daily_health(history, min_swing=settings.health.min_swing, **options)
    if not settings.daily:
        return Results(None, None, None if health is None else health.compute())
    # without the SOC for the daily results, as in their one pass
    daily_input = history if settings.soc else history.drop_vars("soc", errors="ignore")
    daily = daily_energy(
        daily_input,
        allocation=allocation,
        exclude=settings.exclude,
        quality=settings.quality,
        **options,
    )
    flags = quality(daily_input, settings=settings.quality, **options)
    # one graph, computed once: the exports are read once for every result
    parts = [daily, flags, *([] if health is None else [health.to_dataset()])]
    computed = xr.merge(parts, combine_attrs="override", compat="override").compute()
    computed_daily = computed[list(daily.data_vars)].drop_vars(
        ["flag", "soc_flag"], errors="ignore"
    )
    computed_flags = computed[list(flags.data_vars)]
    computed_daily.attrs, computed_flags.attrs = dict(daily.attrs), dict(flags.attrs)
    computed_health = None
    if health is not None:
        computed_health = computed[str(health.name)].assign_attrs(health.attrs)
    return Results(computed_daily, computed_flags, computed_health)
