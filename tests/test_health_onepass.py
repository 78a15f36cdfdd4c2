"""Battery health from the one pass: the same partials and estimates as the Dataset path, bit
for bit, whatever the split of the history into files; its cache; its fallbacks."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

import bessx
from bessx import ExportWarning, synthetic
from bessx.cache import SummaryCache
from bessx.errors import CacheWarning
from bessx.health import daily_health, health_from_daily
from bessx.io.exports import export_paths
from bessx.onepass import (
    HealthSettings,
    NotOnePass,
    Settings,
    combine,
    from_exports,
    health_from_exports,
    summarise_export,
)
from bessx.synthetic import write_plant

SEEDS = (0, 1, 2)
DAYS = 5
# across the end of daylight saving (2 April 2023, a 25-hour day in Sydney)
START = "2023-03-30"
POWER = "BESS1 DC Input Power (kW) [Battery Inverter 1APCS1]"
OTHER_POWER = "BESS2 DC Input Power (kW) [Battery Inverter 1APCS2]"
SOC = "System state of charge (%) [Battery system 1A1BAT1]"
PLANT = "BESS active power (kW) [BESS]"
VARIABLES = ("dc_power", "soc", "plant_power")


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{seed}" for seed in SEEDS])
def plant(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp(f"health-onepass{request.param}")
    write_plant(folder, START, DAYS, inverters=2, seed=request.param)
    return folder


@pytest.fixture(scope="module")
def frames(plant: Path) -> dict[str, pd.DataFrame]:
    return {path.name: pq.read_table(path).to_pandas() for path in export_paths(plant)}


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        return function(*args, **kwargs)


def dataset_partials(folder: Path, **options) -> xr.DataArray:
    """The Dataset path: open_exports with the plant meter, then daily_health."""
    engine = options.pop("engine", "auto")
    history = quietly(
        bessx.open_exports, folder, variables=VARIABLES, engine=engine, timezone=synthetic.TIMEZONE
    )
    return daily_health(history, **options).compute()


def one_pass_partials(folder: Path, **options) -> xr.DataArray:
    results = quietly(from_exports, folder, health=True, timezone=synthetic.TIMEZONE, **options)
    assert results.health is not None
    return results.health


def assert_same(actual: xr.DataArray | xr.Dataset, expected: xr.DataArray | xr.Dataset) -> None:
    """Identical but for the history attribute (it names the functions and the time)."""
    xr.testing.assert_identical(actual.assign_attrs(history=""), expected.assign_attrs(history=""))


def write_files(
    frames: dict[str, pd.DataFrame], folder: Path, days_per_file: Sequence[int]
) -> Path:
    """The daily frames, joined into files of ``days_per_file`` consecutive days each."""
    folder.mkdir()
    names = sorted(frames)
    assert sum(days_per_file) == len(names)
    first = 0
    for number, count in enumerate(days_per_file):
        joined = pd.concat([frames[name] for name in names[first : first + count]])
        joined.to_parquet(folder / f"part-{number:02d}.parquet")  # no date in the name
        first += count
    return folder


# The one pass equals the Dataset path -------------------------------------------------------
def test_partials_and_health_equal_the_dataset_path(plant: Path) -> None:
    expected = dataset_partials(plant)
    assert_same(one_pass_partials(plant, soc=False, daily=False), expected)
    assert_same(one_pass_partials(plant, allocation="soc"), expected)
    assert int(expected.sel(quantity="segments").sum()) > 0
    history = quietly(bessx.open_exports, plant, variables=VARIABLES, timezone=synthetic.TIMEZONE)
    for options in ({}, {"window": "2D", "min_swing": 30.0, "max_gap": 1.5}):
        assert_same(
            quietly(health_from_exports, plant, timezone=synthetic.TIMEZONE, **options),
            bessx.health(history, **options).compute(),
        )


def test_both_engines_give_the_same_partials(plant: Path) -> None:
    for engine in ("polars", "pyarrow"):
        assert_same(one_pass_partials(plant, engine=engine), dataset_partials(plant, engine=engine))


def test_the_daily_results_do_not_change_with_the_health(plant: Path) -> None:
    for soc in (False, True):
        alone = quietly(from_exports, plant, soc=soc, timezone=synthetic.TIMEZONE)
        both = quietly(from_exports, plant, soc=soc, health=True, timezone=synthetic.TIMEZONE)
        assert alone.health is None and both.health is not None
        assert_same(both.daily, alone.daily)
        assert_same(both.flags, alone.flags)


@pytest.mark.parametrize("days_per_file", [(2, 3), (1, 4), (3, 1, 1), (5,)])
def test_any_split_at_day_boundaries(
    frames: dict[str, pd.DataFrame], tmp_path: Path, days_per_file: tuple[int, ...]
) -> None:
    folder = write_files(frames, tmp_path / "split", days_per_file)
    assert len(export_paths(folder)) == len(days_per_file)
    expected = dataset_partials(folder)
    assert_same(one_pass_partials(folder, daily=False, soc=False), expected)
    # split otherwise, the sums of the discharge segments may round otherwise: the
    # partials of daily files agree to rounding
    daily_files = one_pass_partials(write_files(frames, tmp_path / "daily", [1] * DAYS))
    xr.testing.assert_allclose(
        expected.assign_attrs(history=""), daily_files.assign_attrs(history=""), rtol=1e-12
    )


def test_boundary_samples_are_joined_exactly(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """At each file boundary: a discharge running across midnight into the next file, a
    file that ends early (a gap longer than max_gap: its last sample holds one interval), a
    missing last power sample, the plant meter active or idle on the last sample."""
    changed = {name: frame.copy() for name, frame in frames.items()}
    names = sorted(changed)
    for number, name in enumerate(names[:-1]):
        this, following = changed[name], changed[names[number + 1]]
        this.iloc[-40:, this.columns.get_loc(POWER)] = 700.0
        following.iloc[:30, following.columns.get_loc(POWER)] = 700.0
        soc = this.columns.get_loc(SOC)
        this.iloc[-40:, soc] = np.linspace(60.0, 30.0, 40)
        plant_power = this.columns.get_loc(PLANT)
        this.iloc[-1, plant_power] = 5000.0 if number % 2 else 0.0
        if number == 1:
            changed[name] = this.iloc[:-25]  # ends 15 minutes early
        if number == 2:
            this.iloc[-1, this.columns.get_loc(OTHER_POWER)] = np.nan
    folder = write_files(changed, tmp_path / "boundaries", [1] * DAYS)
    expected = dataset_partials(folder)
    assert_same(one_pass_partials(folder), expected)
    assert_same(
        one_pass_partials(folder, max_gap=10.0, min_swing=5.0),
        dataset_partials(folder, max_gap=10.0, min_swing=5.0),
    )


def test_exports_without_a_plant_meter(frames: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    changed = {name: frame.drop(columns=[PLANT]) for name, frame in frames.items()}
    folder = write_files(changed, tmp_path / "no-plant", [1] * DAYS)
    expected = dataset_partials(folder)
    assert expected.sel(quantity="plant_discharged").notnull().all()  # 0: never active
    assert (expected.sel(quantity="plant_complete") == 0).all()
    assert_same(one_pass_partials(folder, daily=False, soc=False), expected)
    health = quietly(health_from_exports, folder, timezone=synthetic.TIMEZONE)
    assert health["conversion_efficiency"].isnull().all()


def test_implausible_samples_are_missing_in_the_health(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    results = {}
    for label, power, soc, plant in (
        ("bad", (np.inf, 1e9, -1e7, 3000.0), 1e9, (-np.inf, 1e9, -2e6)),
        ("missing", (np.nan,) * 4, np.nan, (np.nan,) * 3),
    ):
        changed = {name: frame.copy() for name, frame in frames.items()}
        frame = changed[sorted(changed)[2]]
        for row, value in zip((100, 900, 1500, 2000), power, strict=True):
            frame.iloc[row, frame.columns.get_loc(POWER)] = value
        frame.iloc[1200, frame.columns.get_loc(SOC)] = soc
        for row, value in zip((300, 1000, 1700), plant, strict=True):
            frame.iloc[row, frame.columns.get_loc(PLANT)] = value
        folder = write_files(changed, tmp_path / label, [1] * DAYS)
        options = {"dc_power_limit_kw": 2500.0}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ExportWarning)
            found = from_exports(folder, health=True, timezone=synthetic.TIMEZONE, **options)
        assert found.health is not None
        results[label] = found.health
        notes = [str(w.message) for w in caught if "plant meter" in str(w.message)]
        if label == "bad":  # reported, naming the file
            assert notes == [
                f"{folder / 'part-02.parquet'}: 3 implausible plant meter sample(s) (infinite, "
                "or beyond 1,000,000 kW) treated as missing"
            ]
        else:
            assert notes == []
        assert_same(results[label], dataset_partials(folder, **options))
    assert_same(results["bad"], results["missing"])
    assert np.isfinite(results["bad"].sel(quantity="discharged")).all()
    assert np.isfinite(results["bad"].sel(quantity="plant_discharged")).all()


# The cache ------------------------------------------------------------------------------------
def test_a_warm_run_equals_a_cold_one(plant: Path, tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path / "cache")
    cold = quietly(health_from_exports, plant, cache=cache, timezone=synthetic.TIMEZONE)
    assert (cache.hits, cache.misses) == (0, DAYS)
    warm = quietly(
        health_from_exports,
        plant,
        cache=SummaryCache(tmp_path / "cache"),
        timezone=synthetic.TIMEZONE,
    )
    assert_same(warm, cold)
    again = SummaryCache(tmp_path / "cache")
    quietly(
        health_from_exports, plant, cache=again, min_swing=30.0, timezone=synthetic.TIMEZONE
    )  # another setting
    assert (again.hits, again.misses) == (0, DAYS)
    both = SummaryCache(tmp_path / "cache")
    first = quietly(from_exports, plant, health=True, cache=both, timezone=synthetic.TIMEZONE)
    second = quietly(from_exports, plant, health=True, cache=both, timezone=synthetic.TIMEZONE)
    assert both.hits == DAYS
    for got, want in zip(second, first, strict=True):
        if want is None:  # a result not asked for
            assert got is None
            continue
        assert_same(got, want)
    assert_same(health_from_daily(second.health), cold)


def test_a_torn_entry_is_recomputed(plant: Path, tmp_path: Path) -> None:
    cache = SummaryCache(tmp_path / "cache")
    cold = quietly(health_from_exports, plant, cache=cache, timezone=synthetic.TIMEZONE)
    entry = sorted((tmp_path / "cache").glob("*.summary"))[1]
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    again = SummaryCache(tmp_path / "cache")
    with pytest.warns(CacheWarning, match="cache entry discarded"):
        assert_same(
            quietly(health_from_exports, plant, cache=again, timezone=synthetic.TIMEZONE), cold
        )
    assert (again.hits, again.misses) == (DAYS - 1, 1)


# Where the one pass cannot join the files -------------------------------------------------------
def test_a_day_split_over_files_takes_the_classic_path(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    folder = tmp_path / "halves"
    folder.mkdir()
    for number, name in enumerate(sorted(frames)):
        frame = frames[name]
        middle = len(frame) // 2
        frame.iloc[:middle].to_parquet(folder / f"part-{number:02d}a.parquet")
        frame.iloc[middle:].to_parquet(folder / f"part-{number:02d}b.parquet")
    settings = Settings(
        daily=False, soc=False, health=HealthSettings(), timezone=synthetic.TIMEZONE
    )
    summaries = [summarise_export(path, settings) for path in export_paths(folder)]
    with pytest.raises(NotOnePass, match="shares a local day"):
        combine(summaries, settings)
    assert_same(one_pass_partials(folder, daily=False), dataset_partials(folder))


def test_a_file_with_another_layout_takes_the_classic_path(
    frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """An inverter missing from one export: its columns give that file another layout."""
    changed = dict(frames)
    name = sorted(changed)[1]
    changed[name] = changed[name].drop(
        columns=[column for column in changed[name] if "1APCS2]" in column or "1A2BAT" in column]
    )
    folder = write_files(changed, tmp_path / "missing-inverter", [1] * DAYS)
    settings = Settings(health=HealthSettings(), timezone=synthetic.TIMEZONE)
    summaries = [summarise_export(path, settings) for path in export_paths(folder)]
    with pytest.raises(NotOnePass, match="another plant layout"):
        quietly(combine, summaries, settings)
    expected = dataset_partials(folder)
    assert np.isnan(expected.sel(quantity="discharged", inverter="1APCS2").isel(time=1)).all()
    results = quietly(from_exports, folder, health=True, timezone=synthetic.TIMEZONE)
    assert_same(results.health, expected)
    assert_same(results.daily, quietly(from_exports, folder, timezone=synthetic.TIMEZONE).daily)


def test_a_missing_soc_column_with_a_given_topology_is_joined_exactly(
    plant: Path, frames: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    changed = dict(frames)
    name = sorted(changed)[1]
    changed[name] = changed[name].drop(columns=[SOC])
    folder = write_files(changed, tmp_path / "missing-soc", [1] * DAYS)
    topology = plant / "topology.csv"
    settings = Settings(
        topology=tuple(
            bessx.topology.read_topology(topology)
            .table[["inverter", "dc_input", "enclosure_id", "slot"]]
            .itertuples(index=False, name=None)
        ),
        health=HealthSettings(),
        timezone=synthetic.TIMEZONE,
    )
    summaries = [summarise_export(path, settings) for path in export_paths(folder)]
    results = quietly(combine, summaries, settings, topology=topology)  # no NotOnePass
    history = quietly(
        bessx.open_exports,
        folder,
        variables=VARIABLES,
        topology=topology,
        timezone=synthetic.TIMEZONE,
    )
    expected = daily_health(history).compute()
    assert np.isnan(expected.sel(quantity="soc_change").isel(time=1, inverter=0, dc_input=0)).all()
    assert_same(results.health, expected)
    assert_same(one_pass_partials(folder, topology=topology), expected)


# bessx run ------------------------------------------------------------------------------------
def test_bessx_run_reads_each_export_once_for_everything(
    plant: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loads: dict[str, int]
) -> None:
    from bessx.cli import main
    from bessx.health import to_frame
    from bessx.io import exports
    from bessx.tables import write_csv

    def refuse(*args, **kwargs):
        raise AssertionError("the run opened the exports a second time")

    expected = to_frame(
        bessx.health(
            quietly(bessx.open_exports, plant, variables=VARIABLES, timezone=synthetic.TIMEZONE)
        )
    )
    loads["n"] = 0
    monkeypatch.setattr(exports, "open_exports", refuse)
    out = tmp_path / "out"
    status = quietly(
        main,
        [
            "run",
            str(plant),
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            str(out),
            "--quiet",
            "--no-cache",
        ],
    )
    assert status == 0
    assert loads["n"] == DAYS
    write_csv(expected, tmp_path / "expected.csv")
    assert (out / "health.csv").read_bytes() == (tmp_path / "expected.csv").read_bytes()


def test_health_from_exports_checks_its_arguments(plant: Path) -> None:
    with pytest.raises(ValueError, match="whole number of days"):
        health_from_exports(plant, window="36h", timezone=synthetic.TIMEZONE)
    with pytest.raises(ValueError, match="min_swing"):
        health_from_exports(plant, min_swing=0.0, timezone=synthetic.TIMEZONE)
    with pytest.raises(ValueError, match="max_gap"):
        health_from_exports(plant, max_gap=0.5, timezone=synthetic.TIMEZONE)
    with pytest.raises(ValueError, match="the daily results, the health or both"):
        Settings(daily=False, timezone=synthetic.TIMEZONE)
