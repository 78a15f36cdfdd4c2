"""The time coordinate made days, and the one driver of every daily reduction.

:func:`day_plan` works out once, in memory, each sample's hold duration and local day
(from the plant's timezone) and the used enclosure slots; :func:`map_day_blocks` runs
a kernel of :mod:`bessx.kernels` on numpy data at once, or on dask data once per block
of whole local days (chunk boundaries moved forward to day starts). Daily energy,
quality and health build their dask graphs here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr
from dask.base import is_dask_collection, tokenize

from bessx import schema
from bessx.kernels.days import day_aligned_chunks

if TYPE_CHECKING:
    import dask.array as da

__all__ = [
    "DayPlan",
    "day_plan",
    "hold_seconds",
    "local_days",
    "map_day_blocks",
]


_NS_PER_SECOND = 1_000_000_000
_NS_PER_DAY = 86_400 * _NS_PER_SECOND


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


def used_slots(ds: xr.Dataset | xr.DataArray, needed_by: str = "daily_energy") -> xr.DataArray:
    """Boolean ``(inverter, dc_input, enclosure)``, numpy or dask: the slots that hold an
    enclosure, from the ``enclosure_id`` or the ``n_enclosures`` coordinate.

    Raises
    ------
    ValueError
        Neither coordinate: "``needed_by`` needs an 'enclosure_id' or 'n_enclosures'
        coordinate".
    """
    if "enclosure_id" in ds.coords:
        used = ds.coords["enclosure_id"] != ""
    elif "n_enclosures" in ds.coords:
        used = ds[schema.ENCLOSURE] <= ds.coords["n_enclosures"]
    else:
        raise ValueError(f"{needed_by} needs an 'enclosure_id' or 'n_enclosures' coordinate")
    return used.transpose(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)


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
    """Hold durations, local days and used slots of a plant Dataset (:func:`bessx.daily_energy`).

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
    return DayPlan(interval, holds, day_index, dates, day_seconds, used_slots(ds).data)


def map_day_blocks(
    kernel: Callable[..., np.ndarray],
    power: Any,
    soc: Any | None,
    plan: DayPlan,
    per_sample: tuple[Any, ...],
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

    ``per_sample`` are arrays along time alone (numpy, or dask such as a plant meter).
    ``kernel(power, day_index, day_seconds, used, *per_sample, [soc], **options)`` returns
    float64 ``(n_quantities, day, inverter, dc_input, enclosure)`` for the days of its block
    (``day_index`` counted from the block's first day). On numpy data it runs once; on dask
    data once per block: chunk boundaries move forward to local-day starts; with
    ``whole_plant`` the inverter and DC input axes are made one chunk, for kernels that
    compare each DC input with the fleet.
    """
    if not any(is_dask_collection(array) for array in (power, soc, plan.used, *per_sample)):
        arguments: list[Any] = [
            np.asarray(power),
            plan.day_index,
            plan.day_seconds,
            np.asarray(plan.used),
        ]
        arguments += [np.asarray(values) for values in per_sample]
        arguments += [] if soc is None else [np.asarray(soc)]
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

    def per_sample_array(values: Any) -> da.Array:
        if is_dask_collection(values):
            return da.asarray(values).rechunk({0: sample_chunks})
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
