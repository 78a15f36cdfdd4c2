"""Plausibility rules and data-quality flags: hand-computed cases, properties, the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from bessx.energy import daily_energy
from bessx.kernels.flags import (
    FLAGS,
    POWER_FLAGS,
    _fleet_direction,
    _fleet_power,
    long_runs,
    power_sample_flags,
)
from bessx.kernels.plausibility import RULES, Limits, implausible, masked
from bessx.quality import QualitySettings, quality, quality_table
from bessx.testing import make_dataset, raise_if_dask_computes
from bessx.testing.strategies import plant_datasets, time_chunks, with_implausible_samples

ENERGIES = ["charged", "discharged", "coverage"]
TZ = "Australia/Sydney"


def minutes(start: str, n: int, step: int = 6) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq=f"{step}min", tz=TZ)


def flagged(flags: np.ndarray, name: str) -> np.ndarray:
    return (flags & FLAGS[name].mask) != 0


# Plausibility rules --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("variable", "value", "flag"),
    [
        ("dc_power", np.inf, "non_finite"),
        ("dc_power", -np.inf, "non_finite"),
        ("dc_power", 1e9, "out_of_range"),
        ("dc_power", -1e7, "out_of_range"),
        ("dc_power", 2.0**63, "out_of_range"),
        ("dc_power", 1.7e308, "out_of_range"),
        ("dc_power", 5000.001, "out_of_range"),
        ("soc", np.inf, "non_finite"),
        ("soc", 1e9, "out_of_range"),
        ("soc", -0.5, "out_of_range"),
        ("soc", 100.01, "out_of_range"),
        ("plant_power", -np.inf, "non_finite"),
        ("plant_power", 1e9, "out_of_range"),
        ("plant_power", -1_000_000.5, "out_of_range"),
    ],
)
def test_each_rule_flags_its_samples(variable, value, flag):
    values = np.array([10.0, value, np.nan])
    assert implausible(values, variable).tolist() == [False, True, False]
    assert implausible(values, variable, flag=flag).tolist() == [False, True, False]
    assert np.isnan(masked(values, variable)[1:]).all()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("dc_power", 5000.0),
        ("dc_power", -5000.0),
        ("dc_power", 0.0),
        ("soc", 0.0),
        ("soc", 100.0),
        ("plant_power", 1_000_000.0),
        ("plant_power", -250_000.0),
    ],
)
def test_thresholds_themselves_are_plausible(variable, value):
    assert not implausible(np.array([value]), variable).any()


def test_every_rule_is_documented_data():
    for name, rule in RULES.items():
        assert rule.flag in FLAGS and FLAGS[rule.flag].mask & (1 | 2), name
        assert rule.threshold and rule.description
    assert {rule.variable for rule in RULES.values()} == {"dc_power", "soc", "plant_power"}


def test_power_limit_is_a_setting():
    values = np.array([1200.0, -1300.0])
    assert implausible(values, "dc_power", Limits(1000.0)).tolist() == [True, True]
    assert not implausible(values, "dc_power", Limits(1500.0)).any()
    with pytest.raises(ValueError, match="positive"):
        Limits(0.0)
    with pytest.raises(ValueError, match="positive"):
        Limits(float("nan"))


# Runs --------------------------------------------------------------------------------------
def test_long_runs_end_at_midnight_and_at_breaks():
    mask = np.ones((6, 1), dtype=bool)
    day = np.array([0, 0, 0, 1, 1, 1])
    assert long_runs(mask, day, 3)[:, 0].tolist() == [True] * 6
    assert long_runs(mask, day, 4)[:, 0].tolist() == [False] * 6
    breaks = np.array([0, 0, 1, 0, 0, 0], dtype=bool)[:, None]
    assert long_runs(mask, np.zeros(6, int), 3, breaks)[:, 0].tolist() == [
        False, False, True, True, True, True
    ]  # fmt: skip


def test_long_runs_keep_columns_apart():
    mask = np.array([[1, 1], [1, 1], [0, 1]], dtype=bool)
    runs = long_runs(mask, np.zeros(3, int), 3)
    assert runs.tolist() == [[False, True], [False, True], [False, True]]


# Flags of each sample (hand-computed) ---------------------------------------------------------
def fleet(n: int, value: float = 600.0, inputs: int = 5) -> np.ndarray:
    """``n`` samples of ``inputs`` healthy DC inputs: ``value`` plus a distinct ripple."""
    ripple = np.arange(n)[:, None] * 0.37 + np.arange(inputs)[None, :] * 0.11
    return value + ripple


def test_dead_needs_a_moving_fleet_and_a_long_run():
    power = fleet(20)
    power[:, 0] = 0.2  # dead all along
    power[5:7, 1] = 0.0  # 12 minutes: shorter than dead_minutes
    flags = power_sample_flags(power, np.zeros(20, int), 360.0)
    assert flagged(flags[:, 0], "dead").all()
    assert not flagged(flags[:, 1:], "dead").any()
    idle = power_sample_flags(power * 0.01, np.zeros(20, int), 360.0)  # fleet at ~6 kW
    assert not flagged(idle, "dead").any()


def test_stuck_is_one_value_repeated_while_the_fleet_moves():
    power = fleet(12)
    power[:, 2] = 512.25  # frozen for 72 min at 6-minute samples
    power[6:, 3] = 700.0  # frozen for 36 min
    flags = power_sample_flags(power, np.zeros(12, int), 360.0)
    assert flagged(flags[:, 2], "stuck").all()
    assert flagged(flags[:, 3], "stuck").tolist() == [False] * 6 + [True] * 6
    assert not flagged(flags[:, [0, 1, 4]], "stuck").any()
    # an idle plant holding 0 kW is not stuck
    still = np.zeros((12, 5))
    assert not power_sample_flags(still, np.zeros(12, int), 360.0).any()


def test_sign_anomaly_is_opposite_to_the_fleet():
    power = fleet(10, inputs=9)
    power[:, 1] = -power[:, 1]  # charges while the fleet discharges
    power[:4, 2] = -300.0  # 24 minutes opposite: long enough (15 min)
    power[:2, 4] = -300.0  # 12 minutes: too short
    flags = power_sample_flags(power, np.zeros(10, int), 360.0)
    assert flagged(flags[:, 1], "sign_anomaly").all()
    assert flagged(flags[:, 2], "sign_anomaly").tolist() == [True] * 4 + [False] * 6
    assert not flagged(flags[:, [0, 3, 4, 5, 6, 7, 8]], "sign_anomaly").any()


_LEVELS = [-20.0, -10.0, -9.5, -1.0, 0.0, 1.0, 9.5, 10.0, 10.5, 20.0, np.nan]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_fleet_direction_is_the_median_compared(data):
    """The counting rule gives the sorted median's verdict, ties and halves included."""
    rows, columns = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 9))
    cells = st.one_of(st.sampled_from(_LEVELS), st.floats(-30, 30))
    power = np.array(data.draw(st.lists(cells, min_size=rows * columns, max_size=rows * columns)))
    power = power.reshape(rows, columns)
    up, down = _fleet_direction(power, power > 10.0, power < -10.0, 10.0)
    fleet = _fleet_power(power)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(up, fleet > 10.0)
        np.testing.assert_array_equal(down, fleet < -10.0)


def test_implausible_samples_do_not_move_the_fleet():
    power = fleet(10, value=0.0)  # idle plant
    power[:, :3] = 1e9  # three corrupt DC inputs out of five
    flags = power_sample_flags(power, np.zeros(10, int), 360.0)
    assert flagged(flags[:, :3], "out_of_range").all()
    assert not (flags & ~np.uint8(FLAGS["out_of_range"].mask)).any()


def test_thresholds_come_from_the_settings():
    power = fleet(10)
    power[:, 0] = 0.0
    strict = QualitySettings(dead_minutes=120.0)
    assert not flagged(power_sample_flags(power, np.zeros(10, int), 360.0, strict), "dead").any()
    assert QualitySettings().samples(30.0, 36.0) == 50
    with pytest.raises(ValueError, match="stuck_minutes"):
        QualitySettings(stuck_minutes=-1)


# quality(): counts per day ------------------------------------------------------------------
def plant(n: int = 48, step: int = 30) -> xr.Dataset:
    time = minutes("2023-05-01", n, step)
    power = np.broadcast_to(fleet(n, inputs=6).reshape(n, 3, 2), (n, 3, 2)).copy()
    soc = np.linspace(90.0, 20.0, n)[:, None, None, None] + np.zeros((n, 3, 2, 2))
    soc = soc + np.arange(2) * 0.3  # siblings differ a little
    return make_dataset(time, power, soc, n_enclosures=2, interval_seconds=step * 60.0)


def test_quality_counts_each_flag_by_hand():
    ds = plant()
    power, soc = ds["dc_power"].values.copy(), ds["soc"].values.copy()
    power[3, 0, 0] = np.inf
    power[4, 0, 0] = -1e7
    power[10:20, 1, 1] = np.nan  # 10 missing half-hours
    soc[7, 2, 0, 1] = 1e9
    soc[:, 2, 1, 0] = 15.0  # stuck all day while its DC input carries ~600 kW
    q = quality(ds.assign(dc_power=(ds["dc_power"].dims, power), soc=(ds["soc"].dims, soc)))
    samples = q["samples"].isel(time=0)
    assert samples.sel(flag="non_finite").values.tolist() == [[1, 0], [0, 0], [0, 0]]
    assert samples.sel(flag="out_of_range").values.tolist() == [[1, 0], [0, 0], [0, 0]]
    assert samples.sel(flag="gap").values.tolist() == [[0, 0], [0, 10], [0, 0]]
    assert int(samples.sum()) == 12
    soc_samples = q["soc_samples"].isel(time=0)
    assert int(soc_samples.sel(soc_flag="out_of_range", inverter="1APCS3", dc_input=1)[1]) == 1
    assert int(soc_samples.sel(soc_flag="stuck", inverter="1APCS3", dc_input=2)[0]) == 48
    assert int(soc_samples.sel(soc_flag="stuck").sum()) == 48
    # the CF flag variables
    bits = q["flags"].isel(time=0).values
    assert bits[0, 0] == FLAGS["non_finite"].mask | FLAGS["out_of_range"].mask
    assert bits[1, 1] == FLAGS["gap"].mask
    assert q["flags"].attrs["flag_meanings"].split() == list(POWER_FLAGS)
    assert list(q["flags"].attrs["flag_masks"]) == [FLAGS[name].mask for name in POWER_FLAGS]
    assert q["samples"].attrs["units"] == "1"
    assert q["samples"].attrs["cell_methods"] == "time: sum"


def test_duplicates_dropped_are_counted_per_day():
    ds = plant().assign_coords(duplicates_dropped=("time", np.r_[0, 2, np.zeros(46, int)]))
    counts = quality(ds)["samples"].sel(flag="duplicates_dropped").isel(time=0)
    assert (counts == 2).all()


def test_a_clean_day_has_no_flag():
    q = quality(plant())
    assert int(q["samples"].sum()) == 0 and int(q["soc_samples"].sum()) == 0
    assert (q["flags"] == 0).all()


def test_quality_table_rows():
    ds = plant()
    power = ds["dc_power"].values.copy()
    power[3, 0, 0] = np.inf
    table = quality_table(quality(ds.assign(dc_power=(ds["dc_power"].dims, power))))
    assert list(table.columns) == [
        "date", "inverter", "dc_input", "enclosure_id", "flag", "samples", "detail"
    ]  # fmt: skip
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["inverter"], row["dc_input"], row["enclosure_id"]) == ("1APCS1", 1, "")
    assert (row["flag"], row["samples"]) == ("non_finite", 1)
    assert table["date"].dtype == np.dtype("datetime64[ns]")
    assert quality_table(quality(plant())).empty


@settings(max_examples=30, deadline=None)
@given(plant_datasets(chunked=False), st.data())
def test_quality_dask_equals_numpy_and_stays_lazy(ds, data):
    chunks = data.draw(time_chunks(ds.sizes["time"]), label="chunks")
    expected = quality(ds)
    chunked = ds.assign({name: ds[name].variable.chunk(time=chunks) for name in ds.data_vars})
    with raise_if_dask_computes():
        actual = quality(chunked)
    xr.testing.assert_identical(actual.compute(), expected)


# Implausible samples never reach a result ------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(plant_datasets().flatmap(with_implausible_samples), st.sampled_from(["equal", "soc"]))
def test_implausible_samples_count_as_missing(pair, allocation):
    corrupted, missing = pair
    actual = daily_energy(corrupted, allocation=allocation).compute()
    expected = daily_energy(missing, allocation=allocation).compute()
    xr.testing.assert_equal(actual[ENERGIES], expected[ENERGIES])
    for name in ("charged", "discharged"):
        values = actual[name].values
        assert np.isfinite(values[~np.isnan(values)]).all()


def test_excluding_stuck_samples_is_explicit():
    ds = plant()
    power = ds["dc_power"].values.copy()
    power[:, 0, 0] = 512.25  # stuck all day
    ds = ds.assign(dc_power=(ds["dc_power"].dims, power))
    kept = daily_energy(ds)
    dropped = daily_energy(ds, exclude=["stuck"])
    first = {"inverter": "1APCS1", "dc_input": 1}
    assert float(kept["discharged"].sel(first).sum()) == pytest.approx(512.25 * 24)
    assert np.isnan(dropped["discharged"].sel(first)).all()
    others = {"inverter": ["1APCS2", "1APCS3"]}
    xr.testing.assert_equal(kept[ENERGIES].sel(others), dropped[ENERGIES].sel(others))
    assert dropped.attrs["excluded_flags"] == "stuck" and kept.attrs["excluded_flags"] == ""
    with pytest.raises(ValueError, match="cannot exclude"):
        daily_energy(ds, exclude=["gap"])


def test_daily_energy_carries_the_flags():
    ds = plant()
    power = ds["dc_power"].values.copy()
    power[2, 2, 1] = 1e9
    daily = daily_energy(ds.assign(dc_power=(ds["dc_power"].dims, power)))
    flags = daily["quality_flags"]
    assert flags.dims == ("time", "inverter", "dc_input")
    assert int(flags.sel(inverter="1APCS3", dc_input=2)[0]) == FLAGS["out_of_range"].mask
    assert "flag_masks" in flags.attrs and "flag_meanings" in flags.attrs
    assert daily["soc_quality_flags"].dims == ("time", "inverter", "dc_input", "enclosure")
    assert daily.attrs["dc_power_limit_kw"] == 5000.0
