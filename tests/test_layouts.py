"""Other plants' exports, written by hand with pandas (not through ``bessx.synthetic``).

Each layout of a real historian (files per UTC day in both seasons and hemispheres, charge
logged positive, power in W or MW, ...) is written here from one small plant, and the daily
energies are compared with energies computed independently with pandas: every sample holds
one 60-s interval (sample-and-hold, labels at interval start), grouped by the plant's local
calendar date.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bessx
from bessx import synthetic
from bessx.config import ColumnPatterns, load_config
from bessx.errors import ConfigError, ExportError
from bessx.io.engines import ENGINES
from bessx.io.exports import ExportNote, ExportWarning
from bessx.onepass import from_exports

TZ_SYDNEY = "Australia/Sydney"
INVERTERS = ("1APCS1", "1APCS2", "1BPCS1", "1BPCS2")
STEP_S = 60


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    return request.param


def dc_name(inverter: str, dc_input: int) -> str:
    return f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"


def soc_name(enclosure_id: str) -> str:
    return f"System state of charge (%) [Battery system {enclosure_id}]"


def enclosures(inverter: str) -> list[str]:
    block, side, n = inverter[0], inverter[1], inverter.split("PCS")[1]
    return [f"{block}{side}{n}BAT{k}" for k in range(1, 5)]


def plant_frame(start_utc: str, days: int, seed: int = 0) -> pd.DataFrame:
    """A 4-inverter plant (2 DC inputs, 2 enclosures each) at 60 s, kW discharge positive,
    indexed by tz-aware UTC timestamps."""
    rng = np.random.default_rng(seed)
    time = pd.date_range(start_utc, periods=days * 86_400 // STEP_S, freq=f"{STEP_S}s", tz="UTC")
    hours = (time.hour + time.minute / 60).to_numpy()
    cycle = np.sin(2 * np.pi * hours / 24)
    charge = np.cos(2 * np.pi * hours / 24)  # falls while the power is positive
    columns = {}
    for i, inverter in enumerate(INVERTERS):
        for dc_input in (1, 2):
            scale = 600 + 50 * i + 20 * dc_input
            columns[dc_name(inverter, dc_input)] = np.round(
                scale * cycle + rng.normal(0, 5, len(time)), 3
            )
        for k, enclosure_id in enumerate(enclosures(inverter)):
            columns[soc_name(enclosure_id)] = np.round(50 + 30 * charge + k * 0.1, 2)
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(time, name="Timestamp"))
    frame["BESS active power (kW) [BESS]"] = frame.filter(like="DC Input").sum(axis=1) * 0.98
    frame["BESS SOC (%) [BESS]"] = 50 + 30 * charge
    frame["External active power setpoint (kW) [BESS]"] = np.round(frame.iloc[:, 0] * 8, 0)
    return frame


def write_utc_days(frame: pd.DataFrame, folder, transform=None) -> list:
    """One file per UTC day, named by its UTC date, as some historians write them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for date, day in frame.groupby(frame.index.normalize()):
        path = folder / f"{date:%Y%m%d}.parquet"
        (day if transform is None else transform(day)).to_parquet(path, engine="pyarrow")
        paths.append(path)
    return paths


def expected_energy(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Charged and discharged energy per local date and DC input [kWh], by pandas alone."""
    power = frame.filter(like="DC Input Power")
    kwh = power * STEP_S / 3600
    dates = frame.index.tz_convert(timezone).tz_localize(None).normalize()
    discharged = kwh.clip(lower=0).groupby(dates).sum()
    charged = (-kwh).clip(lower=0).groupby(dates).sum()
    return pd.concat({"discharged": discharged, "charged": charged}, axis=1)


def assert_energy_matches(daily, frame: pd.DataFrame, timezone: str) -> None:
    expected = expected_energy(frame, timezone)
    dates = pd.DatetimeIndex(daily["time"].values)
    assert list(dates) == list(expected.index)
    for kind in ("discharged", "charged"):
        per_input = daily[kind].sum("enclosure")
        for inverter in INVERTERS:
            for dc_input in (1, 2):
                got = per_input.sel(inverter=inverter, dc_input=dc_input).values
                want = expected[(kind, dc_name(inverter, dc_input))].to_numpy()
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


def both_paths(folder, **options):
    """The daily energy of the Dataset path and of the one pass (each checked equal)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.simplefilter("ignore", ExportNote)  # a plant without some plant columns
        history = bessx.open_exports(folder, **options)
        classic = bessx.daily_energy(history).compute()
        onepass, _ = bessx.daily_from_exports(folder, **options)
    for kind in ("charged", "discharged", "coverage"):
        np.testing.assert_array_equal(classic[kind].values, onepass[kind].values)
    return history, onepass


# 1. The date in a file's name is a hint ------------------------------------------------
@pytest.mark.parametrize(
    ("timezone", "start"),
    [
        ("Europe/Berlin", "2024-01-08"),  # UTC+1: 01:00 to 00:59 local
        ("Europe/Berlin", "2024-07-08"),  # UTC+2: 02:00 to 01:59 local, refused before
        ("Australia/Sydney", "2024-01-08"),  # UTC+11: 11:00 to 10:59 next day
        ("Australia/Sydney", "2024-07-08"),  # UTC+10
    ],
)
def test_utc_day_files_are_exact_in_every_season(tmp_path, timezone, start, engine):
    frame = plant_frame(start, 3)
    write_utc_days(frame, tmp_path)
    history, daily = both_paths(tmp_path, timezone=timezone, engine=engine)
    assert_energy_matches(daily, frame, timezone)
    assert history.attrs["file_naming"] == "files are named by their UTC date"
    assert daily.attrs["file_naming"] == "files are named by their UTC date"


def test_local_day_files_are_reported_as_named_by_their_local_date(tmp_path):
    frame = plant_frame("2024-07-07T22:00", 2)  # Berlin local midnights
    local = frame.index.tz_convert("Europe/Berlin")
    for date, day in frame.groupby(local.normalize().tz_localize(None)):
        day.to_parquet(tmp_path / f"plant_{date:%Y%m%d}.parquet")
    history, daily = both_paths(tmp_path, timezone="Europe/Berlin")
    assert history.attrs["file_naming"] == "files are named by their local date"
    assert_energy_matches(daily, frame, "Europe/Berlin")


@pytest.mark.parametrize("timezone", ["Europe/Berlin", "Australia/Sydney"])
def test_a_utc_named_file_of_the_wrong_day_is_still_refused(tmp_path, timezone, engine):
    frame = plant_frame("2024-07-08", 1)
    wrong = tmp_path / "20240705.parquet"  # three days off
    frame.to_parquet(wrong)
    with pytest.raises(ExportError, match=r"does not fit the date 2024-07-05 in its name"):
        bessx.open_exports(wrong, timezone=timezone, engine=engine)
    with pytest.raises(ExportError, match=r"20240705.parquet: its rows run from 2024-07-08"):
        bessx.daily_from_exports(wrong, timezone=timezone, engine=engine)


def test_a_file_a_day_late_is_refused_in_both_conventions(tmp_path):
    frame = plant_frame("2024-07-08", 1)
    wrong = tmp_path / "20240707.parquet"
    frame.to_parquet(wrong)
    with pytest.raises(ExportError, match=r"as a local or as a UTC date"):
        bessx.open_exports(wrong, timezone="Europe/Berlin")


# 3. Sign and unit of power --------------------------------------------------------------
def _power_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if "power" in name.lower()]


@pytest.mark.parametrize(
    ("power_sign", "power_unit", "scale"),
    [
        ("charge_positive", "kW", -1.0),
        ("discharge_positive", "W", 1000.0),
        ("discharge_positive", "MW", 0.001),
        ("charge_positive", "MW", -0.001),
    ],
)
def test_sign_and_unit_of_power(tmp_path, power_sign, power_unit, scale, engine):
    frame = plant_frame("2024-03-04", 2)
    columns = _power_columns(frame)

    def convert(day: pd.DataFrame) -> pd.DataFrame:
        return day.assign(**{name: day[name] * scale for name in columns})

    write_utc_days(frame, tmp_path, convert)
    options = {"timezone": "UTC", "engine": engine}
    history, daily = both_paths(tmp_path, power_sign=power_sign, power_unit=power_unit, **options)
    assert_energy_matches(daily, frame, "UTC")
    np.testing.assert_allclose(
        history["plant_power"].values,
        frame["BESS active power (kW) [BESS]"].to_numpy(),
        rtol=1e-12,
    )
    assert history["dc_power"].attrs["units"] == "kW"
    assert (history.attrs["export_power_sign"], history.attrs["export_power_unit"]) == (
        power_sign,
        power_unit,
    )
    health = bessx.health_from_exports(
        tmp_path, power_sign=power_sign, power_unit=power_unit, window="2D", **options
    )
    native = tmp_path / "native"
    write_utc_days(frame, native)
    reference = bessx.health_from_exports(native, window="2D", **options)
    assert np.isfinite(reference["round_trip_efficiency"].values).all()
    np.testing.assert_allclose(
        health["round_trip_efficiency"].values,
        reference["round_trip_efficiency"].values,
        rtol=1e-9,
    )


def test_power_in_w_read_as_kw_is_flagged_not_silent(tmp_path):
    frame = plant_frame("2024-03-04", 1)
    columns = _power_columns(frame)
    write_utc_days(frame, tmp_path, lambda day: day.assign(**{c: day[c] * 1000 for c in columns}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        daily, flags = bessx.daily_from_exports(tmp_path, timezone="UTC")
    # nearly every sample is beyond the 5,000 kW limit: excluded and counted, not silent
    out_of_range = flags["samples"].sel(flag="out_of_range").sum().item()
    assert out_of_range > 0.8 * len(frame) * 8
    assert daily["discharged"].sum().item() < 0.2 * expected_energy(frame, "UTC").sum().sum()


def test_a_bad_sign_or_unit_is_refused_with_the_choices(tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('power_sign = "charge"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(site)
    assert str(raised.value) == (
        f'{site}: \'power_sign\' must be one of "discharge_positive", "charge_positive", '
        'got "charge"'
    )
    site.write_text('power_unit = "kw"\n')
    with pytest.raises(ConfigError, match=r"'power_unit' must be one of \"kW\", \"W\", \"MW\""):
        load_config(site)
    with pytest.raises(ValueError, match=r"power_unit must be one of 'kW', 'W', 'MW', not 'GW'"):
        bessx.open_exports(tmp_path, power_unit="GW", timezone=synthetic.TIMEZONE)
    with pytest.raises(ValueError, match=r"power_sign must be one of"):
        bessx.daily_from_exports(tmp_path, power_sign="negative", timezone=synthetic.TIMEZONE)


# Plant-level columns by pattern, another timestamp column, a plant without a meter ------
def test_plant_columns_by_pattern_and_another_timestamp_column(tmp_path, engine):
    frame = plant_frame("2024-03-04", 2)
    renamed = frame.rename(
        columns={
            "BESS active power (kW) [BESS]": "Plant.P_kW",
            "BESS SOC (%) [BESS]": "Plant.SOC_pct",
            "External active power setpoint (kW) [BESS]": "Plant.Psp_kW",
        }
    ).rename_axis("ts")
    write_utc_days(renamed, tmp_path)
    columns = ColumnPatterns(
        plant_power=r"^Plant\.P_kW$", plant_soc=r"^Plant\.SOC", setpoint=r"Plant\.Psp", time="ts"
    )
    history, daily = both_paths(tmp_path, timezone="UTC", columns=columns, engine=engine)
    assert_energy_matches(daily, frame, "UTC")
    for var, column in (
        ("plant_power", "BESS active power (kW) [BESS]"),
        ("plant_soc", "BESS SOC (%) [BESS]"),
        ("setpoint", "External active power setpoint (kW) [BESS]"),
    ):
        np.testing.assert_array_equal(history[var].values, frame[column].to_numpy())
    health = bessx.health_from_exports(tmp_path, timezone="UTC", columns=columns, window="2D")
    assert np.isfinite(health["conversion_efficiency"].values).all()


def test_another_timestamp_column_must_be_named(tmp_path, engine):
    frame = plant_frame("2024-03-04", 1).rename_axis("ts")
    write_utc_days(frame, tmp_path)
    with pytest.raises(ExportError, match=r"no 'Timestamp' index or column \(another name: "):
        bessx.open_exports(tmp_path, timezone="UTC", engine=engine)
    with pytest.raises(ExportError, match=r"20240304.parquet: no 'time' index or column$"):
        bessx.daily_from_exports(
            tmp_path, timezone="UTC", columns=ColumnPatterns(time="time"), engine=engine
        )


def test_plant_patterns_that_match_nothing_or_twice_are_refused(tmp_path):
    frame = plant_frame("2024-03-04", 1)
    write_utc_days(frame, tmp_path)
    nothing = ColumnPatterns(plant_soc="^Nope$")
    for call in (bessx.open_exports, bessx.daily_from_exports):
        with pytest.raises(ConfigError, match=r"\[columns\] plant_soc = '\^Nope\$' matches no"):
            call(tmp_path, timezone="UTC", columns=nothing)
    twice = ColumnPatterns(plant_power=r".*\(kW\) \[BESS\]")
    with pytest.raises(ExportError, match=r"the \[columns\] plant_power pattern matches 2 col"):
        bessx.open_exports(tmp_path, timezone="UTC", columns=twice)
    site = tmp_path / "site.toml"
    site.write_text("[columns]\nplant_power = '(?P<x>P)'\n")
    with pytest.raises(ConfigError, match=r"without named groups, got .*its named groups are x"):
        load_config(site)


def test_no_plant_meter_is_one_note_per_run(tmp_path):
    frame = plant_frame("2024-03-04", 3).filter(regex="DC Input|Battery system")
    write_utc_days(frame, tmp_path)
    with pytest.warns(UserWarning) as records:
        bessx.open_exports(tmp_path, timezone="UTC")
    messages = [str(record.message) for record in records]
    assert messages == [
        "no plant meter columns: conversion efficiency not computed (no plant column for "
        "plant_power, plant_soc, setpoint in any export)"
    ]
    assert issubclass(records[0].category, ExportNote)
    with pytest.warns(UserWarning) as records:
        bessx.health_from_exports(tmp_path, timezone="UTC", window="3D")
    assert [str(record.message) for record in records] == [
        "no plant meter columns: conversion efficiency not computed (no plant column for "
        "plant_power in any export)"
    ]


def test_a_topology_with_only_its_header_is_a_configuration_error(tmp_path, capsys):
    from bessx.cli import EXIT_USAGE, main

    frame = plant_frame("2024-03-04", 1)
    write_utc_days(frame, tmp_path / "exports")
    topology = tmp_path / "topology.csv"
    topology.write_text("inverter,dc_input,enclosure_id\n")
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(tmp_path / "exports"),
            "--timezone",
            synthetic.TIMEZONE,
            "--topology",
            str(topology),
            "--out",
            str(out),
        ]
    )
    assert code == EXIT_USAGE
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [
        f"bessx: error: {topology}: topology has no rows (one row per enclosure is needed)"
    ]
    assert not out.exists()


# 4. Any number of DC inputs per inverter and enclosures per DC input ---------------------
def wide_plant(n_dc: int, n_enclosures: int, days: int = 2, seed: int = 3):
    """Inverters with ``n_dc`` DC inputs of ``n_enclosures`` each, and their topology."""
    rng = np.random.default_rng(seed)
    time = pd.date_range("2024-05-06", periods=days * 1440, freq="60s", tz="UTC")
    hours = (time.hour + time.minute / 60).to_numpy()
    cycle = np.sin(2 * np.pi * hours / 24)
    charge = np.cos(2 * np.pi * hours / 24)
    columns, rows = {}, []
    for i, inverter in enumerate(INVERTERS[:3]):
        block, side, n = inverter[0], inverter[1], inverter.split("PCS")[1]
        k = 0
        for dc_input in range(1, n_dc + 1):
            scale = 300 * n_enclosures + 40 * i + 15 * dc_input
            power = scale * cycle + rng.normal(0, 5, len(time))
            columns[dc_name(inverter, dc_input)] = np.round(power, 3)
            for _ in range(n_enclosures):
                k += 1
                enclosure_id = f"{block}{side}{n}BAT{k}"
                columns[soc_name(enclosure_id)] = np.round(50 + 30 * charge + k * 0.2, 2)
                rows.append((inverter, dc_input, enclosure_id))
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(time, name="Timestamp"))
    frame["BESS active power (kW) [BESS]"] = frame.filter(like="DC Input").sum(axis=1) * 0.98
    topology = pd.DataFrame(rows, columns=["inverter", "dc_input", "enclosure_id"])
    return frame, topology


@pytest.mark.parametrize(("n_dc", "n_enclosures"), [(1, 3), (3, 2), (4, 1)])
def test_any_number_of_dc_inputs_through_every_output(tmp_path, n_dc, n_enclosures):
    from bessx.cli import main

    frame, topology = wide_plant(n_dc, n_enclosures)
    write_utc_days(frame, tmp_path / "exports")
    topology.to_csv(tmp_path / "topology.csv", index=False)
    options = {"timezone": "Europe/London", "topology": tmp_path / "topology.csv"}
    history, daily = both_paths(tmp_path / "exports", **options)
    assert history.sizes["dc_input"] == max(2, n_dc)
    assert list(daily["dc_input"].values) == list(range(1, max(2, n_dc) + 1))
    assert (daily["n_enclosures"].sel(dc_input=slice(1, n_dc)) == n_enclosures).all()
    health = bessx.health_from_exports(tmp_path / "exports", window="2D", **options)
    capacity = health["usable_capacity"].isel(window=0)  # the first window
    assert np.isfinite(capacity.sel(dc_input=slice(1, n_dc)).values).all()
    assert np.isnan(capacity.sel(dc_input=slice(n_dc + 1, None)).values).all()
    expected = expected_energy(frame, "Europe/London")
    out = tmp_path / "out"
    topology_flag = ["--topology", str(tmp_path / "topology.csv"), "--timezone", "Europe/London"]
    code = main(
        [
            "run",
            str(tmp_path / "exports"),
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            str(out),
            "--quiet",
            *topology_flag,
        ]
    )
    assert code == 0
    table = pd.read_csv(out / "daily_energy.csv")
    per_input = table.groupby(["date", "inverter", "dc_input"])[["discharged_kwh"]].sum()
    for inverter in INVERTERS[:3]:
        for dc_input in range(1, n_dc + 1):
            got = per_input.xs((inverter, dc_input), level=("inverter", "dc_input"))
            want = expected[("discharged", dc_name(inverter, dc_input))]
            # the CSV holds 3 decimals per enclosure
            np.testing.assert_allclose(got["discharged_kwh"], want, atol=1e-3 * n_enclosures)
    assert set(table["dc_input"]) == set(range(1, n_dc + 1))
    health = pd.read_csv(out / "health.csv")
    assert set(health["dc_input"]) == set(range(1, n_dc + 1))
    assert (out / "heatmap_discharged.png").stat().st_size > 0
    assert (out / "capacity_trend.png").stat().st_size > 0


def test_a_dc_input_the_topology_does_not_know_is_reported_once(tmp_path, engine):
    frame = plant_frame("2024-03-04", 3)
    extra = "BESS3 DC Input Power (kW) [Battery Inverter 1APCS1]"
    write_utc_days(frame, tmp_path / "plain")
    write_utc_days(frame.assign(**{extra: 100.0}), tmp_path / "extra")
    options = {"timezone": "UTC", "engine": engine}
    plain, _ = bessx.daily_from_exports(tmp_path / "plain", **options)
    for call in (bessx.open_exports, bessx.daily_from_exports):
        with pytest.warns(UserWarning) as records:
            result = call(tmp_path / "extra", **options)
        assert [str(record.message) for record in records] == [
            "1 DC input power column(s) of a DC input the topology does not have (it has DC "
            f"inputs 1 to 2): {extra!r}; not read, their energy is not in the results: give a "
            "topology that lists their enclosures"
        ]
    daily, _ = result
    np.testing.assert_array_equal(daily["discharged"].values, plain["discharged"].values)


# 2. Several files per period -------------------------------------------------------------
def split_columns(
    frame: pd.DataFrame, groups: list[list[str]], folder, suffixes, timezone: str = "UTC"
) -> None:
    """Each day of ``frame`` (in ``timezone``) as one file per group of columns, all named by
    the date."""
    folder.mkdir(parents=True, exist_ok=True)
    days = frame.index.tz_convert(timezone).tz_localize(None).normalize()
    for date, day in frame.groupby(days):
        for names, suffix in zip(groups, suffixes, strict=True):
            day[names].to_parquet(folder / f"{date:%Y%m%d}_{suffix}.parquet")


def block_columns(frame: pd.DataFrame) -> list[list[str]]:
    block_a = [c for c in frame.columns if "1A" in c or "[BESS]" in c]
    return [block_a, [c for c in frame.columns if c not in block_a]]


def assert_same_results(split_folder, whole_folder, **options) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportNote)
        for health in (False, True):
            got = from_exports(split_folder, health=health, **options)
            want = from_exports(whole_folder, health=health, **options)
            for mine, theirs in zip(got, want, strict=True):
                if theirs is not None:
                    xr.testing.assert_equal(mine, theirs)
        split = bessx.open_exports(split_folder, **options)
        whole = bessx.open_exports(whole_folder, **options)
    xr.testing.assert_equal(split, whole)


def test_files_split_per_block_equal_one_file_per_day(tmp_path, engine):
    frame = plant_frame("2024-07-08", 3)
    write_utc_days(frame, tmp_path / "whole")
    split_columns(frame, block_columns(frame), tmp_path / "split", ["blockA", "blockB"])
    options = {"timezone": "Europe/Berlin", "engine": engine}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = bessx.open_exports(tmp_path / "split", **options)
        daily, _ = bessx.daily_from_exports(tmp_path / "split", **options)
    assert history.attrs["source_files"] == daily.attrs["source_files"] == 6
    grouping = "6 files overlap in time in groups of 2: joined on their timestamps"
    assert history.attrs["file_grouping"].startswith(grouping)
    assert daily.attrs["file_grouping"] == history.attrs["file_grouping"]
    assert_energy_matches(daily, frame, "Europe/Berlin")
    assert_same_results(tmp_path / "split", tmp_path / "whole", **options)


def test_files_split_per_block_in_the_one_pass(tmp_path, engine):
    frame = plant_frame("2024-01-07T13:00", 3)  # Sydney local days, named by them
    split_columns(frame, block_columns(frame), tmp_path / "split", ["A", "B"], TZ_SYDNEY)
    local = frame.index.tz_convert(TZ_SYDNEY)
    (tmp_path / "whole").mkdir()
    for date, day in frame.groupby(local.normalize().tz_localize(None)):
        day.to_parquet(tmp_path / "whole" / f"{date:%Y%m%d}.parquet")
    options = {"timezone": TZ_SYDNEY, "engine": engine}
    daily, _ = bessx.daily_from_exports(tmp_path / "split", **options)
    assert "daily_from_exports" in daily.attrs["history"]  # the one pass, not the classic
    assert_energy_matches(daily, frame, TZ_SYDNEY)
    assert_same_results(tmp_path / "split", tmp_path / "whole", **options)


def test_a_timestamp_missing_from_one_block_is_missing_for_its_columns_only(tmp_path):
    frame = plant_frame("2024-01-08", 2)
    block_a, block_b = block_columns(frame)
    holes = frame.index[100:160]  # an hour of block B lost on the first day
    whole = frame.copy()
    whole.loc[holes, block_b] = np.nan
    write_utc_days(whole, tmp_path / "whole")
    (tmp_path / "split").mkdir()
    for date, day in frame.groupby(frame.index.normalize()):
        day[block_a].to_parquet(tmp_path / "split" / f"{date:%Y%m%d}_a.parquet")
        day[block_b].drop(holes, errors="ignore").to_parquet(
            tmp_path / "split" / f"{date:%Y%m%d}_b.parquet"
        )
    assert_same_results(tmp_path / "split", tmp_path / "whole", timezone="Europe/Berlin")


def test_overlapping_files_must_agree_on_a_shared_column(tmp_path, engine):
    frame = plant_frame("2024-07-08", 1)
    block_a, block_b = block_columns(frame)
    shared = dc_name("1APCS1", 1)
    frame[[*block_a]].to_parquet(tmp_path / "20240708_a.parquet")
    frame[[*block_b, shared]].to_parquet(tmp_path / "20240708_b.parquet")
    options = {"timezone": "Europe/Berlin", "engine": engine}
    with pytest.warns(UserWarning, match=r"20240708_b.parquet: 1 column\(s\) also in 20240708_a"):
        agreed = bessx.open_exports(tmp_path, **options)["dc_power"].values
    np.testing.assert_array_equal(agreed[:, 0, 0], frame[shared].to_numpy())
    changed = frame[[*block_b, shared]].copy()
    changed.iloc[300, -1] += 1.0
    changed.to_parquet(tmp_path / "20240708_b.parquet")
    message = (
        r"20240708_b.parquet: overlaps 20240708_a.parquet in time and differs from it in "
        rf"'{re.escape(shared)}' at 2024-07-08 05:00 UTC"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ExportError, match=message):
            bessx.open_exports(tmp_path, **options).compute()
        with pytest.raises(ExportError, match=message):
            bessx.daily_from_exports(tmp_path, **options)


def test_a_group_is_one_unit_of_the_cache(tmp_path, loads):
    from bessx.cache import SummaryCache

    frame = plant_frame("2024-07-07T22:00", 3)  # Berlin local days, named by them
    columns = block_columns(frame)
    split_columns(frame, columns, tmp_path / "split", ["a", "b"], "Europe/Berlin")
    options = {"timezone": "Europe/Berlin", "cache": SummaryCache(tmp_path / "cache")}
    first, _ = bessx.daily_from_exports(tmp_path / "split", **options)
    assert "daily_from_exports" in first.attrs["history"]  # the one pass, not the classic
    assert_energy_matches(first, frame, "Europe/Berlin")
    assert loads["n"] == 6
    again, _ = bessx.daily_from_exports(tmp_path / "split", **options)
    assert loads["n"] == 6  # every group from the cache
    xr.testing.assert_equal(first, again)
    changed = tmp_path / "split" / "20240709_b.parquet"
    day = pd.read_parquet(changed)
    day.iloc[10, 0] += 50.0
    day.to_parquet(changed)
    third, _ = bessx.daily_from_exports(tmp_path / "split", **options)
    assert loads["n"] == 8  # the changed file's group alone, both of its files
    assert not third["charged"].equals(first["charged"])
    assert len(list((tmp_path / "cache").glob("*.summary"))) == 3


@settings(max_examples=8, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_split_of_the_columns_gives_the_one_file_results(tmp_path_factory, data):
    frame = plant_frame("2024-07-07T14:00", 2)  # Sydney local days
    n_files = data.draw(st.integers(2, 3), label="files per day")
    parts = data.draw(
        st.lists(st.integers(0, n_files - 1), min_size=frame.shape[1], max_size=frame.shape[1]),
        label="file of each column",
    )
    groups = [
        [c for c, part in zip(frame.columns, parts, strict=True) if part == k]
        for k in range(n_files)
    ]
    # every file has a DC power column (a file without one is refused), shared if need be
    first = frame.columns[0]
    groups = [list(dict.fromkeys([first, *names])) for names in groups]
    folder = tmp_path_factory.mktemp("split")
    suffixes = [f"part{k}" for k in range(n_files)]
    split_columns(frame, groups, folder / "split", suffixes, TZ_SYDNEY)
    split_columns(frame, [list(frame.columns)], folder / "whole", ["all"], TZ_SYDNEY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)  # shared columns are kept once
        assert_same_results(folder / "split", folder / "whole", timezone=TZ_SYDNEY)


# 6. What bessx info and summary.md say ---------------------------------------------------
def test_info_and_summary_say_how_the_exports_are_written(tmp_path, capsys):
    from bessx.cli import main

    frame = plant_frame("2024-07-08", 2).filter(regex="DC Input|Battery system")
    extra = "BESS3 DC Input Power (kW) [Battery Inverter 1APCS1]"
    logged = (-frame * 1000).assign(**{extra: 5.0})  # charge positive, in W
    socs = [c for c in frame.columns if "Battery system" in c]
    logged[socs] = frame[socs]
    split_columns(logged, block_columns(logged), tmp_path / "exports", ["a", "b"])
    site = tmp_path / "site.toml"
    site.write_text(
        'data = "exports"\ntimezone = "Europe/Berlin"\npower_sign = "charge_positive"\n'
        'power_unit = "W"\noutputs = ["csv", "summary", "health"]\n'
    )
    assert main(["info", "--config", str(site)]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line[2:15].strip(): line[15:] for line in lines[1:]}
    assert rows["naming"] == "files are named by their UTC date"
    assert rows["power"] == "W, charge positive: converted to kW, discharge positive as it is read"
    assert rows["per period"].startswith("4 files overlap in time in groups of 2: joined on")
    assert rows["note"].startswith("no plant meter columns: conversion efficiency not computed")
    assert rows["problems"] == "1"  # the DC input the topology does not have
    assert "BESS3 DC Input Power" in lines[-1]

    assert (
        main(
            [
                "run",
                "--config",
                str(site),
                "--out",
                str(tmp_path / "out"),
                "--quiet",
            ]
        )
        == 0
    )
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert "- Exports: files are named by their UTC date; 4 files overlap in time" in summary
    assert "power in W, charge positive (converted to kW)" in summary
    assert "- Note: no plant meter columns: conversion efficiency not computed" in summary
    problems = summary.split("## Problems found while reading")[1]
    assert f"'{extra}'; not read, their energy is not in the results" in problems
    table = pd.read_csv(tmp_path / "out" / "daily_energy.csv")
    expected = expected_energy(frame, "Europe/Berlin")
    got = table.groupby("date")["discharged_kwh"].sum().to_numpy()
    want = expected["discharged"].sum(axis=1).to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-3 * 16)


def test_sign_and_unit_flags(tmp_path, capsys):
    from bessx.cli import EXIT_USAGE, main

    frame = plant_frame("2024-03-04", 1)
    write_utc_days(frame.assign(**{c: -frame[c] for c in _power_columns(frame)}), tmp_path)
    bad = ["info", str(tmp_path), "--timezone", "UTC", "--power-sign", "charge"]
    assert main(bad) == EXIT_USAGE
    assert "invalid choice: 'charge'" in capsys.readouterr().err
    assert (
        main(["info", str(tmp_path), "--timezone", "UTC", "--power-sign", "charge_positive"]) == 0
    )
    assert "power        kW, charge positive: converted" in capsys.readouterr().out


def test_files_sharing_only_a_boundary_sample_are_not_joined(tmp_path):
    frame = plant_frame("2024-03-04", 2)
    frame.iloc[:1441].to_parquet(tmp_path / "first.parquet")  # closes with the next midnight
    frame.iloc[1440:].to_parquet(tmp_path / "second.parquet")  # which it opens with
    with pytest.raises(ExportError, match=r"second.parquet: overlaps first.parquet in time"):
        bessx.open_exports(tmp_path, timezone="UTC")
