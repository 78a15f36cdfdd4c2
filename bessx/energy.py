"""Daily charged and discharged energy per battery enclosure.

Three layers, as everywhere in bessx:

* numpy kernels know nothing of labels and work on blocks with time on axis 0:
  :func:`daily_power_sums` and :func:`daily_soc_throughput` reduce a block of samples to
  per-day sums in one pass, :func:`equal_shares` and :func:`soc_shares` split a DC input's
  energy among its enclosures (the :data:`ALLOCATIONS` registry);
* :func:`daily_energy` works out hold durations and local days once from the time
  coordinate (in memory), moves dask chunk boundaries to local-day starts and runs the
  kernels on each block of whole days (one task per block), or directly on numpy data;
* the ``Dataset.bess`` accessor forwards to :func:`daily_energy`.

The method is described in ``docs/methodology.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from dask.base import is_dask_collection, tokenize

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.kernels.plausibility import DEFAULT_DC_POWER_LIMIT_KW, Limits, masked

if TYPE_CHECKING:
    import dask.array as da

    from bessx.quality import QualitySettings

__all__ = [
    "ALLOCATIONS",
    "Allocation",
    "daily_energy",
    "daily_power_sums",
    "daily_soc_throughput",
    "day_aligned_chunks",
    "equal_shares",
    "hold_seconds",
    "local_days",
    "soc_shares",
]

_NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_SECOND
_SECONDS_PER_HOUR = 3600.0


# ---------------------------------------------------------------------------------------
# numpy kernels: time on axis 0, no labels
# ---------------------------------------------------------------------------------------
class _Segments(NamedTuple):
    """Runs of equal values in a non-decreasing ``day_index``."""

    starts: np.ndarray  # position of the first sample of each run
    days: np.ndarray  # day of each run


def _segments(day_index: np.ndarray) -> _Segments:
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))
    return _Segments(starts, day_index[starts])


def _day_sums(
    values: np.ndarray, segments: _Segments, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum ``weights[i] * values[i]`` (default weight 1) over each run, in float64.

    ``values`` is ``(n, k)``, of any real or boolean dtype, without NaN; it is not modified.
    Each run is summed sample after sample, in time order: :func:`numpy.add.reduce` over the
    rows of a C-contiguous block of at least two columns adds row after row (whereas
    ``reduceat`` and a reduction along a contiguous axis sum pairwise). So a day's sum does
    not depend on how its samples were split into blocks, and a sum can be continued: the
    sum of a day's first ``n - 1`` samples plus the last one is the day's sum, bit for bit.
    """
    if weights is not None:
        values = np.multiply(values, weights[:, np.newaxis], dtype=np.float64)
    flat = np.ascontiguousarray(values, dtype=np.float64)
    if flat.shape[1] == 1:  # a single column is contiguous along time: keep it row-wise
        flat = np.concatenate([flat, np.zeros_like(flat)], axis=1)
    ends = np.append(segments.starts[1:], len(flat))
    sums = np.stack(
        [
            np.add.reduce(flat[start:end], axis=0)
            for start, end in zip(segments.starts, ends, strict=True)
        ]
    )
    return sums[:, : values.shape[1]]


def _held_sums(mask: np.ndarray, segments: _Segments, hold_seconds: np.ndarray) -> np.ndarray:
    """Sum the hold seconds of the samples where ``mask`` is True over each run ``(run, k)``.

    The same sums as ``_day_sums(mask, segments, hold_seconds)``, bit for bit: the columns
    that are True throughout share one sum of the hold seconds, and only the others are
    summed one by one (on healthy data, next to none).
    """
    n, k = mask.shape
    whole = _day_sums(np.ones((n, 1), dtype=bool), segments, hold_seconds)
    sums = np.repeat(whole, k, axis=1)
    partial = np.flatnonzero(~mask.all(axis=0))
    if len(partial):
        sums[:, partial] = _day_sums(mask[:, partial], segments, hold_seconds)
    return sums


def _pair_counts(finite: np.ndarray, segments: _Segments) -> np.ndarray:
    """Finite differences per run ``(run, k)``, as float64 counts (exact in any order).

    ``finite`` marks the finite differences, the last of each run never (it would pair two
    days): a column with every other difference finite counts its run's length less one.
    """
    n, k = finite.shape
    lengths = np.diff(np.append(segments.starts, n)) - 1
    counts = np.repeat(lengths[:, np.newaxis].astype(np.float64), k, axis=1)
    partial = np.flatnonzero(np.count_nonzero(finite, axis=0) < n - len(segments.starts))
    if len(partial):
        counts[:, partial] = np.add.reduceat(finite[:, partial], segments.starts, axis=0)
    return counts


def held_per_day(
    received: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray, n_days: int
) -> np.ndarray:
    """Hold seconds [s] of the samples where ``received`` is True, per day ``(day, k)``.

    Summed sample after sample (:func:`_held_sums`); 0 on days without samples.
    """
    segments = _segments(day_index)
    sums = _held_sums(received, segments, hold_seconds)
    return np.nan_to_num(_scatter_days(sums[np.newaxis], segments.days, n_days)[0])


def _scatter_days(sums: np.ndarray, present_days: np.ndarray, n_days: int) -> np.ndarray:
    """Place ``sums`` (quantity, present day, ...) on rows ``present_days``; NaN elsewhere."""
    if len(present_days) == n_days:
        return sums
    full = np.full((sums.shape[0], n_days, *sums.shape[2:]), np.nan)
    full[:, present_days] = sums
    return full


def daily_power_sums(
    power: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray
) -> np.ndarray:
    r"""Per-day positive energy, negative energy and valid seconds of a block of power.

    Parameters
    ----------
    power : numpy.ndarray
        Power [kW], shape ``(n, ...)`` with time on axis 0; NaN marks a missing sample.
    hold_seconds : numpy.ndarray
        How long each sample holds [s], shape ``(n,)``, all positive.
    day_index : numpy.ndarray
        Day of each sample, shape ``(n,)``: integers, non-decreasing, at least 0, counted
        from the first row of the output.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(3, day_index[-1] + 1, ...)``: the energy of the positive part of
        the power [kWh], the energy of the negative part as a non-negative number [kWh],
        and the valid seconds [s] (the hold seconds of the finite samples). Energies are
        NaN on days without a finite sample; everything is NaN on days without a sample.

    Notes
    -----
    One pass over the block per quantity: ``fmax(P, 0)``, ``fmin(P, 0)`` (both drop NaN)
    and ``isfinite(P)`` are formed in the input dtype and summed per day against the hold
    durations, :math:`\sum_{i \in d} \Delta t_i \max(P_i, 0)` etc., with products and
    sums in float64.

    Examples
    --------
    Two hourly samples of day 0 (plus a missing one), none on day 1, one on day 2:

    >>> power = np.array([[10.0], [-20.0], [np.nan], [5.0]], dtype=np.float32)
    >>> sums = daily_power_sums(power, np.full(4, 3600.0), np.array([0, 0, 0, 2]))
    >>> sums[0, :, 0], sums[1, :, 0]  # discharged, charged [kWh]
    (array([10., nan,  5.]), array([20., nan,  0.]))
    >>> sums[2, :, 0] / 3600  # valid hours
    array([ 2., nan,  1.])
    """
    day_index = np.asarray(day_index)
    n = power.shape[0]
    n_days = int(day_index[-1]) + 1 if n else 0
    if n == 0:
        return np.full((3, n_days, *power.shape[1:]), np.nan)

    flat = power.reshape(n, -1)
    hold_seconds = np.asarray(hold_seconds, dtype=np.float64)
    hold_hours = hold_seconds / _SECONDS_PER_HOUR
    segments = _segments(day_index)

    # The energy of each sample P * dt in float64, then its positive and negative parts:
    # dt > 0, so max(P * dt, 0) = max(P, 0) * dt exactly (fmax and fmin drop NaN).
    weighted = np.multiply(flat, hold_hours[:, np.newaxis], dtype=np.float64)
    discharged = _day_sums(np.fmax(weighted, 0.0), segments)
    charged = 0.0 - _day_sums(np.fmin(weighted, 0.0, out=weighted), segments)
    valid_seconds = _held_sums(np.isfinite(flat), segments, hold_seconds)

    no_valid_sample = valid_seconds <= 0.0
    discharged[no_valid_sample] = np.nan
    charged[no_valid_sample] = np.nan
    sums = _scatter_days(np.stack([discharged, charged, valid_seconds]), segments.days, n_days)
    return sums.reshape(3, n_days, *power.shape[1:])


def daily_soc_throughput(soc: np.ndarray, day_index: np.ndarray) -> np.ndarray:
    r"""Per-day downward and upward state-of-charge swing of a block of samples.

    Parameters
    ----------
    soc : numpy.ndarray
        State of charge [%], shape ``(n, ...)`` with time on axis 0; NaN marks a missing
        sample.
    day_index : numpy.ndarray
        Day of each sample, shape ``(n,)``, as for :func:`daily_power_sums`.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(3, day_index[-1] + 1, ...)``: the discharge swing
        :math:`\sum \max(-\Delta, 0)` [%], the charge swing
        :math:`\sum \max(\Delta, 0)` [%] and the number of finite differences, where
        :math:`\Delta` runs over the differences of consecutive samples of the same day
        (NaN differences ignored). Everything is NaN on days without a sample.

    Examples
    --------
    >>> soc = np.array([50.0, 40.0, np.nan, 45.0, 30.0, 35.0], dtype=np.float32)
    >>> daily_soc_throughput(soc, np.array([0, 0, 0, 0, 1, 1]))
    array([[10.,  0.],
           [ 0.,  5.],
           [ 1.,  1.]])
    """
    day_index = np.asarray(day_index)
    n = soc.shape[0]
    n_days = int(day_index[-1]) + 1 if n else 0
    if n == 0:
        return np.full((3, n_days, *soc.shape[1:]), np.nan)

    flat = soc.reshape(n, -1)
    segments = _segments(day_index)

    # Difference i pairs samples i and i + 1 and belongs to sample i's day; it is dropped
    # (NaN) when the pair straddles midnight, and for the last sample (no successor).
    delta = np.empty_like(flat, dtype=np.result_type(flat.dtype, np.float32))
    np.subtract(flat[1:], flat[:-1], out=delta[:-1])
    delta[-1] = np.nan
    delta[np.flatnonzero(day_index[1:] != day_index[:-1])] = np.nan

    finite_pairs = _pair_counts(np.isfinite(delta), segments)
    upward = _day_sums(np.fmax(delta, 0), segments)
    np.fmin(delta, 0, out=delta)
    downward = 0.0 - _day_sums(delta, segments)

    sums = _scatter_days(np.stack([downward, upward, finite_pairs]), segments.days, n_days)
    return sums.reshape(3, n_days, *soc.shape[1:])


# ---------------------------------------------------------------------------------------
# time coordinate -> hold durations, local days, day-aligned chunks (numpy, in memory)
# ---------------------------------------------------------------------------------------
def _utc_index(time: pd.Index | np.ndarray) -> pd.DatetimeIndex:
    """Sample times as a tz-naive UTC index in ns; tz-aware times are converted."""
    index = pd.DatetimeIndex(time)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("ns")


def _time_ns(time: pd.Index | np.ndarray) -> np.ndarray:
    """Integer nanoseconds since the epoch (UTC), whatever the datetime64 unit."""
    return _utc_index(time).asi8


def hold_seconds(
    time: pd.Index | np.ndarray, interval_seconds: float, max_gap: float
) -> np.ndarray:
    """How long each sample holds [s] under sample-and-hold with capped gaps.

    Parameters
    ----------
    time : pandas.DatetimeIndex or numpy.ndarray
        Sample times (UTC, tz-naive), strictly increasing.
    interval_seconds : float
        Nominal sampling interval [s].
    max_gap : float
        Longest step [nominal intervals] a sample may hold across.

    Returns
    -------
    numpy.ndarray
        float64 ``(n,)``: the step to the next sample, or ``interval_seconds`` when that step
        exceeds ``max_gap * interval_seconds`` and for the last sample.
    """
    step = np.diff(_time_ns(time)) / _NS_PER_SECOND
    held = np.where(step > max_gap * interval_seconds, interval_seconds, step)
    return np.append(held, interval_seconds).astype(np.float64)


def local_days(
    time: pd.Index | np.ndarray, timezone: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local calendar day of each sample and the length of every day of the span.

    Parameters
    ----------
    time : pandas.DatetimeIndex or numpy.ndarray
        Sample times (UTC, tz-naive), non-decreasing, at least one.
    timezone : str
        IANA name of the plant's timezone, e.g. ``"Australia/Sydney"``.

    Returns
    -------
    day_index : numpy.ndarray
        int64 ``(n,)``: days since the first sample's local date.
    dates : numpy.ndarray
        datetime64[ns] ``(n_days,)``: every local date (midnight, tz-naive) from the first to
        the last sample's.
    day_seconds : numpy.ndarray
        float64 ``(n_days,)``: length of each local day [s] (82,800, 86,400 or 90,000 on
        DST days).
    """
    local = _utc_index(time).tz_localize("UTC").tz_convert(timezone).tz_localize(None)
    day_number = _time_ns(local) // _NS_PER_DAY
    first_day = int(day_number[0])
    day_index = day_number - first_day
    n_days = int(day_index[-1]) + 1
    day_numbers = np.arange(first_day, first_day + n_days + 1)
    midnights = pd.DatetimeIndex(day_numbers.astype("datetime64[D]").astype("datetime64[ns]"))
    # Where midnight does not exist the day starts when clocks jump; where it occurs twice,
    # at its first occurrence.
    day_starts = midnights.tz_localize(
        timezone, ambiguous=np.ones(len(midnights), dtype=bool), nonexistent="shift_forward"
    )
    day_seconds = np.diff(_time_ns(day_starts)) / _NS_PER_SECOND
    return day_index, midnights.values[:-1], day_seconds


def day_aligned_chunks(chunks: tuple[int, ...], day_index: np.ndarray) -> tuple[int, ...]:
    """Time chunks that hold whole days: each chunk boundary moves forward to a day start.

    Parameters
    ----------
    chunks : tuple of int
        Current chunk sizes along time.
    day_index : numpy.ndarray
        Non-decreasing day of each sample.

    Returns
    -------
    tuple of int
        New chunk sizes; the same chunks when every boundary already falls on a day start.
    """
    n = len(day_index)
    boundaries = np.cumsum(chunks)[:-1]
    day_starts = np.flatnonzero(np.diff(day_index)) + 1
    position = np.searchsorted(day_starts, boundaries, side="left")
    moved = np.unique(day_starts[position[position < len(day_starts)]])
    return tuple(int(size) for size in np.diff(np.concatenate(([0], moved, [n]))))


# ---------------------------------------------------------------------------------------
# allocation of a DC input's energy to its enclosures (numpy kernels)
# ---------------------------------------------------------------------------------------
def equal_shares(used: np.ndarray) -> np.ndarray:
    """Each used slot's share of its DC input: ``1 / n_used``; NaN on unused slots.

    Parameters
    ----------
    used : numpy.ndarray
        Boolean ``(..., enclosure)``: slots that hold an enclosure.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``used``.

    Examples
    --------
    >>> equal_shares(np.array([True, True, False]))
    array([0.5, 0.5, nan])
    """
    n_used = used.sum(axis=-1, keepdims=True)
    return np.divide(1.0, n_used, out=np.full(used.shape, np.nan), where=used & (n_used > 0))


def soc_shares(swings: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Discharge and charge shares in proportion to each enclosure's daily SOC swing.

    Parameters
    ----------
    swings : numpy.ndarray
        ``(3, day, ..., enclosure)`` from :func:`daily_soc_throughput`: downward swing,
        upward swing, number of finite SOC differences.
    used : numpy.ndarray
        Boolean ``(..., enclosure)``: slots that hold an enclosure.

    Returns
    -------
    discharge_shares, charge_shares : numpy.ndarray
        float64 ``(day, ..., enclosure)``, summing to 1 over the used slots of a DC input,
        NaN on unused slots (and on days without samples). A DC input-day falls back to
        :func:`equal_shares` in a direction where one of its enclosures has no finite SOC
        difference (SOC missing) or no swing in that direction (SOC flat: stuck, or the
        whole DC input idle), so a stuck signal never takes an enclosure's energy away.

    Examples
    --------
    >>> swings = np.array([[[3.0, 1.0]], [[0.0, 0.0]], [[5.0, 5.0]]])
    >>> discharge, charge = soc_shares(swings, np.array([True, True]))
    >>> discharge, charge
    (array([[0.75, 0.25]]), array([[0.5, 0.5]]))

    The second enclosure's SOC is stuck: no downward swing while the first one's moves.

    >>> soc_shares(np.array([[[3.0, 0.0]], [[2.0, 1.0]], [[5.0, 5.0]]]), np.array([True, True]))
    (array([[0.5, 0.5]]), array([[0.66666667, 0.33333333]]))
    """
    equal = equal_shares(used)
    # An enclosure without a single SOC difference that day says nothing about its share.
    blind = np.any((swings[2] == 0) & used, axis=-1, keepdims=True)

    def shares(swing: np.ndarray) -> np.ndarray:
        swing = np.where(used, swing, 0.0)
        total = swing.sum(axis=-1, keepdims=True)
        flat = np.any((swing == 0) & used, axis=-1, keepdims=True)
        proportional = swing / np.where(total > 0, total, 1.0)
        return np.where(used, np.where(blind | flat, equal, proportional), np.nan)

    return shares(swings[0]), shares(swings[1])


class Allocation(NamedTuple):
    """A way to share a DC input's daily energy among its enclosures."""

    #: Whether :attr:`shares` needs the enclosures' SOC swings.
    needs_soc: bool
    #: ``(swings or None, used) -> (discharge_shares, charge_shares)``, broadcasting
    #: against ``(day, inverter, dc_input, enclosure)``.
    shares: Callable[[np.ndarray | None, np.ndarray], tuple[np.ndarray, np.ndarray]]
    description: str


def _equal(swings: np.ndarray | None, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shares = equal_shares(used)[np.newaxis]
    return shares, shares


def _soc(swings: np.ndarray | None, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if swings is None:
        raise ValueError("allocation 'soc' needs the SOC swings")
    return soc_shares(swings, used)


#: Registry of allocations by name.
ALLOCATIONS: Mapping[str, Allocation] = {
    "equal": Allocation(False, _equal, "evenly among the enclosures of the DC input"),
    "soc": Allocation(True, _soc, "in proportion to each enclosure's daily SOC swing"),
}


def _daily_energy_block(
    power: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    hold_seconds: np.ndarray,
    soc: np.ndarray | None = None,
    *,
    allocation: Allocation,
    limits: Limits,
    exclude: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Daily discharged, charged energy and coverage per enclosure for a block of days.

    ``power`` is (time, inverter, dc_input) [kW]; ``day_index`` (counted from the block's
    first output day) and ``hold_seconds`` are per sample, ``day_seconds`` (length of each
    output day [s]) per day of the block; ``used`` and ``soc`` carry the enclosure axis last.
    Implausible samples (:mod:`bessx.kernels.plausibility`) and those ``exclude(power, day_index)``
    marks are treated as missing. Returns float64 ``(3, day, inverter, dc_input, enclosure)``.
    """
    power = masked(power, "dc_power", limits)
    if exclude is not None:
        power = np.where(exclude(power, day_index), np.nan, power)
    if soc is not None:
        soc = masked(soc, "soc", limits)
    sums = daily_power_sums(power, hold_seconds, day_index)
    # no SOC: swings stay None, and an allocation that needs them raises
    swings = (
        daily_soc_throughput(soc, day_index) if allocation.needs_soc and soc is not None else None
    )
    discharge_shares, charge_shares = allocation.shares(swings, used)

    n_days = sums.shape[1]
    lengths = np.asarray(day_seconds, dtype=np.float64).reshape((n_days,) + (1,) * (sums.ndim - 2))
    # a date without any sample (valid seconds NaN) is not covered at all
    coverage = np.clip(np.nan_to_num(sums[2], nan=0.0) / lengths, 0.0, 1.0)

    out = np.empty((3, *sums.shape[1:], used.shape[-1]))
    np.multiply(sums[0][..., np.newaxis], discharge_shares, out=out[0])
    np.multiply(sums[1][..., np.newaxis], charge_shares, out=out[1])
    np.multiply(coverage[..., np.newaxis], np.where(used, 1.0, np.nan), out=out[2])
    return out


# ---------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------
def _used_slots(ds: xr.Dataset) -> Any:
    """Boolean (inverter, dc_input, enclosure) array, numpy or dask: slots with an enclosure."""
    order = (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    if "enclosure_id" in ds.coords:
        used = ds.coords["enclosure_id"] != ""
    elif "n_enclosures" in ds.coords:
        used = ds[schema.ENCLOSURE] <= ds.coords["n_enclosures"]
    else:
        raise ValueError("daily_energy needs an 'enclosure_id' or 'n_enclosures' coordinate")
    return used.transpose(*order).data


def _interval_seconds(ds: xr.Dataset, time_ns: np.ndarray) -> float:
    if "interval_seconds" in ds.attrs:
        interval = float(ds.attrs["interval_seconds"])
    elif len(time_ns) > 1:
        interval = float(np.median(np.diff(time_ns))) / _NS_PER_SECOND
    else:
        raise ValueError("set ds.attrs['interval_seconds']: one sample gives no interval")
    if not (np.isfinite(interval) and interval > 0):
        raise ValueError(f"interval_seconds must be a positive number of seconds, not {interval}")
    return interval


class DayPlan(NamedTuple):
    """Per-sample and per-day arrays that every daily reduction of a Dataset shares."""

    interval: float  # nominal sampling interval [s]
    hold_seconds: np.ndarray  # (n,) [s]
    day_index: np.ndarray  # (n,) local day of each sample, from 0
    dates: np.ndarray  # (n_days,) local dates, datetime64[ns]
    day_seconds: np.ndarray  # (n_days,) length of each local day [s]
    used: Any  # (inverter, dc_input, enclosure) bool, numpy or dask: slots with an enclosure


def day_plan(ds: xr.Dataset, max_gap: float) -> DayPlan:
    """Hold durations, local days and used slots of a plant Dataset (see :func:`daily_energy`).

    Raises
    ------
    ValueError
        ``max_gap < 1``, no ``timezone`` attribute, no sample, or times that do not
        strictly increase.
    """
    if not max_gap >= 1:
        raise ValueError(f"max_gap must be >= 1 nominal interval, not {max_gap!r}")
    timezone = ds.attrs.get("timezone")
    if not timezone:
        raise ValueError("set ds.attrs['timezone'] to the plant's IANA timezone")
    time = ds.indexes[schema.TIME]
    time_ns = _time_ns(time)
    if len(time_ns) == 0:
        raise ValueError("daily_energy needs at least one sample")
    if np.any(np.diff(time_ns) <= 0):
        raise ValueError("time must be strictly increasing")
    interval = _interval_seconds(ds, time_ns)
    day_index, dates, day_seconds = local_days(time, timezone)
    holds = hold_seconds(time, interval, max_gap)
    return DayPlan(interval, holds, day_index, dates, day_seconds, _used_slots(ds))


def map_day_blocks(
    kernel: Callable[..., np.ndarray],
    power: Any,
    soc: Any | None,
    plan: DayPlan,
    per_sample: tuple[np.ndarray, ...],
    *,
    n_quantities: int,
    name: str,
    token: Any,
    whole_plant: bool = False,
    **options: Any,
) -> Any:
    """Reduce samples to days: ``kernel`` on each block of whole local days.

    ``token`` must tell apart every ``options`` that changes the result: with the
    inputs, it names the tasks, so equal calls share their tasks in one graph.

    ``kernel(power, day_index, day_seconds, used, *per_sample, [soc], **options)`` returns
    float64 ``(n_quantities, day, inverter, dc_input, enclosure)`` for the days of its block
    (``day_index`` counted from the block's first day). On numpy data it runs once; on dask
    data once per block: chunk boundaries move forward to local-day starts; with
    ``whole_plant`` the inverter and DC input axes are made one chunk, for kernels that
    compare each DC input with the fleet.
    """
    if not any(is_dask_collection(array) for array in (power, soc, plan.used)):
        arguments: list[Any] = [
            np.asarray(power),
            plan.day_index,
            plan.day_seconds,
            np.asarray(plan.used),
        ]
        arguments += [*per_sample, *([] if soc is None else [np.asarray(soc)])]
        return kernel(*arguments, **options)

    import dask.array as da  # here: the one pass and numpy data never need it

    day_index = plan.day_index
    power = da.asarray(power)
    sample_chunks = day_aligned_chunks(power.chunks[0], day_index)
    power = power.rechunk({0: sample_chunks, **({1: -1, 2: -1} if whole_plant else {})})
    last_day = day_index[np.cumsum(sample_chunks) - 1]
    # A block owns the days after the previous block's last day up to its own last day, so
    # dates without samples belong to the block that follows them.
    first_day = np.concatenate(([0], last_day[:-1] + 1))
    day_chunks = tuple(int(size) for size in np.diff(np.concatenate(([-1], last_day))))
    # small integers: these per-sample arrays live in the graph for the whole computation
    block_day_index = (day_index - np.repeat(first_day, sample_chunks)).astype(np.int32)

    def per_sample_array(values: np.ndarray) -> da.Array:
        return da.from_array(np.asarray(values), chunks=(sample_chunks,))

    arguments = [
        power, "tic",
        per_sample_array(block_day_index), "t",
        da.from_array(plan.day_seconds, chunks=(day_chunks,)), "t",  # per day: not aligned
        da.asarray(plan.used).rechunk((power.chunks[1], power.chunks[2], -1)), "ice",
    ]  # fmt: skip
    for values in per_sample:
        arguments += [per_sample_array(values), "t"]
    if soc is not None:
        soc = da.asarray(soc).rechunk(
            {0: sample_chunks, 1: power.chunks[1], 2: power.chunks[2], 3: -1}
        )
        arguments += [soc, "tice"]
    return da.blockwise(
        kernel,
        "qtice",
        *arguments,
        **options,
        new_axes={"q": n_quantities},
        adjust_chunks={"t": day_chunks},
        align_arrays=False,
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0, 0), dtype=np.float64),
        name=f"{name}-" + tokenize(*arguments[::2], token),
    )


def daily_energy(
    ds: xr.Dataset,
    *,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float = DEFAULT_DC_POWER_LIMIT_KW,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
) -> xr.Dataset:
    r"""Charged and discharged energy per enclosure and local calendar day.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports`: ``dc_power`` (time, inverter,
        dc_input) DC input power [kW], positive when discharging; ``soc`` (time, inverter,
        dc_input, enclosure) enclosure state of charge [%] (needed for
        ``allocation="soc"``); ``time`` in UTC, strictly increasing; the ``enclosure_id``
        (or ``n_enclosures``) coordinate; attrs ``timezone`` and ``interval_seconds``
        (inferred as the median step when missing). numpy- or dask-backed.
    allocation : {"equal", "soc"}
        How a DC input's energy is shared among its enclosures: evenly, or in proportion to
        each enclosure's state-of-charge swing that day (see Notes).
    max_gap : float
        Longest step [nominal intervals, >= 1] across which a sample holds; beyond it a
        sample holds for one nominal interval.
    dc_power_limit_kw : float
        Largest plausible ``|dc_power|`` of one DC input [kW]. Samples beyond it, infinite
        samples and SOC samples outside 0-100 % are implausible (:mod:`bessx.kernels.plausibility`):
        treated as missing, and counted in ``quality_flags``.
    exclude : sequence of str
        Power flags whose samples are also treated as missing, from
        :data:`bessx.quality.EXCLUDABLE` (``"stuck"``, ``"dead"``, ``"sign_anomaly"``).
        Nothing beyond the implausible samples is excluded unless asked.
    quality : bessx.QualitySettings, optional
        Thresholds of the data-quality flags.

    Returns
    -------
    xarray.Dataset
        Dims (time, inverter, dc_input, enclosure), ``time`` the local calendar dates
        (midnight, tz-naive) from the first to the last sample's; variables ``charged`` and
        ``discharged`` [kWh] (non-negative) and ``coverage`` [1]. Unused enclosure slots
        and days without any valid sample of the DC input are NaN; a day with data but no
        charging has ``charged == 0``. ``quality_flags`` (time, inverter, dc_input) and,
        with ``soc``, ``soc_quality_flags`` (time, inverter, dc_input, enclosure) are CF
        flag variables of :func:`bessx.quality`. Lazy when ``ds`` is dask-backed, chunked
        by whole days.

    Raises
    ------
    ValueError
        For an unknown ``allocation`` (the message lists the valid names), ``max_gap < 1``,
        a missing ``dc_power`` (or, for ``"soc"``, ``soc``) variable, a missing
        ``timezone`` attribute, or times that do not strictly increase.

    Notes
    -----
    Sample :math:`i` of DC input power :math:`P_i` [kW] at time :math:`t_i` holds for

    .. math::

        \Delta t_i = \begin{cases}
            t_{i+1} - t_i & \text{if } t_{i+1} - t_i \le g\,\tau \\
            \tau & \text{otherwise, and for the last sample}
        \end{cases}

    where :math:`\tau` is the nominal interval (``interval_seconds``) and :math:`g` is
    ``max_gap``. Steps are real elapsed time, so DST changes need no special care. Energy is
    labelled at the interval start: it belongs to the local day :math:`D(t_i)` of the
    sample's own timestamp. With :math:`V` the finite samples,

    .. math::

        E^{\mathrm{dis}}_d = \sum_{i \in V,\ D(t_i) = d} \max(P_i, 0)\,\Delta t_i,
        \qquad
        E^{\mathrm{ch}}_d = \sum_{i \in V,\ D(t_i) = d} \max(-P_i, 0)\,\Delta t_i,

    in kWh (:math:`\Delta t_i` in hours), summed in float64. NaN samples contribute
    nothing, and so does an implausible sample (:math:`|P_i|` beyond
    ``dc_power_limit_kw``, or infinite): it is not in :math:`V`. A day of the DC input
    without a valid sample is NaN. Coverage is
    :math:`\min(1, \sum_{i \in V, D(t_i)=d} \Delta t_i / L_d)` with :math:`L_d` the
    length of the local day (23, 24 or 25 h).

    The energy of a DC input is shared among its :math:`n` enclosures :math:`k`. With
    ``"equal"``, :math:`E_{d,k} = E_d / n`. With ``"soc"``, the discharge share of enclosure
    :math:`k` is :math:`S^{-}_{d,k} / \sum_j S^{-}_{d,j}` with
    :math:`S^{-}_{d,k} = \sum \max(-\Delta\mathrm{SOC}, 0)` over the differences of
    consecutive samples within day :math:`d` (NaN differences ignored), the charge share
    likewise from :math:`S^{+}_{d,k} = \sum \max(\Delta\mathrm{SOC}, 0)`; a DC input-day
    falls back to equal shares when the total swing is 0 or an enclosure has no finite SOC
    difference that day (e.g. its SOC is missing all day). Either way the enclosure
    energies of a DC input add up to its energy.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2022-10-01 22:00", periods=6, freq="1h", tz="Australia/Sydney")
    >>> dc_power = np.full((6, 1, 2), 100.0, dtype=np.float32)
    >>> dc_power[:, 0, 1] = -50.0
    >>> ds = make_dataset(time, dc_power, n_enclosures=2, interval_seconds=3600.0)
    >>> daily = daily_energy(ds)
    >>> daily["discharged"].sel(dc_input=1, enclosure=1).values
    array([[100.],
           [200.]])
    >>> daily["charged"].sel(dc_input=2).sum("enclosure").values
    array([[100.],
           [200.]])

    2 October 2022 is a 23-hour day in Sydney: four hourly samples cover 4/23 of it.

    >>> daily["coverage"].sel(dc_input=1, enclosure=1).round(4).values
    array([[0.0833],
           [0.1739]])
    """
    from bessx.quality import EXCLUDABLE, FLAGS, QualitySettings, power_sample_flags
    from bessx.quality import quality as flag_counts

    if allocation not in ALLOCATIONS:
        raise ValueError(
            f"unknown allocation {allocation!r}; choose one of {', '.join(map(repr, ALLOCATIONS))}"
        )
    unknown = sorted(set(exclude) - set(EXCLUDABLE))
    if unknown:
        raise ValueError(
            f"cannot exclude {unknown}: choose from {', '.join(map(repr, EXCLUDABLE))}"
        )
    if "dc_power" not in ds.data_vars:
        raise ValueError("daily_energy needs a 'dc_power' variable")
    method = ALLOCATIONS[allocation]
    if method.needs_soc and "soc" not in ds.data_vars:
        raise ValueError(f"allocation={allocation!r} needs a 'soc' variable")
    limits = Limits(dc_power_limit_kw)
    settings = quality or QualitySettings()
    plan = day_plan(ds, max_gap)
    timezone, interval = ds.attrs["timezone"], plan.interval

    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    soc = None
    if method.needs_soc:
        soc = (
            ds["soc"]
            .transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
            .data
        )
    excluded = tuple(name for name in EXCLUDABLE if name in exclude)
    exclude_samples = None
    if excluded:
        bits = sum(FLAGS[name].mask for name in excluded)

        def exclude_samples(power: np.ndarray, day_index: np.ndarray) -> np.ndarray:
            flags = power_sample_flags(power, day_index, interval, settings, limits)
            return (flags & bits) != 0

    daily = map_day_blocks(
        _daily_energy_block,
        power,
        soc,
        plan,
        (plan.hold_seconds,),
        n_quantities=3,
        name="bessx-daily-energy",
        whole_plant=bool(excluded),
        token=(allocation, limits, excluded, settings, interval),
        allocation=method,
        limits=limits,
        exclude=exclude_samples,
    )
    flags = flag_counts(
        ds, settings=settings, dc_power_limit_kw=limits.dc_power_limit_kw, max_gap=max_gap
    )
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    attrs = {**ds.attrs, "timezone": timezone, "interval_seconds": interval}
    return energy_dataset(
        daily,
        plan.dates,
        coords,
        attrs,
        flags,
        allocation,
        max_gap=max_gap,
        limits=limits,
        excluded=excluded,
    )


def energy_dataset(
    daily: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    flags: xr.Dataset,
    allocation: str,
    *,
    max_gap: float,
    limits: Limits,
    excluded: tuple[str, ...],
) -> xr.Dataset:
    """The Dataset :func:`daily_energy` returns, from its ``(3, day, ...)`` kernel output.

    ``coords`` are the plant's coordinates without time, ``attrs`` those of the source
    (with ``timezone`` and ``interval_seconds``), ``flags`` the :func:`bessx.quality` result.
    """
    order = (schema.DAY, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    coords = dict(coords)
    coords[schema.DAY] = xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS))
    data_vars = {
        name: xr.Variable(order, daily[position], attrs=dict(schema.DAILY_ATTRS[name]))
        for position, name in ((1, "charged"), (0, "discharged"), (2, "coverage"))
    }
    data_vars["quality_flags"] = flags["flags"].variable
    if "soc_flags" in flags:
        data_vars["soc_quality_flags"] = flags["soc_flags"].variable

    from bessx import __version__

    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    line = (
        f"{stamp}: bessx.daily_energy(allocation={allocation!r}, max_gap={float(max_gap)!r})"
        f" [bessx {__version__}]"
    )
    history = attrs.get("history")
    attrs = {
        **attrs,
        "allocation": allocation,
        "max_gap": float(max_gap),
        "dc_power_limit_kw": limits.dc_power_limit_kw,
        "excluded_flags": " ".join(excluded),
        "Conventions": schema.CF_CONVENTIONS,
        "history": f"{history}\n{line}" if history else line,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
