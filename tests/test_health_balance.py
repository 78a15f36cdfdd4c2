"""The round trip's energy balance: closed where each day's held energy ends (a discharge
across midnight), and a window whose balance no battery could give is unknown, with a flag
that says why.

The plants here are written by hand with pandas, in the exports' layout, with known one-way
efficiencies: the state of charge follows the DC energy exactly (the SOC of a sample precedes
that sample's energy), so the true round trip is the product of the two efficiencies.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bessx
from bessx import ExportWarning
from bessx.health import ROUND_TRIP_FLAGS, ROUND_TRIP_TOLERANCE, daily_health
from bessx.health.report import summary_section, to_frame
from bessx.onepass import health_from_exports
from bessx.testing import make_dataset

TIMEZONE = "Europe/Berlin"
DAYS = 4
CAPACITY_KWH = 2000.0  # stored energy per 100 % of SOC, per DC input
#: (charge, discharge) efficiency of DC inputs 1 and 2
EFFICIENCIES = {1: (0.98, 0.98), 2: (0.95, 0.99)}
DISCHARGE_KW = 1000.0
POWER = "BESS{dc} DC Input Power (kW) [Battery Inverter 1APCS1]"
SOC = "System state of charge (%) [Battery system 1A1BAT{k}]"
#: the enclosures of each DC input (the usual assumption: BAT1-2 on DC input 1) and the
#: offset of each one's reading from the DC input's mean [percentage points]
ENCLOSURES = {1: {1: -0.5, 2: 0.5}, 2: {3: -1.0, 4: 1.0}}


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)  # no plant meter column
        return function(*args, **kwargs)


def write_midnight_plant(folder: Path, interval: str, days: int = DAYS) -> Path:
    """Daily exports (naive local Berlin time) of a plant that charges 10:00-12:00 and
    discharges 1,000 kW from 23:30 to 00:30 every day, across midnight, back to the same SOC."""
    folder.mkdir()
    time = pd.date_range("2024-01-15", periods=days * 86_400 // pd.Timedelta(interval).seconds,
                         freq=interval)  # fmt: skip
    step_hours = pd.Timedelta(interval).total_seconds() / 3600.0
    minute = time.hour * 60 + time.minute
    discharging = (minute >= 23 * 60 + 30) | (minute < 30)
    charging = (minute >= 10 * 60) & (minute < 12 * 60)
    frame = pd.DataFrame(index=pd.DatetimeIndex(time, name="Timestamp"))
    for dc_input, (eta_charge, eta_discharge) in EFFICIENCIES.items():
        charge_kw = DISCHARGE_KW / (eta_charge * eta_discharge) / 2.0  # 2 h: back to the start
        power = np.where(discharging, DISCHARGE_KW, np.where(charging, -charge_kw, 0.0))
        stored = np.where(power > 0, power / eta_discharge, power * eta_charge) * step_hours
        soc = 60.0 - 100.0 * np.concatenate(([0.0], np.cumsum(stored)[:-1])) / CAPACITY_KWH
        frame[POWER.format(dc=dc_input)] = power
        for enclosure, offset in ENCLOSURES[dc_input].items():
            frame[SOC.format(k=enclosure)] = soc + offset
    for date, day in frame.groupby(frame.index.date):
        day.to_parquet(folder / f"{date:%Y%m%d}.parquet")
    return folder


def truth(dc_input: int) -> float:
    eta_charge, eta_discharge = EFFICIENCIES[dc_input]
    return eta_charge * eta_discharge


def assert_same(actual: xr.Dataset, expected: xr.Dataset) -> None:
    """Identical but for the history attribute (it names the functions and the time)."""
    xr.testing.assert_identical(actual.assign_attrs(history=""), expected.assign_attrs(history=""))


@pytest.mark.parametrize("interval", ["60s", "5min"])
def test_round_trip_across_midnight_within_0_002(tmp_path: Path, interval: str) -> None:
    folder = write_midnight_plant(tmp_path / "plant", interval)
    one_pass = quietly(health_from_exports, folder, window=f"{DAYS}D", timezone=TIMEZONE)
    history = quietly(bessx.open_exports, folder, timezone=TIMEZONE)
    dataset = bessx.health(history, window=f"{DAYS}D").compute()
    assert_same(one_pass, dataset)  # the Dataset path and the one pass, bit for bit
    assert history["dc_power"].chunks[0] == (86_400 // pd.Timedelta(interval).seconds,) * DAYS
    for dc_input in EFFICIENCIES:
        result = one_pass.sel(inverter="1APCS1", dc_input=dc_input)
        assert float(result["round_trip_efficiency"][0]) == pytest.approx(truth(dc_input), abs=2e-3)
        assert int(result["round_trip_flag"][0]) == 0
        # the usable capacity: the energy of the discharge after midnight per SOC drop
        usable = CAPACITY_KWH * EFFICIENCIES[dc_input][1]
        assert float(result["usable_capacity"][0]) == pytest.approx(usable, rel=1e-9)


def test_a_day_before_a_gap_closes_only_when_its_last_sample_idles(tmp_path: Path) -> None:
    """The last day of the data ends discharging: its SOC after that sample's energy is not
    known, so it is left out of the round trip (the others give the truth); with a window
    of that day alone the round trip is unknown."""
    folder = write_midnight_plant(tmp_path / "plant", "5min")
    history = quietly(bessx.open_exports, folder, timezone=TIMEZONE)
    daily = daily_health(history).compute()
    closing = daily.sel(quantity="closing", inverter="1APCS1", dc_input=1).isel(enclosure=0)
    np.testing.assert_array_equal(closing.values, [1.0, 1.0, 1.0, np.nan])
    per_day = bessx.health(history, window="1D").sel(inverter="1APCS1", dc_input=1).compute()
    np.testing.assert_allclose(per_day["round_trip_efficiency"][:3], truth(1), atol=2e-3)
    assert np.isnan(per_day["round_trip_efficiency"][3])
    assert ROUND_TRIP_FLAGS[int(per_day["round_trip_flag"][3])] == "no_complete_day"
    # without the last evening's discharge the last sample idles: that day closes at it
    evening = xr.DataArray(np.arange(history.sizes["time"]) >= history.sizes["time"] - 6,
                           dims="time")  # fmt: skip
    soc_at_2330 = history["soc"].isel(time=-6)
    idle = history.assign(
        dc_power=history["dc_power"].where(~evening, 0.0),
        soc=history["soc"].where(~evening, soc_at_2330),
    )
    last = bessx.health(idle, window="1D").sel(inverter="1APCS1", dc_input=1).compute()
    assert int(last["round_trip_flag"][-1]) == 0
    assert float(last["round_trip_efficiency"][-1]) == pytest.approx(truth(1), abs=2e-3)


# Impossible balances --------------------------------------------------------------------------
def hand_example(discharge_kw: float = 285.0) -> xr.Dataset:
    """Two days, hourly, one DC input with two enclosures: charge 950 kWh (mean SOC 10 ->
    60 %), discharge 3 h (60 -> 10 %); at 285 kW the round trip is 0.9."""
    time = pd.date_range("2024-03-01", periods=48, freq="1h", tz="Australia/Sydney")
    power = np.zeros((48, 1, 1))
    soc = np.full((48, 1, 1, 2), 10.0)
    for day in (0, 24):
        power[day + 8 : day + 10] = -475.0
        power[day + 17 : day + 20] = discharge_kw
        soc[day + 9] = 35.0
        soc[day + 10 : day + 18] = 60.0
        soc[day + 18], soc[day + 19] = 60.0 - 50.0 / 3, 60.0 - 100.0 / 3
    return make_dataset(time, power, soc, n_enclosures=2, interval_seconds=3600.0)


def test_a_round_trip_above_one_is_unknown_and_flagged() -> None:
    plain = bessx.health(hand_example(), window="2D")
    assert float(plain["round_trip_efficiency"].item()) == pytest.approx(0.9)
    # 15 % more discharged than the SOC says: round trip 1.035, within what the day could give
    result = bessx.health(hand_example(285.0 * 1.15), window="2D")
    assert result["round_trip_efficiency"].isnull().all()
    assert ROUND_TRIP_FLAGS[result["round_trip_flag"].item()] == "round_trip_above_one"
    assert np.isfinite(result["equivalent_full_cycles"]).all()
    # within the tolerance it is kept: round trip 1 + tolerance / 2
    inside = bessx.health(hand_example(285.0 * (1 + ROUND_TRIP_TOLERANCE / 2) / 0.9), window="2D")
    kept = float(inside["round_trip_efficiency"].item())
    assert kept == pytest.approx(1.0 + ROUND_TRIP_TOLERANCE / 2)
    flag = result["round_trip_flag"]
    assert flag.attrs["flag_meanings"].split() == list(ROUND_TRIP_FLAGS)
    np.testing.assert_array_equal(flag.attrs["flag_values"], np.arange(len(ROUND_TRIP_FLAGS)))


def test_a_discharge_beyond_charge_and_soc_is_unknown_and_flagged() -> None:
    """One DC input at 3,000 kW (a plausible power) for 8 h of an idle morning while its SOC
    stays put: 24,000 kWh that no charge and no stored energy can give."""
    ds = hand_example()
    power = ds["dc_power"].copy()
    power[24 + 0 : 24 + 8] = 3000.0
    result = bessx.health(ds.assign(dc_power=power), window="2D")
    assert result["round_trip_efficiency"].isnull().all()
    assert ROUND_TRIP_FLAGS[result["round_trip_flag"].item()] == "discharge_beyond_charge_and_soc"
    assert result["equivalent_full_cycles"].isnull().all()
    # the per-day windows: the first day is untouched
    per_day = bessx.health(ds.assign(dc_power=power), window="1D")
    assert float(per_day["round_trip_efficiency"][0].item()) == pytest.approx(0.9)
    assert [ROUND_TRIP_FLAGS[int(v)] for v in per_day["round_trip_flag"].values.ravel()] == [
        "ok",
        "discharge_beyond_charge_and_soc",
    ]
    frame = to_frame(per_day)  # the rows of health.csv say why
    assert list(frame["round_trip_flag"]) == ["ok", "discharge_beyond_charge_and_soc"]
    assert frame["round_trip_efficiency"].isna().tolist() == [False, True]
    assert "- **Round trip refused** (`discharge_beyond_charge_and_soc`" in summary_section(per_day)
    assert "Round trip refused" not in summary_section(bessx.health(ds, window="1D"))


def test_an_export_with_a_burst_of_plausible_power_gives_no_round_trip(tmp_path: Path) -> None:
    """The exports' case: one DC input reads 3,000 kW for four idle hours of one day while its
    SOC stays put; health_from_exports with one-day windows refuses that day's round trip,
    and only that one."""
    folder = write_midnight_plant(tmp_path / "plant", "5min")
    path = sorted(folder.glob("*.parquet"))[1]
    frame = pd.read_parquet(path)
    hours = frame.index.hour
    frame.loc[(hours >= 2) & (hours < 6), POWER.format(dc=1)] = 3000.0
    frame.to_parquet(path)
    result = quietly(health_from_exports, folder, window="1D", timezone=TIMEZONE)
    flags = [
        ROUND_TRIP_FLAGS[int(v)] for v in result["round_trip_flag"].sel(dc_input=1).values.ravel()
    ]
    assert flags == ["ok", "discharge_beyond_charge_and_soc", "ok", "no_complete_day"]
    round_trip = result["round_trip_efficiency"].sel(dc_input=1).values.ravel()
    np.testing.assert_allclose(round_trip[[0, 2]], truth(1), atol=2e-3)
    assert np.isnan(round_trip[1]) and np.isnan(
        result["equivalent_full_cycles"].sel(dc_input=1).values.ravel()[1]
    )
    # the other DC input is untouched
    assert (result["round_trip_flag"].sel(dc_input=2).values.ravel()[:3] == 0).all()
