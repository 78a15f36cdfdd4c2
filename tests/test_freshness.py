"""A re-run whose outputs are up to date does nothing; anything that changes them forces work.

The record kept with each output set (:mod:`bessx.io.freshness`): a changed setting, a
deleted or edited output, a rewritten export (even with its time restored), a new export, a
changed topology file and ``--force`` each make the run compute; only a run with nothing
changed prints the one line, and it imports none of the numerical stack (a fresh
interpreter shows it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

import bessx
from bessx.cli import main
from bessx.io import freshness
from bessx.io.exports import export_paths
from bessx.synthetic import write_plant

_ROOT = Path(bessx.__file__).parent.parent
SITE = 'outputs = ["csv", "summary"]\ntimezone = "Australia/Sydney"\n'
UP_TO_DATE = "outputs up to date: 3 exports unchanged"


@pytest.fixture(scope="module")
def plant(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("freshness") / "exports"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic plant's repaired rows
        write_plant(folder, "2023-03-01", 4, inverters=1, seed=3)
    return folder


@pytest.fixture
def work(tmp_path: Path, plant: Path) -> Path:
    """A working folder: ``data`` (the plant's first 3 days), ``day4`` aside, ``site.toml``."""
    data = tmp_path / "data"
    data.mkdir()
    files = sorted(plant.glob("*.parquet"))
    for path in files[:3]:
        shutil.copy2(path, data / path.name)
    shutil.copy2(files[3], tmp_path / files[3].name)
    (tmp_path / "site.toml").write_text(SITE, encoding="utf-8")
    return tmp_path


def run(work: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> list[str]:
    """``bessx run data --out out --config site.toml``; the lines it printed."""
    arguments = ["run", str(work / "data"), "--out", str(work / "out")]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main([*arguments, "--config", str(work / "site.toml"), *extra])
    assert code == 0
    return capsys.readouterr().out.splitlines()


def computed(lines: list[str]) -> bool:
    return any(line.startswith("Read ") for line in lines) and UP_TO_DATE not in lines


def test_a_rerun_with_nothing_changed_does_nothing(work, capsys):
    first = run(work, capsys)
    assert computed(first)
    assert "read 3 new exports, 0 from the cache" in first
    shown = {name: (work / "out" / name).resolve() for name in ("daily_energy.csv", "summary.md")}
    assert run(work, capsys) == [UP_TO_DATE]
    assert {name: (work / "out" / name).resolve() for name in shown} == shown  # the same set


def test_force_recomputes_from_the_cache(work, capsys):
    run(work, capsys)
    again = run(work, capsys, "--force")
    assert computed(again)
    assert "read 0 new exports, 3 from the cache" in again


def test_a_new_export_reads_that_file_alone(work, capsys):
    run(work, capsys)
    new = next(work.glob("*.parquet"))
    shutil.copy2(new, work / "data" / new.name)
    lines = run(work, capsys)
    assert computed(lines)
    assert "read 1 new export, 3 from the cache" in lines
    assert run(work, capsys) == ["outputs up to date: 4 exports unchanged"]


def test_a_changed_setting_forces_work(work, capsys):
    run(work, capsys)
    assert computed(run(work, capsys, "--max-gap", "5"))
    assert run(work, capsys, "--max-gap", "5") == [UP_TO_DATE]
    (work / "site.toml").write_text(SITE + 'allocation = "soc"\n', encoding="utf-8")
    assert computed(run(work, capsys, "--max-gap", "5"))


def test_other_outputs_asked_for_force_work(work, capsys):
    run(work, capsys)
    (work / "site.toml").write_text(SITE.replace('"summary"', '"lowest"'), encoding="utf-8")
    assert computed(run(work, capsys))


@pytest.mark.parametrize("how", ["set file", "link", "edited"])
def test_a_deleted_or_edited_output_forces_work(work, capsys, how):
    run(work, capsys)
    before = (work / "out" / "daily_energy.csv").read_bytes()
    target = work / "out" / "daily_energy.csv"
    if how == "set file":
        target.resolve().unlink()
    elif how == "link":
        target.unlink()
    else:
        with target.open("a", encoding="utf-8") as file:
            file.write("2099-01-01,edited\n")
    assert computed(run(work, capsys))
    assert (work / "out" / "daily_energy.csv").read_bytes() == before


def test_a_rewritten_export_with_its_time_restored_forces_work(work, capsys):
    run(work, capsys)
    export = sorted((work / "data").glob("*.parquet"))[1]
    times = export.stat()
    export.write_bytes(export.read_bytes())  # the same size and bytes, written again
    os.utime(export, ns=(times.st_atime_ns, times.st_mtime_ns))  # as `touch -r` does
    assert computed(run(work, capsys))  # whether the cache reads it again is the cache's key


def test_an_export_with_other_values_gives_other_outputs(work, capsys):
    import pyarrow.parquet as pq

    from bessx.schema import DC_POWER_PATTERN

    run(work, capsys)
    before = (work / "out" / "daily_energy.csv").read_bytes()
    export = sorted((work / "data").glob("*.parquet"))[0]
    table = pq.read_table(export)
    name = next(name for name in table.column_names if DC_POWER_PATTERN.match(name))
    column = table.column(name)
    table = table.set_column(table.column_names.index(name), name, pc_scaled(column))
    times = export.stat()
    pq.write_table(table, export)
    os.utime(export, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert computed(run(work, capsys))
    assert (work / "out" / "daily_energy.csv").read_bytes() != before


def pc_scaled(column):
    import pyarrow.compute as pc

    return pc.multiply(column, 2.0)


def test_a_changed_topology_file_forces_work(work, capsys, plant):
    topology = work / "topology.csv"
    shutil.copy2(plant / "topology.csv", topology)
    run(work, capsys, "--topology", str(topology))
    assert run(work, capsys, "--topology", str(topology)) == [UP_TO_DATE]
    topology.write_text(topology.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert computed(run(work, capsys, "--topology", str(topology)))


def test_no_cache_always_computes(work, capsys):
    run(work, capsys)
    assert computed(run(work, capsys, "--no-cache"))


def test_a_torn_record_forces_work(work, capsys):
    run(work, capsys)
    record = (work / "out" / ".bessx" / "current" / freshness.RECORD_NAME).resolve()
    record.write_text(record.read_text(encoding="utf-8")[:40], encoding="utf-8")
    assert computed(run(work, capsys))
    assert run(work, capsys) == [UP_TO_DATE]


def test_a_recently_changed_export_is_compared_by_its_content(work):
    exports = sorted((work / "data").glob("*.parquet"))
    states = freshness.export_states(exports)  # just copied: within the racy window
    assert all("fingerprint" in state for state in states)
    assert all(freshness._unchanged(state) for state in states)
    states[0]["fingerprint"] = "0" * 32  # the same times and inode, another content
    assert not freshness._unchanged(states[0])
    states[2]["fingerprint"] = None  # one that could not be taken: never unchanged
    assert not freshness._unchanged(states[2])
    old = dict(states[1])
    del old["fingerprint"]  # an export not changed lately: its state alone is compared
    assert freshness._unchanged(old)
    old["size"] += 1
    assert not freshness._unchanged(old)


def test_the_export_listing_is_that_of_export_paths(work):
    data = work / "data"
    (data / "._20230301.parquet").write_bytes(b"not an export")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for given in (data, str(data / "*.parquet"), sorted(data.glob("2*.parquet"))[0]):
            assert freshness.list_exports(given) == export_paths(given)
    assert freshness.list_exports(work / "nothing-here") is None


def test_an_up_to_date_run_imports_no_numerical_stack(work, capsys):
    run(work, capsys)
    code = f"""
        import sys
        from bessx.cli import main
        code = main(["run", {str(work / "data")!r}, "--out", {str(work / "out")!r},
                     "--config", {str(work / "site.toml")!r}])
        heavy = ("pandas", "xarray", "dask", "matplotlib", "numpy", "pyarrow", "polars")
        print(code, *sorted(name for name in heavy if name in sys.modules))
    """
    path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [UP_TO_DATE, "0"]


def test_outputs_whose_content_did_not_change_keep_their_file(work, capsys):
    run(work, capsys)
    out = work / "out"
    before = {name: (out / name).stat() for name in ("daily_energy.csv", "summary.md")}
    run(work, capsys, "--force")
    after = {name: (out / name).stat() for name in before}
    for name in before:
        assert (after[name].st_ino, after[name].st_mtime_ns) == (
            before[name].st_ino,
            before[name].st_mtime_ns,
        ), name
    new = next(work.glob("*.parquet"))
    shutil.copy2(new, work / "data" / new.name)
    run(work, capsys)
    assert (out / "daily_energy.csv").stat().st_ino != before["daily_energy.csv"].st_ino
