"""Battery health: estimates against the synthetic plant's truths, kernels, laziness, API."""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import bessx
from bessx import synthetic
from bessx.health import PARTIALS, daily_health_partials, summary_section, theil_sen, to_frame
from bessx.testing import assert_lazy, make_dataset, raise_if_dask_computes

SEEDS = (0, 1, 2)
START = "2022-10-01"
DAYS = 120
INVERTERS = 4
WINDOW_DAYS = 30


def open_quietly(folder: Path) -> xr.Dataset:
    """The faulty plant has a duplicate row, which the reader reports."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bessx.ExportWarning)
        return bessx.open_exports(folder, timezone=synthetic.TIMEZONE)


class Estimated:
    """A 120-day plant, its truths and its health estimates."""

    def __init__(self, folder: Path, seed: int) -> None:
        self.plant = synthetic.write_plant(folder, START, DAYS, inverters=INVERTERS, seed=seed)
        self.history = open_quietly(folder)
        self.health = bessx.health(self.history).compute()
        record = json.loads((folder / "health_truth.json").read_text())
        self.inputs = pd.DataFrame(record["dc_inputs"]).set_index(["inverter", "dc_input"])
        daily = pd.read_csv(folder / "health_truth_daily.csv", parse_dates=["date"])
        daily["window"] = pd.Timestamp(START) + pd.to_timedelta(
            (daily["date"] - pd.Timestamp(START)).dt.days // WINDOW_DAYS * WINDOW_DAYS, "D"
        )
        self.daily = daily.groupby(["window", "inverter", "dc_input"]).mean(numeric_only=True)
        enclosures = pd.read_csv(folder / "health_truth_enclosures.csv", parse_dates=["date"])
        enclosures["window"] = pd.Timestamp(START) + pd.to_timedelta(
            (enclosures["date"] - pd.Timestamp(START)).dt.days // WINDOW_DAYS * WINDOW_DAYS, "D"
        )
        self.enclosures = enclosures.groupby(["window", "enclosure_id"])["soc_offset_pct"].mean()

    def fault(self, kind: str) -> synthetic.Fault:
        (fault,) = [fault for fault in self.plant.faults if fault.kind == kind]
        return fault

    @property
    def inverters(self) -> list[str]:
        return [str(name) for name in self.health["inverter"].values]

    def series(self, name: str) -> pd.Series:
        return self.health[name].to_series()


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{seed}" for seed in SEEDS])
def estimated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    return Estimated(tmp_path_factory.mktemp(f"health{request.param}"), request.param)


# Accuracy against the truths --------------------------------------------------------------
def test_windows_and_dims(estimated: Estimated) -> None:
    result = estimated.health
    assert list(result["window"].values) == list(
        pd.date_range(START, periods=4, freq=f"{WINDOW_DAYS}D").values
    )
    assert result["usable_capacity"].dims == ("window", "inverter", "dc_input")
    assert result["soc_offset"].dims == ("window", "inverter", "dc_input", "enclosure")
    assert result["capacity_trend"].dims == ("inverter", "dc_input")
    assert result["conversion_efficiency"].dims == ("window", "direction")
    for name, variable in result.data_vars.items():
        if "flag_meanings" in variable.attrs:  # a CF flag variable: no units
            assert {"long_name", "flag_values"} <= set(variable.attrs), name
        else:
            assert {"units", "long_name", "cell_methods"} <= set(variable.attrs), name
    assert result["usable_capacity"].attrs["units"] == "kWh"
    assert result["capacity_trend"].attrs["units"] == "% a-1"
    assert result.attrs["Conventions"].startswith("CF")
    assert (result["segments"] >= 20).all()


def test_usable_capacity_within_1_percent_in_every_window(estimated: Estimated) -> None:
    estimate = estimated.series("usable_capacity")
    truth = estimated.daily["usable_capacity_kwh"].reindex(estimate.index)
    error = estimate / truth - 1
    assert error.notna().all()
    assert error.abs().max() < 0.01


def test_capacity_trend_within_1_percent_per_year(estimated: Estimated) -> None:
    inputs = estimated.inputs
    first = estimated.daily["usable_capacity_kwh"].xs(pd.Timestamp(START), level="window")
    at_commissioning = (
        inputs["n_enclosures"] * inputs["enclosure_capacity_kwh"] * inputs["discharge_efficiency"]
    )
    truth = -inputs["fade_pct_per_year"] * at_commissioning / first
    trend = estimated.series("capacity_trend")
    assert (trend - truth.reindex(trend.index)).abs().max() < 1.0
    low, high = estimated.series("capacity_trend_low"), estimated.series("capacity_trend_high")
    assert (low <= trend).all() and (trend <= high).all()


def test_round_trip_efficiency_within_0_005(estimated: Estimated) -> None:
    estimate = estimated.health["round_trip_efficiency"]
    truth = estimated.inputs["round_trip_efficiency"].to_xarray()
    assert float(abs(estimate - truth).max()) < 0.005


def test_soc_spread_within_0_2_points(estimated: Estimated) -> None:
    estimate = estimated.series("soc_spread")
    truth = estimated.daily["soc_spread_pct"].reindex(estimate.index)
    assert (estimate - truth).abs().max() < 0.2


def test_soc_offset_within_0_2_points(estimated: Estimated) -> None:
    offset = estimated.health["soc_offset"]
    ids = estimated.health["enclosure_id"].broadcast_like(offset)
    frame = pd.DataFrame(
        {
            "window": np.broadcast_to(
                offset["window"].values[:, None, None, None], offset.shape
            ).ravel(),
            "enclosure_id": ids.values.ravel(),
            "estimate": offset.values.ravel(),
        }
    )
    frame = frame[frame["enclosure_id"] != ""].set_index(["window", "enclosure_id"])
    error = frame["estimate"] - estimated.enclosures.reindex(frame.index)
    assert error.abs().max() < 0.2
    faulty = estimated.fault("soc_offset")
    slot = estimated.health["enclosure_id"].sel(inverter=faulty.inverter, dc_input=faulty.dc_input)
    at = offset.sel(inverter=faulty.inverter, dc_input=faulty.dc_input).where(
        slot == faulty.enclosure_id, drop=True
    )
    siblings = int((slot != "").sum())
    # A reading 4 points high moves its own offset up by 4 on average over its siblings.
    assert float(at.mean()) > 4.0 * (siblings - 1) / siblings - 4.0


def test_conversion_efficiency(estimated: Estimated) -> None:
    conversion = estimated.health["conversion_efficiency"]
    np.testing.assert_allclose(conversion, synthetic.CONVERSION_EFFICIENCY, atol=0.002)


def test_faulty_inputs_are_ranked_first(estimated: Estimated) -> None:
    result = estimated.health
    trend = result["capacity_trend"].stack(dc=("inverter", "dc_input"))
    fast = estimated.fault("fast_fade")
    assert trend.idxmin("dc").item() == (fast.inverter, fast.dc_input)
    efficiency = result["round_trip_efficiency"].median("window").stack(dc=("inverter", "dc_input"))
    lossy = estimated.fault("lossy_dc_input")
    assert efficiency.idxmin("dc").item() == (lossy.inverter, lossy.dc_input)
    weak = estimated.fault("weak_enclosure")
    ratio = result["soc_swing_ratio"].mean("window")
    weakest = ratio.where(ratio == ratio.min(), drop=True)
    assert str(weakest["enclosure_id"].item()) == weak.enclosure_id
    assert float(ratio.min()) == pytest.approx(synthetic.WEAK_FRACTION, abs=0.05)


def test_equivalent_full_cycles(estimated: Estimated) -> None:
    daily = bessx.daily_energy(estimated.history).compute()
    discharged = daily["discharged"].sum("enclosure", min_count=1)
    windows = np.arange(DAYS) // WINDOW_DAYS
    per_window = discharged.groupby(xr.DataArray(windows, dims="time")).sum().values
    expected = per_window / estimated.health["usable_capacity"].values
    np.testing.assert_allclose(estimated.health["equivalent_full_cycles"], expected, rtol=1e-9)
    # 0.78 of the capacity once or twice a day, 30 days a window
    assert 20 < float(estimated.health["equivalent_full_cycles"].median()) < 55


def test_to_frame_and_summary(estimated: Estimated) -> None:
    frame = to_frame(estimated.health)
    assert len(frame) == 4 * 2 * INVERTERS
    assert frame.columns[:3].tolist() == ["window", "inverter", "dc_input"]
    assert frame["window"].iloc[0] == START
    text = summary_section(estimated.health)
    fast, lossy = estimated.fault("fast_fade"), estimated.fault("lossy_dc_input")
    assert text.startswith("## Battery health")
    assert f"**Fastest fade**: {fast.inverter} DC{fast.dc_input}" in text
    assert f"**Lowest round-trip efficiency**: {lossy.inverter} DC{lossy.dc_input}" in text
    assert "**Largest SOC spread**" in text


# Hand-computed example ---------------------------------------------------------------------
def hand_example(chunks: int | None = None) -> xr.Dataset:
    """Two days, hourly: charge 950 kWh (SOC 10 -> 60 %), discharge 855 kWh (60 -> 10 %)."""
    time = pd.date_range("2024-03-01", periods=48, freq="1h", tz="Australia/Sydney")
    power = np.zeros((48, 1, 2))
    soc = np.full((48, 1, 2, 2), 10.0)
    for day in (0, 24):
        power[day + 8 : day + 10] = -475.0
        power[day + 17 : day + 20] = 285.0
        soc[day + 9] = 35.0
        soc[day + 10 : day + 18] = 60.0
        soc[day + 18], soc[day + 19] = 60.0 - 50.0 / 3, 60.0 - 100.0 / 3
    soc[:, 0, 1, 1] += 2.0  # DC input 2: its second enclosure reads 2 points high
    return make_dataset(time, power, soc, n_enclosures=2, interval_seconds=3600.0, chunks=chunks)


def test_hand_example() -> None:
    result = bessx.health(hand_example(), window="2D")
    np.testing.assert_allclose(result["usable_capacity"], 1710.0)
    np.testing.assert_allclose(result["round_trip_efficiency"], 0.9)
    np.testing.assert_allclose(result["equivalent_full_cycles"], 1.0)
    np.testing.assert_allclose(result["segments"], 2.0)
    np.testing.assert_allclose(result["soc_spread"].sel(dc_input=1), 0.0, atol=1e-5)
    np.testing.assert_allclose(result["soc_spread"].sel(dc_input=2), 2.0, atol=1e-5)
    np.testing.assert_allclose(
        result["soc_offset"].sel(dc_input=2).isel(enclosure=[0, 1]), [[[-2.0, 2.0]]], atol=1e-5
    )
    np.testing.assert_allclose(result["conversion_efficiency"], 1.0)
    # one window: no trend
    assert result["capacity_trend"].isnull().all()


def test_min_swing_and_gaps() -> None:
    ds = hand_example()
    assert bessx.health(ds, window="2D", min_swing=50.1)["usable_capacity"].isnull().all()
    # A gap inside the first day's discharge: that segment is not used, that day not complete.
    gappy = ds.drop_isel(time=[18])
    assert bessx.health(gappy, window="2D")["segments"].item(0) == 2  # 2 h hold: no gap
    result = bessx.health(gappy, window="2D", max_gap=1.5)
    np.testing.assert_allclose(result["segments"], 1.0)
    np.testing.assert_allclose(result["usable_capacity"], 1710.0)
    np.testing.assert_allclose(result["round_trip_efficiency"], 0.9)


def test_implausible_samples_are_missing() -> None:
    ds = hand_example()
    power = ds["dc_power"].copy()
    power[12, 0, 0] = 9_000.0  # idle hour, implausible
    soc = ds["soc"].copy()
    soc[5, 0, 0, 0] = 130.0
    implausible = bessx.health(ds.assign(dc_power=power, soc=soc), window="2D")
    power[12, 0, 0] = np.nan
    soc[5, 0, 0, 0] = np.nan
    missing = bessx.health(ds.assign(dc_power=power, soc=soc), window="2D")
    # identical but for the history attribute, which names the time of each call
    xr.testing.assert_identical(
        implausible.assign_attrs(history=""), missing.assign_attrs(history="")
    )
    assert implausible["round_trip_efficiency"].sel(dc_input=1).item() == pytest.approx(0.9)


# numpy and dask ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_plant(tmp_path_factory: pytest.TempPathFactory) -> xr.Dataset:
    folder = tmp_path_factory.mktemp("small")
    synthetic.write_plant(folder, "2023-03-28", 12, inverters=2, seed=7)  # across autumn DST
    return open_quietly(folder)


def test_numpy_and_dask_agree_and_stay_lazy(small_plant: xr.Dataset) -> None:
    with raise_if_dask_computes():
        lazy = bessx.health(small_plant, window="5D")
    assert_lazy(lazy)
    computed = lazy.compute()
    eager = bessx.health(small_plant.compute(), window="5D")
    xr.testing.assert_allclose(computed.drop_attrs(), eager.drop_attrs(), rtol=1e-12)
    rechunked = bessx.health(small_plant.chunk({"time": 1000}), window="5D").compute()
    xr.testing.assert_allclose(rechunked.drop_attrs(), eager.drop_attrs(), rtol=1e-12)
    assert list(computed["window_days"].values) == [5, 5, 2]


def test_accessor_forwards(small_plant: xr.Dataset) -> None:
    with dask.config.set(scheduler="synchronous"):
        via_accessor = small_plant.bess.health(window="6D", min_swing=30.0).compute()
        direct = bessx.health(small_plant, window="6D", min_swing=30.0).compute()
    xr.testing.assert_identical(via_accessor.drop_attrs(), direct.drop_attrs())
    assert small_plant.bess.health.__doc__ == bessx.health.__doc__


def test_bad_arguments() -> None:
    ds = hand_example()
    with pytest.raises(ValueError, match="whole number of days"):
        bessx.health(ds, window="36h")
    with pytest.raises(ValueError, match="whole number of days"):
        bessx.health(ds, window="often")
    with pytest.raises(ValueError, match="min_swing"):
        bessx.health(ds, min_swing=0.0)
    with pytest.raises(ValueError, match="max_gap"):
        bessx.health(ds, max_gap=0.5)
    with pytest.raises(ValueError, match="'soc'"):
        bessx.health(ds.drop_vars("soc"))


# Theil-Sen ----------------------------------------------------------------------------------
def slow_theil_sen(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    points = [(a, b) for a, b in zip(x, y, strict=True) if np.isfinite(b)]
    slopes = sorted(
        (b2 - b1) / (a2 - a1) for (a1, b1), (a2, b2) in itertools.combinations(points, 2)
    )
    if not slopes:
        return np.nan, np.nan, np.nan
    n, k = len(points), len(slopes)
    c = 1.959963984540054 * np.sqrt(n * (n - 1) * (2 * n + 5) / 18)
    lower = min(max(int(np.round((k - c) / 2)) - 1, 0), k - 1)
    upper = min(max(int(np.round((k + c) / 2)), 0), k - 1)
    return float(np.median(slopes)), slopes[lower], slopes[upper]


def test_theil_sen_matches_a_slow_reference() -> None:
    rng = np.random.default_rng(11)
    x = np.sort(rng.uniform(0, 3, 14))
    y = 2.0 - 0.7 * x + rng.normal(0, 0.2, (40, 14))
    y[rng.random(y.shape) < 0.2] = np.nan
    y[0] = np.nan
    y[1, 1:] = np.nan
    slope, low, high = theil_sen(x, y)
    for row in range(y.shape[0]):
        np.testing.assert_allclose(
            [slope[row], low[row], high[row]], slow_theil_sen(x, y[row]), equal_nan=True
        )
    # the interval holds the true slope for most series
    assert np.nanmean((low <= -0.7) & (-0.7 <= high)) > 0.8


# Plot and command line ------------------------------------------------------------------------
def test_capacity_trend_plot(estimated: Estimated) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bessx.health.plot import capacity_trend

    axes = capacity_trend(estimated.health)
    try:
        fast = estimated.fault("fast_fade")
        assert f"fastest fade {fast.inverter} DC input {fast.dc_input}" in axes.get_title()
        labels = [text.get_text() for text in axes.get_legend().get_texts()]
        assert any(label.startswith("95 % interval") for label in labels)
        assert len(axes.lines) == 2 * INVERTERS - 1 + 3  # others, legend proxy, points, trend
    finally:
        plt.close(axes.figure)
    names = ["usable_capacity", "capacity_trend", "capacity_trend_low", "capacity_trend_high"]
    copies = [
        estimated.health[names].assign_coords(
            inverter=[f"{name}x{k}" for name in estimated.inverters]
        )
        for k in range(3)
    ]
    wide = xr.concat(copies, "inverter", data_vars="all", coords="minimal", compat="override")
    axes = capacity_trend(wide)
    try:
        labels = [text.get_text() for text in axes.get_legend().get_texts()]
        assert "other 23 DC inputs: range" in labels
        assert len(axes.lines) == 3  # median, points, trend
    finally:
        plt.close(axes.figure)


def test_run_writes_health_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib.image as mpimg

    from bessx.cli import main

    plant = synthetic.write_plant(tmp_path / "exports", START, 8, inverters=2, seed=3)
    out = tmp_path / "results"
    site = tmp_path / "site.toml"  # the outputs this test reads: no heatmaps or report drawn
    site.write_text(f'timezone = "{synthetic.TIMEZONE}"\noutputs = ["health", "summary"]\n')
    code = main(["run", str(plant.folder), "--out", str(out), "--quiet", "--config", str(site)])
    assert code == 0, capsys.readouterr().err
    from bessx.tables import write_csv

    frame = pd.read_csv(out / "health.csv")
    expected = to_frame(bessx.health(open_quietly(plant.folder)))
    assert len(frame) == 4  # one 30-day window, 4 DC inputs
    assert frame.columns.tolist() == expected.columns.tolist()
    write_csv(expected, tmp_path / "expected.csv")  # the same table, as the run writes it
    assert (out / "health.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()
    assert mpimg.imread(out / "capacity_trend.png").shape[2] in (3, 4)
    summary = (out / "summary.md").read_text()
    assert "## Battery health" in summary and "**Fastest fade**" in summary


def test_methodology_example_runs() -> None:
    """The worked example of docs/methodology.md (section "Battery health") is a doctest."""
    import doctest

    text = (Path(__file__).parents[1] / "docs" / "methodology.md").read_text()
    section = text[text.index("# Battery health") :]
    parser = doctest.DocTestParser()
    test = parser.get_doctest(section, {}, "methodology", "docs/methodology.md", 0)
    assert len(test.examples) > 5
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    runner.run(test)
    assert runner.summarize(verbose=False).failed == 0


# Properties of the kernel ---------------------------------------------------------------------
@settings(max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), split_day=st.integers(1, 3))
def test_partials_do_not_depend_on_block_boundaries(seed: int, split_day: int) -> None:
    """Days computed in one block or in two give the same partials (random SOC and power)."""
    rng = np.random.default_rng(seed)
    per_day = 60
    n_days = 4
    n = per_day * n_days
    power = rng.choice([-600.0, 0.0, 2.0, 700.0], size=(n, 2, 2)) + rng.normal(0, 1, (n, 2, 2))
    power[rng.random(power.shape) < 0.02] = np.nan
    power[rng.random(power.shape) < 0.01] = 9_000.0
    cut = split_day * per_day
    power[cut - 5 : cut, 0, 1] = 700.0  # discharging up to the cut, into the next day
    power[cut - 5 : cut + 2, 1, 0] = 700.0
    power[10:20, 0, 0] = 700.0
    power[[9, 20], 0, 0] = 0.0  # the run is exactly rows 10-19, whatever was drawn
    walk = np.cumsum(-0.002 * np.nan_to_num(np.where(np.abs(power) < 5000, power, 0)), axis=0)
    soc = 50.0 + walk[..., None] + rng.normal(0, 0.5, (n, 2, 2, 3))
    soc[rng.random(soc.shape) < 0.02] = np.nan
    used = np.array([[[True, True, False], [True, True, True]], [[True, False, False]] * 2])
    plant = np.nansum(power, axis=(1, 2)) * 0.98
    hold = np.full(n, 600.0)
    joined = rng.random(n) > 0.02
    joined[-1] = False
    clean = np.r_[8:22, cut - 7 : cut + 4]  # around the forced discharges: no gap, SOC valid
    joined[clean] = True
    soc[clean] = 50.0 + walk[clean, ..., None]
    day_index = np.repeat(np.arange(n_days), per_day)
    day_seconds = np.full(n_days, per_day * 600.0)
    arguments = dict(min_swing=5.0, plant_threshold=10.0)
    whole = daily_health_partials(
        power, soc, plant, hold, joined, day_index, day_seconds, used, **arguments
    )
    # the first block's last sample has its successor in the second block
    first = daily_health_partials(
        power[:cut], soc[:cut], plant[:cut], hold[:cut], joined[:cut], day_index[:cut],
        day_seconds[:split_day], used, **arguments,
    )  # fmt: skip
    second = daily_health_partials(
        power[cut:], soc[cut:], plant[cut:], hold[cut:], joined[cut:],
        day_index[cut:] - split_day, day_seconds[split_day:], used, **arguments,
    )  # fmt: skip
    np.testing.assert_allclose(
        np.concatenate([first, second], axis=1), whole, rtol=1e-12, atol=1e-9
    )
    assert np.all(np.isfinite(whole[PARTIALS.index("segments")]))
    assert whole[PARTIALS.index("segments")].sum() > 0


def test_capacity_trend_of_a_single_window_says_there_is_no_trend(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bessx.health.plot import capacity_trend

    plant = synthetic.write_plant(tmp_path / "exports", START, 3, inverters=2, seed=1)
    health = bessx.health(open_quietly(plant.folder)).compute()  # one 30-day window
    axes = capacity_trend(health)
    try:
        text = " ".join(item.get_text() for item in axes.texts)
        assert "needs at least two" in text and "1 window(s) of 30 days" in text
        assert not axes.lines and axes.get_legend() is None
    finally:
        plt.close(axes.figure)
