"""SIGTERM and SIGHUP end a run as Ctrl-C does, at any moment: one line, 143 or 129, no mess.

Cron, systemd and CI timeouts stop a run with SIGTERM; a closed terminal sends SIGHUP. The
real console script (:mod:`bessx_launch`) is started in a subprocess, cold (a new ``--out``)
and warm (over an earlier run's outputs), and the signal is sent at moments drawn at random
(seeded) over the length of a run: during the imports, the reading, the writing, or after
the end. Whatever the moment, the output folder holds the earlier outputs or none, never a
partial set, a stale owner file or a new folder.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import _TESTED_ROOT, ALL_OUTPUTS, digest, leftovers, shown

from bessx import synthetic
from bessx.synthetic import write_plant

LAUNCH = "import sys, bessx_launch; sys.exit(bessx_launch.main())"
CODES = {signal.SIGTERM: 143, signal.SIGHUP: 129}
ROOT = str(Path(__file__).resolve().parent.parent)  # where bessx_launch.py lies


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("signals")


@pytest.fixture(scope="module")
def plant(work: Path):
    return write_plant(work / "exports", "2022-10-01", 3, inverters=3, seed=5)


def launch(*args: object, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", LAUNCH, *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "", "PYTHONPATH": f"{ROOT}{os.pathsep}{_TESTED_ROOT}"},
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=180)
    return process.returncode, stderr


@pytest.fixture(scope="module")
def run_seconds(work: Path, plant) -> float:
    """How long a whole cold run takes here (the moments are drawn over it)."""
    started = time.monotonic()
    code, stderr = finish(
        launch(
            "run",
            plant.folder,
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            work / "timed",
            "--quiet",
            cwd=work,
        )
    )
    assert code == 0, stderr
    return time.monotonic() - started


#: Before this, the interpreter itself starts (the launcher's handler is not installed yet:
#: nothing of bessx runs, and the signal's default action ends the process) [s].
STARTUP = 0.2


def stop_at(moment: float, process: subprocess.Popen[str], signum: int) -> None:
    time.sleep(STARTUP + moment)
    if process.poll() is None:
        process.send_signal(signum)


def assert_stopped_or_done(code: int, stderr: str, signum: int) -> bool:
    """True if the signal stopped the run (one line, its code), False if it came too late."""
    if code == 0:
        return False
    assert code == CODES[signum], stderr
    assert stderr.splitlines()[-1] == "bessx: terminated", stderr
    assert "Traceback" not in stderr
    return True


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_a_signal_at_a_random_moment_of_a_cold_run_leaves_no_folder(
    work, plant, run_seconds, signum
):
    moments = random.Random(int(signum)).sample(range(900), 3 if signum == signal.SIGTERM else 2)
    stopped = 0
    for index, moment in enumerate(moments):
        out = work / f"cold-{int(signum)}-{index}"
        process = launch(
            "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet", cwd=work
        )
        stop_at(moment / 1000 * run_seconds, process, signum)
        code, stderr = finish(process)
        if assert_stopped_or_done(code, stderr, signum):
            stopped += 1
            assert not out.exists(), sorted(p.name for p in out.rglob("*"))
        else:
            assert shown(out) == ALL_OUTPUTS and leftovers(out) == []
    assert stopped >= 1, "no moment fell inside a run"


def test_a_signal_at_a_random_moment_of_a_warm_run_keeps_the_earlier_outputs(
    work, plant, run_seconds
):
    out = work / "warm"
    code, stderr = finish(
        launch(
            "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet", cwd=work
        )
    )
    assert code == 0, stderr
    #: every output but the netCDF file, whose history attribute carries the time of writing
    same = [name for name in ALL_OUTPUTS if not name.endswith(".nc")]
    before = {name: digest(out)[name] for name in same}
    stopped = 0
    for moment in random.Random(7).sample(range(1000), 3):
        # --force: a run over unchanged inputs would be up to date and end at once
        process = launch(
            "run",
            plant.folder,
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            out,
            "--quiet",
            "--force",
            cwd=work,
        )
        stop_at(moment / 1000 * run_seconds * 0.5, process, signal.SIGTERM)
        code, stderr = finish(process)
        stopped += assert_stopped_or_done(code, stderr, signal.SIGTERM)
        assert shown(out) == ALL_OUTPUTS
        assert {name: digest(out)[name] for name in same} == before, "the same outputs"
        assert leftovers(out) == []
        assert not (out / ".bessx" / "owner").exists()
        assert not list((out / ".bessx" / "cache").glob(".partial-*"))
    assert stopped >= 1, "no moment fell inside a run"


def test_a_signal_during_the_imports_is_one_line(work, plant):
    """The very first moments: the launcher's own handler, before bessx is imported."""
    out = work / "imports"
    process = launch("run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, cwd=work)
    time.sleep(STARTUP)
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process)
    assert (code, stderr) == (143, "bessx: terminated\n")
    assert not out.exists()
    shutil.rmtree(out, ignore_errors=True)
