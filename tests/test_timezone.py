"""The plant's timezone is required: no run cuts local days in a zone nobody gave.

The plant here is written by hand with pandas: three inverters, two DC inputs each, one
enclosure per DC input, tz-aware UTC timestamps every 10 min, two files named without a
date, each one local day of Berlin (22:00 UTC to 21:50 UTC in May, CEST = UTC+2). Every DC
input discharges 100 kW all day long, but DC input 2 of 1APCS3 only 40 kW: 2,400 kWh and
960 kWh a day, each day covered in full.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bessx
from bessx import synthetic
from bessx.cli import EXIT_USAGE, main
from bessx.config import NO_TIMEZONE, Config, require_timezone
from bessx.errors import ConfigError
from bessx.onepass import daily_from_exports, health_from_exports
from bessx.pipeline import run

BERLIN = "Europe/Berlin"
INVERTERS = ("1APCS1", "1APCS2", "1APCS3")
STEP = "600s"
#: Each file: its name (no date in it) and its first timestamp, local midnight in Berlin.
FILES = {"export-a": "2024-04-30 22:00", "export-b": "2024-05-01 22:00"}
WEAK_KW, HEALTHY_KW = 40.0, 100.0


def write_plant(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for name, start in FILES.items():
        time = pd.date_range(start, periods=144, freq=STEP, tz="UTC")
        columns = {}
        for number, inverter in enumerate(INVERTERS, start=1):
            for dc_input in (1, 2):
                power = WEAK_KW if (inverter, dc_input) == ("1APCS3", 2) else HEALTHY_KW
                power_column = f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"
                soc_column = f"System state of charge (%) [Battery system 1A{number}BAT{dc_input}]"
                columns[power_column] = np.full(len(time), power)
                columns[soc_column] = np.full(len(time), 50.0)
        frame = pd.DataFrame(columns, index=pd.Index(time, name="Timestamp"))
        frame.to_parquet(folder / f"{name}.parquet")
    return folder


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_plant(tmp_path_factory.mktemp("utc-plant") / "exports")


def quiet_main(arguments: list[str]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no plant meter: a note
        return main(arguments)


def assert_berlin_days(out: Path) -> None:
    """The local days of Berlin, each covered in full, with the hand-computed energies."""
    table = pd.read_csv(out / "daily_energy.csv")
    assert sorted(table["date"].unique()) == ["2024-05-01", "2024-05-02"]
    assert (table["coverage"] == 1.0).all()
    assert (table["charged_kwh"] == 0.0).all()
    weak = table["enclosure_id"] == "1A3BAT2"
    np.testing.assert_allclose(table.loc[weak, "discharged_kwh"], WEAK_KW * 24)  # 960 kWh
    np.testing.assert_allclose(table.loc[~weak, "discharged_kwh"], HEALTHY_KW * 24)  # 2400


# (a) no timezone: one line, exit 2, nothing written ------------------------------------------
def test_a_run_without_a_timezone_stops_with_one_line(plant: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "bessx", "run", str(plant), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(bessx.__file__).parent.parent)},
    )
    assert result.returncode == EXIT_USAGE
    assert result.stderr.splitlines() == [f"bessx: error: {NO_TIMEZONE}"]
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not out.exists()
    assert sorted(path.name for path in plant.iterdir()) == ["export-a.parquet", "export-b.parquet"]


def test_the_message_says_how_to_give_the_timezone() -> None:
    assert "\n" not in NO_TIMEZONE
    for way in (
        "--timezone Europe/Berlin",
        'timezone = "Europe/Berlin"',
        'timezone="Europe/Berlin"',
    ):
        assert way in NO_TIMEZONE


@pytest.mark.parametrize("command", ["run", "info"])
def test_a_site_file_without_a_timezone_stops_too(
    plant: Path, tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site.toml"
    site.write_text(f'data = "{plant}"\nout = "out"\n', encoding="utf-8")
    assert quiet_main([command, "--config", str(site)]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"bessx: error: {NO_TIMEZONE}"]
    assert captured.out == ""
    assert not (tmp_path / "out").exists()


# (b) the zone from the flag or the site file: local days of that zone --------------------------
@pytest.fixture(scope="module")
def csv_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site file with no timezone, asking for daily_energy.csv alone (all these tests read)."""
    site = tmp_path_factory.mktemp("csv-only") / "site.toml"
    site.write_text('outputs = ["csv"]\n', encoding="utf-8")
    return site


def test_the_flag_gives_the_plants_local_days(plant: Path, tmp_path: Path, csv_only: Path) -> None:
    out = tmp_path / "out"
    arguments = ["run", str(plant), "--timezone", BERLIN, "--out", str(out), "--quiet"]
    assert quiet_main([*arguments, "--config", str(csv_only)]) == 0
    assert_berlin_days(out)


def test_the_site_files_key_gives_the_plants_local_days(plant: Path, tmp_path: Path) -> None:
    site = tmp_path / "site.toml"
    site.write_text(
        f'data = "{plant}"\ntimezone = "{BERLIN}"\nout = "out"\noutputs = ["csv"]\n',
        encoding="utf-8",
    )
    assert quiet_main(["run", "--config", str(site), "--quiet"]) == 0
    assert_berlin_days(tmp_path / "out")


def test_another_zone_cuts_other_days(plant: Path, tmp_path: Path, csv_only: Path) -> None:
    """Sydney's midnight (UTC+10) is 08:00 in Berlin: the same samples make three partial days."""
    out = tmp_path / "out"
    arguments = ["run", str(plant), "--timezone", "Australia/Sydney", "--out", str(out), "--quiet"]
    assert quiet_main([*arguments, "--config", str(csv_only)]) == 0
    table = pd.read_csv(out / "daily_energy.csv")
    first = table[table["enclosure_id"] == "1A1BAT1"].set_index("date")
    # data from 22:00 UTC on 30 April: 16 of the 24 hours of 1 May in Sydney (14:00 UTC on)
    np.testing.assert_allclose(first["coverage"], [16 / 24, 1.0, 8 / 24], atol=1e-4)
    np.testing.assert_allclose(first["discharged_kwh"], [1600.0, 2400.0, 800.0])


def test_info_shows_the_zone_given(plant: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert quiet_main(["info", str(plant), "--timezone", BERLIN]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"  timezone     {BERLIN}" in lines
    assert "  local days   2024-05-01 to 2024-05-02: 2 with data, 0 missing" in lines


# (c) the library: the configuration error, with the same message -------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda folder: bessx.open_exports(folder),
        lambda folder: daily_from_exports(folder),
        lambda folder: health_from_exports(folder, window="1D"),
        lambda folder: run(Config(data=folder)),
        lambda folder: bessx.open_exports(folder, timezone=""),
    ],
    ids=["open_exports", "daily_from_exports", "health_from_exports", "run", "empty"],
)
def test_the_library_raises_the_configuration_error(plant: Path, call) -> None:
    with pytest.raises(ConfigError) as error:
        call(plant)
    assert str(error.value) == NO_TIMEZONE


def test_the_library_reads_the_plants_local_days(plant: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily, _ = daily_from_exports(plant, timezone=BERLIN)
        ds = bessx.open_exports(plant, timezone=BERLIN)
    assert ds.attrs["timezone"] == daily.attrs["timezone"] == BERLIN
    dates = pd.DatetimeIndex(daily["time"].values).strftime("%Y-%m-%d")
    assert list(dates) == ["2024-05-01", "2024-05-02"]
    discharged = daily["discharged"].sum("enclosure")
    weak = discharged.sel(inverter="1APCS3", dc_input=2).values
    np.testing.assert_allclose(weak, [WEAK_KW * 24] * 2)  # kWh per local day
    np.testing.assert_allclose(float(discharged.sum()), 2 * (5 * HEALTHY_KW + WEAK_KW) * 24)
    np.testing.assert_array_equal(daily["coverage"].max("enclosure").values, 1.0)


def test_require_timezone() -> None:
    assert require_timezone(BERLIN) == BERLIN
    for missing in (None, "", "  "):
        with pytest.raises(ConfigError, match=r"^no timezone: "):
            require_timezone(missing)
    assert Config().timezone is None  # a configuration may leave it out: a run may not


# (d) the demo knows its plant's zone and writes it down -----------------------------------------
def test_the_demo_writes_its_site_file_and_runs_again_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "demo"
    args = ["demo", "--out", str(demo), "--days", "1", "--inverters", "2", "--quiet"]
    assert quiet_main(args) == 0
    site = demo / "site.toml"
    from bessx.config import load_config

    config = load_config(site)
    assert config.timezone == synthetic.TIMEZONE == "Australia/Sydney"
    assert (config.data, config.out) == (demo / "exports", demo / "results")
    assert (demo / "results" / "daily_energy.csv").is_file()
    capsys.readouterr()

    again = demo / "results-soc"
    rerun = ["run", "--config", str(site), "--allocation", "soc", "--out", str(again), "--quiet"]
    assert quiet_main(rerun) == 0
    assert_same_days(again, demo / "results")
    assert quiet_main(["info", "--config", str(site)]) == 0
    assert "  timezone     Australia/Sydney" in capsys.readouterr().out.splitlines()
    assert quiet_main(args) == 0  # the demo replaces its own site file


def assert_same_days(one: Path, other: Path) -> None:
    first = pd.read_csv(one / "daily_energy.csv")
    second = pd.read_csv(other / "daily_energy.csv")
    assert list(first["date"].unique()) == list(second["date"].unique()) == ["2022-10-01"]


def test_the_demo_leaves_a_site_file_it_did_not_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    (demo / "site.toml").write_text('timezone = "Europe/Berlin"\n', encoding="utf-8")
    args = ["demo", "--out", str(demo), "--days", "1", "--inverters", "1", "--quiet"]
    assert quiet_main(args) == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"bessx: error: {demo / 'site.toml'}: exists and was not written by bessx demo; "
        "it is left alone: choose another --out"
    ]
    assert (demo / "site.toml").read_text(encoding="utf-8") == 'timezone = "Europe/Berlin"\n'
    assert not (demo / "exports").exists()
