"""Run one approach once in this (fresh) process and report on it.

``python -m bench.child APPROACH FOLDER REPORT.json [TOTALS.npz]``

``python -m bench.child --prepare APPROACH FOLDER`` runs the approach's untimed preparation
(see :attr:`bench.approaches.Approach.prepare`) in a process of its own, so that the timed
process starts as fresh as any other.

Imports the approach's libraries (timed apart), times ``run(folder)`` (wall and CPU seconds,
user + system over all threads), records the peak
resident set size of this process (``VmHWM``, see :func:`_peak_rss_mb`; for approaches that
start worker processes, also the largest sum over the process tree, sampled every 20 ms),
then, untimed, writes the approach's daily totals per DC input to ``TOTALS.npz`` and the
report to ``REPORT.json``.
"""

from __future__ import annotations

import importlib
import json
import re
import resource
import sys
import threading
import time
from pathlib import Path

from bench.approaches import APPROACHES

_SAMPLE_SECONDS = 0.02


class _TreeSampler(threading.Thread):
    """Largest total RSS of this process and all its descendants, sampled."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        import psutil

        self._process = psutil.Process()
        self._halt = threading.Event()
        self.peak_bytes = 0

    def run(self) -> None:
        import psutil

        while not self._halt.is_set():
            total = 0
            for process in (self._process, *self._process.children(recursive=True)):
                try:
                    total += process.memory_info().rss
                except psutil.Error:  # a worker that just exited
                    pass
            self.peak_bytes = max(self.peak_bytes, total)
            self._halt.wait(_SAMPLE_SECONDS)

    def stop(self) -> int:
        self._halt.set()
        self.join()
        return self.peak_bytes


def _peak_rss_mb() -> tuple[float, float]:
    """Peak RSS of this process [MiB]: the high-water mark of its memory, and ru_maxrss.

    ``ru_maxrss`` is not enough on its own: Linux carries the parent's high-water mark
    across vfork + exec (what :mod:`subprocess` uses), so a child of a big parent starts
    "big". ``VmHWM`` belongs to the new address space only.
    """
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return ru_maxrss, ru_maxrss
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, flags=re.MULTILINE)
    return (int(match[1]) / 1024 if match else ru_maxrss), ru_maxrss


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    if argv[0] == "--prepare":
        name, folder = argv[1:]
        prepare = APPROACHES[name].prepare
        if prepare is not None:
            prepare(Path(folder))
        return 0
    name, folder, report_path, *rest = argv
    approach = APPROACHES[name]

    started = time.perf_counter()
    for module in approach.imports:
        importlib.import_module(module)
    imported = time.perf_counter()

    sampler = _TreeSampler() if approach.multiprocess else None
    if sampler is not None:
        sampler.start()
    cpu_began = _cpu_seconds(resource.RUSAGE_SELF)
    began = time.perf_counter()
    outcome = approach.run(Path(folder))
    seconds = time.perf_counter() - began
    cpu_seconds = _cpu_seconds(resource.RUSAGE_SELF) - cpu_began
    peak_rss, ru_maxrss = _peak_rss_mb()
    tree_peak = sampler.stop() / 2**20 if sampler is not None else None
    if outcome.cleanup is not None:
        outcome.cleanup()
    # worker processes count once they are gone (reaped): after the clean-up
    workers_cpu = _cpu_seconds(resource.RUSAGE_CHILDREN) if approach.multiprocess else 0.0

    report = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds + workers_cpu,
        "import_seconds": imported - started,
        "peak_rss_mb": peak_rss,
        "ru_maxrss_mb": ru_maxrss,
        "tree_peak_rss_mb": tree_peak,
        "phases": outcome.phases,
    }
    if rest and approach.totals is not None:
        import numpy as np

        totals = approach.totals(outcome.result)
        np.savez(rest[0], **totals._asdict())
    Path(report_path).write_text(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
