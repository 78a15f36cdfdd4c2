"""Property tests for bessx.daily_energy, against a slow, obvious reference implementation."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from bessx.dayblocks import hold_seconds, local_days
from bessx.energy import daily_energy
from bessx.kernels.energy import ALLOCATIONS, daily_power_sums
from bessx.testing import assert_lazy, make_dataset, raise_if_dask_computes
from bessx.testing.strategies import plant_datasets, time_chunks

ENERGIES = ["charged", "discharged"]
ALLOCATION_NAMES = list(ALLOCATIONS)


def reference_daily_energy(
    ds: xr.Dataset, allocation: str = "equal", max_gap: float = 3.0
) -> xr.Dataset:
    """The method written out sample by sample with Python datetimes and floats."""
    zone = ZoneInfo(ds.attrs["timezone"])
    interval = ds.attrs["interval_seconds"]
    times = [
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(ns) // 1000)
        for ns in ds["time"].values.astype("datetime64[ns]").astype(np.int64)
    ]
    dates = [time.astimezone(zone).date() for time in times]
    all_dates = [
        dates[0] + dt.timedelta(days=offset) for offset in range((dates[-1] - dates[0]).days + 1)
    ]

    def day_length(date: dt.date) -> float:
        start = dt.datetime.combine(date, dt.time(0), tzinfo=zone).astimezone(dt.UTC)
        end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return (end.astimezone(dt.UTC) - start).total_seconds()

    holds = []
    for i, time in enumerate(times):
        step = (times[i + 1] - time).total_seconds() if i + 1 < len(times) else math.inf
        holds.append(step if step <= max_gap * interval else interval)

    power = ds["dc_power"].transpose("time", "inverter", "dc_input").values
    soc = ds["soc"].transpose("time", "inverter", "dc_input", "enclosure").values
    used = (ds["enclosure_id"].transpose("inverter", "dc_input", "enclosure") != "").values
    n_inverters, n_inputs, n_slots = used.shape
    shape = (len(all_dates), n_inverters, n_inputs, n_slots)
    result = {name: np.full(shape, np.nan) for name in ["charged", "discharged", "coverage"]}

    for inv in range(n_inverters):
        for dc in range(n_inputs):
            discharged: dict[dt.date, float] = defaultdict(float)
            charged: dict[dt.date, float] = defaultdict(float)
            seconds: dict[dt.date, float] = defaultdict(float)
            for i, value in enumerate(power[:, inv, dc].tolist()):
                seconds[dates[i]] += 0.0  # the day has samples
                if math.isnan(value):
                    continue
                discharged[dates[i]] += max(value, 0.0) * holds[i] / 3600
                charged[dates[i]] += max(-value, 0.0) * holds[i] / 3600
                seconds[dates[i]] += holds[i]

            swing_down: dict[tuple[dt.date, int], float] = defaultdict(float)
            swing_up: dict[tuple[dt.date, int], float] = defaultdict(float)
            pairs: dict[tuple[dt.date, int], int] = defaultdict(int)
            for slot in range(n_slots):
                values = soc[:, inv, dc, slot].astype(np.float64).tolist()
                for i in range(len(values) - 1):
                    delta = values[i + 1] - values[i]
                    if dates[i] != dates[i + 1] or math.isnan(delta):
                        continue
                    swing_down[dates[i], slot] += max(-delta, 0.0)
                    swing_up[dates[i], slot] += max(delta, 0.0)
                    pairs[dates[i], slot] += 1

            slots = [slot for slot in range(n_slots) if used[inv, dc, slot]]
            for row, date in enumerate(all_dates):
                if date not in seconds:  # no sample at all that date: nothing covered
                    for slot in slots:
                        result["coverage"][row, inv, dc, slot] = 0.0
                    continue
                coverage = min(seconds[date] / day_length(date), 1.0)
                valid = seconds[date] > 0
                for energy, swing, name in [
                    (discharged, swing_down, "discharged"),
                    (charged, swing_up, "charged"),
                ]:
                    total = sum(swing[date, slot] for slot in slots)
                    blind = any(pairs[date, slot] == 0 for slot in slots)
                    flat = any(swing[date, slot] == 0 for slot in slots)
                    for slot in slots:
                        if allocation == "soc" and total > 0 and not blind and not flat:
                            share = swing[date, slot] / total
                        else:
                            share = 1 / len(slots)
                        value = energy[date] * share if valid else math.nan
                        result[name][row, inv, dc, slot] = value
                for slot in slots:
                    result["coverage"][row, inv, dc, slot] = coverage

    dims = ("time", "inverter", "dc_input", "enclosure")
    coords = {
        "time": np.array(all_dates, dtype="datetime64[D]").astype("datetime64[ns]"),
        **{name: ds[name] for name in ("inverter", "dc_input", "enclosure")},
    }
    return xr.Dataset({name: (dims, values) for name, values in result.items()}, coords=coords)


def dc_input_energy(ds: xr.Dataset, max_gap: float = 3.0) -> xr.Dataset:
    """The library's own per-DC-input daily energy, straight from the kernel."""
    time = ds.indexes["time"]
    holds = hold_seconds(time, ds.attrs["interval_seconds"], max_gap)
    day_index, dates, _ = local_days(time, ds.attrs["timezone"])
    sums = daily_power_sums(ds["dc_power"].values, holds, day_index)
    dims = ("time", "inverter", "dc_input")
    return xr.Dataset(
        {"discharged": (dims, sums[0]), "charged": (dims, sums[1])},
        coords={"time": dates, "inverter": ds["inverter"], "dc_input": ds["dc_input"]},
    )


def compare(actual: xr.Dataset, expected: xr.Dataset, rtol: float) -> None:
    actual = actual.reset_coords(drop=True)
    expected = expected.reset_coords(drop=True)
    xr.testing.assert_allclose(actual[list(expected.data_vars)], expected, rtol=rtol, atol=1e-9)


@settings(max_examples=100)
@given(plant_datasets(chunked=False), st.sampled_from([1.0, 3.0, 10.0]))
def test_equal_allocation_matches_reference(ds: xr.Dataset, max_gap: float) -> None:
    compare(daily_energy(ds, max_gap=max_gap), reference_daily_energy(ds, "equal", max_gap), 1e-9)


@settings(max_examples=100)
@given(plant_datasets(chunked=False))
def test_soc_allocation_matches_reference(ds: xr.Dataset) -> None:
    # SOC differences are taken in float32, the reference's in float64: shares differ by
    # a few float32 ulps at most.
    compare(daily_energy(ds, allocation="soc"), reference_daily_energy(ds, "soc"), 1e-6)


@settings(max_examples=50)
@given(plant_datasets(chunked=False), st.sampled_from(ALLOCATION_NAMES))
def test_enclosures_add_up_to_their_dc_input(ds: xr.Dataset, allocation: str) -> None:
    daily = daily_energy(ds, allocation=allocation)
    totals = daily[ENERGIES].sum("enclosure", min_count=1).reset_coords(drop=True)
    expected = dc_input_energy(ds)
    # A DC input-day without valid samples is NaN in both.
    xr.testing.assert_allclose(totals, expected[ENERGIES], rtol=1e-12, atol=0)


@settings(max_examples=50)
@given(plant_datasets(), st.sampled_from(ALLOCATION_NAMES))
def test_energies_are_non_negative_and_coverage_a_fraction(ds: xr.Dataset, allocation: str) -> None:
    daily = daily_energy(ds, allocation=allocation).compute()
    for name in ENERGIES:
        values = daily[name].values
        assert (values[~np.isnan(values)] >= 0).all()
    coverage = daily["coverage"].values
    assert ((coverage[~np.isnan(coverage)] >= 0) & (coverage[~np.isnan(coverage)] <= 1)).all()
    unused = (daily["enclosure_id"] == "").broadcast_like(daily["coverage"]).values
    for name in (*ENERGIES, "coverage"):
        assert np.isnan(daily[name].values[unused]).all()


@settings(max_examples=50)
@given(plant_datasets(chunked=False), st.data())
def test_dask_equals_numpy_for_any_chunks(ds: xr.Dataset, data: st.DataObject) -> None:
    chunks = data.draw(time_chunks(ds.sizes["time"]), label="chunks")
    chunk_coordinates = data.draw(st.booleans(), label="chunk_coordinates")
    if chunk_coordinates:
        chunked = ds.chunk(time=chunks)
    else:
        chunked = ds.assign({name: ds[name].variable.chunk(time=chunks) for name in ds.data_vars})
    for allocation in ALLOCATION_NAMES:
        expected = daily_energy(ds, allocation=allocation)
        actual = daily_energy(chunked, allocation=allocation)
        assert sum(actual["charged"].chunks[0]) == actual.sizes["time"]
        xr.testing.assert_equal(actual.compute(), expected)  # bit for bit


@settings(max_examples=50)
@given(plant_datasets(), st.sampled_from(ALLOCATION_NAMES))
def test_result_is_lazy(ds: xr.Dataset, allocation: str) -> None:
    with raise_if_dask_computes():
        daily = daily_energy(ds, allocation=allocation)
    if ds["dc_power"].chunks is not None:
        assert_lazy(daily)


@settings(max_examples=50)
@given(plant_datasets(), st.sampled_from([2.0, 4.0, 8.0]), st.sampled_from(ALLOCATION_NAMES))
def test_energy_is_linear_in_power(ds: xr.Dataset, factor: float, allocation: str) -> None:
    # Powers of two scale float32 power exactly, so the energies must scale to rounding
    # (with a limit no scaled sample reaches: beyond it a sample is implausible).
    scaled = ds.assign(dc_power=ds["dc_power"] * np.float32(factor))
    limit = {"dc_power_limit_kw": 1e30}
    expected = daily_energy(ds, allocation=allocation, **limit)[ENERGIES] * factor
    actual = daily_energy(scaled, allocation=allocation, **limit)[ENERGIES]
    xr.testing.assert_allclose(actual.compute(), expected.compute(), rtol=1e-12, atol=0)


@settings(max_examples=50)
@given(plant_datasets())
def test_sign_flip_swaps_charged_and_discharged(ds: xr.Dataset) -> None:
    flipped = ds.assign(dc_power=-ds["dc_power"])
    daily = daily_energy(ds).compute()
    daily_flipped = daily_energy(flipped).compute()
    xr.testing.assert_equal(daily_flipped["charged"], daily["discharged"].rename("charged"))
    xr.testing.assert_equal(daily_flipped["discharged"], daily["charged"].rename("discharged"))
    xr.testing.assert_equal(daily_flipped["coverage"], daily["coverage"])
    # With SOC shares, the enclosure split changes but the DC input totals swap all the same.
    soc = daily_energy(ds, allocation="soc")[ENERGIES].sum("enclosure", min_count=1)
    soc_flipped = daily_energy(flipped, allocation="soc")[ENERGIES].sum("enclosure", min_count=1)
    xr.testing.assert_allclose(
        soc_flipped["charged"].compute(), soc["discharged"].compute(), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("seed", range(3))
def test_daily_sums_of_a_long_regular_series(seed: int) -> None:
    """Hold-to-next of a gapless regular series: every full local day has coverage 1."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-03-30T13:00", "ns")  # local midnight, AEDT
    time = start + np.arange(10 * 96) * np.timedelta64(15, "m")
    dc_power = rng.normal(0, 500, (len(time), 2, 2)).astype(np.float32)
    ds = make_dataset(time, dc_power, n_enclosures=2, interval_seconds=900.0)
    daily = daily_energy(ds)
    coverage = daily["coverage"].sel(inverter="1APCS1", dc_input=1, enclosure=1).values
    # The series ends 10 x 24 h later: the last local day (after the 25-h day) is cut short.
    np.testing.assert_allclose(coverage[:-1], 1.0, rtol=1e-12)
    compare(daily, reference_daily_energy(ds), 1e-9)
