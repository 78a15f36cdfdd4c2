"""The summary cache: a re-run equals a fresh run exactly, whatever happened in between."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

from bessx import ExportWarning
from bessx.cache import SummaryCache
from bessx.onepass import daily_from_exports
from bessx.synthetic import write_plant


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache-source")
    write_plant(folder, "2023-03-01", 5, inverters=3, seed=2)
    return folder


@pytest.fixture
def folder(source, tmp_path) -> Path:
    """The first three days of the plant (the last two are added by tests)."""
    exports = tmp_path / "exports"
    exports.mkdir()
    for path in sorted(source.glob("*.parquet"))[:3]:
        shutil.copy2(path, exports / path.name)
    return exports


def analyse(folder: Path, cache: SummaryCache | None = None, **options) -> tuple:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, flags = daily_from_exports(folder, cache=cache, **options)
    return daily.assign_attrs(history=""), flags.assign_attrs(history="")


def assert_same(actual: tuple, expected: tuple) -> None:
    for got, want in zip(actual, expected, strict=True):
        xr.testing.assert_identical(got, want)


def test_a_warm_run_reads_nothing(folder, tmp_path):
    cache = SummaryCache(tmp_path / "cache")
    first = analyse(folder, cache)
    assert (cache.hits, cache.misses) == (0, 3)
    again = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, again), first)
    assert (again.hits, again.misses) == (3, 0)
    assert_same(first, analyse(folder))


def test_added_files_are_read_alone(folder, source, tmp_path):
    analyse(folder, SummaryCache(tmp_path / "cache"))
    for path in sorted(source.glob("*.parquet"))[3:]:
        shutil.copy2(path, folder / path.name)
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert (cache.hits, cache.misses) == (3, 2)


def test_a_changed_file_of_the_same_size_with_an_older_time_is_read_again(folder, tmp_path):
    path = sorted(folder.glob("*.parquet"))[1]
    table = pq.read_table(path)
    pq.write_table(table, path, compression="none")
    os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    analyse(folder, SummaryCache(tmp_path / "cache"))
    column = "BESS1 DC Input Power (kW) [Battery Inverter 1APCS1]"
    position = table.schema.get_field_index(column)
    values = table.column(position).to_numpy().copy()
    values[500] += 100.0  # same size, other content
    size = path.stat().st_size
    changed = table.set_column(position, column, pa.array(values, table.schema.field(column).type))
    pq.write_table(changed, path, compression="none")
    assert path.stat().st_size == size
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # backwards
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert (cache.hits, cache.misses) == (2, 1)


def test_a_removed_file_disappears_with_its_entry(folder, tmp_path):
    analyse(folder, SummaryCache(tmp_path / "cache"))
    sorted(folder.glob("*.parquet"))[-1].unlink()
    cache = SummaryCache(tmp_path / "cache")
    result = analyse(folder, cache)
    assert_same(result, analyse(folder))
    assert result[0].sizes["time"] == 2
    assert len(list((tmp_path / "cache").glob("*.summary"))) == 2


def test_another_setting_reads_everything_again(folder, tmp_path):
    analyse(folder, SummaryCache(tmp_path / "cache"))
    cache = SummaryCache(tmp_path / "cache")
    options = {"dc_power_limit_kw": 1000.0}
    assert_same(analyse(folder, cache, **options), analyse(folder, **options))
    assert (cache.hits, cache.misses) == (0, 3)
    # the allocation is applied after the cache: the summaries serve both
    cache = SummaryCache(tmp_path / "cache")
    options = {"dc_power_limit_kw": 1000.0, "allocation": "soc"}
    assert_same(analyse(folder, cache, **options), analyse(folder, **options))
    assert cache.misses == 0


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty"])
def test_a_damaged_entry_is_discarded_and_recomputed(folder, tmp_path, damage):
    analyse(folder, SummaryCache(tmp_path / "cache"))
    entry = sorted((tmp_path / "cache").glob("*.summary"))[0]
    content = entry.read_bytes()
    entry.write_bytes(
        {"garbage": b"\x00not a summary", "truncated": content[: len(content) // 2], "empty": b""}[
            damage
        ]
    )
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert (cache.hits, cache.misses) == (2, 1)
    assert entry.read_bytes() == content  # written again


def test_a_kill_during_a_write_leaves_nothing_torn(folder, tmp_path, monkeypatch):
    """Die while an entry is being written: the next run is exact, and the debris goes."""
    import bessx.cache

    calls = {"n": 0}
    real_dump = bessx.cache.pickle.dump

    def dying_dump(summary, file, protocol):
        calls["n"] += 1
        if calls["n"] == 2:
            file.write(b"half an entry")
            raise KeyboardInterrupt  # the process is stopped mid-write
        real_dump(summary, file, protocol=protocol)

    monkeypatch.setattr(bessx.cache.pickle, "dump", dying_dump)
    with pytest.raises(KeyboardInterrupt):
        analyse(folder, SummaryCache(tmp_path / "cache"))
    monkeypatch.undo()
    assert not list((tmp_path / "cache").glob(".partial-*"))
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert cache.hits == 1
    # a temporary file abandoned by a SIGKILL is removed once it is old
    debris = tmp_path / "cache" / ".partial-killed"
    debris.write_bytes(b"x")
    os.utime(debris, (0, 0))
    analyse(folder, SummaryCache(tmp_path / "cache"))
    assert not debris.exists()


def test_entries_are_small(folder, tmp_path):
    analyse(folder, SummaryCache(tmp_path / "cache"))
    sizes = [entry.stat().st_size for entry in (tmp_path / "cache").glob("*.summary")]
    exports = [path.stat().st_size for path in folder.glob("*.parquet")]
    assert np.max(sizes) < 0.1 * np.min(exports)


# bessx run keeps the cache in its output folder ---------------------------------------------
def run_cli(*args) -> None:
    from bessx.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        assert main(["run", *map(str, args), "--quiet"]) == 0


def test_bessx_run_rereads_only_what_changed(folder, source, tmp_path, loads):
    out = tmp_path / "out"
    run_cli(folder, "--out", out)
    assert loads["n"] == 3
    assert (out / ".bessx" / "cache").is_dir()
    run_cli(folder, "--out", out)
    assert loads["n"] == 3, "a warm run reads no export"
    shutil.copy2(sorted(source.glob("*.parquet"))[3], folder)
    run_cli(folder, "--out", out)
    assert loads["n"] == 4, "one new day: one export read"
    run_cli(folder, "--out", tmp_path / "fresh", "--no-cache")
    assert loads["n"] == 8
    assert not (tmp_path / "fresh" / ".bessx" / "cache").exists()
    for name in ("daily_energy.csv", "quality.csv", "lowest_discharged.csv", "outliers.csv"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_the_cache_is_never_in_the_data_folder(folder, tmp_path, capsys):
    from bessx.cli import main

    code = main(["run", str(folder), "--out", str(tmp_path / "out"), "--cache", str(folder / "c")])
    assert code == 2
    assert "may not be in the data folder" in capsys.readouterr().err
    assert not (folder / "c").exists()
