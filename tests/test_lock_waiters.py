"""A run that waits for the output folder's lock is never left without it: the real
``bessx`` command in two processes, the first failing into a new output folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_cli import _TESTED_ROOT, ALL_OUTPUTS, corrupt_data_page, leftovers, shown

from bessx import synthetic
from bessx.io.outputs import locked
from bessx.synthetic import write_plant

#: Runs ``bessx ARGS`` with one function held at a gate: ``gate.py MODULE NAME MARKER GO
#: ARGS...``. When the function is called, the marker file is written and the run waits
#: until the file GO exists, then goes on.
GATE = """
import importlib, pathlib, sys, time
module, name, marker, go = sys.argv[1:5]
target = importlib.import_module(module)
real = getattr(target, name)
def gate(*args, **kwargs):
    pathlib.Path(marker).write_text("paused")
    while not pathlib.Path(go).exists():
        time.sleep(0.05)
    return real(*args, **kwargs)
setattr(target, name, gate)
from bessx.cli import main
sys.exit(main(sys.argv[5:]))
"""


def popen(*args: object, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "", "PYTHONPATH": _TESTED_ROOT},
    )


def wait_for(marker: Path, process: subprocess.Popen[str], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        if process.poll() is not None:
            pytest.fail(f"the process ended first: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the process never reached its gate")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def plants(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("waiters")
    good = write_plant(work / "good", "2022-10-01", 2, inverters=2, seed=3).folder
    bad = work / "bad"
    shutil.copytree(good, bad)
    corrupt_data_page(sorted(bad.glob("*.parquet"))[0])
    return good, bad


def test_a_waiting_run_takes_the_lock_when_the_holder_fails_into_a_new_folder(
    tmp_path: Path, plants: tuple[Path, Path]
) -> None:
    good, bad = plants
    out = tmp_path / "new" / "out"  # neither exists: the failing run made both
    gate, marker, go = tmp_path / "gate.py", tmp_path / "a.paused", tmp_path / "a.go"
    gate.write_text(GATE)
    first = popen(
        gate,
        "bessx.pipeline",
        "run",
        marker,
        go,
        "run",
        bad,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        out,
        cwd=tmp_path,
    )
    second = None
    try:
        wait_for(marker, first)  # the first run holds the lock, its outputs not yet begun
        second = popen(
            "-m",
            "bessx",
            "run",
            good,
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            out,
            "--wait",
            cwd=tmp_path,
        )
        assert second.stderr is not None
        line = second.stderr.readline()  # blocks until the second run says it waits
        assert line.startswith(f"bessx: waiting for another bessx run (pid {first.pid})")
        go.write_text("go")
        _, first_error = first.communicate(timeout=120)
        assert first.returncode == 1, first_error
        assert "bessx: error:" in first_error
        _, second_error = second.communicate(timeout=120)
        assert second.returncode == 0, second_error
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()
    assert shown(out) == ALL_OUTPUTS
    assert leftovers(out) == []
    assert not list((out / ".bessx").glob("waiting-*"))


def test_a_failed_run_into_a_new_folder_without_waiters_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError), locked(out):
        assert (out / ".bessx" / "lock").exists()
        raise RuntimeError("the run failed")
    assert not (tmp_path / "new").exists()


def test_a_waiter_that_died_does_not_keep_a_failed_folder(tmp_path: Path) -> None:
    """A ``waiting-<pid>`` file of a process that is gone counts for nothing."""
    out = tmp_path / "new" / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    with pytest.raises(RuntimeError), locked(out):
        (out / ".bessx" / f"waiting-{int(dead.stdout)}").touch()
        raise RuntimeError("the run failed")
    assert not (tmp_path / "new").exists()


def test_a_live_waiter_keeps_the_lock_file_of_a_failed_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError), locked(out):
        (out / ".bessx" / f"waiting-{os.getppid()}").touch()  # a live process
        (out / ".bessx" / "sets").mkdir()
        raise RuntimeError("the run failed")
    assert sorted(path.name for path in (out / ".bessx").iterdir()) == [
        "lock",
        f"waiting-{os.getppid()}",
    ]
    with locked(out):  # the next run takes it, and tidies the waiter's file away once gone
        pass


def test_a_lock_folder_removed_while_waiting_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The holder found no waiter and removed the folder just before this run said it
    waits: the lock file's folder is gone, and the run makes it again and takes the lock."""
    import filelock

    out = tmp_path / "out"
    real = filelock.FileLock.acquire
    calls = []

    def vanishing(self, *args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            shutil.rmtree(out)
            raise FileNotFoundError(2, "No such file or directory", str(self.lock_file))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(filelock.FileLock, "acquire", vanishing)
    with locked(out, wait=True):
        assert (out / ".bessx" / "owner").read_text().strip() == str(os.getpid())
    assert len(calls) == 2
