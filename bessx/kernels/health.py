r"""Numpy kernels of the battery health: per-day partial sums, and the Theil-Sen slope.

They work on blocks of whole local days of samples, with time on axis 0, and know nothing of
labels (:mod:`bessx.health` puts them on a Dataset's dask chunks,
:mod:`bessx.onepass` on each export as it is read). The reduction of a block to its
per-day partials :data:`PARTIALS` comes in three steps, so that a history split into
files can be joined exactly:

* :func:`day_parts` reduces the samples to :class:`DayParts`: every quantity that needs
  no sample's hold (discharge segments, SOC change, spread, offsets, swings) and running
  sums of the held quantities (energies, valid seconds) over the samples whose hold is
  known;
* :func:`add_sample` adds one more held sample to those running sums, exactly as the sums
  over the whole day would have added it (each day's sums are taken sample after sample);
* :func:`finish_parts` turns the parts into the partials.

:func:`daily_health_partials` runs the three on a block whose every hold is known.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from bessx.kernels.days import Segments, segment_sums
from bessx.kernels.energy import daily_power_sums
from bessx.kernels.plausibility import Limits, masked

__all__ = [
    "DISCHARGE_THRESHOLD_KW",
    "PARTIALS",
    "DayParts",
    "add_sample",
    "daily_health_partials",
    "day_parts",
    "finish_parts",
    "power_terms",
    "running_power_sums",
    "soc_slots",
    "theil_sen",
]

#: A DC input discharges while its power exceeds this [kW] (above idle measurement noise).
DISCHARGE_THRESHOLD_KW: Final = 5.0
#: Two-sided confidence of the trend interval and its standard normal quantile.
TREND_CONFIDENCE: Final = 0.95
_Z_975: Final = 1.959963984540054
_SECONDS_PER_HOUR: Final = 3600.0
#: Rows of the per-sample arrays handled together where a chain of elementwise operations runs
#: block by block (a few arrays of 256 x 144 float64 fit in the cache).
_BLOCK_ROWS: Final = 256
#: The default physical limits (``dc_power_limit_kw`` 5,000 kW).
_NO_LIMITS_GIVEN: Final = Limits()

#: Per-day partial quantities of :func:`daily_health_partials`, in output order. The first
#: twelve are per DC input, the next three per plant, the last two per enclosure (all are
#: broadcast to the enclosure axis).
PARTIALS: Final = (
    "segment_energy",  # DC energy of the qualifying discharge segments [kWh]
    "segment_drop",  # their mean-SOC decrease [%]
    "segments",  # their number
    "discharged",  # DC energy discharged [kWh]
    "charged",  # DC energy charged [kWh]
    "complete",  # 1 if every sample of the day is valid and held, else 0
    "soc_change",  # mean SOC at the day's last sample minus at its first [%]
    "soc_spread",  # daily maximum of (max - min) SOC among the DC input's enclosures [%]
    "soc_first",  # mean SOC at the day's first sample [%]
    "closing",  # 1: the day's last sample holds until the next one; 0: it idles; else NaN
    "active_discharged",  # DC energy discharged while the plant meter is active [kWh]
    "active_charged",  # DC energy charged while the plant meter is active [kWh]
    "plant_discharged",  # plant meter energy discharged [kWh]
    "plant_charged",  # plant meter energy charged [kWh]
    "plant_complete",  # 1 if the plant meter's day is complete
    "soc_offset",  # daily mean of SOC minus the mean SOC of the siblings [%]
    "soc_swing",  # daily downward SOC swing of the enclosure [%]
)
_Q: Final = {name: position for position, name in enumerate(PARTIALS)}


@dataclass
class DayParts:
    """A block of samples reduced per local day, before the held sums are complete.

    ``day`` counts the block's days, ``m`` its DC inputs (inverter * dc_input, flat) and
    ``slot`` the enclosure slots. Sums of negative parts are kept as they are (<= 0).
    """

    #: (day,) bool: the day has samples
    present: np.ndarray
    #: (7, day, m): segment energy [kWh], segment drop [%], segments, SOC change [%], SOC
    #: spread [%], mean SOC at the first sample [%], how the day closes (1: its last sample
    #: holds until the next sample, 0: it does not but idles, NaN: neither); NaN on days
    #: without samples
    per_input: np.ndarray
    #: (2, day, m, slot): SOC offset [%], downward SOC swing [%]; NaN on unused slots
    per_enclosure: np.ndarray
    #: (5, day, m), running sums over the held samples: positive and negative DC energy
    #: [kWh], valid seconds [s], positive and negative DC energy while the plant meter is
    #: active [kWh]
    held: np.ndarray
    #: (5, day), running sums over the held samples: positive and negative plant energy
    #: while active [kWh], seconds of samples inactive or finite while active [s], valid
    #: seconds [s], samples with the plant meter inactive
    plant: np.ndarray

    @classmethod
    def empty(cls, n_days: int, m: int, n_slots: int) -> DayParts:
        """Parts of ``n_days`` days without samples."""
        return cls(
            present=np.zeros(n_days, dtype=bool),
            per_input=np.full((7, n_days, m), np.nan),
            per_enclosure=np.full((2, n_days, m, n_slots), np.nan),
            held=np.zeros((5, n_days, m)),
            plant=np.zeros((5, n_days)),
        )

    def place(self, rows: np.ndarray, other: DayParts) -> None:
        """Put ``other``'s days (a block of the same plant) on days ``rows``."""
        self.present[rows] = other.present
        self.per_input[:, rows] = other.per_input
        self.per_enclosure[:, rows] = other.per_enclosure
        self.held[:, rows] = other.held
        self.plant[:, rows] = other.plant


# ---------------------------------------------------------------------------------------
# samples -> parts
# ---------------------------------------------------------------------------------------
def soc_slots(
    soc: np.ndarray, slot_used: np.ndarray, limits: Limits = _NO_LIMITS_GIVEN
) -> np.ndarray:
    """The enclosures' SOC as one contiguous ``(n, m)`` array per slot, for :func:`day_parts`.

    ``soc`` is ``(n, m, slot)`` [%]; implausible samples become NaN. An unused slot repeats
    the DC input's first used slot, so that it changes no maximum or minimum (a DC input
    without enclosures reads 0). Returns float64 ``(slot, n, m)``.
    """
    m, n_slots = soc.shape[1:]
    # one contiguous array per slot: reductions over 2-3 slots are then a few elementwise
    # operations instead of slow reductions along a short last axis
    by_slot = np.moveaxis(np.asarray(soc, dtype=np.float64), -1, 0).copy()
    by_slot = masked(by_slot, "soc", limits)
    n_used = slot_used.sum(axis=-1)
    first_used = np.argmax(slot_used, axis=1)
    first_values = by_slot[first_used, :, np.arange(m)].T
    first_values[:, n_used == 0] = 0.0
    for slot in range(n_slots):
        unused = ~slot_used[:, slot]
        by_slot[slot][:, unused] = first_values[:, unused]
    return by_slot


def _day_starts(day_index: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))


def _slot_statistics(slots: np.ndarray, slot_used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sum of the used slots' SOC, slot after slot (0 for a DC input without enclosures;
    NaN where a used slot is NaN), and the spread (max - min, NaN for fewer than two
    enclosures) of every sample: two ``(n, m)`` arrays."""
    n_slots, n, m = slots.shape
    n_used = slot_used.sum(axis=-1)
    # A slot used by every DC input with enclosures adds itself (the others read 0); any other
    # slot adds itself times 0 or 1 (much faster than a masked add): an unused slot repeats a
    # used one, so where it would add NaN the sum is NaN already.
    every = (slot_used | (n_used == 0)[:, np.newaxis]).all(axis=0)
    weight = slot_used.T.astype(np.float64)
    total = np.empty((n, m))
    spread = np.empty((n, m))
    lowest = np.empty((_BLOCK_ROWS, m))
    term = np.empty((_BLOCK_ROWS, m))
    # block by block of rows, so that the few arrays of a block stay in the cache
    for start in range(0, n, _BLOCK_ROWS):
        rows = slice(start, min(start + _BLOCK_ROWS, n))
        size = rows.stop - rows.start
        block_total, highest, low = total[rows], spread[rows], lowest[:size]
        first = slots[0, rows]
        if every[0]:
            np.copyto(block_total, first)
        else:
            np.multiply(first, weight[0], out=block_total)
        np.copyto(highest, first)
        np.copyto(low, first)
        for slot in range(1, n_slots):
            values = slots[slot, rows]
            if every[slot]:
                block_total += values
            else:
                block_total += np.multiply(values, weight[slot], out=term[:size])
            np.maximum(highest, values, out=highest)
            np.minimum(low, values, out=low)
        np.subtract(highest, low, out=highest)
    spread[:, n_used < 2] = np.nan
    return total, spread


def _on_days(values: np.ndarray, present: np.ndarray, n_days: int) -> np.ndarray:
    """Rows of ``values`` (one per present day) placed on ``n_days`` rows, NaN elsewhere."""
    full = np.full((n_days, *values.shape[1:]), np.nan)
    full[present] = values
    return full


def _discharge_segments(
    power: np.ndarray,
    mean_soc_at: Callable[[np.ndarray, np.ndarray], np.ndarray],
    hold: np.ndarray,
    joined: np.ndarray,
    day_index: np.ndarray,
    starts: np.ndarray,
    min_swing: float,
    n_days: int,
) -> np.ndarray:
    """Per-day energy [kWh], SOC drop [%] and count of qualifying discharge segments.

    A segment is a run of samples of one DC input with power above
    :data:`DISCHARGE_THRESHOLD_KW`, cut at local midnight. Its energy is the sample-and-hold
    energy of the run; its SOC drop is the mean SOC at its first sample minus that at the
    sample after its last one (the SOC of a sample precedes that sample's energy). A segment
    counts when its drop is at least ``min_swing``, it holds no sample followed by a gap
    (``joined`` False) and its successor sample is on the same local day, so that a block
    of whole days decides alone: a segment running to midnight is not used, and neither
    the hold nor ``joined`` of a block's last sample changes the result.
    """
    n, m = power.shape
    ends = np.append(starts[1:], n) - 1
    # (DC input, sample): the runs of a DC input follow each other in flat order
    discharging = np.empty((m, n), dtype=bool)
    np.greater(power.T, DISCHARGE_THRESHOLD_KW, out=discharging)
    first = discharging.copy()
    first[:, 1:] &= ~discharging[:, :-1]
    first[:, starts] = discharging[:, starts]
    last = discharging.copy()
    last[:, :-1] &= ~discharging[:, 1:]
    last[:, ends] = discharging[:, ends]
    first_at = np.flatnonzero(first)
    out = np.zeros((3, n_days, m))
    if first_at.size == 0:
        return out
    last_at = np.flatnonzero(last)
    energy = np.where(discharging, power.T, 0.0)
    energy *= (hold / _SECONDS_PER_HOUR)[np.newaxis, :]
    # each sum runs from a segment's first sample to the next segment's: the zeros between
    # add nothing, and the sums keep the order they always had
    segment_energy = np.add.reduceat(energy.ravel(), first_at)
    column, first_row = np.divmod(first_at, n)
    last_row = last_at % n
    gaps_before = np.concatenate(([0], np.cumsum(~joined)))
    broken = gaps_before[last_row + 1] != gaps_before[first_row]
    day_end = np.zeros(n, dtype=bool)
    day_end[ends] = True
    has_successor = ~day_end[last_row]
    drop = mean_soc_at(first_row, column) - mean_soc_at(
        np.where(has_successor, last_row + 1, last_row), column
    )
    with np.errstate(invalid="ignore"):
        counts = has_successor & ~broken & (drop >= min_swing)
    key = day_index[first_row[counts]] * m + column[counts]
    size = n_days * m
    out[0] = np.bincount(key, weights=segment_energy[counts], minlength=size).reshape(n_days, m)
    out[1] = np.bincount(key, weights=drop[counts], minlength=size).reshape(n_days, m)
    out[2] = np.bincount(key, minlength=size).reshape(n_days, m)
    return out


def running_power_sums(
    values: np.ndarray, hold: np.ndarray, day_index: np.ndarray, n_days: int
) -> np.ndarray:
    """:func:`bessx.kernels.energy.daily_power_sums` as running sums: ``(3, n_days, ...)`` of the
    positive part [kWh], the negative part as it is (<= 0) [kWh] and the valid seconds, 0
    on days without samples."""
    out = np.zeros((3, n_days, *values.shape[1:]))
    if len(values) == 0:
        return out
    sums = np.nan_to_num(daily_power_sums(values, hold, day_index))
    days = sums.shape[1]
    out[0, :days] = sums[0]
    out[1, :days] = 0.0 - sums[1]  # daily_power_sums negates the negative part's sum
    out[2, :days] = sums[2]
    return out


def power_terms(power: np.ndarray, hold: float) -> np.ndarray:
    """What one sample adds to :func:`running_power_sums`: ``(3, ...)``.

    The products :func:`bessx.kernels.energy.daily_power_sums` forms for ``power`` [kW] held
    ``hold`` [s]; added last to a day's sums, they give its sums over the day with this
    sample, bit for bit (each day's sums are taken sample after sample).
    """
    weighted = np.multiply(power, hold / _SECONDS_PER_HOUR, dtype=np.float64)
    return np.stack([np.fmax(weighted, 0.0), np.fmin(weighted, 0.0), np.isfinite(power) * hold])


def _downward_swing(soc: np.ndarray, segments: Segments, crossing: np.ndarray) -> np.ndarray:
    """Sum of the SOC decreases between consecutive samples of each day (NaN steps add 0)."""
    step = np.empty_like(soc)
    np.subtract(soc[1:], soc[:-1], out=step[:-1])
    step[-1] = 0.0
    step[crossing] = 0.0
    np.fmin(step, 0.0, out=step)
    return 0.0 - segment_sums(step, segments)


def day_parts(
    power: np.ndarray,
    slots: np.ndarray,
    plant: np.ndarray,
    hold: np.ndarray,
    joined: np.ndarray,
    day_index: np.ndarray,
    slot_used: np.ndarray,
    *,
    min_swing: float,
    plant_threshold: float,
    held: int | None = None,
    power_sums: np.ndarray | None = None,
) -> DayParts:
    """Reduce a block of whole local days to its :class:`DayParts`.

    Parameters
    ----------
    power : numpy.ndarray
        DC input power [kW], float64 ``(n, m)``, implausible samples already NaN.
    slots : numpy.ndarray
        Enclosure SOC [%] per slot, float64 ``(slot, n, m)`` as :func:`soc_slots` makes it.
    plant : numpy.ndarray
        Plant meter power [kW], float64 ``(n,)``.
    hold, joined, day_index
        Per sample, as for :func:`daily_health_partials`.
    slot_used : numpy.ndarray
        Boolean ``(m, slot)``: slots that hold an enclosure.
    min_swing, plant_threshold
        As for :func:`daily_health_partials`.
    held : int, optional
        How many leading samples go into the held sums (default all): the others' hold is
        not known yet, and :func:`add_sample` adds them later.
    power_sums : numpy.ndarray, optional
        ``(3, day, m)`` held sums of ``power`` over those samples, when known already
        (:func:`bessx.kernels.energy.daily_power_sums` as running sums).
    """
    n, m = power.shape
    n_slots = slots.shape[0]
    n_days = int(day_index[-1]) + 1
    held = n if held is None else held
    day_index = np.asarray(day_index, dtype=np.intp)
    starts = _day_starts(day_index)
    present = day_index[starts]
    ends = np.append(starts[1:] - 1, n - 1)
    segments = Segments(starts, present)

    n_used = slot_used.sum(axis=-1)
    soc_total, spread = _slot_statistics(slots, slot_used)
    divisor = np.where(n_used > 0, n_used, np.nan)

    def mean_soc_at(rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return soc_total[rows, columns] / divisor[columns]

    parts = DayParts.empty(n_days, m, n_slots)
    parts.present[present] = True
    parts.per_input[:3] = _discharge_segments(
        power, mean_soc_at, hold, joined, day_index, starts, float(min_swing), n_days
    )
    parts.per_input[:3, ~parts.present] = np.nan
    every_column = np.arange(m)
    parts.per_input[3, present] = mean_soc_at(ends[:, np.newaxis], every_column) - mean_soc_at(
        starts[:, np.newaxis], every_column
    )
    parts.per_input[5, present] = mean_soc_at(starts[:, np.newaxis], every_column)
    with np.errstate(invalid="ignore"):
        idle = np.abs(power[ends]) <= DISCHARGE_THRESHOLD_KW
    parts.per_input[6, present] = np.where(
        joined[ends, np.newaxis], 1.0, np.where(idle, 0.0, np.nan)
    )
    day_ends = np.append(starts[1:], n)
    for row, (start, end) in enumerate(zip(starts, day_ends, strict=True)):
        # NaN only where a sample misses a SOC: the day's maximum skips it
        parts.per_input[4, present[row]] = np.fmax.reduce(spread[start:end], axis=0)

    # The offset s_e - mean of the siblings = (n s_e - total) / (n - 1) is linear: its daily
    # mean comes from daily sums over the samples where every enclosure of the input is valid.
    valid = np.isfinite(soc_total)
    all_valid = bool(valid.all())

    def valid_sums(values: np.ndarray) -> np.ndarray:
        return segment_sums(values if all_valid else np.where(valid, values, 0.0), segments)

    if all_valid:  # every sample counts
        samples = np.diff(np.append(starts, n)).astype(np.float64)
        valid_count = np.repeat(samples[:, np.newaxis], m, axis=1)
    else:
        valid_count = segment_sums(valid, segments)
    total_sum = valid_sums(soc_total)
    crossing = ends[:-1]
    enclosure = slot_used & (n_used >= 2)[:, np.newaxis]
    for slot in range(n_slots):
        slot_sum = valid_sums(slots[slot])
        with np.errstate(invalid="ignore", divide="ignore"):
            offset = (n_used * slot_sum - total_sum) / ((n_used - 1) * valid_count)
        parts.per_enclosure[0, present, :, slot] = np.where(enclosure[:, slot], offset, np.nan)
        swing = _downward_swing(slots[slot], segments, crossing)
        parts.per_enclosure[1, present, :, slot] = np.where(slot_used[:, slot], swing, np.nan)

    # held sums: the energies, and the plant meter's
    head = slice(0, held)
    if power_sums is None:
        power_sums = running_power_sums(power[head], hold[head], day_index[head], n_days)
    parts.held[:3] = power_sums
    with np.errstate(invalid="ignore"):
        active = np.abs(plant) > plant_threshold
    active_rows = np.flatnonzero(active[head])
    if active_rows.size:
        # inactive samples add 0 to the sums: sum the active ones alone
        parts.held[3:] = running_power_sums(
            power[active_rows], hold[active_rows], day_index[active_rows], n_days
        )[:2]
    plant_sums = running_power_sums(
        np.where(active[head], plant[head], 0.0)[:, np.newaxis],
        hold[head],
        day_index[head],
        n_days,
    )[..., 0]
    parts.plant[:3] = plant_sums
    parts.plant[3] = running_power_sums(
        plant[head, np.newaxis], hold[head], day_index[head], n_days
    )[2, :, 0]
    parts.plant[4] = np.bincount(day_index[head][~active[head]], minlength=n_days)
    return parts


def add_sample(
    parts: DayParts,
    day: int,
    power: np.ndarray,
    plant: float,
    hold: float,
    plant_threshold: float,
) -> None:
    """Add one sample's held terms to ``parts`` (in place), on ``day``.

    ``power`` is the sample's DC input power ``(m,)`` [kW] (implausible values NaN),
    ``plant`` its plant meter power [kW], ``hold`` [s] how long it holds. The terms are the
    products that :func:`bessx.kernels.energy.daily_power_sums` forms, added last, as its
    sample-after-sample sums of the whole day add them.
    """
    terms = power_terms(power, hold)
    parts.held[:3, day] += terms
    active = bool(abs(plant) > plant_threshold)
    if active:
        parts.held[3:, day] += terms[:2]
    else:
        parts.plant[4, day] += 1.0
    parts.plant[:3, day] += power_terms(np.array(plant if active else 0.0), hold)
    parts.plant[3, day] += np.isfinite(plant) * hold


def finish_parts(parts: DayParts, day_seconds: np.ndarray) -> np.ndarray:
    """The partials :data:`PARTIALS` of complete parts: float64 ``(quantity, day, m, slot)``.

    ``day_seconds`` is the length of each day [s]. Days without samples are NaN.
    """
    n_days, m, n_slots = parts.per_enclosure.shape[1:]
    lengths = np.asarray(day_seconds, dtype=np.float64)[:, np.newaxis]
    out = np.full((len(PARTIALS), n_days, m, n_slots), np.nan)

    def put(name: str, values: np.ndarray) -> None:
        if values.ndim == 1:
            values = values[:, np.newaxis]
        out[_Q[name]] = values[..., np.newaxis] if values.ndim == 2 else values

    for position, name in enumerate(("segment_energy", "segment_drop", "segments")):
        put(name, parts.per_input[position])
    soc_change = parts.per_input[3]
    put("soc_change", soc_change)
    put("soc_spread", parts.per_input[4])
    put("soc_first", parts.per_input[5])
    put("closing", parts.per_input[6])
    put("soc_offset", parts.per_enclosure[0])
    put("soc_swing", parts.per_enclosure[1])

    positive, negative, valid, active_positive, active_negative = parts.held
    no_valid = ~(valid > 0.0)
    put("discharged", np.where(no_valid, np.nan, positive))
    put("charged", np.where(no_valid, np.nan, 0.0 - negative))
    with np.errstate(invalid="ignore"):
        complete = (valid >= lengths - 1.0) & np.isfinite(soc_change)
    put("complete", complete.astype(np.float64))
    # the DC sums over active samples have a value where a sample is inactive (it adds 0)
    # or valid
    no_active = no_valid & ~(parts.plant[4] > 0.0)[:, np.newaxis]
    put("active_discharged", np.where(no_active, np.nan, active_positive))
    put("active_charged", np.where(no_active, np.nan, 0.0 - active_negative))

    plant_positive, plant_negative, plant_held, plant_valid, _ = parts.plant
    no_plant = ~(plant_held > 0.0)
    put("plant_discharged", np.where(no_plant, np.nan, plant_positive))
    put("plant_charged", np.where(no_plant, np.nan, 0.0 - plant_negative))
    put("plant_complete", (plant_valid >= lengths[:, 0] - 1.0).astype(np.float64))
    out[:, ~parts.present] = np.nan
    return out


def daily_health_partials(
    power: np.ndarray,
    soc: np.ndarray,
    plant_power: np.ndarray,
    hold_seconds: np.ndarray,
    joined: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    *,
    min_swing: float = 20.0,
    plant_threshold: float = 0.0,
    limits: Limits = _NO_LIMITS_GIVEN,
) -> np.ndarray:
    """Per-day partial sums for :func:`bessx.health` from a block of whole local days.

    Parameters
    ----------
    power : numpy.ndarray
        DC input power [kW], ``(n, inverter, dc_input)``, positive when discharging; NaN
        and implausible values (:mod:`bessx.kernels.plausibility`) are missing.
    soc : numpy.ndarray
        Enclosure SOC [%], ``(n, inverter, dc_input, enclosure)``; NaN and implausible
        values (outside 0-100 %) are missing.
    plant_power : numpy.ndarray
        Plant meter power [kW], ``(n,)``; implausible samples (the plausibility rules of
        ``plant_power``) count as missing.
    hold_seconds : numpy.ndarray
        How long each sample holds [s], ``(n,)`` (:func:`bessx.dayblocks.hold_seconds`).
    joined : numpy.ndarray
        Boolean ``(n,)``: the step to the next sample is no gap (at most ``max_gap``
        intervals); False for the series' last sample.
    day_index : numpy.ndarray
        Day of each sample, ``(n,)``, non-decreasing from 0.
    day_seconds : numpy.ndarray
        Length of each day of the block [s], ``(day_index[-1] + 1,)``.
    used : numpy.ndarray
        Boolean ``(inverter, dc_input, enclosure)``: slots that hold an enclosure.
    min_swing : float
        Smallest mean-SOC decrease [percentage points] of a discharge segment used for the
        usable capacity.
    plant_threshold : float
        The plant meter is active while :math:`|P| >` ``plant_threshold`` [kW]; the
        conversion efficiency compares plant and DC energies over active samples only, so
        that idle measurement noise does not count as energy in both directions.
    limits : bessx.kernels.plausibility.Limits
        The plant's physical limits (``dc_power_limit_kw``).

    Returns
    -------
    numpy.ndarray
        float64 ``(len(PARTIALS), day, inverter, dc_input, enclosure)``, the quantities of
        :data:`PARTIALS`; DC-input and plant quantities are repeated along the enclosure
        axis. Days of the block without samples are NaN.
    """
    n = power.shape[0]
    n_inverters, n_inputs, n_slots = used.shape
    m = n_inverters * n_inputs
    flat_power = masked(np.asarray(power, dtype=np.float64).reshape(n, m), "dc_power", limits)
    slot_used = np.asarray(used, dtype=bool).reshape(m, n_slots)
    parts = day_parts(
        flat_power,
        soc_slots(np.asarray(soc).reshape(n, m, n_slots), slot_used, limits),
        masked(np.asarray(plant_power, dtype=np.float64).reshape(n), "plant_power", limits),
        np.asarray(hold_seconds, dtype=np.float64),
        np.asarray(joined, dtype=bool),
        day_index,
        slot_used,
        min_swing=min_swing,
        plant_threshold=plant_threshold,
    )
    partials = finish_parts(parts, day_seconds)
    return partials.reshape(len(PARTIALS), -1, n_inverters, n_inputs, n_slots)


# ---------------------------------------------------------------------------------------
# Theil-Sen
# ---------------------------------------------------------------------------------------
def theil_sen(
    x: np.ndarray, y: np.ndarray, confidence: float = TREND_CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Theil-Sen slope of ``y`` against ``x`` with Sen's confidence interval, on the last axis.

    Parameters
    ----------
    x : numpy.ndarray
        Abscissae ``(n,)``, strictly increasing.
    y : numpy.ndarray
        Ordinates ``(..., n)``; NaN points are left out (series by series).
    confidence : float
        Two-sided confidence of the interval; only 0.95 is supported.

    Returns
    -------
    slope, low, high : numpy.ndarray
        float64 ``(...)``: the median of the pairwise slopes and the bounds of its
        confidence interval; NaN where fewer than two points are finite.

    Notes
    -----
    With the :math:`K = n'(n'-1)/2` pairwise slopes
    :math:`s_{ij} = (y_j - y_i) / (x_j - x_i)`, :math:`i < j`, of the :math:`n'` finite
    points, sorted, the slope is their median. Sen's interval (normal approximation,
    no ties): :math:`C = z_{0.975} \sqrt{n'(n'-1)(2n'+5)/18}`,
    :math:`M_1 = (K - C)/2`, :math:`M_2 = (K + C)/2`; the bounds are the
    :math:`\mathrm{round}(M_1)`-th and :math:`(\mathrm{round}(M_2) + 1)`-th smallest slopes
    (1-based), clipped to the smallest and largest. With few points the interval is
    the whole range of the slopes.

    Examples
    --------
    >>> x = np.arange(6.0)
    >>> slope, low, high = theil_sen(x, np.array([0.0, 1.0, 2.0, 3.0, 4.0, 50.0]))
    >>> float(slope), float(low), float(high)
    (1.0, 1.0, 23.5)
    """
    if confidence != TREND_CONFIDENCE:
        raise ValueError(f"only confidence={TREND_CONFIDENCE} is supported, not {confidence}")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    shape = y.shape[:-1]
    if n < 2:
        nan = np.full(shape, np.nan)
        return nan, nan.copy(), nan.copy()
    i, j = np.triu_indices(n, 1)
    slopes = np.sort((y[..., j] - y[..., i]) / (x[j] - x[i]), axis=-1)  # NaN sort last
    points = np.isfinite(y).sum(axis=-1)
    pairs = points * (points - 1) // 2
    enough = pairs > 0

    def at(rank: np.ndarray) -> np.ndarray:
        index = np.clip(rank, 0, np.maximum(pairs - 1, 0)).astype(np.intp)
        picked = np.take_along_axis(slopes, index[..., np.newaxis], axis=-1)[..., 0]
        return np.where(enough, picked, np.nan)

    slope = 0.5 * (at((pairs - 1) // 2) + at(pairs // 2))
    spread = _Z_975 * np.sqrt(points * (points - 1) * (2 * points + 5) / 18.0)
    low = at(np.round((pairs - spread) / 2.0) - 1)
    high = at(np.round((pairs + spread) / 2.0))
    return slope, low, high
