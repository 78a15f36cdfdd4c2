"""The map: one export, read once, reduced to one :class:`~bessx.onepass.summary.Summary`.

:func:`summarise_export` parses a file's footer once, reading the timestamps and the needed
columns together (:func:`_load`), applies the plausibility rules and reduces the file to
per-day partial sums, flag counts and the few values its neighbour needs: the daily energy's
and the flags' part (:func:`_daily_summary`) and the battery health's per-day partials on
the plant layout the file's columns give (:func:`_health_summary`,
:func:`bessx.kernels.health.day_parts`). A day's sums are taken sample after sample in the
order :func:`bessx.daily_energy` and :func:`bessx.health` take them; the hold of the last
sample, which only the next file decides, is left to the reduce (``bessx.onepass.reduce``).
The lookups that depend on a file's columns alone are cached: the files of a history share
their columns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from bessx import schema
from bessx.dayblocks import hold_seconds, local_days
from bessx.errors import CONTROL, BessxError, ExportError, reason
from bessx.health import plant_threshold
from bessx.io.conventions import is_native, power_in_kw
from bessx.io.engines import UnreadableData, get_engine
from bessx.io.exports import ColumnPatterns, check_repeats, export_from_scan, map_columns
from bessx.io.files import ColumnMap, ExportFile
from bessx.io.groups import join_members, merge_members
from bessx.kernels.days import held_per_day
from bessx.kernels.energy import daily_soc_throughput
from bessx.kernels.flags import (
    FLAGS,
    POWER_FLAGS,
    SOC_FLAGS,
    flag_counts_per_day,
    power_sample_flags,
    soc_flags_given_flow,
)
from bessx.kernels.health import day_parts, running_power_sums
from bessx.kernels.plausibility import implausible, masked
from bessx.onepass.availability import enclosures_per_column, summarise_availability
from bessx.onepass.layout import ArrayLayout
from bessx.onepass.summary import (
    TOPOLOGY_ROW_FIELDS,
    DailySummary,
    HealthSettings,
    HealthSummary,
    Settings,
    Summary,
)
from bessx.topology import Topology, infer_topology, sort_inverters


def _pick(patterns: ColumnPatterns, path: Path, settings: Settings) -> Callable[..., list[str]]:
    def pick(names: tuple[str, ...], refusal: Callable[[str], str | None]) -> list[str]:
        needed = _needed(map_columns(names, patterns, settings.n_dc_inputs), settings)
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
        pick = _pick(settings.patterns, path, settings)
        scan, matrix = engine.load_with(path, pick, settings.patterns.time)
    except ExportError:
        raise
    except UnreadableData as error:
        cause = error.__cause__ or error
        raise ExportError(path, f"cannot read its data ({reason(cause)})") from None
    except OSError as error:
        raise ExportError(path, f"cannot read it ({reason(error)})") from None
    except CONTROL:
        raise
    except BaseException as error:  # each engine has its own errors (and panics) for a broken file
        raise ExportError(path, f"not a readable parquet file ({reason(error)})") from None
    export = export_from_scan(
        path, scan, settings.timezone, settings.patterns, settings.n_dc_inputs
    )
    values = matrix.T
    if export.repeats is not None:
        check_repeats(path, values, export.repeats, _needed(export.columns, settings))
    if export.rows is not None:
        values = values[:, export.rows]
    if not is_native(settings.power_sign, settings.power_unit):
        values = _power_in_kw(values, export.columns, settings)
    return export, values


def _power_in_kw(values: np.ndarray, columns: ColumnMap, settings: Settings) -> np.ndarray:
    """The power rows of ``values`` (column, row; as :func:`_needed` orders them) in kW,
    discharging positive (:mod:`bessx.io.conventions`)."""
    n_dc = len(columns.dc_power)
    power_rows = list(range(n_dc))
    if "plant_power" in settings.variables and "plant_power" in columns.plant:
        power_rows.append(len(values) - 1)  # the plant meter's power is read last
    values = np.array(values)  # never the engine's buffer
    values[power_rows] = power_in_kw(values[power_rows], settings.power_sign, settings.power_unit)
    return values


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
        per DC input power column: the sums of :func:`bessx.kernels.energy.daily_power_sums` over
        every sample but the last, the SOC swings of
        :func:`bessx.kernels.energy.daily_soc_throughput`, the flag counts of
        :func:`bessx.kernels.flags.power_sample_flags` and
        :func:`~bessx.kernels.flags.soc_sample_flags`
        and the held seconds of the received samples, and the last sample's values. With
        ``settings.health``, the battery health's :func:`bessx.kernels.health.day_parts`
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
    return _summarise(path, export, values, settings)


def summarise_group(paths: Sequence[str | Path], settings: Settings) -> Summary:
    """Read files that overlap in time once each, join them on their timestamps and reduce
    them as one export (:mod:`bessx.io.groups`); one path is :func:`summarise_export`.

    Raises
    ------
    ExportError
        A file that cannot be used, or two files that differ in a column they share.
    """
    if len(paths) == 1:
        return summarise_export(paths[0], settings)
    loaded = sorted(
        (_load(Path(path), settings) for path in paths),
        key=lambda item: (item[0].time[0], str(item[0].path)),
    )
    group = merge_members([export for export, _ in loaded])
    needed = _needed(group.columns, settings)
    parts = [(export, _needed(export.columns, settings), values) for export, values in loaded]
    joined = join_members(group, needed, parts)
    summary = _summarise(group.path, group, joined, settings)
    summary.members = tuple(str(export.path) for export in group.members)
    summary.member_notes = [
        (str(export.path), note) for export in group.members for note in export.notes
    ]
    return summary


def _summarise(path: Path, export: ExportFile, values: np.ndarray, settings: Settings) -> Summary:
    """:func:`summarise_export` of an export and its needed columns, read."""
    time = export.time
    n_dc = len(export.columns.dc_power)
    n_soc = len(export.columns.soc) if "soc" in settings.variables else 0
    # a contiguous copy of the power: every kernel then runs faster than on a view
    power, soc = np.ascontiguousarray(values[:n_dc].T), values[n_dc : n_dc + n_soc].T
    steps = np.diff(time.view(np.int64))
    interval = settings.interval or (float(np.median(steps)) / 1e9 if len(steps) else np.nan)
    day_index, dates, _ = local_days(time, settings.timezone)
    n = len(time)
    if np.isnan(interval):  # one sample: the history's interval decides (the classic path)
        return _single_sample(path, export, time, dates, settings)
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
    health, notes = None, list(export.notes)
    if settings.health is not None:
        plant = values[n_dc + n_soc] if "plant_power" in export.columns.plant else None
        if plant is not None and (bad := implausible(plant, "plant_power", settings.limits)).any():
            notes.append(
                f"{int(bad.sum())} implausible plant meter sample(s) (infinite, or beyond "
                f"{settings.limits.plant_power_limit_kw:,.0f} kW) treated as missing"
            )
            plant = np.where(bad, np.nan, plant)
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
        notes=notes,
        naming=export.naming,
        unplaced=export.columns.unplaced,
    )


def _single_sample(
    path: Path, export: ExportFile, time: np.ndarray, dates: np.ndarray, settings: Settings
) -> Summary:
    """The summary of a file of one sample, without an interval of its own: its columns and
    times only. :func:`bessx.onepass.combine` then joins the history by the classic path,
    which takes the interval from the whole history (or refuses the file when the history
    has none)."""
    soc_ids = list(export.columns.soc)
    return Summary(
        path=str(path),
        first=time[0],
        last=time[-1],
        rows=len(time),
        interval=np.nan,
        steps=(np.array([], dtype=np.int64), np.array([], dtype=np.int64)),
        dates=dates,
        dc_keys=list(export.columns.dc_power),
        soc_ids=soc_ids,
        soc_dc_input=_soc_dc_inputs(tuple(soc_ids), settings.dc_input_of),
        plant=list(export.columns.plant),
        daily=None,
        health=None,
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
    power_flags = power_sample_flags(power, day_index, interval, quality, limits)
    measured = plausible  # the SOC flags test the power before the exclusions
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
    flowing = np.zeros(soc.shape, dtype=bool)
    if soc.shape[1]:  # only then: a test of every power sample
        with np.errstate(invalid="ignore"):
            flowing_dc = np.abs(measured) > quality.moving_kw
        flowing = np.take(flowing_dc, position, axis=1, mode="clip") & (position >= 0)
    soc_flags = soc_flags_given_flow(soc, flowing, day_index, interval, quality, limits)

    held_power = np.zeros((n_days, power.shape[1]))
    held_soc = np.zeros((n_days, soc.shape[1]))
    if n > 1:
        days = int(day_index[n - 2]) + 1
        received_power, received_soc = ~np.isnan(power[head]), ~np.isnan(soc[head])
        held_power[:days] = held_per_day(received_power, holds[head], day_index[head], days)
        held_soc[:days] = held_per_day(received_soc, holds[head], day_index[head], days)
    duplicates = np.zeros(n_days, dtype=np.int64)
    if export.dropped is not None:
        np.add.at(duplicates, day_index, export.dropped.astype(np.int64))
    availability = last_availability = enclosures = None
    if settings.availability is not None:
        dc_keys = list(export.columns.dc_power)
        named = list(export.columns.soc)
        enclosures = enclosures_per_column(
            dc_keys,
            _power_positions(tuple(dc_keys), tuple(named), soc_dc_input),
            settings.topology,
        )
        availability, last_availability = summarise_availability(
            measured, power_flags, export.time.view(np.int64), holds, day_index, dc_keys,
            enclosures, settings.availability, quality.moving_kw,
        )  # fmt: skip
    return DailySummary(
        energy=power_sums,
        swings=np.nan_to_num(daily_soc_throughput(soc_plausible, day_index)),
        power_counts=flag_counts_per_day(power_flags, POWER_FLAGS[:5], day_index),
        soc_counts=flag_counts_per_day(soc_flags, SOC_FLAGS[:-1], day_index),
        power_held=held_power,
        soc_held=held_soc,
        duplicates=duplicates,
        last_power=plausible[-1].copy(),
        last_power_received=~np.isnan(power[-1]),
        last_soc_received=~np.isnan(soc[-1]),
        availability=availability,
        last_availability=last_availability,
        enclosures=enclosures,
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
    :func:`~bessx.kernels.health.day_parts` on the plant layout its columns give (None when
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
) -> tuple[ArrayLayout, np.ndarray, np.ndarray] | None:
    """The plant layout a file's columns give, as :func:`bessx.open_exports` makes it, and
    where each of its DC inputs (``(m,)``) and enclosure slots (``(slot, m)``) finds its
    column: -1 for none (NaN), -2 for the 0 of a DC input without enclosures. An unused
    slot reads the DC input's first used slot (:func:`bessx.kernels.health.soc_slots`).
    None when the battery systems give no topology. Cached: the files of a history share
    their columns."""
    if topology is not None:
        topo = Topology(pd.DataFrame(list(topology), columns=list(TOPOLOGY_ROW_FIELDS)))
    else:
        try:
            topo = infer_topology(soc_ids)
        except BessxError:
            return None
    layout = ArrayLayout.of(topo, sort_inverters({inv for inv, _ in dc_keys} | set(topo.inverters)))
    keys = pd.MultiIndex.from_tuples(dc_keys) if dc_keys else pd.MultiIndex.from_tuples([("", 0)])
    wanted = pd.MultiIndex.from_product([layout.inverters, list(layout.dc_inputs)])
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
