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


#: Where the operating system shows which signals a process catches (Linux).
_STATUS = Path("/proc/self/status")
#: Without it, the time the interpreter takes to start (before the launcher's handler is
#: installed, the signal's default action ends the process) [s].
STARTUP = 0.2


def catches(process: subprocess.Popen[str], signum: int) -> bool:
    """Whether ``process`` has a handler for ``signum`` (its ``SigCgt`` mask in /proc)."""
    try:
        status = Path(f"/proc/{process.pid}/status").read_text(encoding="ascii")
    except OSError:  # it has ended
        return False
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(mask, 16) >> (signum - 1) & 1)


def started(process: subprocess.Popen[str], signum: int) -> None:
    """Return once the launcher handles ``signum`` (the interpreter has started), or the
    process has ended: a signal sent before that ends it by the signal's default action,
    however long the start takes on a loaded machine."""
    if not _STATUS.exists():
        time.sleep(STARTUP)
        return
    while process.poll() is None and not catches(process, signum):
        time.sleep(0.002)


def stop_at(moment: float, process: subprocess.Popen[str], signum: int) -> None:
    """Send ``signum`` ``moment`` seconds after the launcher handles it [s]."""
    started(process, signum)
    time.sleep(moment)
    if process.poll() is None:
        process.send_signal(signum)


def assert_stopped_or_done(code: int, stderr: str, signum: int) -> bool:
    """True if the signal stopped the run (one line, its code), False if it came too late."""
    if code == 0:
        return False
    assert code == CODES[signum], stderr
    assert stderr.splitlines()[-1] == "bessx: terminated", stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
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
    started(process, signal.SIGTERM)
    process.send_signal(signal.SIGTERM)
    code, stderr = finish(process)
    assert (code, stderr) == (143, "bessx: terminated\n")
    assert not out.exists()
    shutil.rmtree(out, ignore_errors=True)


# A signal whose exception is dropped ----------------------------------------------------------
#: The launcher, with a SIGTERM received at one moment (``sys.argv[1]``: the imports, the end
#: of the reading, the end of the run) inside code that drops its exception (``sys.argv[2]``:
#: a bare ``except:``, a ``__del__``) or turns it into another error (a ``RuntimeError``);
#: the command's arguments follow.
DROPPING = """
import signal, sys

moment, way = sys.argv[1:3]
del sys.argv[1:3]


class Finalised:
    def __del__(self):
        signal.raise_signal(signal.SIGTERM)  # the handler runs here, inside the __del__


def drop():
    if way == "del":
        Finalised()
        return
    try:
        signal.raise_signal(signal.SIGTERM)
    except BaseException as error:  # as a library's bare except: would
        if way == "wrap":  # as Python 3.11 does in a __set_name__
            raise RuntimeError("Error calling __set_name__") from error


class FirstImport:  # an import hook that drops the signal on the first import
    def find_spec(self, *args):
        sys.meta_path.remove(self)
        drop()


def after(module, name):
    function = getattr(module, name)

    def dropping(*args, **kwargs):
        result = function(*args, **kwargs)
        drop()
        return result

    setattr(module, name, dropping)


import bessx_launch

if moment == "imports":  # the first import is the launcher's, its handler installed
    sys.meta_path.insert(0, FirstImport())
else:
    import bessx.cli.run, bessx.pipeline

    after(*{"read": (bessx.pipeline, "run"), "end": (bessx.cli.run, "_print_results")}[moment])
sys.exit(bessx_launch.main())
"""


def dropping(moment: str, way: str, *args: object, cwd: Path) -> tuple[int, str]:
    """Run the command with a signal dropped at ``moment`` in ``way``; its code and stderr."""
    environment = {"PYTHONPATH": f"{ROOT}{os.pathsep}{_TESTED_ROOT}", "PYTHONWARNINGS": ""}
    result = subprocess.run(
        [sys.executable, "-c", DROPPING, moment, way, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        timeout=180,
    )
    return result.returncode, result.stderr


WAYS = ["except", "del", "wrap"]


@pytest.mark.parametrize("way", WAYS)
def test_a_signal_dropped_during_the_imports_still_ends_the_run(work, plant, way):
    out = work / f"dropped-imports-{way}"
    run = ["run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out]
    code, stderr = dropping("imports", way, *run, cwd=work)
    assert (code, stderr) == (143, "bessx: terminated\n")
    assert not out.exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_signal_dropped_while_reading_never_shows_the_new_set(work, plant, way):
    run = ["run", plant.folder, "--timezone", synthetic.TIMEZONE, "--quiet"]
    cold = work / f"dropped-cold-{way}"
    assert assert_stopped_or_done(
        *dropping("read", way, *run, "--out", cold, cwd=work), signal.SIGTERM
    )
    assert not cold.exists()

    warm = work / f"dropped-warm-{way}"
    code, stderr = finish(launch(*run, "--out", warm, cwd=work))
    assert code == 0, stderr
    before = digest(warm)  # the netCDF file too: a new set would carry a new history
    code, stderr = dropping("read", way, *run, "--out", warm, "--force", cwd=work)
    assert assert_stopped_or_done(code, stderr, signal.SIGTERM)
    assert digest(warm) == before
    assert leftovers(warm) == []
    assert not (warm / ".bessx" / "owner").exists()


@pytest.mark.parametrize("way", WAYS)
def test_a_signal_dropped_after_the_outputs_is_no_success(work, plant, way):
    """Too late to keep the set from being shown, but the run does not say it succeeded."""
    out = work / f"dropped-end-{way}"
    code, stderr = dropping(
        "end", way, "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, cwd=work
    )
    assert assert_stopped_or_done(code, stderr, signal.SIGTERM)
    assert shown(out) == ALL_OUTPUTS and leftovers(out) == []
