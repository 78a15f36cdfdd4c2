r"""Battery health from operational data: usable capacity and its fade, round-trip efficiency,
equivalent full cycles, SOC spread and per-enclosure SOC offsets.

Three layers, as everywhere in bessx:

* numpy kernels: :func:`daily_health_partials` reduces a block of whole local days of
  samples to small per-day partial sums (discharge segments' energy and SOC drop, daily
  energies, daily SOC spread, first and last SOC of the day, ...); :func:`theil_sen` fits a
  robust slope with Sen's confidence interval along the last axis;
* :func:`health` runs the kernel on dask chunks that hold whole local days (one task per
  block, like :func:`bessx.daily_energy`), sums the partials over windows of whole days and
  forms the estimates, lazily;
* the ``Dataset.bess`` accessor forwards to :func:`health`.

Power is metered per DC input, not per enclosure, and the enclosures of a DC input share its
DC bus: capacity and efficiency are identified per DC input only. Per enclosure the data
identify how its SOC reading sits and swings relative to its siblings. The method is
described in ``docs/methodology.md`` (section "Battery health").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import dask.array as da
import numpy as np
import pandas as pd
import xarray as xr
from dask.base import tokenize

from bessx import schema
from bessx.energy import (
    daily_power_sums,
    day_aligned_chunks,
    hold_seconds,
    local_days,
)

__all__ = [
    "HEALTH_ATTRS",
    "MAX_ABS_POWER_KW",
    "PARTIALS",
    "daily_health_partials",
    "health",
    "summary_section",
    "theil_sen",
    "to_frame",
]

#: DC input power beyond this magnitude [kW] is implausible and treated as missing.
MAX_ABS_POWER_KW: Final = 5000.0
#: A DC input discharges while its power exceeds this [kW] (above idle measurement noise).
DISCHARGE_THRESHOLD_KW: Final = 5.0
#: Two-sided confidence of the trend interval and its standard normal quantile.
TREND_CONFIDENCE: Final = 0.95
_Z_975: Final = 1.959963984540054
_DAYS_PER_YEAR: Final = 365.25
_SECONDS_PER_HOUR: Final = 3600.0
#: An enclosure swings normally when its SOC swing is within this of its siblings' (ratio).
_STEADY_SWING: Final = 0.1
_NS_PER_SECOND: Final = 1_000_000_000

#: Per-day partial quantities of :func:`daily_health_partials`, in output order. The first
#: ten are per DC input, the next three per plant, the last two per enclosure (all are
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
    "active_discharged",  # DC energy discharged while the plant meter is active [kWh]
    "active_charged",  # DC energy charged while the plant meter is active [kWh]
    "plant_discharged",  # plant meter energy discharged [kWh]
    "plant_charged",  # plant meter energy charged [kWh]
    "plant_complete",  # 1 if the plant meter's day is complete
    "soc_offset",  # daily mean of SOC minus the mean SOC of the siblings [%]
    "soc_swing",  # daily downward SOC swing of the enclosure [%]
)
_Q: Final = {name: position for position, name in enumerate(PARTIALS)}

WINDOW: Final = "window"
DIRECTION: Final = "direction"

#: CF attributes of the outputs of :func:`health`.
HEALTH_ATTRS: Final = {
    "usable_capacity": {
        "units": "kWh",
        "long_name": "usable capacity of the DC input: energy discharged at the DC input per "
        "100 percentage points of decrease of its enclosures' mean SOC",
        "cell_methods": "window: sum (ratio of sums over discharge segments)",
    },
    "round_trip_efficiency": {
        "units": "1",
        "long_name": "DC-side round-trip efficiency, corrected for the change of stored energy",
        "cell_methods": "window: sum (ratio of sums over complete days)",
    },
    "equivalent_full_cycles": {
        "units": "1",
        "long_name": "equivalent full cycles: energy discharged / usable capacity",
        "cell_methods": "window: sum",
    },
    "soc_spread": {
        "units": "%",
        "long_name": "daily maximum spread (max - min) of SOC among the DC input's enclosures",
        "cell_methods": "time: maximum within days window: mean over days",
    },
    "segments": {
        "units": "1",
        "long_name": "number of discharge segments used for the usable capacity",
        "cell_methods": "window: sum",
    },
    "capacity_trend": {
        "units": "% a-1",
        "long_name": "Theil-Sen slope of usable capacity relative to its first window "
        "(negative: fading), percent per year",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "capacity_trend_low": {
        "units": "% a-1",
        "long_name": "lower bound of the 95 % confidence interval of capacity_trend",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "capacity_trend_high": {
        "units": "% a-1",
        "long_name": "upper bound of the 95 % confidence interval of capacity_trend",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "conversion_efficiency": {
        "units": "1",
        "long_name": "plant conversion efficiency between the summed DC inputs and the plant "
        "meter (discharge: AC/DC, charge: DC/AC)",
        "cell_methods": "window: sum (ratio of sums over complete days)",
    },
    "soc_offset": {
        "units": "%",
        "long_name": "enclosure SOC minus the mean SOC of its siblings on the DC input",
        "cell_methods": "time: mean within days window: mean over days",
    },
    "soc_swing_ratio": {
        "units": "1",
        "long_name": "enclosure's downward SOC swing relative to the mean of its siblings'",
        "cell_methods": "window: sum (ratio of sums)",
    },
}


# ---------------------------------------------------------------------------------------
# numpy kernels
# ---------------------------------------------------------------------------------------
def _day_starts(day_index: np.ndarray) -> np.ndarray:
    return np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))


def _on_days(values: np.ndarray, present: np.ndarray, n_days: int) -> np.ndarray:
    """Rows of ``values`` (one per present day) placed on ``n_days`` rows, NaN elsewhere."""
    full = np.full((n_days, *values.shape[1:]), np.nan)
    full[present] = values
    return full


def _discharge_segments(
    power: np.ndarray,
    mean_soc: np.ndarray,
    hold: np.ndarray,
    joined: np.ndarray,
    day_index: np.ndarray,
    min_swing: float,
    n_days: int,
) -> np.ndarray:
    """Per-day energy [kWh], SOC drop [%] and count of qualifying discharge segments.

    A segment is a run of samples of one DC input with power above
    :data:`DISCHARGE_THRESHOLD_KW`, cut at local midnight. Its energy is the sample-and-hold
    energy of the run; its SOC drop is the mean SOC at its first sample minus that at the
    sample after its last one (the SOC of a sample precedes that sample's energy). A segment
    counts when its drop is at least ``min_swing``, it holds no sample followed by a gap
    (``joined`` False) and its successor sample is on the same local day.
    """
    n, m = power.shape
    discharging = power > DISCHARGE_THRESHOLD_KW
    day_start = np.zeros(n, dtype=bool)
    day_start[_day_starts(day_index)] = True
    before = np.zeros_like(discharging)
    before[1:] = discharging[:-1]
    after = np.zeros_like(discharging)
    after[:-1] = discharging[1:]
    day_end = np.append(day_start[1:], True)
    first = discharging & (~before | day_start[:, np.newaxis])
    last = discharging & (~after | day_end[:, np.newaxis])

    # Column-major flat positions: the runs of a column follow each other in order.
    first_at = np.flatnonzero(first.T)
    last_at = np.flatnonzero(last.T)
    out = np.zeros((3, n_days, m))
    if first_at.size == 0:
        return out
    energy = np.where(discharging, power, 0.0) * (hold / _SECONDS_PER_HOUR)[:, np.newaxis]
    segment_energy = np.add.reduceat(energy.T.ravel(), first_at)
    broken = discharging & ~joined[:, np.newaxis]
    segment_breaks = np.add.reduceat(broken.T.ravel().astype(np.int64), first_at)
    column, first_row = np.divmod(first_at, n)
    last_row = last_at % n
    # The successor must be in the same local day, so that a block of whole days decides
    # alone (numpy and dask agree whatever the chunks): a segment running to midnight is not
    # used.
    has_successor = ~day_end[last_row]
    soc_by_column = mean_soc.T
    drop = (
        soc_by_column[column, first_row]
        - soc_by_column[column, np.where(has_successor, last_row + 1, last_row)]
    )
    with np.errstate(invalid="ignore"):
        counts = has_successor & (segment_breaks == 0) & (drop >= min_swing)
    key = day_index[first_row[counts]] * m + column[counts]
    size = n_days * m
    out[0] = np.bincount(key, weights=segment_energy[counts], minlength=size).reshape(n_days, m)
    out[1] = np.bincount(key, weights=drop[counts], minlength=size).reshape(n_days, m)
    out[2] = np.bincount(key, minlength=size).reshape(n_days, m)
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
) -> np.ndarray:
    """Per-day partial sums for :func:`health` from a block of whole local days.

    Parameters
    ----------
    power : numpy.ndarray
        DC input power [kW], ``(n, inverter, dc_input)``, positive when discharging; NaN
        and values beyond ±:data:`MAX_ABS_POWER_KW` are missing.
    soc : numpy.ndarray
        Enclosure SOC [%], ``(n, inverter, dc_input, enclosure)``; NaN and values outside
        0-100 are missing.
    plant_power : numpy.ndarray
        Plant meter power [kW], ``(n,)``.
    hold_seconds : numpy.ndarray
        How long each sample holds [s], ``(n,)`` (:func:`bessx.energy.hold_seconds`).
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

    Returns
    -------
    numpy.ndarray
        float64 ``(len(PARTIALS), day, inverter, dc_input, enclosure)``, the quantities of
        :data:`PARTIALS`; DC-input and plant quantities are repeated along the enclosure
        axis. Days of the block without samples are NaN.
    """
    n = power.shape[0]
    n_days = int(day_index[-1]) + 1
    n_inverters, n_inputs, n_slots = used.shape
    m = n_inverters * n_inputs
    day_index = np.asarray(day_index, dtype=np.intp)
    hold = np.asarray(hold_seconds, dtype=np.float64)
    joined = np.asarray(joined, dtype=bool)
    lengths = np.asarray(day_seconds, dtype=np.float64)

    flat_power = np.asarray(power, dtype=np.float64).reshape(n, m)
    flat_power = np.where(np.abs(flat_power) <= MAX_ABS_POWER_KW, flat_power, np.nan)
    slot_used = np.asarray(used, dtype=bool).reshape(m, n_slots)
    n_used = slot_used.sum(axis=-1)
    # One contiguous (n, m) array per enclosure slot: reductions over 2-3 slots are then a few
    # elementwise operations instead of slow reductions along a short last axis.
    by_slot = np.moveaxis(np.asarray(soc, dtype=np.float64).reshape(n, m, n_slots), -1, 0).copy()
    with np.errstate(invalid="ignore"):
        by_slot[(by_slot < 0.0) | (by_slot > 100.0)] = np.nan
    # An unused slot repeats the DC input's first used slot, so that it changes no maximum
    # or minimum; it is weighted 0 in sums (a DC input without enclosures reads 0).
    slot_weight = slot_used.T.astype(np.float64)
    first_used = np.argmax(slot_used, axis=1)
    first_values = by_slot[first_used, :, np.arange(m)].T
    first_values[:, n_used == 0] = 0.0
    for slot in range(n_slots):
        unused = ~slot_used[:, slot]
        by_slot[slot][:, unused] = first_values[:, unused]
    soc_total = by_slot[0] * slot_weight[0]
    highest = by_slot[0].copy()
    lowest = by_slot[0].copy()
    for slot in range(1, n_slots):
        soc_total += by_slot[slot] * slot_weight[slot]
        np.maximum(highest, by_slot[slot], out=highest)
        np.minimum(lowest, by_slot[slot], out=lowest)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_soc = soc_total / np.where(n_used > 0, n_used, np.nan)

    out = np.full((len(PARTIALS), n_days, m, n_slots), np.nan)

    def put(name: str, values: np.ndarray) -> None:
        out[_Q[name]] = values[..., np.newaxis] if values.ndim == 2 else values

    segments = _discharge_segments(
        flat_power, mean_soc, hold, joined, day_index, float(min_swing), n_days
    )
    starts = _day_starts(day_index)
    present = day_index[starts]
    ends = np.append(starts[1:] - 1, n - 1)
    missing_day = np.setdiff1d(np.arange(n_days), present)
    segments[:, missing_day] = np.nan
    put("segment_energy", segments[0])
    put("segment_drop", segments[1])
    put("segments", segments[2])

    sums = daily_power_sums(flat_power, hold, day_index)
    put("discharged", sums[0])
    put("charged", sums[1])
    soc_change = _on_days(mean_soc[ends] - mean_soc[starts], present, n_days)
    with np.errstate(invalid="ignore"):
        complete = (sums[2] >= lengths[:, np.newaxis] - 1.0) & np.isfinite(soc_change)
    put("complete", np.where(np.isnan(sums[2]), np.nan, complete.astype(np.float64)))
    put("soc_change", soc_change)

    spread = np.where(n_used >= 2, highest - lowest, np.nan)
    with np.errstate(invalid="ignore"):
        daily_spread = np.fmax.reduceat(spread, starts, axis=0)
    put("soc_spread", _on_days(daily_spread, present, n_days))

    plant = np.asarray(plant_power, dtype=np.float64).reshape(n, 1)
    with np.errstate(invalid="ignore"):
        plant_active = np.abs(plant[:, 0]) > plant_threshold
    active_sums = daily_power_sums(
        np.where(plant_active[:, np.newaxis], flat_power, 0.0), hold, day_index
    )
    put("active_discharged", active_sums[0])
    put("active_charged", active_sums[1])
    valid_seconds = daily_power_sums(plant, hold, day_index)[2, :, 0]
    plant_sums = daily_power_sums(
        np.where(plant_active[:, np.newaxis], plant, 0.0), hold, day_index
    )[..., 0]
    plant_sums[2] = valid_seconds
    put("plant_discharged", np.repeat(plant_sums[0][:, np.newaxis], m, axis=1))
    put("plant_charged", np.repeat(plant_sums[1][:, np.newaxis], m, axis=1))
    with np.errstate(invalid="ignore"):
        plant_complete = (plant_sums[2] >= lengths - 1.0).astype(np.float64)
    plant_complete[np.isnan(plant_sums[2])] = np.nan
    put("plant_complete", np.repeat(plant_complete[:, np.newaxis], m, axis=1))

    # The offset s_e - mean of the siblings = (n s_e - total) / (n - 1) is linear: its daily
    # mean comes from daily sums over the samples where every enclosure of the input is valid.
    valid = np.isfinite(soc_total)
    valid_count = np.add.reduceat(valid, starts, axis=0)
    total_sum = np.add.reduceat(np.where(valid, soc_total, 0.0), starts, axis=0)
    crossing = np.flatnonzero(np.diff(day_index))
    offset = np.empty((len(starts), m, n_slots))
    swing = np.empty((len(starts), m, n_slots))
    for slot in range(n_slots):
        slot_sum = np.add.reduceat(np.where(valid, by_slot[slot], 0.0), starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            offset[..., slot] = (n_used * slot_sum - total_sum) / ((n_used - 1) * valid_count)
        # downward swing: the decreases between consecutive samples of the same day
        step = np.empty((n, m))
        np.subtract(by_slot[slot][1:], by_slot[slot][:-1], out=step[:-1])
        step[-1] = 0.0
        step[crossing] = 0.0
        np.fmin(step, 0.0, out=step)
        swing[..., slot] = -np.add.reduceat(step, starts, axis=0)
    enclosure = slot_used & (n_used >= 2)[:, np.newaxis]
    put("soc_offset", _on_days(np.where(enclosure, offset, np.nan), present, n_days))
    put("soc_swing", _on_days(np.where(slot_used, swing, np.nan), present, n_days))

    return out.reshape(len(PARTIALS), n_days, n_inverters, n_inputs, n_slots)


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


def _relative_trend(usable: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Theil-Sen trend [%/year] of ``usable`` (..., window) relative to its first finite
    window; returns (..., 3): slope, low, high."""
    finite = np.isfinite(usable)
    first = np.argmax(finite, axis=-1)
    reference = np.take_along_axis(usable, first[..., np.newaxis], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = 100.0 * usable / reference
    return np.stack(theil_sen(years, relative), axis=-1)


# ---------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------
def _window_days(window: str | pd.Timedelta) -> int:
    try:
        length = pd.Timedelta(window)
    except ValueError as error:
        raise ValueError(f"window must be a whole number of days such as '30D': {error}") from None
    days = length / pd.Timedelta(days=1)
    if not (days >= 1 and days == int(days)):
        raise ValueError(f"window must be a whole number of days such as '30D', not {window!r}")
    return int(days)


def _blockwise_partials(
    arrays: tuple[Any, Any, Any],
    per_sample: tuple[np.ndarray, np.ndarray, np.ndarray],
    day_seconds: np.ndarray,
    used: Any,
    min_swing: float,
    plant_threshold: float,
) -> da.Array:
    """Run :func:`daily_health_partials` on dask chunks that hold whole local days."""
    power, soc, plant = (da.asarray(array) for array in arrays)
    hold, joined, day_index = per_sample
    sample_chunks = day_aligned_chunks(power.chunks[0], day_index)
    power = power.rechunk({0: sample_chunks})
    last_day = day_index[np.cumsum(sample_chunks) - 1]
    first_day = np.concatenate(([0], last_day[:-1] + 1))
    day_chunks = tuple(int(size) for size in np.diff(np.concatenate(([-1], last_day))))
    block_day_index = (day_index - np.repeat(first_day, sample_chunks)).astype(np.int32)

    def per_sample_array(values: np.ndarray) -> da.Array:
        return da.from_array(values, chunks=(sample_chunks,))

    arguments: list[Any] = [
        power, "tic",
        soc.rechunk({0: sample_chunks, 1: power.chunks[1], 2: power.chunks[2], 3: -1}), "tice",
        plant.rechunk({0: sample_chunks}), "t",
        per_sample_array(hold), "t",
        per_sample_array(joined), "t",
        per_sample_array(block_day_index), "t",
        da.from_array(day_seconds, chunks=(day_chunks,)), "t",
        da.asarray(used).rechunk((power.chunks[1], power.chunks[2], -1)), "ice",
    ]  # fmt: skip
    return da.blockwise(
        daily_health_partials,
        "qtice",
        *arguments,
        min_swing=min_swing,
        plant_threshold=plant_threshold,
        new_axes={"q": len(PARTIALS)},
        adjust_chunks={"t": day_chunks},
        align_arrays=False,
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0, 0), dtype=np.float64),
        name="bessx-health-partials-" + tokenize(*arguments[::2], min_swing, plant_threshold),
    )


def _used(ds: xr.Dataset) -> xr.DataArray:
    if "enclosure_id" in ds.coords:
        used = ds.coords["enclosure_id"] != ""
    elif "n_enclosures" in ds.coords:
        used = ds[schema.ENCLOSURE] <= ds.coords["n_enclosures"]
    else:
        raise ValueError("health needs an 'enclosure_id' or 'n_enclosures' coordinate")
    return used.transpose(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)


def health(
    ds: xr.Dataset,
    *,
    window: str | pd.Timedelta = "30D",
    min_swing: float = 20.0,
    max_gap: float = 3.0,
) -> xr.Dataset:
    r"""Battery health per DC input and window: usable capacity, fade, efficiency, cycles.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports`: ``dc_power`` (time, inverter,
        dc_input) [kW], positive when discharging; ``soc`` (time, inverter, dc_input,
        enclosure) [%]; optionally ``plant_power`` (time) [kW]; ``time`` in UTC, strictly
        increasing; the ``enclosure_id`` (or ``n_enclosures``) coordinate; attrs
        ``timezone`` and ``interval_seconds`` (inferred as the median step when missing).
        numpy- or dask-backed.
    window : str or pandas.Timedelta
        Window length, a whole number of days (``"30D"``). Windows start at local midnight
        of the first date and follow each other; the last one may be shorter.
    min_swing : float
        Smallest decrease of the mean SOC [percentage points] of a discharge segment used
        for the usable capacity (0 < ``min_swing`` <= 100).
    max_gap : float
        Longest step [nominal intervals, >= 1] across which a sample holds, as for
        :func:`bessx.daily_energy`; a discharge segment across a longer gap is not used
        and a day with one is not complete.

    Returns
    -------
    xarray.Dataset
        Dims ``window`` (local start date of each window), ``inverter``, ``dc_input``,
        ``enclosure``, ``direction`` (``"discharge"``, ``"charge"``), with

        - ``usable_capacity`` (window, inverter, dc_input) [kWh],
        - ``round_trip_efficiency`` (window, inverter, dc_input) [1],
        - ``equivalent_full_cycles`` (window, inverter, dc_input) [1],
        - ``soc_spread`` (window, inverter, dc_input) [%],
        - ``segments`` (window, inverter, dc_input) [1], the discharge segments used,
        - ``capacity_trend``, ``capacity_trend_low``, ``capacity_trend_high`` (inverter,
          dc_input) [% per year],
        - ``conversion_efficiency`` (window, direction) [1] (when ``plant_power`` exists),
        - ``soc_offset`` (window, inverter, dc_input, enclosure) [%],
        - ``soc_swing_ratio`` (window, inverter, dc_input, enclosure) [1],

        each with CF ``units``, ``long_name`` and ``cell_methods``. Lazy when ``ds`` is
        dask-backed: one task per block of whole days reads the samples once.

    Raises
    ------
    ValueError
        For a window that is not a whole number of days, ``min_swing`` outside (0, 100],
        ``max_gap < 1``, missing ``dc_power``/``soc`` variables or ``timezone`` attribute,
        or times that do not strictly increase.

    Notes
    -----
    Non-finite samples, DC powers beyond ±5,000 kW and SOC outside 0-100 % are missing.
    Power is metered per DC input and its enclosures share the DC bus, so capacity and
    efficiency are per DC input; :math:`\bar s` is the mean SOC of its enclosures.

    *Usable capacity.* A discharge segment :math:`k` is a run of samples with
    :math:`P > 5` kW within one local day; its energy
    :math:`E_k = \sum_{i=a}^{b} P_i \Delta t_i` and its drop
    :math:`\delta_k = \bar s_a - \bar s_{b+1}` (the SOC of a sample precedes its energy).
    Segments with :math:`\delta_k \ge` ``min_swing``, no gap and a successor sample on
    the same day (a segment running to midnight is not used) give

    .. math:: U_w = 100 \, \frac{\sum_k E_k}{\sum_k \delta_k}.

    *Round-trip efficiency.* Over the complete days :math:`d` of the window (every sample
    valid, no gap), with the mean-SOC change :math:`\Delta \bar s_d` from the day's first to
    its last sample,

    .. math:: \eta_w = \frac{\sum_d E^{dis}_d + U_w \sum_d \Delta \bar s_d / 100}
                            {\sum_d E^{ch}_d}.

    *Equivalent full cycles* :math:`\sum_d E^{dis}_d / U_w` over all days of the window.
    *SOC spread*: the mean over the window's days of the day's maximum of
    :math:`\max_e s_e - \min_e s_e`. *Capacity trend*: :func:`theil_sen` of
    :math:`100\, U_w / U_{w_0}` against the windows' mid-times in years.
    *Conversion efficiency* over days complete at the plant meter and at every DC input
    with data, and over the samples where the plant meter is active (:math:`|P_{AC}|`
    above 5 kW per DC input): :math:`E^{dis}_{AC} / \sum E^{dis}_{DC}` and
    :math:`\sum E^{ch}_{DC} / E^{ch}_{AC}`. *SOC offset* of enclosure :math:`e`: the
    window's mean of the daily mean of :math:`s_e - \mathrm{mean}_{j \ne e} s_j`; its
    *swing ratio*: its summed downward SOC swing over the mean of its siblings'.

    Examples
    --------
    One DC input with two enclosures, hourly samples. Each day charges 950 kWh at the DC
    input (mean SOC 10 → 60 %), then discharges 855 kWh over three hours (60 → 10 %):
    usable capacity 100 × 855 kWh / 50 % = 1,710 kWh, round trip 855 / 950 = 0.9, and the
    two days discharge 1,710 kWh, one equivalent full cycle.

    >>> import pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2024-03-01", periods=48, freq="1h", tz="Australia/Sydney")
    >>> power = np.zeros((48, 1, 1))
    >>> soc = np.full((48, 1, 1, 2), 10.0)
    >>> for day in (0, 24):
    ...     power[day + 8 : day + 10] = -475.0  # charge 2 h x 475 kW
    ...     power[day + 17 : day + 20] = 285.0  # discharge 3 h x 285 kW
    ...     soc[day + 9] = 35.0
    ...     soc[day + 10 : day + 18] = 60.0
    ...     soc[day + 18], soc[day + 19] = 60.0 - 50.0 / 3, 60.0 - 100.0 / 3
    >>> ds = make_dataset(time, power, soc, n_enclosures=2, interval_seconds=3600.0)
    >>> result = health(ds, window="2D")
    >>> result["usable_capacity"].values.ravel()
    array([1710.])
    >>> result["round_trip_efficiency"].values.round(4).ravel()
    array([0.9])
    >>> result["equivalent_full_cycles"].values.ravel()
    array([1.])
    """
    window_days = _window_days(window)
    if not 0 < min_swing <= 100:
        raise ValueError(f"min_swing must be in (0, 100] percentage points, not {min_swing!r}")
    if not max_gap >= 1:
        raise ValueError(f"max_gap must be >= 1 nominal interval, not {max_gap!r}")
    for name in ("dc_power", "soc"):
        if name not in ds.data_vars:
            raise ValueError(f"health needs a {name!r} variable")
    timezone = ds.attrs.get("timezone")
    if not timezone:
        raise ValueError("set ds.attrs['timezone'] to the plant's IANA timezone")

    time = ds.indexes[schema.TIME]
    time_ns = pd.DatetimeIndex(time).as_unit("ns").asi8
    if len(time_ns) == 0:
        raise ValueError("health needs at least one sample")
    if np.any(np.diff(time_ns) <= 0):
        raise ValueError("time must be strictly increasing")
    if "interval_seconds" in ds.attrs:
        interval = float(ds.attrs["interval_seconds"])
    elif len(time_ns) > 1:
        interval = float(np.median(np.diff(time_ns))) / _NS_PER_SECOND
    else:
        raise ValueError("set ds.attrs['interval_seconds']: one sample gives no interval")

    holds = hold_seconds(time, interval, max_gap)
    joined = np.append(np.diff(time_ns) / _NS_PER_SECOND <= max_gap * interval, False)
    day_index, dates, day_seconds = local_days(time, timezone)
    used = _used(ds)

    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    soc = ds["soc"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    has_plant = "plant_power" in ds.data_vars
    if has_plant:
        plant = ds["plant_power"].data
    else:
        plant = np.full(len(time_ns), np.nan)
    arrays = (power, soc.data, plant)
    # idle noise of the plant meter stays below the threshold of all its DC inputs together
    plant_threshold = DISCHARGE_THRESHOLD_KW * float(np.count_nonzero(used.any(schema.ENCLOSURE)))
    partials: np.ndarray | da.Array
    if any(isinstance(array, da.Array) for array in (*arrays, used.data)):
        partials = _blockwise_partials(
            arrays,
            (holds, joined, day_index),
            day_seconds,
            used.data,
            float(min_swing),
            plant_threshold,
        )
    else:
        partials = daily_health_partials(
            np.asarray(power),
            np.asarray(soc.data),
            np.asarray(plant),
            holds,
            joined,
            day_index,
            day_seconds,
            np.asarray(used.data),
            min_swing=float(min_swing),
            plant_threshold=plant_threshold,
        )

    daily = xr.DataArray(
        partials,
        dims=("quantity", schema.DAY, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
        coords={"quantity": list(PARTIALS)},
    )
    n_days = len(dates)
    n_windows = -(-n_days // window_days)
    daily = daily.pad({schema.DAY: (0, n_windows * window_days - n_days)})
    if isinstance(partials, da.Array):
        daily = daily.chunk({schema.DAY: -1})
    windowed = daily.coarsen({schema.DAY: window_days}).construct({schema.DAY: (WINDOW, "day")})
    result = _estimates(windowed, used, has_plant)

    starts = dates[::window_days]
    days_in = np.minimum(window_days, n_days - np.arange(n_windows) * window_days)
    years = (np.arange(n_windows) * window_days + days_in / 2.0) / _DAYS_PER_YEAR
    trend = xr.apply_ufunc(
        _relative_trend,
        result["usable_capacity"].chunk({WINDOW: -1})
        if isinstance(partials, da.Array)
        else result["usable_capacity"],
        kwargs={"years": years},
        input_core_dims=[[WINDOW]],
        output_core_dims=[["bound"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"bound": 3}},
    )
    for position, trend_name in enumerate(
        ("capacity_trend", "capacity_trend_low", "capacity_trend_high")
    ):
        result[trend_name] = trend.isel(bound=position, drop=True)

    for output, variable in result.data_vars.items():
        variable.attrs = dict(HEALTH_ATTRS[str(output)])
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    result = result.assign_coords(coords)
    result = result.assign_coords(
        {
            WINDOW: xr.Variable(
                WINDOW,
                starts,
                attrs={
                    "long_name": "local start date of the window",
                    "comment": f"windows of {window_days} local days; the last may be shorter",
                },
            ),
            "window_days": xr.Variable(WINDOW, days_in, attrs={"units": "d"}),
        }
    )
    if has_plant:
        result = result.assign_coords({DIRECTION: ["discharge", "charge"]})

    from bessx import __version__

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = (
        f"{stamp}: bessx.health(window='{window_days}D', min_swing={float(min_swing)!r}, "
        f"max_gap={float(max_gap)!r}) [bessx {__version__}]"
    )
    history = ds.attrs.get("history")
    result.attrs = {
        "timezone": timezone,
        "interval_seconds": interval,
        "window_days": window_days,
        "min_swing": float(min_swing),
        "max_gap": float(max_gap),
        "Conventions": schema.CF_CONVENTIONS,
        "history": f"{history}\n{line}" if history else line,
    }
    return result


def _positive(values: xr.DataArray) -> xr.DataArray:
    """``values`` where positive, NaN elsewhere: a denominator that never divides by 0."""
    return values.where(values > 0)


def _estimates(windowed: xr.DataArray, used: xr.DataArray, has_plant: bool) -> xr.Dataset:
    """Window estimates from the partials (quantity, window, day, inverter, dc_input, enc)."""

    def part(name: str, per_enclosure: bool = False) -> xr.DataArray:
        values = windowed.sel(quantity=name, drop=True)
        return values if per_enclosure else values.isel({schema.ENCLOSURE: 0}, drop=True)

    def total(values: xr.DataArray) -> xr.DataArray:
        return values.sum("day", min_count=1)

    segment_energy = total(part("segment_energy"))
    segment_drop = total(part("segment_drop"))
    usable = 100.0 * segment_energy / segment_drop.where(segment_drop > 0)

    complete = part("complete") == 1
    discharged = part("discharged")
    charged = part("charged")
    complete_charged = total(charged.where(complete))
    stored_change = usable * total(part("soc_change").where(complete)) / 100.0
    round_trip = (total(discharged.where(complete)) + stored_change) / complete_charged.where(
        complete_charged > 0
    )
    cycles = total(discharged) / usable.where(usable > 0)
    spread = part("soc_spread").mean("day")

    offset = part("soc_offset", per_enclosure=True).mean("day").where(used)
    swing = total(part("soc_swing", per_enclosure=True)).where(used)
    n_used = used.sum(schema.ENCLOSURE)
    siblings = (swing.sum(schema.ENCLOSURE) - swing) / (n_used - 1)
    swing_ratio = swing / siblings.where((n_used > 1) & (siblings > 0))

    result = xr.Dataset(
        {
            "usable_capacity": usable,
            "round_trip_efficiency": round_trip,
            "equivalent_full_cycles": cycles,
            "soc_spread": spread,
            "segments": total(part("segments")),
            "soc_offset": offset,
            "soc_swing_ratio": swing_ratio,
        }
    )
    if has_plant:
        dc_with_data = discharged.notnull()
        day_ok = (part("plant_complete").isel({schema.INVERTER: 0, schema.DC_INPUT: 0}) == 1) & (
            complete | ~dc_with_data
        ).all((schema.INVERTER, schema.DC_INPUT))
        plant_discharged = part("plant_discharged").isel({schema.INVERTER: 0, schema.DC_INPUT: 0})
        plant_charged = part("plant_charged").isel({schema.INVERTER: 0, schema.DC_INPUT: 0})
        dc_discharged = part("active_discharged").sum((schema.INVERTER, schema.DC_INPUT))
        dc_charged = part("active_charged").sum((schema.INVERTER, schema.DC_INPUT))
        conversion = xr.concat(
            [
                total(plant_discharged.where(day_ok))
                / _positive(total(dc_discharged.where(day_ok))),
                total(dc_charged.where(day_ok)) / _positive(total(plant_charged.where(day_ok))),
            ],
            dim=DIRECTION,
        )
        result["conversion_efficiency"] = conversion.drop_vars(
            [name for name in conversion.coords if name != DIRECTION], errors="ignore"
        )
    return result.transpose(WINDOW, ...)


def to_frame(health: xr.Dataset) -> pd.DataFrame:
    """One row per window and DC input: the DC-input estimates of :func:`health`.

    Parameters
    ----------
    health : xarray.Dataset
        The output of :func:`health` (computed or lazy; it is computed here).

    Returns
    -------
    pandas.DataFrame
        Columns ``window`` (start date), ``inverter``, ``dc_input``, ``usable_capacity_kwh``,
        ``round_trip_efficiency``, ``equivalent_full_cycles``, ``soc_spread_pct``,
        ``segments``, ``capacity_trend_pct_per_year`` and its ``_low``/``_high`` bounds;
        DC inputs without enclosures are left out.
    """
    names = {
        "usable_capacity": "usable_capacity_kwh",
        "round_trip_efficiency": "round_trip_efficiency",
        "equivalent_full_cycles": "equivalent_full_cycles",
        "soc_spread": "soc_spread_pct",
        "segments": "segments",
        "capacity_trend": "capacity_trend_pct_per_year",
        "capacity_trend_low": "capacity_trend_low_pct_per_year",
        "capacity_trend_high": "capacity_trend_high_pct_per_year",
    }
    subset = health[list(names)].reset_coords(drop=True).compute()
    frame = subset.to_dataframe().rename(columns=names).reset_index()
    order = ["window", schema.INVERTER, schema.DC_INPUT, *names.values()]
    frame = frame[order]
    if "n_enclosures" in health.coords:
        n_enclosures = health["n_enclosures"].to_series()
        keys = pd.MultiIndex.from_frame(frame[[schema.INVERTER, schema.DC_INPUT]])
        frame = frame[n_enclosures.reindex(keys).to_numpy() > 0]
    frame["window"] = pd.DatetimeIndex(frame["window"]).strftime("%Y-%m-%d")
    return frame.reset_index(drop=True)


def _dc_label(inverter: object, dc_input: object) -> str:
    return f"{inverter} DC{int(dc_input)}"  # type: ignore[call-overload]


def summary_section(health: xr.Dataset) -> str:
    """A "Battery health" section (markdown) for the run summary.

    Parameters
    ----------
    health : xarray.Dataset
        The output of :func:`health` (it is computed here).

    Returns
    -------
    str
        Markdown: the fastest-fading DC input (trend and its 95 % interval, first and last
        usable capacity), the least efficient one (round-trip efficiency against the plant
        median) and the largest SOC spread (its enclosures' offsets), each with its evidence.
    """
    result = health.compute()
    lines = ["## Battery health", ""]
    lines.append(
        "Per DC input (power is metered per DC input; its enclosures share the DC bus). "
        f"Windows of {result.attrs.get('window_days', '?')} days; details in `health.csv`."
    )
    lines.append("")
    trend = result["capacity_trend"].stack(dc=(schema.INVERTER, schema.DC_INPUT))
    if trend.notnull().any():
        fastest = trend.idxmin("dc").item()
        inverter, dc_input = fastest
        low = float(result["capacity_trend_low"].sel(inverter=inverter, dc_input=dc_input))
        high = float(result["capacity_trend_high"].sel(inverter=inverter, dc_input=dc_input))
        usable = result["usable_capacity"].sel(inverter=inverter, dc_input=dc_input).dropna(WINDOW)
        median = float(trend.median())
        lines.append(
            f"- **Fastest fade**: {_dc_label(inverter, dc_input)}, "
            f"{float(trend.sel(dc=fastest)):+.1f} %/year (95 % interval {low:+.1f} to "
            f"{high:+.1f}; plant median {median:+.1f} %/year); usable capacity "
            f"{float(usable[0]):,.0f} kWh in the first window, {float(usable[-1]):,.0f} kWh "
            "in the last."
        )
    else:
        lines.append("- **Fastest fade**: no trend (it needs two windows with a usable capacity).")
    efficiency = (
        result["round_trip_efficiency"].median(WINDOW).stack(dc=(schema.INVERTER, schema.DC_INPUT))
    )
    if efficiency.notnull().any():
        worst = efficiency.idxmin("dc").item()
        lines.append(
            f"- **Lowest round-trip efficiency**: {_dc_label(*worst)}, "
            f"{float(efficiency.sel(dc=worst)):.3f} (median over windows; plant median "
            f"{float(efficiency.median()):.3f})."
        )
    else:
        lines.append("- **Lowest round-trip efficiency**: no complete days.")
    spread = result["soc_spread"].mean(WINDOW).stack(dc=(schema.INVERTER, schema.DC_INPUT))
    if spread.notnull().any():
        widest = spread.idxmax("dc").item()
        offsets = (
            result["soc_offset"].mean(WINDOW).sel(inverter=widest[0], dc_input=widest[1]).values
        )
        ids = result["enclosure_id"].sel(inverter=widest[0], dc_input=widest[1]).values
        evidence = ", ".join(
            f"{name} {offset:+.1f}"
            for name, offset in zip(ids, offsets, strict=True)
            if name and np.isfinite(offset)
        )
        lines.append(
            f"- **Largest SOC spread**: {_dc_label(*widest)}, {float(spread.sel(dc=widest)):.1f} "
            f"percentage points (plant median {float(spread.median()):.1f}); SOC offsets from "
            f"the siblings [percentage points]: {evidence}."
        )
    else:
        lines.append("- **Largest SOC spread**: no DC input with two enclosures and SOC data.")
    offset = result["soc_offset"].mean(WINDOW)
    swing = result["soc_swing_ratio"].mean(WINDOW)
    # an offset with a normal swing sits in the reading (calibration), not in the energy
    steady = abs(offset).where(abs(swing - 1.0) <= _STEADY_SWING)
    if steady.notnull().any():
        stacked = steady.stack(slot=(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE))
        furthest = stacked.idxmax("slot").item()
        where = dict(
            zip((schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE), furthest, strict=True)
        )
        name = result["enclosure_id"].sel(where).item()
        lines.append(
            f"- **Largest SOC offset with a normal swing**: {name}"
            f" ({_dc_label(furthest[0], furthest[1])}), "
            f"{float(offset.sel(where)):+.1f} percentage points from its siblings' mean, swing "
            f"{float(swing.sel(where)):.2f} × theirs: a steady offset, in the SOC reading or a "
            f"lasting imbalance (the plant's median |offset| is {float(abs(offset).median()):.1f})."
        )
    ratio = result["soc_swing_ratio"].mean(WINDOW)
    if ratio.notnull().any():
        stacked = ratio.stack(slot=(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE))
        smallest = stacked.idxmin("slot").item()
        where = dict(
            zip((schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE), smallest, strict=True)
        )
        lines.append(
            f"- **Smallest SOC swing**: {result['enclosure_id'].sel(where).item()} "
            f"({_dc_label(smallest[0], smallest[1])}), {float(ratio.sel(where)):.2f} × its "
            "siblings' (a weak enclosure, or one that takes a smaller share of the DC input)."
        )
    if "conversion_efficiency" in result:
        conversion = result["conversion_efficiency"].median(WINDOW)
        lines.append(
            f"- Plant conversion efficiency (DC inputs to plant meter): discharge "
            f"{float(conversion.sel(direction='discharge')):.3f}, charge "
            f"{float(conversion.sel(direction='charge')):.3f}."
        )
    return "\n".join(lines) + "\n"
