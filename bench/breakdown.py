"""Where the one pass spends its time per export: ``python -m bench.breakdown``.

Runs the one pass's per-file task (:func:`bessx.onepass.summarise_export`) serially on the
first ``--files`` exports of the benchmark plant, with a CPU timer around each of its stages
(the read, the quality flags, the energy sums, ...), beside the one-parse floor's read of the
same files (``polars.read_parquet`` of Timestamp and the DC power columns, one thread), and
prints CPU milliseconds per file: the median of ``--repeat`` rounds, each round after a
warm-up file. Stages are timed where the task looks them up, so a stage called inside
another is counted in both (``export_from_scan`` inside the read).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from bench.data import FULL_WIDTH, ensure_plant

#: The stages timed, by the name the per-file task calls them, in the order they run.
STAGES: Final = (
    ("_load", "read: footer, timestamps and columns, and the checks"),
    ("export_from_scan", "  of which the checks of the export"),
    ("local_days", "local days"),
    ("hold_seconds", "hold durations"),
    ("running_power_sums", "energy sums"),
    ("power_sample_flags", "quality flags of the power"),
    ("soc_flags_given_flow", "quality flags of the SOC"),
    ("daily_soc_throughput", "SOC swings"),
    ("held_per_day", "held seconds (gaps)"),
    ("flag_counts_per_day", "flag counts per day"),
    ("_health_summary", "battery health partials"),
)


def _timed(namespace: dict[str, Any], name: str, spent: dict[str, float]) -> None:
    function = namespace[name]

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - started

    namespace[name] = timed


def _floor_read(files: list[Path]) -> Callable[[Path], object]:
    import polars as pl

    from bessx.io.exports import ColumnPatterns, map_columns

    names = tuple(pl.read_parquet_schema(files[0]))
    columns = ["Timestamp", *map_columns(names, ColumnPatterns()).dc_power.values()]
    return lambda path: pl.read_parquet(path, columns=columns, parallel="none")


def breakdown(files: list[Path], repeat: int, **settings: Any) -> dict[str, float]:
    """CPU ms per file of the floor's read, the one pass and each of its stages (medians)."""
    from bessx.onepass import Settings, summarise_export

    task_settings = Settings(**settings)
    floor = _floor_read(files)
    rounds: dict[str, list[float]] = {}
    for _ in range(repeat):
        spent: dict[str, float] = {}
        namespace = sys.modules[summarise_export.__module__].__dict__
        saved = dict(namespace)
        for name, _label in STAGES:
            if callable(namespace.get(name)):
                _timed(namespace, name, spent)
        try:
            summarise_export(files[0], task_settings)  # warm-up: caches, first imports
            spent.clear()
            started = time.process_time()
            for path in files:
                summarise_export(path, task_settings)
            total = time.process_time() - started
        finally:
            namespace.update(saved)
        floor(files[0])
        started = time.process_time()
        for path in files:
            floor(path)
        rounds.setdefault("floor read", []).append(time.process_time() - started)
        rounds.setdefault("one pass (total)", []).append(total)
        for name, _label in STAGES:
            if name in spent:
                rounds.setdefault(name, []).append(spent[name])
    return {name: 1e3 * statistics.median(times) / len(files) for name, times in rounds.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.breakdown", description=__doc__)
    parser.add_argument("--files", type=int, default=30, help="exports (default 30)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument(
        "--soc", action="store_true", help="read the SOC too (as allocation soc and the flags)"
    )
    parser.add_argument("--health", action="store_true", help="the battery health's partials too")
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="a folder of exports (default: 30 days)"
    )
    args = parser.parse_args(argv)
    folder = ensure_plant(args.files, FULL_WIDTH) if args.data_dir is None else args.data_dir
    files = sorted(folder.glob("*.parquet"))[: args.files]
    from bessx.synthetic import TIMEZONE  # the benchmark plant's

    settings: dict[str, Any] = {"timezone": TIMEZONE, "soc": args.soc or args.health}
    if args.health:
        from bessx.onepass import HealthSettings

        settings["health"] = HealthSettings()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the synthetic plant's repaired rows
        result = breakdown(files, args.repeat, **settings)
    labels = dict(STAGES)
    print(f"CPU ms per export, median of {args.repeat} rounds over {len(files)} exports")
    named = sum(result.get(name, 0.0) for name, _ in STAGES if name != "export_from_scan")
    for name, value in result.items():
        print(f"{labels.get(name, name):55s} {value:7.2f}")
    print(
        f"{'the rest (the task itself, arrays, the summary)':55s} "
        f"{result['one pass (total)'] - named:7.2f}"
    )


if __name__ == "__main__":
    main()
