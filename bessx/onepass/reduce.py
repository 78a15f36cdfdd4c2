"""The reduce: the files' summaries joined into the daily energy, the flags and the health.

:func:`combine` runs the reader's checks across files on stand-ins for the summarised files
(:func:`_proxy`), takes the history's interval from all its time steps
(:func:`_median_step`), places each file's per-day sums on the history's days and adds each
file's last sample with the hold the next file's first timestamp gives it (:func:`_join`,
:func:`_join_health`; the health uses nothing else of the next file: a discharge segment
that runs to midnight is not used). The results are then those of the Dataset path bit for
bit. That holds when every local day lies within one file, as with daily exports. A history
where a day is split over files, whose files do not share one sampling interval, whose
state-of-charge columns the per-file topology maps differently, or (for the health) whose
files' columns give another plant layout than the history's cannot be joined exactly:
:func:`combine` raises :class:`NotOnePass` and the entry points compute it the classic way.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from bessx import schema
from bessx.dayblocks import local_days
from bessx.energy import energy_dataset
from bessx.errors import ExportError
from bessx.health import partials_array, plant_threshold
from bessx.io.conventions import convention_attrs
from bessx.io.exports import (
    MAX_GAP_DAYS,
    ExportNote,
    ExportWarning,
    SkippedFileWarning,
    check_history,
    check_patterns_found,
    export_attrs,
    missing_notes,
    unplaced_columns,
)
from bessx.io.files import ColumnMap, ExportFile
from bessx.kernels.energy import ALLOCATIONS, allocate
from bessx.kernels.flags import POWER_FLAGS, SOC_FLAGS
from bessx.kernels.health import PARTIALS, DayParts, add_sample, finish_parts, power_terms
from bessx.onepass.layout import ArrayLayout
from bessx.onepass.summary import Settings, Summary
from bessx.quality import flags_dataset
from bessx.topology import TopologyLike, sort_inverters


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
    return ExportFile(
        Path(summary.path), columns, time, None, notes=list(summary.notes), naming=summary.naming
    )


def _with_members(exports: list[ExportFile], summaries: Sequence[Summary]) -> list[ExportFile]:
    """The stand-ins, each group's with stand-ins of its members (for the attrs)."""
    members = {summary.path: summary for summary in summaries}
    out = []
    for export in exports:
        summary = members[str(export.path)]
        if summary.members:
            files = tuple(
                ExportFile(Path(path), export.columns, export.time, None, naming=export.naming)
                for path in summary.members
            )
            export = ExportFile(
                export.path, export.columns, export.time, None, naming=export.naming,
                members=files,
            )  # fmt: skip
        out.append(export)
    return out


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


class OnePassResults(NamedTuple):
    """What the one pass computes, in memory; None for what the settings did not ask."""

    #: :func:`bessx.daily_energy`
    daily: xr.Dataset | None
    #: :func:`bessx.quality`
    flags: xr.Dataset | None
    #: :func:`bessx.health.daily_health`: the battery health's per-day partials
    health: xr.DataArray | None
    #: :func:`bessx.availability`: the availability per DC input and local day
    availability: xr.Dataset | None = None


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
) -> OnePassResults:
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
    for before, after in itertools.pairwise(summaries):
        if after.first <= before.last:  # files the reader joins by their times
            raise NotOnePass(f"{Path(after.path).name} overlaps {Path(before.path).name}")
    exports, checked, refused = check_history(
        [_proxy(summary) for summary in summaries],
        topology,
        max_gap_days,
        skip=skip,
        source=source or "exports",
        total=len(summaries) + len(skipped),
        skipped=skipped,
    )
    topo, source, absent, metered = checked
    check_patterns_found(exports, settings.patterns)
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
    layout = ArrayLayout.of(topo, inverters)
    dc_inputs: dict[tuple[str, ...], np.ndarray] = {}  # the files of a history share columns
    for summary in summaries:
        soc_ids = tuple(summary.soc_ids)
        if soc_ids not in dc_inputs:
            dc_inputs[soc_ids] = layout.dc_input_of(summary.soc_ids)
        if not np.array_equal(summary.soc_dc_input, dc_inputs[soc_ids]):
            raise NotOnePass(f"{Path(summary.path).name}: SOC columns on other DC inputs")
        if settings.health is not None and not layout.holds(summary.health):
            raise NotOnePass(f"{Path(summary.path).name}: its columns give another plant layout")

    run_notes = missing_notes(exports, inverters, topo, settings.variables, absent)
    for left_out in skipped:
        warnings.warn(SkippedFileWarning(left_out.path, left_out.problem), stacklevel=3)
    if absent:
        warnings.warn(
            f"{source}: enclosure(s) {', '.join(sorted(absent))} of the topology appear in no "
            "export (their state of charge is NaN)",
            ExportWarning,
            stacklevel=3,
        )
    unplaced = unplaced_columns(
        (name for summary in summaries for name in summary.unplaced), layout.shape[1]
    )
    if unplaced is not None:
        warnings.warn(unplaced, ExportWarning, stacklevel=3)
    for note in run_notes:
        warnings.warn(note, ExportNote, stacklevel=3)
    for export in exports:
        for note in export.notes:
            warnings.warn(f"{export.path}: {note}", ExportWarning, stacklevel=3)
    for summary in summaries:
        for path, note in summary.member_notes:
            warnings.warn(f"{path}: {note}", ExportWarning, stacklevel=3)

    first_and_last = np.array([summaries[0].first, summaries[-1].last], dtype="datetime64[ns]")
    _, dates, day_seconds = local_days(first_and_last, settings.timezone)
    coords = layout.coords()
    attrs = {
        "Conventions": schema.CF_CONVENTIONS,
        "timezone": settings.timezone,
        "interval_seconds": interval,
        "source_files": sum(len(summary.members) or 1 for summary in summaries),
        "source_samples": sum(summary.rows for summary in summaries),
        "history": schema.add_history(
            None,
            f"bessx.{'daily' if settings.daily else 'health'}_from_exports: "
            f"read {sum(len(summary.members) or 1 for summary in summaries)} export file(s)",
        ),
        **export_attrs(_with_members(exports, summaries)),
        **convention_attrs(settings.power_sign, settings.power_unit),
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
    availability = None
    if settings.daily and settings.availability is not None:
        availability = _availability(summaries, layout, settings, interval, dates, coords, attrs)
    return OnePassResults(daily, flags, health, availability)


def _availability(
    summaries: Sequence[Summary],
    layout: ArrayLayout,
    settings: Settings,
    interval: float,
    dates: np.ndarray,
    coords: dict[str, Any],
    attrs: dict[str, Any],
) -> xr.Dataset:
    """:func:`bessx.availability` of the history, from the files' per-day sums."""
    from bessx.availability import availability_dataset
    from bessx.onepass.availability import join_availability

    limit = settings.max_gap * interval
    assert settings.availability is not None
    sums = join_availability(
        summaries,
        layout,
        len(dates),
        lambda summary: np.searchsorted(dates, summary.dates),
        lambda index: _last_hold(summaries, index, interval, limit),
        NotOnePass,
    )
    return availability_dataset(
        sums,
        dates,
        coords,
        attrs,
        settings.quality,
        settings.limits,
        settings.availability,
        max_gap=settings.max_gap,
    )


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
        shares = allocation.shares(swings, self.used)
        return allocate(np.stack([discharged, charged, valid]), self.day_seconds, shares, self.used)


def _last_hold(summaries: Sequence[Summary], index: int, interval: float, limit: float) -> float:
    """How long file ``index``'s last sample holds [s]: until the next file's first sample,
    within the gap ``limit`` [s]; else, and for the last file, one interval."""
    if index + 1 == len(summaries):
        return interval
    step = float((summaries[index + 1].first - summaries[index].last).astype(np.int64)) / 1e9
    return step if step <= limit else interval


def _joined_to_next(summaries: Sequence[Summary], index: int, limit: float) -> bool:
    """Whether file ``index``'s last sample holds until the next file's first sample (the
    step is no gap: at most ``limit`` [s])."""
    if index + 1 == len(summaries):
        return False
    step = float((summaries[index + 1].first - summaries[index].last).astype(np.int64)) / 1e9
    return step <= limit


def _join(
    summaries: Sequence[Summary],
    layout: ArrayLayout,
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
    layout: ArrayLayout,
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
        if _joined_to_next(summaries, index, limit):
            history.per_input[6, rows[-1]] = 1.0  # the day closes at the next file's first sample
    partials = finish_parts(history, day_seconds)
    return partials.reshape(len(PARTIALS), len(dates), n_inv, n_dc, n_slots)
