"""Hand-computed cases for bessx.energy: every rule of the method, on numpy and on dask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bessx import schema
from bessx.dayblocks import hold_seconds, local_days
from bessx.energy import daily_energy
from bessx.kernels.days import day_aligned_chunks
from bessx.kernels.energy import (
    ALLOCATIONS,
    daily_power_sums,
    daily_soc_throughput,
    equal_shares,
    soc_shares,
)
from bessx.testing import assert_lazy, make_dataset, raise_if_dask_computes

TZ = "Australia/Sydney"
NAN = np.nan


def local(*stamps: str) -> pd.DatetimeIndex:
    """Sydney wall-clock times (unambiguous ones) as a tz-aware index."""
    return pd.DatetimeIndex(stamps).tz_localize(TZ)


def hourly(start: str, periods: int) -> pd.DatetimeIndex:
    """``periods`` samples one real hour apart from local ``start``."""
    return pd.date_range(pd.Timestamp(start, tz=TZ), periods=periods, freq="1h")


def power(dc1: list[float], dc2: list[float] | None = None) -> np.ndarray:
    """(time, 1 inverter, 2 DC inputs) float32 power; DC input 2 idle (0 kW) by default."""
    second = np.zeros(len(dc1)) if dc2 is None else dc2
    return np.stack([dc1, second], axis=-1)[:, np.newaxis, :].astype(np.float32)


@pytest.fixture(params=["numpy", "dask"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def energy(
    backend: str,
    time: pd.DatetimeIndex,
    dc_power: np.ndarray,
    soc: np.ndarray | None = None,
    *,
    n_enclosures: int | np.ndarray = 1,
    interval: float = 3600.0,
    **options: object,
) -> xr.Dataset:
    """daily_energy on numpy data, or on dask data in 2-sample chunks (cutting days apart)."""
    chunks = 2 if backend == "dask" else None
    ds = make_dataset(
        time, dc_power, soc, n_enclosures=n_enclosures, interval_seconds=interval, chunks=chunks
    )
    with raise_if_dask_computes():
        daily = daily_energy(ds, **options)
    if backend == "dask":
        assert_lazy(daily)
    return daily.compute()


def at(daily: xr.Dataset, name: str, day: str, dc_input: int = 1, enclosure: int = 1) -> float:
    value = daily[name].sel(time=day, inverter="1APCS1", dc_input=dc_input, enclosure=enclosure)
    return float(value)


# -- integration rule ---------------------------------------------------------------------
def test_sample_holds_until_next_sample(backend: str) -> None:
    # 10 min, 30 min (exactly max_gap = 3 intervals: still held), last sample 10 min.
    time = local("2022-07-01 00:00", "2022-07-01 00:10", "2022-07-01 00:40")
    daily = energy(backend, time, power([60, 60, 60]), interval=600.0)
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(60 * (10 + 30 + 10) / 60)
    assert at(daily, "coverage", "2022-07-01") == pytest.approx(3000 / 86400)


def test_gap_beyond_max_gap_holds_one_interval(backend: str) -> None:
    time = local("2022-07-01 00:00", "2022-07-01 00:10", "2022-07-01 01:00")
    daily = energy(backend, time, power([60, 60, 60]), interval=600.0)
    # 50 min > 3 intervals: the 00:10 sample holds 10 min only.
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(60 * 30 / 60)
    assert at(daily, "coverage", "2022-07-01") == pytest.approx(1800 / 86400)


def test_max_gap_option(backend: str) -> None:
    time = local("2022-07-01 00:00", "2022-07-01 00:10", "2022-07-01 01:00")
    daily = energy(backend, time, power([60, 60, 60]), interval=600.0, max_gap=5)
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(60 * 70 / 60)
    assert daily.attrs["max_gap"] == 5.0


def test_last_sample_holds_one_interval(backend: str) -> None:
    daily = energy(backend, local("2022-07-01 12:00"), power([100]), interval=36.0)
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(1.0)
    assert at(daily, "coverage", "2022-07-01") == pytest.approx(36 / 86400)


def test_nan_sample_contributes_nothing(backend: str) -> None:
    time = local("2022-07-01 00:00", "2022-07-01 00:10", "2022-07-01 00:20")
    daily = energy(backend, time, power([60, NAN, 60]), interval=600.0)
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(20.0)
    assert at(daily, "charged", "2022-07-01") == 0.0
    assert at(daily, "coverage", "2022-07-01") == pytest.approx(1200 / 86400)


def test_sign_split(backend: str) -> None:
    daily = energy(backend, hourly("2022-07-01 08:00", 4), power([100, -50, 20, 0]))
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(120.0)
    assert at(daily, "charged", "2022-07-01") == pytest.approx(50.0)
    assert at(daily, "coverage", "2022-07-01") == pytest.approx(4 / 24)


def test_energy_belongs_to_the_day_of_the_interval_start(backend: str) -> None:
    time = local("2022-07-01 23:30", "2022-07-02 00:30")
    daily = energy(backend, time, power([100, 100]))
    np.testing.assert_array_equal(
        daily["time"].values, np.array(["2022-07-01", "2022-07-02"], "datetime64[ns]")
    )
    discharged = daily["discharged"].sel(dc_input=1, enclosure=1).values.ravel()
    np.testing.assert_allclose(discharged, [100.0, 100.0])


# -- local days and DST ---------------------------------------------------------------------
def test_spring_forward_day_has_23_hours(backend: str) -> None:
    time = hourly("2022-10-02 00:00", 23)  # 00:00 .. 23:00 local, 02:00 does not exist
    assert time[-1] == pd.Timestamp("2022-10-02 23:00", tz=TZ)
    daily = energy(backend, time, power([10.0] * 23, [-4.0] * 23), n_enclosures=2)
    assert daily.sizes["time"] == 1
    assert at(daily, "discharged", "2022-10-02") == pytest.approx(230 / 2)
    assert at(daily, "charged", "2022-10-02", dc_input=2) == pytest.approx(92 / 2)
    assert at(daily, "coverage", "2022-10-02") == pytest.approx(1.0)


def test_fall_back_day_has_25_hours(backend: str) -> None:
    time = hourly("2022-04-03 00:00", 25)  # 02:00 .. 02:59 happens twice
    assert time[-1] == pd.Timestamp("2022-04-03 23:00", tz=TZ)
    daily = energy(backend, time, power([10.0] * 25))
    assert daily.sizes["time"] == 1
    assert at(daily, "discharged", "2022-04-03") == pytest.approx(250.0)
    assert at(daily, "coverage", "2022-04-03") == pytest.approx(1.0)


@pytest.mark.parametrize(("day", "hours"), [("2022-10-02", 23), ("2022-04-03", 25)])
def test_dst_days_at_36_seconds(backend: str, day: str, hours: int) -> None:
    start = pd.Timestamp(day, tz=TZ)
    end = pd.Timestamp(pd.Timestamp(day) + pd.Timedelta(days=1), tz=TZ)  # next local midnight
    time = pd.date_range(start, end, freq="36s", inclusive="left")
    assert len(time) == hours * 100
    daily = energy(backend, time, power([100.0] * len(time)), interval=36.0)
    assert at(daily, "discharged", day) == pytest.approx(hours * 100.0, rel=1e-12)
    assert at(daily, "coverage", day) == pytest.approx(1.0, rel=1e-12)


def test_coverage_is_relative_to_the_local_day_length(backend: str) -> None:
    daily = energy(backend, hourly("2022-10-02 00:00", 12), power([1.0] * 12))
    assert at(daily, "coverage", "2022-10-02") == pytest.approx(12 / 23)


def test_day_with_data_but_no_charging_is_zero(backend: str) -> None:
    daily = energy(backend, hourly("2022-07-01 10:00", 3), power([5.0, 0.0, 7.0]))
    assert at(daily, "charged", "2022-07-01") == 0.0
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(12.0)


def test_day_without_samples_is_nan_with_zero_coverage(backend: str) -> None:
    time = local("2022-07-01 10:00", "2022-07-03 10:00")
    daily = energy(backend, time, power([5.0, 5.0]))
    np.testing.assert_array_equal(
        daily["time"].values,
        np.array(["2022-07-01", "2022-07-02", "2022-07-03"], "datetime64[ns]"),
    )
    for name in ("charged", "discharged"):
        assert np.isnan(at(daily, name, "2022-07-02"))
        assert not np.isnan(at(daily, name, "2022-07-03"))
    assert at(daily, "coverage", "2022-07-02") == 0.0


def test_dc_input_without_valid_samples_is_nan(backend: str) -> None:
    daily = energy(backend, hourly("2022-07-01 10:00", 3), power([5.0, 5.0, 5.0], [NAN] * 3))
    assert np.isnan(at(daily, "discharged", "2022-07-01", dc_input=2))
    assert np.isnan(at(daily, "charged", "2022-07-01", dc_input=2))
    assert at(daily, "coverage", "2022-07-01", dc_input=2) == 0.0
    assert at(daily, "discharged", "2022-07-01", dc_input=1) == pytest.approx(15.0)


def test_hold_does_not_depend_on_chunk_boundaries() -> None:
    time = local(
        "2022-07-01 00:00", "2022-07-01 00:10", "2022-07-01 00:20", "2022-07-01 03:00",
        "2022-07-01 23:50", "2022-07-02 00:05", "2022-07-02 00:15",
    )  # fmt: skip
    dc_power = power([60, -30, 60, 60, 12, 60, -60])
    ds = make_dataset(time, dc_power, n_enclosures=1, interval_seconds=600.0)
    expected = daily_energy(ds)
    for chunks in [1, 2, 3, (1, 5, 1), (4, 3), (6, 1)]:
        chunked = ds.assign(dc_power=ds["dc_power"].chunk(time=chunks))
        xr.testing.assert_allclose(daily_energy(chunked).compute(), expected, rtol=1e-14)
    # 10 + (gap capped) 10 + 10 + 3 (23:50 holds 15 min into the next day); then 10.
    discharged = expected["discharged"].sel(dc_input=1, enclosure=1).values.ravel()
    np.testing.assert_allclose(discharged, [33.0, 10.0], rtol=1e-14)
    charged = expected["charged"].sel(dc_input=1, enclosure=1).values.ravel()
    np.testing.assert_allclose(charged, [5.0, 10.0], rtol=1e-14)


# -- allocation ----------------------------------------------------------------------------
def test_equal_allocation(backend: str) -> None:
    daily = energy(
        backend,
        hourly("2022-07-01 10:00", 3),
        power([30.0] * 3, [-10.0, -20.0, -20.0]),
        n_enclosures=np.array([[3, 2]]),
    )
    discharged = daily["discharged"].sel(inverter="1APCS1", time="2022-07-01")
    np.testing.assert_allclose(discharged.sel(dc_input=1), [30.0, 30.0, 30.0])
    charged = daily["charged"].sel(inverter="1APCS1", time="2022-07-01")
    np.testing.assert_allclose(charged.sel(dc_input=2), [25.0, 25.0, NAN])
    coverage = daily["coverage"].sel(inverter="1APCS1", time="2022-07-01")
    np.testing.assert_allclose(coverage.sel(dc_input=2), [3 / 24, 3 / 24, NAN])


def test_unused_slots_are_nan(backend: str) -> None:
    daily = energy(backend, hourly("2022-07-01 10:00", 2), power([1.0, 1.0]), n_enclosures=1)
    for name in ("charged", "discharged", "coverage"):
        values = daily[name].sel(inverter="1APCS1", dc_input=1).values.ravel()
        assert not np.isnan(values[0])
        assert np.isnan(values[1:]).all()


def soc_of(*enclosures: list[float]) -> np.ndarray:
    """(time, 1 inverter, 2 DC inputs, 3 slots) SOC: given enclosures on DC input 1."""
    soc = np.full((len(enclosures[0]), 1, 2, 3), NAN, dtype=np.float32)
    for slot, values in enumerate(enclosures):
        soc[:, 0, 0, slot] = values
    return soc


def test_soc_allocation_by_hand(backend: str) -> None:
    # Day 1 discharges 90 kWh: enclosure 1 drops 20 %, enclosure 2 drops 10 %.
    # Day 2 charges 40 kWh: enclosure 1 rises 10 %, enclosure 2 rises 30 % (with a dip).
    time = hourly("2022-07-01 21:00", 6)  # 21, 22, 23 | 00, 01, 02
    dc_power = power([30, 30, 30, -20, -20, 0])
    soc = soc_of([80, 70, 60, 60, 65, 70], [80, 75, 70, 40, 35, 70])
    daily = energy(backend, time, dc_power, soc, n_enclosures=2, allocation="soc")
    discharged = daily["discharged"].sel(inverter="1APCS1", dc_input=1)
    np.testing.assert_allclose(discharged.sel(time="2022-07-01"), [60.0, 30.0, NAN])
    np.testing.assert_allclose(discharged.sel(time="2022-07-02"), [0.0, 0.0, NAN])
    charged = daily["charged"].sel(inverter="1APCS1", dc_input=1)
    # The jump from 70 (23:00) to 40 (00:00) straddles midnight and is ignored.
    np.testing.assert_allclose(charged.sel(time="2022-07-02"), [40 * 10 / 45, 40 * 35 / 45, NAN])
    np.testing.assert_allclose(charged.sel(time="2022-07-01"), [0.0, 0.0, NAN])
    assert daily.attrs["allocation"] == "soc"


def test_soc_allocation_ignores_nan_differences(backend: str) -> None:
    soc = soc_of([80, NAN, 60, 50], [80, 70, 60, 50])  # enclosure 1: only 60 -> 50 counts
    daily = energy(
        backend,
        hourly("2022-07-01 10:00", 4),
        power([20] * 4),
        soc,
        n_enclosures=2,
        allocation="soc",
    )
    discharged = daily["discharged"].sel(inverter="1APCS1", dc_input=1, time="2022-07-01")
    np.testing.assert_allclose(discharged, [80 * 10 / 40, 80 * 30 / 40, NAN])


def test_soc_allocation_falls_back_to_equal_when_an_enclosure_has_no_soc(backend: str) -> None:
    soc = soc_of([80, 70, 60], [NAN, NAN, NAN])
    daily = energy(
        backend,
        hourly("2022-07-01 10:00", 3),
        power([20] * 3),
        soc,
        n_enclosures=2,
        allocation="soc",
    )
    discharged = daily["discharged"].sel(inverter="1APCS1", dc_input=1, time="2022-07-01")
    np.testing.assert_allclose(discharged, [30.0, 30.0, NAN])


def test_soc_allocation_falls_back_to_equal_without_swing(backend: str) -> None:
    # Flat SOC: no discharge swing. The charge swing is there and is used.
    soc = soc_of([50, 50, 50, 52], [50, 50, 50, 56])
    daily = energy(
        backend,
        hourly("2022-07-01 10:00", 4),
        power([30, 30, -40, 0]),
        soc,
        n_enclosures=2,
        allocation="soc",
    )
    day = {"inverter": "1APCS1", "dc_input": 1, "time": "2022-07-01"}
    np.testing.assert_allclose(daily["discharged"].sel(day), [30.0, 30.0, NAN])
    np.testing.assert_allclose(daily["charged"].sel(day), [10.0, 30.0, NAN])


def test_equal_and_soc_agree_on_dc_input_totals() -> None:
    rng = np.random.default_rng(7)
    time = pd.date_range("2022-04-01", periods=300, freq="30min", tz=TZ)
    dc_power = rng.normal(0, 500, (300, 2, 2)).astype(np.float32)
    soc = rng.uniform(0, 100, (300, 2, 2, 3)).astype(np.float32)
    ds = make_dataset(time, dc_power, soc, n_enclosures=np.array([[3, 2], [1, 2]]))
    totals = [
        daily_energy(ds, allocation=name)[["charged", "discharged"]].sum("enclosure")
        for name in ALLOCATIONS
    ]
    xr.testing.assert_allclose(totals[0], totals[1], rtol=1e-12)


# -- output layout and metadata --------------------------------------------------------------
def test_metadata(backend: str) -> None:
    daily = energy(backend, hourly("2022-07-01 10:00", 3), power([1.0] * 3), n_enclosures=2)
    assert list(daily.data_vars)[:4] == ["charged", "discharged", "coverage", "quality_flags"]
    for name, attrs in schema.DAILY_ATTRS.items():
        assert daily[name].attrs == attrs
        assert daily[name].dims == ("time", "inverter", "dc_input", "enclosure")
        assert daily[name].dtype == np.float64
    assert daily["charged"].attrs["cell_methods"] == "time: sum"
    assert daily["coverage"].attrs["cell_methods"] == "time: mean"
    assert daily["time"].dtype == np.dtype("datetime64[ns]")
    assert daily["time"].attrs == schema.DAILY_TIME_ATTRS
    assert daily["enclosure_id"].values[0, 0].tolist() == ["1A1BAT1", "1A1BAT2", ""]
    assert daily["n_enclosures"].values.tolist() == [[2, 2]]
    assert daily.attrs["timezone"] == TZ
    assert daily.attrs["interval_seconds"] == 3600.0
    assert daily.attrs["allocation"] == "equal"
    assert daily.attrs["max_gap"] == 3.0
    assert daily.attrs["Conventions"] == "CF-1.10"
    assert "bessx.daily_energy(allocation='equal', max_gap=3.0)" in daily.attrs["history"]


def test_history_is_appended() -> None:
    ds = make_dataset(hourly("2022-07-01 10:00", 2), power([1.0, 1.0]))
    ds.attrs["history"] = "read by bessx.open_exports"
    history = daily_energy(ds).attrs["history"].splitlines()
    assert history[0] == "read by bessx.open_exports"
    assert "bessx.daily_energy" in history[1]


def test_input_is_not_modified() -> None:
    ds = make_dataset(hourly("2022-07-01 10:00", 3), power([1.0, NAN, -1.0]), n_enclosures=2)
    before = ds.copy(deep=True)
    daily_energy(ds, allocation="soc")
    xr.testing.assert_identical(ds, before)


def test_time_in_microseconds_and_inferred_interval() -> None:
    ds = make_dataset(hourly("2022-07-01 10:00", 3), power([1.0, 2.0, 3.0]), n_enclosures=1)
    ds = ds.assign_coords(time=ds["time"].values.astype("datetime64[us]"))
    del ds.attrs["interval_seconds"]
    daily = daily_energy(ds)
    assert daily.attrs["interval_seconds"] == 3600.0
    assert at(daily, "discharged", "2022-07-01") == pytest.approx(6.0)


def test_chunks_hold_whole_days() -> None:
    # Files of one local day each, then a file of two days and a missing day.
    days = ["2022-07-01", "2022-07-02", "2022-07-03", "2022-07-05"]
    time = pd.DatetimeIndex(
        [pd.Timestamp(f"{day} {hour:02d}:00", tz=TZ) for day in days for hour in (0, 12)]
    )
    ds = make_dataset(time, power([1.0] * 8), chunks=(2, 2, 4))
    daily = daily_energy(ds)
    assert daily["discharged"].chunks[0] == (1, 1, 3)
    ds = make_dataset(time, power([1.0] * 8), chunks=(3, 3, 2))  # cut mid-day
    assert daily_energy(ds)["discharged"].chunks[0] == (2, 1, 2)


def test_dask_coordinates_stay_lazy() -> None:
    ds = make_dataset(hourly("2022-07-01 10:00", 6), power([1.0] * 6), n_enclosures=2)
    ds = ds.chunk(time=2)  # chunks the coordinates too
    with raise_if_dask_computes():
        daily = daily_energy(ds, allocation="soc")
    assert_lazy(daily)
    assert at(daily.compute(), "discharged", "2022-07-01") == pytest.approx(3.0)


# -- bad input -----------------------------------------------------------------------------
@pytest.fixture
def small() -> xr.Dataset:
    return make_dataset(hourly("2022-07-01 10:00", 3), power([1.0] * 3))


def test_unknown_allocation_lists_valid_names(small: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="'equal', 'soc'"):
        daily_energy(small, allocation="proportional")


@pytest.mark.parametrize("max_gap", [0.5, 0, -1, np.nan])
def test_max_gap_below_one(small: xr.Dataset, max_gap: float) -> None:
    with pytest.raises(ValueError, match="max_gap"):
        daily_energy(small, max_gap=max_gap)


def test_soc_allocation_needs_soc(small: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="'soc' variable"):
        daily_energy(small.drop_vars("soc"), allocation="soc")


def test_missing_timezone(small: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="timezone"):
        daily_energy(small.drop_attrs())


def test_times_must_increase(small: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="strictly increasing"):
        daily_energy(small.isel(time=[0, 2, 1]))


# -- kernels and time helpers ----------------------------------------------------------------
def test_hold_seconds() -> None:
    time = np.array(["2022-07-01T00:00", "2022-07-01T00:01", "2022-07-01T00:05"], "M8[ns]")
    np.testing.assert_array_equal(hold_seconds(time, 60.0, 3.0), [60.0, 60.0, 60.0])
    np.testing.assert_array_equal(hold_seconds(time, 60.0, 4.0), [60.0, 240.0, 60.0])


def test_local_days_across_dst() -> None:
    time = pd.DatetimeIndex(["2022-04-02 12:00", "2022-10-03 12:00"]).tz_localize(TZ)
    day_index, dates, day_seconds = local_days(time.tz_convert(None), TZ)
    assert day_index.tolist() == [0, 184]
    assert dates[0] == np.datetime64("2022-04-02", "ns")
    assert dates.dtype == np.dtype("datetime64[ns]")
    assert day_seconds[1] == 25 * 3600  # 3 April
    assert day_seconds[183] == 23 * 3600  # 2 October
    assert set(np.delete(day_seconds, [1, 183])) == {86400.0}


def test_local_days_where_midnight_does_not_exist() -> None:
    # Chile sprang forward from 00:00 to 01:00 on 11 September 2022.
    time = pd.DatetimeIndex(["2022-09-10 12:00", "2022-09-11 12:00"]).tz_localize(
        "America/Santiago"
    )
    day_index, dates, day_seconds = local_days(time.tz_convert(None), "America/Santiago")
    assert day_index.tolist() == [0, 1]
    assert dates[1] == np.datetime64("2022-09-11", "ns")
    assert day_seconds.tolist() == [86400.0, 82800.0]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((5, 5, 5), (9, 6)),  # boundaries 5, 10 move to the day starts 9 and (none)
        ((3, 6, 6), (3, 6, 6)),  # already on day starts
        ((15,), (15,)),
        ((1,) * 15, (3, 6, 6)),
    ],
)
def test_day_aligned_chunks(chunks: tuple[int, ...], expected: tuple[int, ...]) -> None:
    day_index = np.repeat([0, 1, 2], [3, 6, 6])
    assert day_aligned_chunks(chunks, day_index) == expected


def test_power_kernel_is_the_same_for_few_and_many_days() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0, 100, (40, 3, 2)).astype(np.float32)
    values[rng.random(values.shape) < 0.2] = NAN
    holds = rng.uniform(1, 100, 40)
    day_index = np.sort(rng.integers(0, 12, 40))
    day_index -= day_index[0]
    whole = daily_power_sums(values, holds, day_index)  # many days: reduceat
    cut = int(np.searchsorted(day_index, day_index[20]))
    first = daily_power_sums(values[:cut], holds[:cut], day_index[:cut])
    assert whole.shape == (3, day_index[-1] + 1, 3, 2)
    np.testing.assert_allclose(whole[:, : first.shape[1]], first, rtol=1e-13)


def test_soc_kernel() -> None:
    soc = np.array([[50.0, 1.0], [40.0, NAN], [45.0, 3.0], [30.0, 3.0]], dtype=np.float32)
    swings = daily_soc_throughput(soc, np.array([0, 0, 0, 2]))
    np.testing.assert_array_equal(swings[:, 0], [[10.0, 0.0], [5.0, 0.0], [2.0, 0.0]])
    assert np.isnan(swings[:, 1]).all()
    np.testing.assert_array_equal(swings[:, 2], [[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]])


def test_share_kernels() -> None:
    used = np.array([[True, True, True], [True, False, False]])
    np.testing.assert_allclose(equal_shares(used), [[1 / 3] * 3, [1.0, NAN, NAN]])
    swings = np.zeros((3, 2, 2, 3))
    swings[0, 0, 0] = [1.0, 3.0, 4.0]
    swings[1, 0, 0] = [1.0, 3.0, 0.0]  # the third enclosure's SOC is flat: a stuck signal
    swings[0, 1, 0] = [2.0, 6.0, 0.0]
    swings[2] = 5.0
    discharge, charge = soc_shares(swings, used)
    np.testing.assert_allclose(discharge[0], [[1 / 8, 3 / 8, 4 / 8], [1.0, NAN, NAN]])
    np.testing.assert_allclose(charge[0], [[1 / 3] * 3, [1.0, NAN, NAN]])
    np.testing.assert_allclose(discharge[1], [[1 / 3] * 3, [1.0, NAN, NAN]])


@pytest.mark.parametrize("allocation", list(ALLOCATIONS))
def test_chunks_along_inverters_and_enclosures(allocation: str) -> None:
    rng = np.random.default_rng(11)
    time = pd.date_range("2022-09-30 12:00", periods=200, freq="20min", tz=TZ)
    dc_power = rng.normal(0, 500, (200, 4, 2)).astype(np.float32)
    soc = rng.uniform(0, 100, (200, 4, 2, 3)).astype(np.float32)
    ds = make_dataset(time, dc_power, soc, n_enclosures=np.array([[3, 2], [1, 2], [2, 2], [3, 3]]))
    chunked = ds.chunk(time=(50, 70, 80), inverter=(1, 3), enclosure=(2, 1))
    expected = daily_energy(ds, allocation=allocation)
    with raise_if_dask_computes():
        actual = daily_energy(chunked, allocation=allocation)
    assert actual["discharged"].chunks[1] == (1, 3)
    xr.testing.assert_allclose(actual.compute(), expected, rtol=1e-12)


def test_tz_aware_time_coordinate_is_converted() -> None:
    ds = make_dataset(hourly("2022-10-01 22:00", 6), power([10.0] * 6), timezone=TZ)
    aware = ds.assign_coords(time=pd.DatetimeIndex(ds["time"].values).tz_localize("UTC"))
    assert aware.indexes["time"].tz is not None
    xr.testing.assert_equal(daily_energy(aware), daily_energy(ds))
