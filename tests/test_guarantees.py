"""Guarantees: verdicts that flip where the guarantee crosses the measurement, unknown where
the data cannot tell, the bootstrap interval of the usable capacity, bad guarantees refused
in one line, and the outputs of ``bessx run`` with and without ``[guarantees]``."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from test_availability import PLANNED, TIMEZONE, write_site

import bessx
from bessx import synthetic
from bessx.availability import availability
from bessx.cli import EXIT_USAGE, main
from bessx.config import load_config
from bessx.errors import ConfigError
from bessx.guarantees import COLUMNS, guarantee_table, usable_capacity_interval
from bessx.health import daily_health, health_from_daily
from bessx.kernels.guarantees import ratio_interval, verdicts
from bessx.testing import make_dataset


def month_of_availability(dead_hours: int = 24, missing_hours: int = 0) -> xr.Dataset:
    """May 2024, hourly, 10 DC inputs at 500 kW; one dead ``dead_hours``, another without
    data for ``missing_hours``."""
    time = pd.date_range("2024-05-01", periods=24 * 31, freq="1h", tz="UTC")
    power = np.full((len(time), 5, 2), 500.0)
    power[:dead_hours, 0, 0] = 0.0
    power[100 : 100 + missing_hours, 1, 1] = np.nan
    ds = make_dataset(time, power, interval_seconds=3600.0, timezone="UTC")
    return availability(ds).compute()


# ---------------------------------------------------------------------------------------
# verdicts
# ---------------------------------------------------------------------------------------
def test_availability_verdict_flips_at_the_measurement() -> None:
    per_day = month_of_availability()
    measured = 1 - 24 / (10 * 24 * 31)
    below = guarantee_table({"availability": measured - 1e-9}, availability=per_day)
    above = guarantee_table({"availability": measured + 1e-9}, availability=per_day)
    assert below["measured"].iloc[0] == pytest.approx(measured)
    assert below["verdict"].tolist() == ["pass"] and above["verdict"].tolist() == ["fail"]
    assert list(below.columns) == list(COLUMNS)


def test_a_data_outage_widens_the_interval_to_unknown() -> None:
    per_day = month_of_availability(missing_hours=48)
    dispatched = 10 * 24 * 31
    low, high = 1 - (24 + 48) / dispatched, 1 - 24 / dispatched
    measured = 1 - 24 / (dispatched - 48)
    row = guarantee_table({"availability": 0.9}, availability=per_day).iloc[0]
    assert (row["low"], row["measured"], row["high"]) == pytest.approx((low, measured, high))
    verdict = {
        g: guarantee_table({"availability": g}, availability=per_day)["verdict"].iloc[0]
        for g in (low - 1e-6, (low + high) / 2, high + 1e-6)
    }
    assert list(verdict.values()) == ["pass", "unknown", "fail"]


def test_a_month_with_a_day_without_data_is_unknown_never_pass() -> None:
    time = pd.date_range("2024-05-01", periods=24 * 31, freq="1h", tz="UTC")
    keep = (time < "2024-05-10") | (time >= "2024-05-11")  # no sample on 10 May
    power = np.full((int(keep.sum()), 2, 2), 500.0)
    ds = make_dataset(time[keep], power, interval_seconds=3600.0, timezone="UTC")
    per_day = availability(ds)
    row = guarantee_table({"availability": 0.5}, availability=per_day).iloc[0]
    assert row["measured"] == 1.0
    assert row["verdict"] == "unknown"


def test_verdict_kernel() -> None:
    guaranteed = np.full(3, 100.0)
    low, high = np.array([90.0, 99.0, 101.0]), np.array([95.0, 101.0, 110.0])
    assert verdicts(guaranteed, low, high).tolist() == ["fail", "unknown", "pass"]
    assert verdicts(guaranteed, low, high, at_most=True).tolist() == ["pass", "unknown", "fail"]


def fake_health(usable: np.ndarray, efficiency: np.ndarray, cycles: np.ndarray) -> xr.Dataset:
    """A health result of 1 inverter x 2 DC inputs over len(usable) windows of 30 days."""
    n = len(usable)
    dims = ("window", "inverter", "dc_input")
    shape = (n, 1, 2)
    return xr.Dataset(
        {
            "usable_capacity": (dims, np.broadcast_to(usable[:, None, None], shape).copy()),
            "round_trip_efficiency": (dims, np.broadcast_to(efficiency[:, None, None], shape)),
            "equivalent_full_cycles": (dims, np.broadcast_to(cycles[:, None, None], shape)),
        },
        coords={
            "window": pd.date_range("2024-01-01", periods=n, freq="30D").values,
            "window_days": ("window", np.full(n, 30)),
            "inverter": ["1APCS1"],
            "dc_input": [1, 2],
            "n_enclosures": (("inverter", "dc_input"), np.array([[2, 2]])),
        },
        attrs={"window_days": 30},
    )


def test_capacity_retention_uses_the_interval() -> None:
    usable = np.array([1000.0, 990.0, 980.0])
    health = fake_health(usable, np.full(3, 0.9), np.full(3, 25.0))
    interval = xr.Dataset(
        {
            "usable_capacity_low": health["usable_capacity"] - 10.0,
            "usable_capacity_high": health["usable_capacity"] + 10.0,
        }
    )
    curve = [[0, 1.0], [10, 0.7]]
    table = guarantee_table(
        {"capacity_retention": curve, "reference_date": "2024-01-01"},
        health=health,
        capacity_interval=interval,
    )
    first, last = table.iloc[0], table[table["period"] == "2024-03-01"].iloc[0]
    years = (60 + 15) / 365.25  # the middle of the third window
    assert last["guaranteed"] == pytest.approx(1 - 0.3 * years / 10)
    assert (last["low"], last["measured"], last["high"]) == pytest.approx((0.97, 0.98, 0.99))
    assert last["verdict"] == "fail"  # 0.9938 is above the whole interval
    assert (first["low"], first["high"]) == pytest.approx((0.99, 1.01))
    assert first["verdict"] == "unknown"  # 0.9988 lies inside it
    # a curve that asks less passes, one that asks more fails
    lenient = guarantee_table(
        {"capacity_retention": [[0, 0.9], [10, 0.5]], "reference_date": "2024-01-01"},
        health=health,
        capacity_interval=interval,
    )
    assert set(lenient["verdict"]) == {"pass"}
    without = guarantee_table({"capacity_retention": curve}, health=health)
    assert set(without["verdict"]) == {"unknown"}  # no interval: no verdict


def test_round_trip_and_cycles() -> None:
    health = fake_health(np.full(3, 1000.0), np.array([0.86, 0.84, 1.2]), np.full(3, 40.0))
    table = guarantee_table(
        {"round_trip_efficiency": 0.85, "cycles_per_year": 400.0}, health=health
    )
    trip = table[table["metric"] == "round_trip_efficiency"]
    assert trip["verdict"].tolist() == ["pass"] * 2 + ["fail"] * 2 + ["unknown"] * 2
    cycles = table[table["metric"] == "cycles_per_year"]
    assert cycles["measured"].tolist() == pytest.approx([120 * 365.25 / 90] * 3)
    assert set(cycles["verdict"]) == {"fail"}  # 487 a year, more than 400
    assert cycles["scope"].tolist() == ["1APCS1 DC1", "1APCS1 DC2", "plant"]


# ---------------------------------------------------------------------------------------
# the bootstrap interval of the usable capacity
# ---------------------------------------------------------------------------------------
def test_ratio_interval_is_seeded_and_brackets_the_ratio() -> None:
    rng = np.random.default_rng(4)
    energy = rng.normal(1000.0, 50.0, (20, 3))
    drop = rng.normal(50.0, 2.0, (20, 3))
    energy[1:, 2] = np.nan  # a column with a single day: no interval
    first = ratio_interval(energy, drop, scale=100.0, seed=7)
    np.testing.assert_array_equal(first, ratio_interval(energy, drop, scale=100.0, seed=7))
    point = 100.0 * energy[:, :2].sum(axis=0) / drop[:, :2].sum(axis=0)
    assert (first[:2, 0] < point).all() and (point < first[:2, 1]).all()
    assert np.isnan(first[2]).all()


def test_usable_capacity_interval_on_the_health_partials(tmp_path: Path) -> None:

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plant = synthetic.write_plant(tmp_path, "2023-03-01", 6, inverters=1)
        history = bessx.open_exports(
            plant.folder, variables=["dc_power", "soc", "plant_power"], timezone=synthetic.TIMEZONE
        )
    partials = daily_health(history).compute()
    estimate = health_from_daily(partials, window="3D")
    interval = usable_capacity_interval(partials, window="3D")
    usable = estimate["usable_capacity"].values
    low, high = interval["usable_capacity_low"].values, interval["usable_capacity_high"].values
    both = np.isfinite(usable) & np.isfinite(low)
    assert both.any()
    assert (low[both] <= usable[both] + 1e-9).all() and (usable[both] <= high[both] + 1e-9).all()
    assert interval["usable_capacity_low"].attrs["units"] == "kWh"


# ---------------------------------------------------------------------------------------
# bad guarantees: one line naming the key
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[guarantees]\navailability = 0", "'guarantees.availability'"),
        ("[guarantees]\nround_trip_efficiency = 1.2", "'guarantees.round_trip_efficiency'"),
        ("[guarantees]\ncapacity_retention = [[0, 1.0], [5, 0.9], [5, 0.8]]", "capacity_retention"),
        ("[guarantees]\ncapacity_retention = [[0, 1.0], [10, 70]]", "capacity_retention"),
        ("[guarantees]\nuptime = 0.97", "unknown key 'guarantees.uptime'"),
        ("[guarantees]\ncycles_per_year = -1", "'guarantees.cycles_per_year'"),
        ('[availability]\nplanned = [["2024-03-02", "2024-03-01", "all"]]', "ends before"),
        ('[availability]\nplanned = [["2024-03-01", "2024-03-02", "1APCS1"]]', "planned"),
    ],
)
def test_bad_guarantees_are_one_line_naming_the_key(tmp_path: Path, text: str, key: str) -> None:
    site = tmp_path / "site.toml"
    site.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(site)
    message = str(error.value)
    assert "\n" not in message and key in message and str(site) in message


# ---------------------------------------------------------------------------------------
# bessx run
# ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("guarantee-site")
    (folder / "exports").mkdir()
    write_site(folder / "exports")
    return folder


def run(site: Path, text: str, out: str) -> int:
    config = site / f"{out}.toml"
    config.write_text(
        f'data = "exports"\ntimezone = "{TIMEZONE}"\nout = "{out}"\n'
        'outputs = ["summary", "availability"]\n' + text,
        encoding="utf-8",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return main(
            [
                "run",
                "--config",
                str(config),
                "--quiet",
                "--no-cache",
            ]
        )


def test_run_without_guarantees_writes_none(site: Path) -> None:
    assert run(site, "", "plain") == 0
    out = site / "plain"
    assert (out / "availability.csv").is_file() and (out / "heatmap_availability.png").is_file()
    assert not (out / "guarantees.csv").exists()
    assert "## Guarantees" not in (out / "summary.md").read_text(encoding="utf-8")


def test_run_with_guarantees(site: Path) -> None:
    planned = ", ".join(f'["{a}", "{b}", ["{c[0]}"]]' for a, b, c in PLANNED)
    text = f"[availability]\nplanned = [{planned}]\n[guarantees]\navailability = 0.9\n"
    assert run(site, text, "checked") == 0
    out = site / "checked"
    table = pd.read_csv(out / "guarantees.csv")
    assert table.to_dict("records") == [
        {
            "period": "2024-03",
            "metric": "availability",
            "scope": "plant",
            "guaranteed": 0.9,
            "measured": pytest.approx(1 - 5.5 / 52),
            "low": pytest.approx(1 - 6.5 / 53),
            "high": pytest.approx(1 - 5.5 / 53),
            "verdict": "fail",
        }
    ]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    sections = [line for line in summary.splitlines() if line.startswith("## ")]
    assert sections[0] == "## Guarantees" and "## Availability" in sections
    monthly = pd.read_csv(out / "availability.csv", dtype={"dc_input": str})
    plant = monthly[(monthly["date"] == "2024-03") & monthly["inverter"].isna()]
    assert plant["planned_h"].tolist() == [4.0] and plant["unavailable_h"].tolist() == [5.5]


def test_run_refuses_a_planned_outage_of_an_unknown_inverter(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = '[availability]\nplanned = [["2024-03-01", "2024-03-02", ["9ZPCS9"]]]\n'
    assert run(site, text, "unknown") == EXIT_USAGE
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "'availability.planned'" in error[0] and "9ZPCS9" in error[0]
    assert not (site / "unknown" / "availability.csv").exists()
