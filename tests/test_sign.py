"""The power's sign against the physics: an inverted DC input is flagged, a real one never.

Plants with every power column negated (a site logging charge positive) and with one DC
input negated are flagged with their evidence; the reference plant, the demo (with its
faults), a history across the end of daylight saving, idle days and a dead DC input are
not. A hand-written hourly plant gives the evidence's exact numbers.
"""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from bessx import ExportWarning, synthetic
from bessx.health import daily_health
from bessx.onepass import from_exports
from bessx.sign import SIGN_FLAG, SignWarning, sign_check, sign_message
from bessx.synthetic import write_plant
from bessx.testing import make_dataset


def negate(folder: Path, which) -> None:
    for path in folder.glob("*.parquet"):
        table = pq.read_table(path)
        for position, name in enumerate(table.column_names):
            if which(name):
                table = table.set_column(position, name, pc.negate(table.column(position)))
        pq.write_table(table, path)


def zero(folder: Path, which, files: slice = slice(None)) -> None:
    for path in sorted(folder.glob("*.parquet"))[files]:
        table = pq.read_table(path)
        for position, name in enumerate(table.column_names):
            if which(name):
                column = table.column(position)
                table = table.set_column(position, name, pc.multiply(column, 0.0))
        pq.write_table(table, path)


def checked(folder: Path) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        results = from_exports(folder, health=True, timezone=synthetic.TIMEZONE)
    return sign_check(results.health)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sign") / "reference"
    write_plant(folder, "2023-03-01", 4, inverters=3, seed=3)
    return folder


def copy(reference: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "plant"
    shutil.copytree(reference, folder)
    return folder


def is_power(name: str) -> bool:
    return "Power" in name


def one_input(name: str) -> bool:
    return name == "BESS1 DC Input Power (kW) [Battery Inverter 1APCS2]"


# No false alarm -------------------------------------------------------------------------------
def test_the_reference_plant_is_not_flagged(reference):
    table = checked(reference)
    assert not table["inverted"].any()
    assert np.isfinite(table["round_trip"]).all()
    assert (table["round_trip"] < 1.0).all()
    assert sign_message(table) is None


@pytest.mark.parametrize(
    ("start", "days", "faults"),
    [("2023-03-01", 7, True), ("2023-03-31", 4, False)],
    ids=["the demo with its faults", "the end of daylight saving"],
)
def test_the_demo_and_a_dst_change_are_not_flagged(tmp_path, start, days, faults):
    write_plant(tmp_path / "plant", start, days, inverters=4, seed=1, faults=faults)
    assert not checked(tmp_path / "plant")["inverted"].any()


def test_idle_days_and_a_dead_dc_input_are_not_flagged(reference, tmp_path):
    folder = copy(reference, tmp_path)
    zero(folder, is_power, files=slice(1, 3))  # two idle days
    zero(folder, one_input)  # a dead DC input
    table = checked(folder)
    assert not table["inverted"].any()
    dead = table[(table["inverter"] == "1APCS2") & (table["dc_input"] == 1)]
    assert np.isnan(dead["round_trip"]).all(), "undecided, not flagged"


# Inverted signs -------------------------------------------------------------------------------
def test_a_plant_logging_charge_positive_is_flagged_everywhere(reference, tmp_path):
    folder = copy(reference, tmp_path)
    negate(folder, is_power)
    table = checked(folder)
    assert table["inverted"].all()
    assert (table["round_trip"] > 1.02).all()
    assert (table["segments"] == 0).all(), "no discharge segment with falling SOC"
    message = sign_message(table)
    assert message is not None and 'power_sign = "charge_positive"' in message


def test_one_inverted_dc_input_is_flagged_alone(reference, tmp_path):
    folder = copy(reference, tmp_path)
    negate(folder, one_input)
    table = checked(folder)
    flagged = table[table["inverted"]]
    assert flagged[["inverter", "dc_input"]].values.tolist() == [["1APCS2", 1]]
    message = sign_message(table)
    assert message is not None and "power_sign" in message
    assert "charge_positive" not in message
    # the same DC input read right: its round trip is the inverse, within the losses
    right = checked(reference).set_index(["inverter", "dc_input"]).loc[("1APCS2", 1)]
    assert flagged["round_trip"].iloc[0] > 1 / right["round_trip"] - 0.02


def test_bessx_run_reports_the_evidence_and_leaves_the_health_unknown(reference, tmp_path):
    from bessx.cli import main

    folder = copy(reference, tmp_path)
    negate(folder, one_input)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        assert (
            main(
                [
                    "run",
                    str(folder),
                    "--timezone",
                    synthetic.TIMEZONE,
                    "--out",
                    str(tmp_path / "out"),
                    "--quiet",
                ]
            )
            == 0
        )
    quality = pd.read_csv(tmp_path / "out" / "quality.csv")
    rows = quality[quality["flag"] == SIGN_FLAG]
    assert rows[["inverter", "dc_input"]].values.tolist() == [["1APCS2", 1]]
    assert "DC round trip 1.0" in rows["detail"].iloc[0]
    summary = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "`sign_inverted`" in summary and "power_sign" in summary
    health = pd.read_csv(tmp_path / "out" / "health.csv")
    inverted = health[(health["inverter"] == "1APCS2") & (health["dc_input"] == 1)]
    others = health.drop(inverted.index)
    assert inverted["round_trip_efficiency"].isna().all()
    assert inverted["usable_capacity_kwh"].isna().all()
    assert others["round_trip_efficiency"].notna().any()


def test_the_warning_is_a_bessx_warning(reference, tmp_path):
    from bessx.config import Config
    from bessx.pipeline import run

    folder = copy(reference, tmp_path)
    negate(folder, is_power)
    seen = []
    run(
        Config(data=folder, out=tmp_path / "out", timezone=synthetic.TIMEZONE),
        on_warning=seen.append,
    )
    assert [w for w in seen if issubclass(w.category, SignWarning)]


# Hand-computed ------------------------------------------------------------------------------------
def test_the_evidence_of_a_hand_written_plant():
    """One DC input, two enclosures, hourly: each day charges 950 kWh (SOC 10 -> 60 %) and
    discharges 855 kWh (60 -> 10 %). Read right: round trip 855 / 950 = 0.9, capacity
    100 x 1,710 kWh / 100 % = 1,710 kWh. Inverted: 950 / 855 = 1.111, flagged."""
    time = pd.date_range("2024-03-01", periods=72, freq="1h", tz="Europe/Berlin")
    power = np.zeros((72, 1, 1))
    soc = np.full((72, 1, 1, 2), 10.0)
    for day in (0, 24, 48):
        power[day + 8 : day + 10] = -475.0
        power[day + 17 : day + 20] = 285.0
        soc[day + 9] = 35.0
        soc[day + 10 : day + 18] = 60.0
        soc[day + 18], soc[day + 19] = 60.0 - 50.0 / 3, 60.0 - 100.0 / 3
    for sign, round_trip, inverted in ((1.0, 0.9, False), (-1.0, 950 / 855, True)):
        ds = make_dataset(
            time, sign * power, soc, n_enclosures=2, timezone="Europe/Berlin",
            interval_seconds=3600.0,
        )  # fmt: skip
        table = sign_check(daily_health(ds))
        row = table.iloc[0]
        assert row["round_trip"] == pytest.approx(round_trip, abs=1e-9)
        assert bool(row["inverted"]) is inverted
        assert row["soc_change"] == pytest.approx(0.0, abs=1e-9)
