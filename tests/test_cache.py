"""The summary cache: a re-run equals a fresh run exactly, whatever happened in between."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

from bessx import ExportWarning, synthetic
from bessx.cache import SummaryCache
from bessx.config import OUTPUTS
from bessx.errors import CacheWarning
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


def analyse(
    folder: Path,
    cache: SummaryCache | None = None,
    timezone: str = synthetic.TIMEZONE,
    **options,
) -> tuple:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, flags = daily_from_exports(folder, cache=cache, timezone=timezone, **options)
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
    with pytest.warns(CacheWarning) as warned:
        assert_same(analyse(folder, cache), analyse(folder))
    assert [str(w.message).split(":")[0] for w in warned] == [str(entry)], "one, naming it"
    assert (cache.hits, cache.misses) == (2, 1)
    assert entry.read_bytes() == content  # written again


def test_a_kill_during_a_write_leaves_nothing_torn(folder, tmp_path, monkeypatch):
    """Die while an entry is being written: the next run is exact, and the debris goes."""
    import bessx.io.entries

    calls = {"n": 0}
    real_replace = bessx.io.entries.os.replace

    def dying_replace(source, target):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the process is stopped mid-write
        real_replace(source, target)

    monkeypatch.setattr(bessx.io.entries.os, "replace", dying_replace)
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
#: Every output but the drawings no test here reads (the heatmaps, report.html): the runs
#: read and compute all that a default run does.
UNDRAWN = [name for name in OUTPUTS if name not in ("heatmap", "report")]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cache-site") / "site.toml"
    path.write_text(f"outputs = {json.dumps(UNDRAWN)}\n")
    return path


def run_cli(site: Path, *args) -> None:
    from bessx.cli import main

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        arguments = ["run", "--config", site, "--timezone", synthetic.TIMEZONE, *args, "--quiet"]
        assert main(list(map(str, arguments))) == 0


def test_bessx_run_rereads_only_what_changed(folder, source, site, tmp_path, loads):
    out = tmp_path / "out"
    run_cli(site, folder, "--out", out)
    assert loads["n"] == 3
    assert (out / ".bessx" / "cache").is_dir()
    run_cli(site, folder, "--out", out)
    assert loads["n"] == 3, "a warm run reads no export"
    shutil.copy2(sorted(source.glob("*.parquet"))[3], folder)
    run_cli(site, folder, "--out", out)
    assert loads["n"] == 4, "one new day: one export read"
    run_cli(site, folder, "--out", tmp_path / "fresh", "--no-cache")
    assert loads["n"] == 8
    assert not (tmp_path / "fresh" / ".bessx" / "cache").exists()
    for name in ("daily_energy.csv", "quality.csv", "lowest_discharged.csv", "outliers.csv"):
        assert (out / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes(), name


def test_the_cache_is_never_in_the_data_folder(folder, tmp_path, capsys):
    from bessx.cli import main

    code = main(
        [
            "run",
            str(folder),
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            str(tmp_path / "out"),
            "--cache",
            str(folder / "c"),
        ]
    )
    assert code == 2
    assert "may not be in the data folder" in capsys.readouterr().err
    assert not (folder / "c").exists()


# A key a copy tool cannot fool ------------------------------------------------------------------
def test_a_rewrite_with_the_same_size_and_restored_times_is_read_again(folder, tmp_path):
    """Two values of a column swapped in the middle of the file: same size, same footer
    statistics, the times put back with os.utime; only the file's content differs."""
    path = sorted(folder.glob("*.parquet"))[1]
    table = pq.read_table(path)
    pq.write_table(table, path, compression="none", write_statistics=False)
    analyse(folder, SummaryCache(tmp_path / "cache"))
    before = path.stat()
    powers = [name for name in table.column_names if "DC Input Power" in name]
    column = powers[len(powers) // 2]  # its data lie far from both ends of the file
    position = table.schema.get_field_index(column)
    values = table.column(position).to_numpy().copy()
    middle = len(values) // 2
    values[[middle, middle + 1]] = values[middle] + 50.0, values[middle + 1] - 50.0
    changed = table.set_column(position, column, pa.array(values, table.schema.field(column).type))
    pq.write_table(changed, path, compression="none", write_statistics=False)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -r` or a copy tool
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert (cache.hits, cache.misses) == (2, 1)


def test_the_fingerprint_hashes_the_whole_footer(tmp_path):
    """A change deep inside a footer larger than any window changes the fingerprint."""
    from bessx.io.entries import FINGERPRINT_BYTES, fingerprint

    names = [f"column {i:05d} " + "x" * 40 for i in range(4000)]
    table = pa.table({name: [1.0] for name in names})
    path = tmp_path / "wide.parquet"
    pq.write_table(table, path, compression="none")
    footer = pq.ParquetFile(path).metadata.serialized_size
    assert footer > 3 * FINGERPRINT_BYTES
    raw = bytearray(path.read_bytes())
    where = raw.rfind(b"column 02000 ")  # in the footer, far from either end
    assert where > len(raw) - footer > FINGERPRINT_BYTES
    before = fingerprint(path)
    stat = path.stat()
    raw[where + 7] = ord("9")
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert fingerprint(path) != before


def test_a_file_without_a_fingerprint_is_computed_and_not_kept(folder, tmp_path, monkeypatch):
    import bessx.io.entries

    def refused(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(bessx.io.entries, "fingerprint", refused)
    cache = SummaryCache(tmp_path / "cache")
    assert_same(analyse(folder, cache), analyse(folder))
    assert (cache.hits, cache.misses) == (0, 3)
    assert not list((tmp_path / "cache").glob("*.summary"))


# Data, never code ---------------------------------------------------------------------------------
class _Planted:
    """Unpickling this creates a file: what a planted entry could do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def planted(kind: str, entry: Path, marker: Path, other: bytes) -> bytes:
    import json
    import pickle

    from bessx.io.entries import dump_entry

    if kind == "pickle":
        return pickle.dumps(_Planted(marker))
    if kind == "pickled array":  # a true entry whose first array claims to hold objects
        magic = b"bessx-cache\x00"
        body = other[len(magic) + 2 :]
        length = int.from_bytes(body[:8], "little")
        header = json.loads(body[8 : 8 + length])
        code = pickle.dumps(np.array([_Planted(marker)], dtype=object))
        header["arrays"][0] = ["|O", [1], len(body) - 8 - length]
        text = json.dumps(header).encode()
        rest = body[8 + length :] + code
        return other[: len(magic) + 2] + len(text).to_bytes(8, "little") + text + rest
    if kind == "another type":
        return dump_entry({"path": str(entry)}, ())
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["pickle", "pickled array", "another type", "another shape"])
def test_a_planted_entry_runs_nothing_and_is_replaced(folder, tmp_path, kind):
    from bessx.io.entries import dump_entry, load_entry

    analyse(folder, SummaryCache(tmp_path / "cache"))
    entry = sorted((tmp_path / "cache").glob("*.summary"))[0]
    good = entry.read_bytes()
    marker = tmp_path / "planted-code-ran"
    if kind == "another shape":
        summary = load_entry(good, SummaryCache.classes(), SummaryCache.kind())
        summary.daily.energy = summary.daily.energy[:, :, :-1]
        content = dump_entry(summary, SummaryCache.classes())
    else:
        content = planted(kind, entry, marker, good)
    entry.write_bytes(content)
    for _ in range(2):  # the next run is whole again
        cache = SummaryCache(tmp_path / "cache")
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always", CacheWarning)
            assert_same(analyse(folder, cache), analyse(folder))
        notes = [str(w.message) for w in warned if issubclass(w.category, CacheWarning)]
        assert not marker.exists(), "the entry's code never runs"
        if _ == 0:
            assert len(notes) == 1 and notes[0].startswith(f"{entry}: cache entry discarded")
            assert cache.misses == 1
        else:
            assert notes == [] and cache.hits == 3
    assert entry.read_bytes() == good


# The cache degrades, never sinks ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "reason"),
    [(28, "No space left on device"), (30, "Read-only file system"), (13, "Permission denied")],
)
def test_a_cache_that_cannot_be_written_gives_one_warning(
    folder, tmp_path, monkeypatch, code, reason
):
    import bessx.io.entries

    def failing(source, target):
        raise OSError(code, reason)

    monkeypatch.setattr(bessx.io.entries.os, "replace", failing)
    cache = SummaryCache(tmp_path / "cache")
    with pytest.warns(CacheWarning) as warned:
        assert_same(analyse(folder, cache), analyse(folder))
    assert len(warned) == 1
    message = str(warned[0].message)
    assert reason in message and str(tmp_path / "cache") in message
    assert "goes on without it" in message
    assert not list((tmp_path / "cache").iterdir()), "no debris"


def test_a_cache_folder_that_cannot_be_made_gives_one_warning(folder, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.warns(CacheWarning, match="cannot write the cache") as warned:
        cache = SummaryCache(blocker / "cache")
        assert_same(analyse(folder, cache), analyse(folder))
    assert len(warned) == 1 and str(blocker / "cache") in str(warned[0].message)


def test_bessx_run_with_an_unwritable_cache_equals_no_cache(folder, site, tmp_path, capsys):
    from bessx.cli import main

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        code = main(
            [
                "run",
                str(folder),
                "--config",
                str(site),
                "--timezone",
                synthetic.TIMEZONE,
                "--out",
                str(tmp_path / "out"),
                "--quiet",
                "--cache",
                str(blocker / "cache"),
            ]
        )
        assert code == 0
        assert (
            main(
                [
                    "run",
                    str(folder),
                    "--config",
                    str(site),
                    "--timezone",
                    synthetic.TIMEZONE,
                    "--out",
                    str(tmp_path / "fresh"),
                    "--quiet",
                    "--no-cache",
                ]
            )
            == 0
        )
    err = capsys.readouterr().err
    assert err.count("cannot write the cache") == 1, err
    for name in ("daily_energy.csv", "quality.csv", "outliers.csv"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "fresh" / name).read_bytes()
