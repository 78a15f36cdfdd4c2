"""Hypothesis strategies for plant-shaped data.

>>> from hypothesis import given
>>> from bessx.testing.strategies import plant_datasets
>>> @given(plant_datasets())
... def test_something(ds): ...
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import xarray as xr

from bessx import schema
from bessx.synthetic import TIMEZONE
from bessx.testing import make_dataset

__all__ = [
    "DST_CHANGES",
    "IMPLAUSIBLE_POWER",
    "IMPLAUSIBLE_SOC",
    "dc_power_arrays",
    "plant_datasets",
    "sample_times",
    "soc_arrays",
    "time_chunks",
    "with_implausible_samples",
]

#: UTC instants of Australia/Sydney clock changes: 25-hour day 2022-04-03 (03:00 AEDT back
#: to 02:00 AEST), 23-hour day 2022-10-02 (02:00 AEST forward to 03:00 AEDT), and a
#: quiet instant for contrast.
DST_CHANGES = (
    np.datetime64("2022-04-02T16:00", "ns"),
    np.datetime64("2022-10-01T16:00", "ns"),
    np.datetime64("2022-07-01T03:00", "ns"),
)

_DAY_SECONDS = 86_400


@st.composite
def sample_times(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 80,
    intervals: tuple[float, ...] = (900.0, 1800.0, 3600.0),
    anchors: tuple[np.datetime64, ...] = DST_CHANGES,
) -> tuple[np.ndarray, float]:
    """Strictly increasing, irregular UTC sample times and their nominal interval [s].

    The series starts within two days before to one day after one of ``anchors`` (by
    default around Sydney's DST changes), steps by about one interval with jitter, and now
    and then jumps a gap of up to 30 intervals, a few hours or, rarely, a day or two.

    Returns
    -------
    tuple
        ``datetime64[ns]`` times (tz-naive UTC) and the nominal interval [s].
    """
    interval = draw(st.sampled_from(intervals))
    n = draw(st.integers(min_size, max_size))
    anchor = draw(st.sampled_from(anchors))
    offset = draw(st.integers(-2 * _DAY_SECONDS, _DAY_SECONDS))
    step_interval = int(interval)
    # Mostly one interval, sometimes jittered, now and then a gap, rarely a day or two.
    step = st.one_of(
        st.just(step_interval),
        st.just(step_interval),
        st.just(step_interval),
        st.integers(1, 2 * step_interval),
        st.integers(1, 2 * step_interval),
        st.integers(2 * step_interval, 30 * step_interval),
        st.integers(1, 12).map(lambda hours: hours * 3600),
        st.sampled_from([step_interval] * 15 + [_DAY_SECONDS, 2 * _DAY_SECONDS]),
    )
    steps = draw(st.lists(step, min_size=n - 1, max_size=n - 1)) if n > 1 else []
    seconds = np.concatenate(([0], np.cumsum(np.asarray(steps, dtype=np.int64))))
    start = anchor + np.timedelta64(offset, "s")
    return start + seconds.astype("timedelta64[s]"), interval


def _floats_with_nan(low: float, high: float, nan: bool) -> st.SearchStrategy[float]:
    # Subnormal numbers are left out: meters do not report them, and they underflow on
    # scaling, which would blur exact properties such as linearity.
    values = st.floats(low, high, width=32, allow_subnormal=False)
    return st.one_of(values, values, values, st.just(float("nan"))) if nan else values


def dc_power_arrays(
    shape: tuple[int, ...], *, nan: bool = True, max_kw: float = 2000.0
) -> st.SearchStrategy[np.ndarray]:
    """float32 DC input power [kW] in ``[-max_kw, max_kw]``, with NaN if ``nan``."""
    return hnp.arrays(np.float32, shape, elements=_floats_with_nan(-max_kw, max_kw, nan))


def soc_arrays(shape: tuple[int, ...], *, nan: bool = True) -> st.SearchStrategy[np.ndarray]:
    """float32 enclosure state of charge [%] in ``[0, 100]``, with NaN if ``nan``."""
    return hnp.arrays(np.float32, shape, elements=_floats_with_nan(0.0, 100.0, nan))


@st.composite
def time_chunks(draw: st.DrawFn, n: int) -> tuple[int, ...]:
    """Random chunk sizes summing to ``n`` (not aligned to anything)."""
    if n <= 1:
        return (n,)
    cuts = draw(st.sets(st.integers(1, n - 1), max_size=min(n - 1, 6)))
    return tuple(int(size) for size in np.diff([0, *sorted(cuts), n]))


@st.composite
def plant_datasets(
    draw: st.DrawFn,
    *,
    max_inverters: int = 3,
    min_samples: int = 1,
    max_samples: int = 80,
    nan: bool = True,
    chunked: bool | None = None,
    **time_options: Any,
) -> xr.Dataset:
    """Plant Datasets in the layout of :func:`bessx.open_exports`.

    A few inverters with 1 to 3 enclosures per DC input, irregular strictly increasing
    times with gaps (often crossing a Sydney DST change, see :func:`sample_times`), power
    and SOC with NaN, and, when ``chunked`` (drawn if None), random dask chunks along time.
    """
    times, interval = draw(sample_times(min_size=min_samples, max_size=max_samples, **time_options))
    n_inverters = draw(st.integers(1, max_inverters))
    n_inputs = len(schema.DC_INPUTS)
    n_enclosures = draw(hnp.arrays(np.int64, (n_inverters, n_inputs), elements=st.integers(1, 3)))
    dc_power = draw(dc_power_arrays((len(times), n_inverters, n_inputs), nan=nan))
    soc = draw(soc_arrays((len(times), n_inverters, n_inputs, 3), nan=nan))
    if chunked is None:
        chunked = draw(st.booleans())
    chunks = draw(time_chunks(len(times))) if chunked else None
    return make_dataset(
        times,
        dc_power,
        soc,
        n_enclosures=n_enclosures,
        interval_seconds=interval,
        timezone=TIMEZONE,
        chunks=chunks,
    )


#: Values no DC input can carry [kW]: infinities, spikes, corrupt integers.
IMPLAUSIBLE_POWER = (np.inf, -np.inf, 1e9, -1e7, 2.0**63, 5000.5, -3.4e38)
#: Values no state of charge can take [%].
IMPLAUSIBLE_SOC = (np.inf, -np.inf, 1e9, -5.0, 100.5, 3.4e38)


@st.composite
def with_implausible_samples(
    draw: st.DrawFn, ds: xr.Dataset, *, max_samples: int = 5
) -> tuple[xr.Dataset, xr.Dataset]:
    """``ds`` with a few power and SOC samples made implausible, and ``ds`` with them NaN.

    The positions are drawn among all samples (missing ones included); the values from
    :data:`IMPLAUSIBLE_POWER` and :data:`IMPLAUSIBLE_SOC`. The two Datasets differ only
    there, so any result computed from them must be the same.
    """
    corrupted, missing = {}, {}
    for name, values in (("dc_power", IMPLAUSIBLE_POWER), ("soc", IMPLAUSIBLE_SOC)):
        data = np.array(ds[name].values)
        count = draw(st.integers(0, max_samples), label=f"{name} samples")
        positions = draw(
            st.lists(st.integers(0, data.size - 1), min_size=count, max_size=count),
            label=f"{name} positions",
        )
        chosen = draw(
            st.lists(st.sampled_from(values), min_size=count, max_size=count),
            label=f"{name} values",
        )
        bad, nan = data.copy(), data.copy()
        with np.errstate(over="ignore"):  # float32 turns the largest values into inf
            bad.flat[positions] = np.asarray(chosen, dtype=np.float64).astype(data.dtype)
        nan.flat[positions] = np.nan
        chunks = ds[name].chunks
        corrupted[name] = ds[name].copy(data=bad if chunks is None else da.from_array(bad, chunks))
        missing[name] = ds[name].copy(data=nan if chunks is None else da.from_array(nan, chunks))
    return ds.assign(corrupted), ds.assign(missing)
