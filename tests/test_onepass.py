"""One pass per file: the same results as open_exports + daily_energy + quality, bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from bessx import ExportWarning, synthetic
from bessx.io.exports import export_paths
from bessx.onepass import (
    NotOnePass,
    Settings,
    _classic,
    combine,
    daily_from_exports,
    summarise_export,
)
from bessx.quality import QualitySettings
from bessx.synthetic import write_plant


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onepass")
    return write_plant(folder, "2022-10-01", 3, inverters=6, seed=4)  # DST day, all faults


def without_history(ds: xr.Dataset) -> xr.Dataset:
    """The history attribute names the function and the time: everything else must match."""
    return ds.assign_attrs(history="")


def classic(files, **options):
    settings = Settings(
        engine=options.pop("engine", "polars"),
        interval=options.pop("interval", None),
        exclude=tuple(options.pop("exclude", ())),
        quality=options.pop("quality", QualitySettings()),
        timezone=synthetic.TIMEZONE,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        results = _classic(files, settings, options.pop("topology", None), **options)
    return results.daily, results.flags


@pytest.mark.parametrize("engine", ["polars", "pyarrow"])
@pytest.mark.parametrize("allocation", ["equal", "soc"])
def test_one_pass_equals_the_classic_path_bit_for_bit(plant, engine, allocation):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, flags = daily_from_exports(
            plant.folder, allocation=allocation, engine=engine, timezone=synthetic.TIMEZONE
        )
    expected_daily, expected_flags = classic(
        plant.files, engine=engine, allocation=allocation, max_gap_days=730.0
    )
    xr.testing.assert_identical(without_history(daily), without_history(expected_daily))
    xr.testing.assert_identical(without_history(flags), without_history(expected_flags))


def test_one_pass_with_exclusions_and_a_given_topology(plant):
    options = {
        "allocation": "soc",
        "exclude": ["stuck", "dead"],
        "topology": plant.folder / "topology.csv",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, flags = daily_from_exports(plant.folder, timezone=synthetic.TIMEZONE, **options)
    expected_daily, expected_flags = classic(plant.files, max_gap_days=730.0, **options)
    xr.testing.assert_identical(without_history(daily), without_history(expected_daily))
    xr.testing.assert_identical(without_history(flags), without_history(expected_flags))


def test_each_file_is_parsed_once(plant, monkeypatch):
    from bessx.io import engines

    calls = {"scan": 0, "read": 0, "load": 0}
    original = engines.ENGINES["polars"]

    def counting(name, function):
        def counted(*args):
            calls[name] += 1
            return function(*args)

        return counted

    monkeypatch.setitem(
        engines.ENGINES,
        "polars",
        engines.Engine(
            "polars",
            counting("scan", original.scan),
            counting("read", original.read),
            counting("load", original.load),
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily_from_exports(plant.folder, engine="polars", timezone=synthetic.TIMEZONE)
    assert calls == {"scan": 0, "read": 0, "load": len(plant.files)}


def test_a_day_split_over_files_takes_the_classic_path(plant, tmp_path):
    """Split the middle day at noon into two files: the results do not change."""
    folder = tmp_path / "split"
    folder.mkdir()
    for path in plant.files:
        frame = pq.read_table(path).to_pandas()
        if path == plant.files[1]:
            noon = len(frame) // 2
            frame.iloc[:noon].to_parquet(folder / "part-a.parquet")
            frame.iloc[noon:].to_parquet(folder / "part-b.parquet")
        else:
            frame.to_parquet(folder / path.name)
    settings = Settings(timezone=synthetic.TIMEZONE)
    summaries = [summarise_export(path, settings) for path in export_paths(folder)]
    with pytest.raises(NotOnePass, match="shares a local day"):
        combine(summaries, settings, max_gap_days=730.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        split_daily, _ = daily_from_exports(folder, max_gap_days=730.0, timezone=synthetic.TIMEZONE)
        daily, _ = daily_from_exports(plant.folder, timezone=synthetic.TIMEZONE)
    energies = ["charged", "discharged", "coverage"]
    xr.testing.assert_equal(split_daily[energies], daily[energies])


def test_bad_files_give_the_readers_errors(plant, tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "20221001.parquet").write_bytes(b"")
    with pytest.raises(Exception, match="empty file"):
        daily_from_exports(folder, timezone=synthetic.TIMEZONE)
    (folder / "20221001.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(Exception, match="not a readable parquet file"):
        daily_from_exports(folder, timezone=synthetic.TIMEZONE)


def test_implausible_samples_match_missing_ones(plant, tmp_path):
    frames = {path.name: pq.read_table(path).to_pandas() for path in plant.files}
    column = "BESS1 DC Input Power (kW) [Battery Inverter 1APCS2]"
    results = {}
    for label, value in (("bad", 1e9), ("missing", np.nan)):
        folder = tmp_path / label
        folder.mkdir()
        for name, frame in frames.items():
            frame = frame.copy()
            frame.iloc[300, frame.columns.get_loc(column)] = value
            frame.to_parquet(folder / name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExportWarning)
            results[label] = daily_from_exports(folder, timezone=synthetic.TIMEZONE)[0]
    energies = ["charged", "discharged", "coverage"]
    xr.testing.assert_equal(results["bad"][energies], results["missing"][energies])
    assert not pd.isna(results["bad"]["discharged"].sel(inverter="1APCS2").values).all()


def test_without_soc_only_the_power_columns_are_read(plant):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, flags = daily_from_exports(plant.folder, soc=False, timezone=synthetic.TIMEZONE)
        with_soc, _ = daily_from_exports(plant.folder, timezone=synthetic.TIMEZONE)
    _, expected_flags = classic(plant.files, allocation="equal", max_gap_days=730.0)
    energies = ["charged", "discharged", "coverage", "quality_flags"]
    # the history line holds the time to the second: two calls may straddle one
    without_history = {key: value for key, value in with_soc.attrs.items() if key != "history"}
    xr.testing.assert_identical(
        daily[energies].assign_attrs(history=with_soc.attrs["history"]),
        with_soc[energies],
    )
    assert {key: value for key, value in daily.attrs.items() if key != "history"} == without_history
    assert "soc_quality_flags" not in daily and "soc_samples" not in flags
    xr.testing.assert_identical(flags["samples"], expected_flags["samples"])
    with pytest.raises(ValueError, match="needs the state of charge"):
        daily_from_exports(plant.folder, soc=False, allocation="soc", timezone=synthetic.TIMEZONE)


def test_the_file_tasks_run_under_a_configured_scheduler(plant):
    """A scheduler set in dask's configuration is used; by default the threaded one."""
    import dask
    from dask.local import get_sync

    calls = []

    def counting(graph, keys, **options):
        calls.append(len(keys))
        return get_sync(graph, keys, **options)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        default, _ = daily_from_exports(plant.folder, timezone=synthetic.TIMEZONE)
        with dask.config.set(scheduler=counting):
            configured, _ = daily_from_exports(plant.folder, timezone=synthetic.TIMEZONE)
    assert calls and calls[0] == len(plant.files)
    xr.testing.assert_identical(without_history(configured), without_history(default))
