"""Whole-process runs: ``bessx run`` cold, warm and with one new day, the polars process, imports.

What a user waits for is the whole command, imports and output writing included. Each run
here is one fresh process, timed from the parent: wall seconds, CPU seconds (user + system
of the process and every child it waited for, from :func:`os.wait4`) and its peak RSS
(``ru_maxrss`` of the same call).

``bessx run`` writes the CSV output only (a site file with ``outputs = ["csv"]`` and the
plant's ``timezone``), into an output folder of its own per repetition, with its defaults
otherwise: whatever it keeps in the output folder between runs (a cache) counts as it would
for a user.

* **cold**: a fresh output folder;
* **warm**: the same command again at once, the data folder unchanged (nothing new);
* **incremental**: the next day's file added to the data folder, the same command again.

The polars process (:mod:`bench.polars_pipeline`) computes everything each time: it is
the reference for all three.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

#: The site file of the ``bessx run`` commands: the daily energy CSV only, and the benchmark
#: plant's timezone (the synthetic plant's, :data:`bessx.synthetic.TIMEZONE`; required).
SITE_FILE: Final = 'timezone = "Australia/Sydney"\noutputs = ["csv"]\n'
CSV_NAME: Final = "daily_energy.csv"
_BENCH_PARENT: Final = Path(__file__).resolve().parent.parent


def environment() -> dict[str, str]:
    """The children's environment: this clone's ``bench`` (and ``bessx``) importable, and
    Python's bytecode cache allowed, as in an installed package (without it every process
    compiles bessx's sources again: ~0.15 s, more than a run found up to date takes)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_BENCH_PARENT), env.get("PYTHONPATH")]))
    return env


def timed_process(command: Sequence[str], log_folder: Path, tag: str) -> dict[str, Any]:
    """Run ``command`` to its end; wall and CPU seconds, peak RSS [MiB], exit code.

    Its output goes to ``<log_folder>/<tag>.log``; the last lines are kept on failure.
    """
    log_path = log_folder / f"{tag}.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        child = subprocess.Popen(
            list(command), stdout=log, stderr=subprocess.STDOUT, env=environment()
        )
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    run: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "returncode": child.returncode,
    }
    if child.returncode != 0:
        lines = log_path.read_text(errors="replace").strip().splitlines()
        run["error"] = f"exit code {child.returncode}\n" + "\n".join(lines[-15:])
    return run


def import_command(module: str | None) -> list[str]:
    """``python -c "import <module>"``, or ``python -c pass`` for the interpreter alone."""
    return [sys.executable, "-c", f"import {module}" if module else "pass"]


def bessx_run_command(data: Path, out: Path, site_file: Path) -> list[str]:
    """``bessx run DATA --out OUT --config SITE --quiet`` (``python -m bessx``)."""
    return [
        sys.executable, "-m", "bessx", "run", str(data),
        "--out", str(out), "--config", str(site_file), "--quiet",
    ]  # fmt: skip


def polars_command(data: Path, csv: Path) -> list[str]:
    """The polars pipeline as a process: query + CSV (:mod:`bench.polars_pipeline`)."""
    return [sys.executable, "-m", "bench.polars_pipeline", str(data), str(csv)]


def digest(path: Path) -> str | None:
    """SHA-256 of a file, None if it is missing: are two runs' outputs the same bytes?"""
    if not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()
