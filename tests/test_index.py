"""The exports' index: opening again parses no footer, and never trusts a stale entry."""

from __future__ import annotations

import os
import re
import shutil
import warnings
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

import bessx
from bessx import ExportWarning, synthetic
from bessx.cache import SummaryCache
from bessx.errors import CacheWarning
from bessx.io import engines
from bessx.io.exports import ColumnPatterns, SkippedFileWarning
from bessx.io.index import ExportIndex, IndexSettings, ScanRecord, as_index
from bessx.synthetic import write_plant

ENGINES = ["polars", "pyarrow"]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """Four days with every fault (a repeated row, NaN rows, a dead DC input...)."""
    folder = tmp_path_factory.mktemp("index-source")
    write_plant(folder, "2023-04-01", 4, inverters=3, seed=5)  # the autumn DST change
    return folder


@pytest.fixture
def folder(source, tmp_path) -> Path:
    """A copy of the plant that the test may change."""
    exports = tmp_path / "exports"
    shutil.copytree(source, exports)
    return exports


@pytest.fixture
def calls(monkeypatch) -> dict[str, int]:
    """Count the engines' footer parses: ``scan`` at open, ``read`` and ``load`` after."""
    count = {"scan": 0, "read": 0, "load": 0}

    def counting(kind, function):
        def counted(*args):
            count[kind] += 1
            return function(*args)

        return counted

    for name, engine in list(engines.ENGINES.items()):
        monkeypatch.setitem(
            engines.ENGINES,
            name,
            engines.Engine(
                name,
                counting("scan", engine.scan),
                counting("read", engine.read),
                counting("load", engine.load),
            ),
        )
    return count


def open_quietly(folder, timezone: str = synthetic.TIMEZONE, **options) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        return bessx.open_exports(folder, timezone=timezone, **options).assign_attrs(history="")


def entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.index"))


def rewrite_same_size(path: Path, change) -> None:
    """Rewrite an uncompressed export with ``change(table)``: the same size, other bytes."""
    pq.write_table(pq.read_table(path), path, compression="none")
    size = path.stat().st_size
    pq.write_table(change(pq.read_table(path)), path, compression="none")
    assert path.stat().st_size == size


def shift_last_time(table: pa.Table) -> pa.Table:
    """The last timestamp one second later (the same size: int64)."""
    position = table.schema.get_field_index("Timestamp")
    times = table.column(position).to_numpy().copy()
    times[-1] += np.timedelta64(1, "s")
    field = table.schema.field(position)
    return table.set_column(position, field, pa.array(times, field.type))


# A warm index gives the same Dataset, and parses no footer -----------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_a_warm_index_opens_the_same_dataset(folder, tmp_path, engine):
    fresh = open_quietly(folder, engine=engine)
    cold = ExportIndex(tmp_path / "index")
    xr.testing.assert_identical(open_quietly(folder, engine=engine, cache=cold), fresh)
    assert (cold.hits, cold.misses) == (0, 4)
    warm = ExportIndex(tmp_path / "index")
    opened = open_quietly(folder, engine=engine, cache=warm)
    assert (warm.hits, warm.misses) == (4, 0)
    xr.testing.assert_identical(opened, fresh)
    xr.testing.assert_identical(opened.compute(), fresh.compute())
    daily = opened.bess.daily_energy().compute().assign_attrs(history="")
    xr.testing.assert_identical(daily, fresh.bess.daily_energy().compute().assign_attrs(history=""))


def test_a_warm_open_parses_no_footer(folder, tmp_path, calls):
    open_quietly(folder, cache=tmp_path / "index")
    assert calls == {"scan": 4, "read": 0, "load": 0}
    ds = open_quietly(folder, cache=tmp_path / "index", variables=["dc_power"])
    assert calls["scan"] == 4, "the warm open parsed a footer"
    ds.bess.daily_energy().compute()
    assert calls == {"scan": 4, "read": 4, "load": 0}, "each footer once, by its read task"


def test_the_warnings_of_an_open_come_from_the_index_too(folder, tmp_path):
    """The notes (a repeated row dropped, ...) are decided anew from the record."""
    with warnings.catch_warnings(record=True) as fresh:
        warnings.simplefilter("always")
        bessx.open_exports(folder, cache=tmp_path / "index", timezone=synthetic.TIMEZONE)
    with warnings.catch_warnings(record=True) as warm:
        warnings.simplefilter("always")
        bessx.open_exports(folder, cache=tmp_path / "index", timezone=synthetic.TIMEZONE)
    assert [str(w.message) for w in warm] == [str(w.message) for w in fresh]
    assert any("duplicate row" in str(w.message) for w in warm)


def test_entries_are_small(folder, tmp_path):
    open_quietly(folder, cache=tmp_path / "index")
    sizes = [entry.stat().st_size for entry in entries(tmp_path / "index")]
    exports = [path.stat().st_size for path in folder.glob("*.parquet")]
    assert len(sizes) == 4
    assert np.max(sizes) < 0.1 * np.min(exports)


# Never a stale entry --------------------------------------------------------------------------
def test_a_changed_file_of_the_same_size_with_an_older_time_is_parsed_again(folder, tmp_path):
    path = sorted(folder.glob("*.parquet"))[1]
    rewrite_same_size(path, lambda table: table)
    os.utime(path, ns=(2_000_000_000_000_000_000, 2_000_000_000_000_000_000))
    open_quietly(folder, cache=tmp_path / "index")
    rewrite_same_size(path, shift_last_time)
    os.utime(path, ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))  # backwards
    index = ExportIndex(tmp_path / "index")
    opened = open_quietly(folder, cache=index)
    assert (index.hits, index.misses) == (3, 1)
    xr.testing.assert_identical(opened, open_quietly(folder))
    assert len(entries(tmp_path / "index")) == 4, "the changed file's old entry is gone"


def test_a_removed_file_is_not_opened_from_its_entry(folder, tmp_path):
    open_quietly(folder, cache=tmp_path / "index")
    removed = sorted(folder.glob("*.parquet"))[-1]
    removed.unlink()
    index = ExportIndex(tmp_path / "index")
    opened = open_quietly(folder, cache=index)
    assert (index.hits, index.misses) == (3, 0)
    assert opened.attrs["source_files"] == 3
    xr.testing.assert_identical(opened, open_quietly(folder))
    # an open may name only some of a folder's files: prune is what forgets the others
    assert len(entries(tmp_path / "index")) == 4
    assert index.prune(sorted(folder.glob("*.parquet")), IndexSettings("polars")) == 1
    assert len(entries(tmp_path / "index")) == 3


def test_a_file_replaced_by_another_day_is_not_taken_for_it(folder, source, tmp_path):
    """A copy of another day under the same name: the key changes with the content."""
    open_quietly(folder, cache=tmp_path / "index")
    first, second = sorted(folder.glob("*.parquet"))[:2]
    shutil.copy2(second, first)
    index = ExportIndex(tmp_path / "index")
    with pytest.raises(bessx.ExportError) as raised:
        open_quietly(folder, cache=index)
    with pytest.raises(bessx.ExportError) as fresh:
        open_quietly(folder)
    assert str(raised.value) == str(fresh.value)
    assert index.misses >= 1


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "foreign"])
def test_a_damaged_entry_is_discarded_and_recomputed(folder, tmp_path, damage):
    open_quietly(folder, cache=tmp_path / "index")
    entry = entries(tmp_path / "index")[0]
    content = entry.read_bytes()
    foreign = zlib.compress(b"\x80\x05\x95\x06\x00\x00\x00\x00\x00\x00\x00}\x94.")  # {}
    entry.write_bytes(
        {
            "garbage": b"\x00not an index entry",
            "truncated": content[: len(content) // 2],
            "empty": b"",
            "foreign": foreign,
        }[damage]
    )
    index = ExportIndex(tmp_path / "index")
    with pytest.warns(CacheWarning, match="cache entry discarded") as warned:
        xr.testing.assert_identical(open_quietly(folder, cache=index), open_quietly(folder))
    assert [str(w.message).split(":")[0] for w in warned] == [str(entry)], "one, naming it"
    assert (index.hits, index.misses) == (3, 1)
    assert entry.read_bytes() == content, "written again, the same"


def test_a_kill_during_a_write_leaves_nothing_torn(folder, tmp_path, monkeypatch):
    import bessx.io.entries

    real_replace = bessx.io.entries.os.replace
    written = {"n": 0}

    def dying_replace(source, target):
        written["n"] += 1
        if written["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped mid-write
        real_replace(source, target)

    monkeypatch.setattr(bessx.io.entries.os, "replace", dying_replace)
    with pytest.raises(KeyboardInterrupt):
        open_quietly(folder, cache=tmp_path / "index")
    monkeypatch.undo()
    assert not list((tmp_path / "index").glob(".partial-*"))
    index = ExportIndex(tmp_path / "index")
    xr.testing.assert_identical(open_quietly(folder, cache=index), open_quietly(folder))
    assert index.hits + index.misses == 4


# The settings of an open never reuse a wrong entry --------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {"timezone": "Australia/Brisbane"},
        {"timezone": "UTC"},
        {"variables": ["dc_power"]},
        {"variables": ["soc", "plant_soc"]},
        {"interval": 30.0},
        {"max_gap_days": 1.5},
        {"chunks": None},
    ],
    ids=lambda options: "-".join(f"{k}={v}" for k, v in options.items()),
)
def test_another_setting_opens_as_a_fresh_open_does(folder, tmp_path, options):
    open_quietly(folder, cache=tmp_path / "index")
    # not the autumn change's day: in another timezone its repeated hour is no longer one
    days = [path for path in sorted(folder.glob("*.parquet")) if "0402" not in path.name]
    index = ExportIndex(tmp_path / "index")
    xr.testing.assert_identical(
        open_quietly(days, cache=index, **options).compute(),
        open_quietly(days, **options).compute(),
    )
    assert (index.hits, index.misses) == (3, 0)  # one entry serves every setting


def test_a_topology_applies_to_an_indexed_open(folder, tmp_path):
    open_quietly(folder, cache=tmp_path / "index")
    topology = pd.read_csv(folder / "topology.csv")
    # move one enclosure to the other DC input: the Dataset must follow the topology
    moved = topology["enclosure_id"] == topology["enclosure_id"].iloc[0]
    topology.loc[moved, "dc_input"] = 3 - topology.loc[moved, "dc_input"]
    with_topology = open_quietly(folder, cache=tmp_path / "index", topology=topology)
    xr.testing.assert_identical(with_topology, open_quietly(folder, topology=topology))
    assert not with_topology.identical(open_quietly(folder))


def test_column_patterns_apply_to_an_indexed_open(folder, tmp_path):
    renamed = folder.parent / "renamed"
    renamed.mkdir()
    for path in sorted(folder.glob("*.parquet")):
        frame = pd.read_parquet(path)
        frame.columns = [re.sub(r"^BESS(\d) DC Input Power \(kW\)", r"DC\1 kW", c) for c in frame]
        frame.to_parquet(renamed / path.name)
    patterns = ColumnPatterns(
        dc_power=re.compile(r"^DC(?P<dc_input>[12]) kW \[Battery Inverter (?P<inverter>\w+)\]$")
    )
    with pytest.raises(bessx.ExportError, match="no usable export"):  # each file refused
        open_quietly(renamed, cache=tmp_path / "index", bad_files="skip")
    index = ExportIndex(tmp_path / "index")
    opened = open_quietly(renamed, cache=index, columns=patterns)
    assert (index.hits, index.misses) == (4, 0)
    xr.testing.assert_identical(opened, open_quietly(renamed, columns=patterns))
    xr.testing.assert_identical(
        opened.compute().drop_attrs(), open_quietly(folder).compute().drop_attrs()
    )


def test_another_engine_does_not_use_the_entries(folder, tmp_path):
    open_quietly(folder, engine="polars", cache=tmp_path / "index")
    index = ExportIndex(tmp_path / "index")
    opened = open_quietly(folder, engine="pyarrow", cache=index)
    assert (index.hits, index.misses) == (0, 4)
    xr.testing.assert_identical(opened, open_quietly(folder, engine="pyarrow"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_column_is_refused_alike_from_the_index(folder, tmp_path, calls, engine):
    """Which columns are not numbers is part of the record: the same refusal, no parse."""
    path = sorted(folder.glob("*.parquet"))[2]
    table = pq.read_table(path)
    name = "BESS2 DC Input Power (kW) [Battery Inverter 1APCS1]"
    position = table.schema.get_field_index(name)
    text = table.column(position).cast(pa.string())
    pq.write_table(table.set_column(position, pa.field(name, pa.string()), text), path)

    def skipped() -> list[str]:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            bessx.open_exports(
                folder,
                engine=engine,
                bad_files="skip",
                cache=tmp_path / "i",
                timezone=synthetic.TIMEZONE,
            )
        return [str(r.message) for r in records if r.category is SkippedFileWarning]

    cold = skipped()
    assert len(cold) == 1 and "not numeric (it holds text)" in cold[0]
    parsed = calls["scan"]
    assert skipped() == cold
    assert calls["scan"] == parsed, "the refused file was not parsed again"


# The record and the cache object --------------------------------------------------------------
def test_a_record_gives_back_its_scan(source):
    path = sorted(source.glob("*.parquet"))[0]
    scan = engines.get_engine("polars").scan(path)
    again = ScanRecord.of(scan).scan()
    assert again.names == scan.names
    assert again.timezone == scan.timezone
    np.testing.assert_array_equal(again.time, scan.time)
    assert again.time.dtype == scan.time.dtype
    for name in scan.names:
        assert again.refusal(name) == scan.refusal(name)


def test_the_cache_argument(tmp_path, folder):
    assert as_index(None) is None
    index = ExportIndex(tmp_path / "a")
    assert as_index(index) is index
    assert as_index(tmp_path / "b").folder == tmp_path / "b"
    assert as_index(str(tmp_path / "b")).folder == tmp_path / "b"
    assert as_index(SummaryCache(tmp_path / "c")).folder == tmp_path / "c"
    with pytest.raises(TypeError, match="cache must be a folder"):
        open_quietly(folder, cache=42)


def test_the_index_and_the_summaries_share_a_folder(folder, tmp_path):
    """bessx run keeps both in one folder: neither prunes the other's entries."""
    from bessx.onepass import daily_from_exports

    cache = SummaryCache(tmp_path / "cache")
    open_quietly(folder, cache=cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily_from_exports(folder, cache=cache, timezone=synthetic.TIMEZONE)
    assert len(list((tmp_path / "cache").glob("*.summary"))) == 4
    assert len(entries(tmp_path / "cache")) == 4
    open_quietly(folder, cache=cache)
    assert len(list((tmp_path / "cache").glob("*.summary"))) == 4


def test_the_classic_path_of_a_run_opens_from_the_index(folder, tmp_path, calls, monkeypatch):
    import bessx.onepass
    from bessx.onepass import NotOnePass, daily_from_exports

    def refuse(*args, **kwargs):
        raise NotOnePass("forced for the test")

    monkeypatch.setattr(bessx.onepass, "combine", refuse)
    cache = SummaryCache(tmp_path / "cache")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily_from_exports(folder, cache=cache, timezone=synthetic.TIMEZONE)
        scans = calls["scan"]
        assert scans == 4
        daily_from_exports(
            folder, cache=SummaryCache(tmp_path / "cache"), timezone=synthetic.TIMEZONE
        )
    assert calls["scan"] == scans, "the re-run's open parsed no footer"


def test_bessx_run_with_health_parses_each_footer_once_and_a_warm_run_none(folder, tmp_path, calls):
    """The health comes from the one pass: no Dataset is opened, each export is loaded once,
    and a warm run loads none."""
    from bessx.cli import main

    def run(*options) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExportWarning)
            assert (
                main(["run", str(folder), "--timezone", synthetic.TIMEZONE, "--quiet", *options])
                == 0
            )

    run("--out", str(tmp_path / "out"))
    assert calls == {"scan": 0, "read": 0, "load": 4}
    run("--out", str(tmp_path / "out"))
    assert calls == {"scan": 0, "read": 0, "load": 4}, "the warm run parsed no footer"
    run("--out", str(tmp_path / "fresh"), "--no-cache")
    assert calls == {"scan": 0, "read": 0, "load": 8}
    for name in ("health.csv", "daily_energy.csv"):
        fresh = (tmp_path / "fresh" / name).read_bytes()
        assert (tmp_path / "out" / name).read_bytes() == fresh, name
