"""Runs that never leave a mess: the ``bessx`` command.

Two runs into one output folder, a run killed (SIGKILL) or interrupted (SIGINT) at a known
point, bad files skipped, and the messages of configuration and output problems. The runs
that are held, killed or interrupted, and the one that waits, are real ``bessx`` processes; the
others call the same ``main`` in this process (:func:`test_cli.bessx_here`). A run is paused
at a known point by a small driver script that wraps one bessx function (never by timing): it
writes a marker file when it gets there, and the test acts once the marker is there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_cli import (
    _TESTED_ROOT,
    ALL_OUTPUTS,
    assert_one_line_error,
    bessx_here,
    corrupt_data_page,
    digest,
    error_lines,
    leftovers,
    shown,
)

from bessx import synthetic
from bessx.cli import EXIT_DATA, EXIT_INTERRUPTED, EXIT_USAGE
from bessx.synthetic import write_plant

#: Runs ``bessx ARGS`` with one function replaced by a pause: ``driver.py MODULE NAME MARKER
#: ARGS...``. When the function is called, the marker file is written and the run sleeps.
DRIVER = """
import importlib, pathlib, sys, time
module, name, marker = sys.argv[1:4]
target = importlib.import_module(module)
real = getattr(target, name)
def pause(*args, **kwargs):
    pathlib.Path(marker).write_text("paused")
    time.sleep(600)
    return real(*args, **kwargs)
setattr(target, name, pause)
from bessx.cli import main
sys.exit(main(sys.argv[4:]))
"""

#: Holds an output folder's lock until killed: ``hold.py OUT MARKER``.
HOLD = """
import pathlib, sys, time
from bessx.io.outputs import locked
with locked(pathlib.Path(sys.argv[1])):
    pathlib.Path(sys.argv[2]).write_text("locked")
    time.sleep(600)
"""


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def plant(work: Path):
    return write_plant(work / "exports", "2022-10-01", 3, inverters=4, seed=2)


@pytest.fixture(scope="module")
def scripts(work: Path) -> dict[str, Path]:
    paths = {"driver": work / "driver.py", "hold": work / "hold.py"}
    paths["driver"].write_text(DRIVER)
    paths["hold"].write_text(HOLD)
    return paths


def start(script: Path, *args: object, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "", "PYTHONPATH": _TESTED_ROOT},
    )


def wait_for(marker: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    """Until the process has written its marker (it then sleeps at the known point)."""
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the process ended first: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the process never reached its pause")
        time.sleep(0.05)


def previous_run(work: Path, plant, name: str) -> tuple[Path, dict[str, str]]:
    out = work / name
    result = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet", cwd=work
    )
    assert result.returncode == 0, result.stderr
    return out, digest(out)


# One run at a time ------------------------------------------------------------------------
def test_a_second_run_into_the_same_folder_fails_fast_or_waits(work, plant, scripts):
    out = work / "busy"
    marker = work / "busy.locked"
    holder = start(scripts["hold"], out, marker, cwd=work)
    try:
        wait_for(marker, holder)
        started = time.monotonic()
        second = bessx_here(
            "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, cwd=work
        )
        assert time.monotonic() - started < 60
        assert_one_line_error(
            second,
            EXIT_DATA,
            f"{out} is in use by another bessx run (pid {holder.pid}); use --wait to wait for it",
        )
        assert shown(out) == []

        waiter = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bessx",
                "run",
                plant.folder,
                "--out",
                out,
                "--wait",
                "--timezone",
                synthetic.TIMEZONE,
            ],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "", "PYTHONPATH": _TESTED_ROOT},
        )
        assert waiter.stderr is not None
        line = waiter.stderr.readline()  # blocks until the waiter says it waits
        assert line.startswith(f"bessx: waiting for another bessx run (pid {holder.pid})")
        assert waiter.poll() is None
    finally:
        holder.kill()  # a killed holder's lock is released by the operating system
        holder.wait()
    _, stderr = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, stderr
    assert shown(out) == ALL_OUTPUTS
    assert leftovers(out) == []


# Killed and interrupted runs -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("module", "function"),
    [
        ("bessx.io.outputs", "_sync"),  # the new set is written, not yet shown
        ("bessx.io.outputs", "_sync_folder"),  # the new set is shown, not yet tidied
    ],
    ids=["before the swap", "after the swap"],
)
def test_sigkill_mid_run_then_a_clean_rerun(work, plant, scripts, module, function):
    out, before = previous_run(work, plant, f"killed-{function}")
    old = {name: (out / name).read_bytes() for name in ALL_OUTPUTS}
    marker = work / f"killed-{function}.paused"
    run = start(
        scripts["driver"], module, function, marker, "run", plant.folder,
        "--timezone", synthetic.TIMEZONE, "--out", out, "--force", cwd=work,
    )  # fmt: skip
    wait_for(marker, run)
    run.kill()
    run.communicate()
    assert shown(out) == ALL_OUTPUTS
    now = {name: (out / name).read_bytes() for name in ALL_OUTPUTS}
    assert now == old  # the same data: the old set or the new one, as a whole
    current = (out / ".bessx" / "current").resolve()
    outputs = sorted(path.name for path in current.iterdir() if not path.name.startswith("."))
    assert outputs == ALL_OUTPUTS  # and the record of what they were made from, if finished

    again = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, cwd=work
    )
    assert again.returncode == 0, again.stderr
    assert shown(out) == ALL_OUTPUTS
    assert leftovers(out) == []
    assert digest(out).keys() == before.keys()


@pytest.mark.parametrize(
    ("module", "function"),
    [
        ("bessx.cli.commands", "build_parser"),  # start-up
        ("bessx.pipeline", "run"),  # reading
        ("bessx.io.outputs", "_sync"),  # writing
    ],
    ids=["start-up", "reading", "writing"],
)
def test_sigint_at_any_point_is_one_line_and_exit_130(work, plant, scripts, module, function):
    out = work / f"interrupted-{function}"
    marker = work / f"interrupted-{function}.paused"
    run = start(
        scripts["driver"],
        module,
        function,
        marker,
        "run",
        plant.folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        out,
        cwd=work,
    )
    wait_for(marker, run)
    run.send_signal(signal.SIGINT)
    _, stderr = run.communicate(timeout=120)
    assert run.returncode == EXIT_INTERRUPTED
    assert stderr.splitlines()[-1] == "bessx: interrupted"
    assert "Traceback" not in stderr
    assert not out.exists()  # nothing was ever shown there: no folder left behind


# Bad files ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bad_folder(work: Path, plant) -> Path:
    """The plant's exports with a corrupt file, an empty file and a macOS ``._`` file."""
    folder = work / "bad"
    folder.mkdir()
    for path in plant.files:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "20221004.parquet").write_bytes(b"not parquet at all")
    (folder / "20221005.parquet").write_bytes(b"")
    (folder / "._20221001.parquet").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    return folder


@pytest.fixture(scope="module")
def good_run(work: Path, plant) -> Path:
    out = work / "good"
    result = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet", cwd=work
    )
    assert result.returncode == 0, result.stderr
    return out


def test_skip_bad_files_gives_the_good_files_exact_energies(work, bad_folder, good_run):
    out = work / "skipped"
    result = bessx_here(
        "run",
        bad_folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        out,
        "--skip-bad-files",
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    lines = error_lines(result)
    assert lines == []
    warned = [line for line in result.stderr.splitlines() if line.startswith("bessx: warning:")]
    assert any("20221004.parquet: skipped: not a readable parquet file" in line for line in warned)
    assert any("20221005.parquet: skipped: empty file (0 bytes)" in line for line in warned)
    assert any("1 hidden file(s) ignored (._20221001.parquet)" in line for line in warned)
    assert "Skipped 2 export file(s)" in result.stdout
    daily = (out / "daily_energy.csv").read_bytes()
    assert daily == (good_run / "daily_energy.csv").read_bytes()
    pd.testing.assert_frame_equal(
        pd.read_csv(out / "daily_energy.csv"), pd.read_csv(good_run / "daily_energy.csv")
    )
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "- Skipped: 2 file(s) that could not be used (20221004.parquet, 20221005.parquet" in (
        summary
    )
    assert "20221004.parquet: skipped: not a readable parquet file" in summary
    assert "20221005.parquet: skipped: empty file (0 bytes)" in summary


def test_info_skips_bad_files_and_lists_them_as_problems(work, bad_folder, plant):
    result = bessx_here(
        "info", bad_folder, "--timezone", synthetic.TIMEZONE, "--skip-bad-files", cwd=work
    )
    assert result.returncode == 0, result.stderr
    assert f"{len(plant.files)} parquet export(s)" in result.stdout
    assert "20221004.parquet: skipped: not a readable parquet file" in result.stdout
    assert "1 hidden file(s) ignored (._20221001.parquet)" in result.stdout


def test_without_skip_the_first_bad_file_stops_the_run(work, bad_folder):
    result = bessx_here(
        "run", bad_folder, "--timezone", synthetic.TIMEZONE, "--out", work / "not-skipped", cwd=work
    )
    assert_one_line_error(result, EXIT_DATA, "20221004.parquet", "not a readable parquet")


def test_skip_bad_files_from_the_site_file(work, bad_folder, good_run):
    site = work / "skip.toml"
    site.write_text(  # the daily energy is all this test reads: no figures drawn
        f'data = "{bad_folder.name}"\nout = "skip-site"\nskip_bad_files = true\n'
        f'timezone = "{synthetic.TIMEZONE}"\noutputs = ["csv"]\n'
    )
    result = bessx_here("run", "--config", site, "--quiet", cwd=work)
    assert result.returncode == 0, result.stderr
    daily = (work / "skip-site" / "daily_energy.csv").read_bytes()
    assert daily == (good_run / "daily_energy.csv").read_bytes()


def test_a_file_whose_data_cannot_be_read_is_skipped_too(work, plant):
    data, rest = work / "bitrot", work / "bitrot-rest"
    data.mkdir()
    rest.mkdir()
    for path in plant.files:
        (data / path.name).write_bytes(path.read_bytes())
        if path != plant.files[1]:
            (rest / path.name).write_bytes(path.read_bytes())
    corrupt_data_page(data / plant.files[1].name)  # found only when the data are read
    csv_only = work / "csv-only.toml"  # the daily energy is all this test reads: no figures
    csv_only.write_text('outputs = ["csv"]\n')
    skipped = bessx_here(
        "run",
        data,
        "--config",
        csv_only,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        work / "bitrot-out",
        "--skip-bad-files",
        cwd=work,
    )
    assert skipped.returncode == 0, skipped.stderr
    assert f"{plant.files[1].name}: skipped: cannot read its data" in skipped.stderr
    reference = bessx_here(
        "run",
        rest,
        "--config",
        csv_only,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        work / "bitrot-ref",
        "--quiet",
        cwd=work,
    )
    assert reference.returncode == 0, reference.stderr
    assert (work / "bitrot-out" / "daily_energy.csv").read_bytes() == (
        work / "bitrot-ref" / "daily_energy.csv"
    ).read_bytes()


def test_nothing_left_is_an_error(work):
    folder = work / "all-bad"
    folder.mkdir()
    (folder / "20221004.parquet").write_bytes(b"garbage")
    result = bessx_here(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        work / "all-bad-out",
        "--skip-bad-files",
        cwd=work,
    )
    assert_one_line_error(result, EXIT_DATA, "no usable export")
    assert not (work / "all-bad-out").exists()


# Messages ------------------------------------------------------------------------------------
def test_a_missing_topology_file_in_the_site_file_exits_2(work, plant):
    site = work / "topo.toml"
    site.write_text(f'topology = "no-such-topology.csv"\ntimezone = "{synthetic.TIMEZONE}"\n')
    result = bessx_here("run", plant.folder, "--config", site, cwd=work)
    assert_one_line_error(result, EXIT_USAGE, "no-such-topology.csv: no such topology file")


def test_empty_outputs_is_a_configuration_error(work, plant):
    site = work / "nothing.toml"
    site.write_text("outputs = []\n")
    result = bessx_here(
        "run",
        plant.folder,
        "--config",
        site,
        "--out",
        work / "nothing",
        cwd=work,
    )
    assert_one_line_error(result, EXIT_USAGE, "'outputs' must be a non-empty list")
    assert not (work / "nothing").exists()


def test_battery_name_errors_name_the_file(work, plant):
    folder = work / "bad-names"
    folder.mkdir()
    for path in plant.files:
        (folder / path.name).write_bytes(path.read_bytes())
    odd = folder / plant.files[1].name
    frame = pd.read_parquet(odd)
    soc = next(column for column in frame.columns if column.startswith("System state of charge"))
    frame = frame.rename(columns={soc: "System state of charge (%) [Battery system Rack7]"})
    frame.to_parquet(odd)
    result = bessx_here(
        "run", folder, "--timezone", synthetic.TIMEZONE, "--out", work / "bad-names-out", cwd=work
    )
    assert_one_line_error(result, EXIT_DATA, f"{odd}: battery system 'Rack7'")


def test_output_errors_name_the_folder_as_given(work, plant):
    out = work / "blocked"
    (out / ".bessx").mkdir(parents=True)
    (out / ".bessx" / "sets").write_text("in the way")  # the sets cannot be written
    result = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", "blocked", cwd=work
    )
    assert_one_line_error(result, EXIT_DATA)
    assert error_lines(result)[0].startswith("bessx: error: blocked: ")
    assert ".bessx" not in error_lines(result)[0]


def test_sigint_while_the_command_still_imports(monkeypatch, capsys):
    """The console script's launcher catches a Ctrl-C that lands while bessx is imported."""
    import builtins

    import bessx_launch

    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "bessx.cli":
            raise KeyboardInterrupt  # Ctrl-C in the middle of importing xarray and friends
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert bessx_launch.main() == 130
    assert capsys.readouterr().err == "bessx: interrupted\n"


def test_the_launcher_runs_the_command(monkeypatch, capsys):
    import bessx_launch
    from bessx import __version__

    monkeypatch.setattr(sys, "argv", ["bessx", "--version"])
    assert bessx_launch.main() == 0
    assert __version__ in capsys.readouterr().out
