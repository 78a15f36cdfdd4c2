"""The benchmark runner behind ``python -m bench`` (see ``docs/performance.md``).

Each repetition of each approach runs in a fresh Python process (:mod:`bench.child`);
repetitions go round-robin over the approaches, so that a noisy neighbour on a shared
machine slows all of them alike rather than one. ``--suite`` runs everything the targets
need in one go: the approaches in process at two periods, the whole ``bessx run`` process
cold, warm and with one new day against the polars process, and the import of bessx; it
prints every ratio beside its target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np

from bench import processes
from bench.approaches import APPROACHES, Totals
from bench.data import (
    DATA_ROOT,
    FULL_WIDTH,
    START,
    ensure_plant,
    export_files,
    link_files,
    prefix_plant,
    warm_page_cache,
)

REFERENCE: Final = "bessx"
FLOOR: Final = "floor"
POLARS: Final = "polars"
#: The approaches ``--suite`` runs in process, at every in-process period.
SUITE_APPROACHES: Final = ("floor", "bessx", "bessx_onepass", "polars", "duckdb")
#: bessx's fastest way from a folder to daily totals, the one the targets measure.
FASTEST: Final = "bessx_onepass"
SUITE_DAYS: Final = (30, 365)
SUITE_PROCESS_DAYS: Final = (120, 365)
RTOL: Final = 1e-9
ATOL_KWH: Final = 1e-9
DEFAULT_OUT: Final = Path("bench") / "results.json"
DEFAULT_MEMORY_OUT: Final = Path("bench") / "results-memory.json"
DEFAULT_SUITE_OUT: Final = Path("bench") / "results-suite.json"
_PACKAGES: Final = (
    "bessx",
    "numpy",
    "pandas",
    "pyarrow",
    "polars",
    "duckdb",
    "xarray",
    "dask",
    "distributed",
    "flox",
    "psutil",
)
_BENCH_PARENT: Final = Path(__file__).resolve().parent.parent


# Command line ---------------------------------------------------------------------------------
def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(APPROACHES))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown approach(es) {', '.join(unknown)}; choose from {', '.join(APPROACHES)}"
        )
    return names


def _day_counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        message = f"--days takes integers such as 30 or 7,30; got {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--days must be positive; got {text!r}")
    return counts


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time bessx against the alternatives on the synthetic plant, each run "
        "in a fresh process, and check that they agree.",
    )
    cli.add_argument(
        "--days",
        type=_day_counts,
        default=None,
        help="days of data (default 30); with --memory a list such as 7,30,90,365 (default 7,30); "
        "with --suite the in-process periods (default 30,365)",
    )
    cli.add_argument("--repeat", type=int, default=3, help="runs per approach (default 3)")
    cli.add_argument("--only", type=_names, default=None, help="comma-separated approaches")
    cli.add_argument("--skip", type=_names, default=[], help="comma-separated approaches")
    cli.add_argument(
        "--memory",
        action="store_true",
        help="run bessx alone for every --days count: wall time and peak RSS scaling",
    )
    cli.add_argument(
        "--suite",
        action="store_true",
        help="everything the targets need: approaches in process at --days (default 30,365), "
        "whole processes at --process-days (default 120,365; warm and one new day at the "
        "longest), the import of bessx; one table of ratios",
    )
    cli.add_argument(
        "--process-days",
        type=_day_counts,
        default=None,
        help="with --suite: periods of the whole-process runs (default 120,365)",
    )
    cli.add_argument(
        "--inverters", type=int, default=FULL_WIDTH, help="plant width (default 72, the full one)"
    )
    cli.add_argument(
        "--data-dir", type=Path, default=DATA_ROOT, help="cache of generated plants (bench/data)"
    )
    cli.add_argument("--out", type=Path, default=None, help=f"results file ({DEFAULT_OUT})")
    return cli


# Running children -----------------------------------------------------------------------------
def run_child(name: str, folder: Path, scratch: Path, tag: str) -> dict[str, Any]:
    """One run of ``name`` in a fresh process; its report, plus its totals if it has any."""
    report_path = scratch / f"{tag}.json"
    totals_path = scratch / f"{tag}.npz"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_BENCH_PARENT), env.get("PYTHONPATH")]))
    env["BENCH_SCRATCH"] = str(scratch)
    if APPROACHES[name].prepare is not None:  # untimed, in a process of its own
        preparation = [sys.executable, "-m", "bench.child", "--prepare", name, str(folder)]
        prepared = subprocess.run(preparation, env=env, capture_output=True, text=True, check=False)
        if prepared.returncode != 0:
            tail = "\n".join(prepared.stderr.strip().splitlines()[-15:])
            message = f"preparation: exit code {prepared.returncode}\n{tail}"
            return {"error": _without_paths(message, folder, scratch)}
    command = [sys.executable, "-m", "bench.child", name, str(folder), str(report_path)]
    cpu_before = _children_cpu_seconds()
    started = time.perf_counter()
    finished = subprocess.run(
        [*command, str(totals_path)], env=env, capture_output=True, text=True, check=False
    )
    process_seconds = time.perf_counter() - started
    process_cpu_seconds = _children_cpu_seconds() - cpu_before
    if finished.returncode != 0 or not report_path.is_file():
        tail = "\n".join(finished.stderr.strip().splitlines()[-15:])
        return {
            "error": _without_paths(f"exit code {finished.returncode}\n{tail}", folder, scratch)
        }
    report = json.loads(report_path.read_text())
    report["process_seconds"] = process_seconds
    report["process_cpu_seconds"] = process_cpu_seconds
    if totals_path.is_file():
        with np.load(totals_path) as saved:
            report["totals"] = Totals(**{key: saved[key] for key in Totals._fields})
    return report


def _children_cpu_seconds() -> float:
    """User + system seconds of all children reaped so far (one runs at a time)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _without_paths(text: str, *folders: Path) -> str:
    """An error message fit for the results file: no paths of this machine."""
    replacements = [(str(folder), f"<{folder.name}>") for folder in folders]
    replacements += [(sys.prefix, "<venv>"), (sys.base_prefix, "<python>")]
    replacements.append((str(_BENCH_PARENT), "<repository>"))
    for path, placeholder in sorted(replacements, key=lambda pair: -len(pair[0])):
        text = text.replace(path, placeholder)
    return text


def _aligned(candidate: Totals, reference: Totals) -> Totals | None:
    """``candidate`` in the reference's row and column order; None if the labels differ."""
    if sorted(candidate.dates) != sorted(reference.dates):
        return None
    if sorted(candidate.dc_inputs) != sorted(reference.dc_inputs):
        return None
    rows = np.argsort(candidate.dates)[np.argsort(np.argsort(reference.dates))]
    columns = np.argsort(candidate.dc_inputs)[np.argsort(np.argsort(reference.dc_inputs))]
    return Totals(
        reference.dates,
        reference.dc_inputs,
        candidate.discharged[np.ix_(rows, columns)],
        candidate.charged[np.ix_(rows, columns)],
    )


def _relative(value: float, reference: float) -> float:
    return abs(value - reference) / abs(reference) if reference else abs(value)


def compare(candidate: Totals, reference: Totals, expectation: str) -> dict[str, Any]:
    """Agreement of one approach's totals with bessx's (or, for the naive one, its error)."""
    totals = {
        quantity: (
            float(np.nansum(getattr(candidate, quantity))),
            float(np.nansum(getattr(reference, quantity))),
        )
        for quantity in ("discharged", "charged")
    }
    if expectation == "wrong":
        factors = {q: value / ref for q, (value, ref) in totals.items()}
        return {
            "status": "wrong",
            "error_factor": factors,
            "agrees": False,
            "detail": f"{factors['discharged']:.1f}x bessx's energy",
        }
    result: dict[str, Any] = {
        "total_rel_diff": {q: _relative(value, ref) for q, (value, ref) in totals.items()}
    }
    aligned = _aligned(candidate, reference)
    if aligned is None:
        return {**result, "status": "differs", "agrees": False, "detail": "other days/DC inputs"}
    worst = 0.0
    agrees = all(rel <= RTOL for rel in result["total_rel_diff"].values())
    for quantity in ("discharged", "charged"):
        value, expected = getattr(aligned, quantity), getattr(reference, quantity)
        agrees &= bool(np.allclose(value, expected, rtol=RTOL, atol=ATOL_KWH, equal_nan=True))
        both = np.isfinite(value) & np.isfinite(expected) & (expected != 0)
        if both.any():
            worst = max(worst, float(np.max(np.abs(value[both] / expected[both] - 1))))
    return {
        **result,
        "max_rel_diff": worst,
        "status": "agrees" if agrees else "differs",
        "agrees": agrees,
        "detail": f"max rel diff {worst:.1e}",
    }


# Summaries ------------------------------------------------------------------------------------
def environment() -> dict[str, Any]:
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gb": _memory_gb(),
        # how shared the machine was: runnable processes, averaged over 1, 5 and 15 minutes
        "load_average_at_start": _load_average(),
        "versions": versions,
    }


def _load_average() -> list[float] | None:
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:
        return None


def _memory_gb() -> float | None:
    try:
        import psutil
    except ImportError:
        return None
    return round(psutil.virtual_memory().total / 1e9, 1)


def summarise(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    good = [run for run in runs if "error" not in run]
    summary: dict[str, Any] = {
        "description": APPROACHES[name].description,
        "runs": len(runs),
        "errors": [run["error"] for run in runs if "error" in run],
    }
    if not good:
        return summary
    times = [run["seconds"] for run in good]
    summary.update(
        times=times,
        median=statistics.median(times),
        min=min(times),
        cpu_median=statistics.median(run["cpu_seconds"] for run in good),
        import_median=statistics.median(run["import_seconds"] for run in good),
        process_median=statistics.median(run["process_seconds"] for run in good),
        process_cpu_median=statistics.median(run["process_cpu_seconds"] for run in good),
        peak_rss_mb=max(run["peak_rss_mb"] for run in good),
        ru_maxrss_mb=max(run["ru_maxrss_mb"] for run in good),
    )
    tree = [run["tree_peak_rss_mb"] for run in good if run.get("tree_peak_rss_mb") is not None]
    if tree:
        summary["tree_peak_rss_mb"] = max(tree)
    phases = {key for run in good for key in run["phases"]}
    if phases:
        summary["phases_median"] = {
            key: statistics.median(run["phases"][key] for run in good if key in run["phases"])
            for key in sorted(phases)
        }
    return summary


def _format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = [" | ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * width for width in widths))
    lines += [
        " | ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(lines)


def comparison_table(results: dict[str, dict[str, Any]]) -> str:
    header = [
        "approach", "median s", "min s", "CPU s", "ratio to floor", "peak RSS MB", "import s",
        "agrees?",
    ]  # fmt: skip
    rows = []
    for name, summary in results.items():
        if "median" not in summary:
            failure = summary["errors"][0].splitlines()[0]
            rows.append([name, "failed", "", "", "", "", "", failure])
            continue
        ratio = summary.get("ratio")
        rss = summary.get("tree_peak_rss_mb", summary["peak_rss_mb"])
        check = summary.get("check", {})
        verdict = {
            "floor": "(floor)",
            "read": "(read only)",
            "agrees": "yes",
            "wrong": f"no: {check.get('detail', '')} (expected)",
            "differs": f"NO: {check.get('detail', '')}",
        }.get(check.get("status", ""), "?")
        rows.append(
            [
                name,
                f"{summary['median']:.2f}",
                f"{summary['min']:.2f}",
                f"{summary['cpu_median']:.2f}",
                "" if ratio is None else f"{ratio:.2f}",
                f"{rss:,.0f}" + (" (all processes)" if "tree_peak_rss_mb" in summary else ""),
                f"{summary['import_median']:.2f}",
                verdict,
            ]
        )
    return _format_table(header, rows)


def phases_table(results: dict[str, dict[str, Any]]) -> str:
    """The medians of the open and of the rest, for the approaches that time them apart."""
    header = ["approach", "open s", "open CPU s", "then to the table s", "its CPU s"]
    keys = ("open", "open_cpu", "compute", "compute_cpu")
    rows = [
        [name, *(f"{summary['phases_median'][key]:.2f}" for key in keys)]
        for name, summary in results.items()
        if set(keys) <= set(summary.get("phases_median", {}))
    ]
    return _format_table(header, rows) if rows else ""


def memory_table(rows: list[dict[str, Any]]) -> str:
    """Wall time and peak RSS per day count, each approach against its own smallest run."""
    header = ["approach", "days", "median s", "min s", "s per day", "peak RSS MB", "RSS vs first"]
    measured = [row for row in rows if "median" in row]
    first: dict[str, float] = {}
    body = []
    for row in measured:
        first.setdefault(row["approach"], row["peak_rss_mb"])
        body.append(
            [
                row["approach"],
                str(row["days"]),
                f"{row['median']:.2f}",
                f"{row['min']:.2f}",
                f"{row['median'] / row['days']:.3f}",
                f"{row['peak_rss_mb']:,.0f}",
                f"{row['peak_rss_mb'] / first[row['approach']]:.2f}",
            ]
        )
    return _format_table(header, body)


# Modes ----------------------------------------------------------------------------------------
def _selected(only: list[str] | None, skip: list[str]) -> list[str]:
    chosen = only if only is not None else list(APPROACHES)
    return [name for name in APPROACHES if name in chosen and name not in skip]


def compare_approaches(
    names: list[str], folder: Path, repeat: int, scratch: Path, log=print
) -> dict[str, dict[str, Any]]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for repetition in range(repeat):
        for name in names:
            report = run_child(name, folder, scratch, f"{name}-{repetition}")
            runs[name].append(report)
            shown = "failed" if "error" in report else f"{report['seconds']:.2f} s"
            log(f"  [{repetition + 1}/{repeat}] {name:<18} {shown}")

    reference_runs = [run for run in runs.get(REFERENCE, []) if "totals" in run]
    if not reference_runs:
        log(f"  reference run of {REFERENCE} (untimed)")
        reference_runs = [run_child(REFERENCE, folder, scratch, "reference")]
    reference = reference_runs[0].get("totals")

    results = {name: summarise(name, runs[name]) for name in names}
    floor = results.get(FLOOR, {}).get("median")
    for name, summary in results.items():
        if "median" not in summary:
            continue
        summary["ratio"] = summary["median"] / floor if floor else None
        expectation = APPROACHES[name].check
        if expectation in ("floor", "read"):  # no energy to compare
            summary["check"] = {"status": expectation, "agrees": None}
            continue
        if reference is None:
            summary["check"] = {"status": "differs", "agrees": False, "detail": "no reference"}
            continue
        checks = [
            compare(run["totals"], reference, expectation) for run in runs[name] if "totals" in run
        ]
        if not checks:
            summary["check"] = {"status": "differs", "agrees": False, "detail": "no totals"}
        elif expectation == "wrong":
            summary["check"] = checks[0]
        else:  # the first disagreeing repetition, if any
            summary["check"] = next((c for c in checks if not c["agrees"]), checks[0])
    return results


# Whole processes --------------------------------------------------------------------------------
def _process_summary(
    runs: list[dict[str, Any]], description: str, *folders: Path
) -> dict[str, Any]:
    good = [run for run in runs if "error" not in run]
    summary: dict[str, Any] = {
        "description": description,
        "runs": len(runs),
        "errors": [_without_paths(run["error"], *folders) for run in runs if "error" in run],
    }
    if good:
        times = [run["seconds"] for run in good]
        summary.update(
            times=times,
            median=statistics.median(times),
            min=min(times),
            cpu_median=statistics.median(run["cpu_seconds"] for run in good),
            peak_rss_mb=max(run["peak_rss_mb"] for run in good),
        )
    return summary


def compare_processes(
    process_days: list[int], source: Path, repeat: int, scratch: Path, log=print
) -> dict[str, dict[str, Any]]:
    """Whole-process runs, round-robin: imports, cold at every period, warm and one new day.

    Each period N runs as a chain on a working folder of links to the first N files: cold
    into a fresh output folder, warm (the same command again), then the next day's file is
    linked in and the command runs once more (incremental); the polars process runs on the
    N files and on the N + 1.
    """
    longest = max(process_days)
    files = export_files(source)
    if len(files) < longest + 1:
        raise ValueError(f"the incremental mode needs {longest + 1} days, {source.name} has fewer")
    site_file = scratch / "site.toml"
    site_file.write_text(processes.SITE_FILE)
    logs = scratch / "logs"
    logs.mkdir(exist_ok=True)
    working = scratch / f"incremental-{longest}d"

    descriptions = {
        "import bessx": 'python -c "import bessx"',
        "import xarray": 'python -c "import xarray" (for comparison: xarray alone)',
        "python": 'python -c "pass" (the interpreter alone)',
    }
    for days in process_days:
        descriptions[f"polars process {days} d"] = (
            f"python -m bench.polars_pipeline on {days} files: polars lazy query + CSV"
        )
        descriptions[f"bessx run cold {days} d"] = (
            f"bessx run (CSV only) on {days} files into a fresh output folder"
        )
    for days in process_days:
        descriptions[f"bessx run warm {days} d"] = (
            "the same command again on the same folders, nothing new"
        )
        descriptions[f"bessx run incremental {days}+1 d"] = (
            f"one new day's file added to the {days}-file folder already run, the same command"
        )
        descriptions[f"polars process {days + 1} d"] = (
            f"python -m bench.polars_pipeline on the {days + 1} files of the incremental run"
        )
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in descriptions}
    same_output: dict[int, list[bool]] = {}

    def timed(name: str, command: list[str], repetition: int) -> dict[str, Any]:
        tag = f"{name.replace(' ', '_').replace('+', 'p')}-{repetition}"
        run = processes.timed_process(command, logs, tag)
        runs[name].append(run)
        shown = "failed" if "error" in run else f"{run['seconds']:.2f} s"
        log(f"  [{repetition + 1}/{repeat}] {name:<32} {shown}")
        return run

    for repetition in range(repeat):
        timed("import bessx", processes.import_command("bessx"), repetition)
        timed("import xarray", processes.import_command("xarray"), repetition)
        timed("python", processes.import_command(None), repetition)
        for days in process_days:
            folder = prefix_plant(source, days)
            csv = scratch / f"polars-{days}-{repetition}.csv"
            timed(f"polars process {days} d", processes.polars_command(folder, csv), repetition)
            csv.unlink(missing_ok=True)
            # the chain: cold into a fresh output folder, warm, then one new day
            shutil.rmtree(working, ignore_errors=True)
            link_files(files[:days], working)
            out = scratch / f"out-{days}-{repetition}"
            command = processes.bessx_run_command(working, out, site_file)
            timed(f"bessx run cold {days} d", command, repetition)
            cold_digest = processes.digest(out / processes.CSV_NAME)
            timed(f"bessx run warm {days} d", command, repetition)
            same_output.setdefault(days, []).append(
                cold_digest is not None
                and processes.digest(out / processes.CSV_NAME) == cold_digest
            )
            link_files(files[days : days + 1], working)
            timed(f"bessx run incremental {days}+1 d", command, repetition)
            csv = scratch / f"polars-{days + 1}-{repetition}.csv"
            timed(
                f"polars process {days + 1} d", processes.polars_command(working, csv), repetition
            )
            csv.unlink(missing_ok=True)
            shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(working, ignore_errors=True)

    results = {
        name: _process_summary(runs[name], descriptions[name], source, scratch)
        for name in descriptions
    }
    for days, same in same_output.items():
        results[f"bessx run warm {days} d"]["same_csv_as_cold"] = all(same)
    return results


def process_table(results: dict[str, dict[str, Any]]) -> str:
    header = ["whole process", "median s", "min s", "CPU s", "peak RSS MB", "what"]
    rows = []
    for name, summary in results.items():
        if "median" not in summary:
            rows.append([name, "failed", "", "", "", summary["errors"][0].splitlines()[0]])
            continue
        rows.append(
            [
                name,
                f"{summary['median']:.2f}",
                f"{summary['min']:.2f}",
                f"{summary['cpu_median']:.2f}",
                f"{summary['peak_rss_mb']:,.0f}",
                summary["description"],
            ]
        )
    return _format_table(header, rows)


# Targets ----------------------------------------------------------------------------------------
def _target(
    measure: str,
    value: float | None,
    limit: float,
    unit: str = "",
    *,
    strict: bool = False,
    cpu_value: float | None = None,
) -> dict[str, Any]:
    met = None if value is None else (value < limit if strict else value <= limit)
    return {
        "measure": measure,
        "value": value,
        "cpu_value": cpu_value,
        "target": f"{'<' if strict else '≤'} {limit:g}{unit}",
        "met": met,
    }


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def targets(
    in_process: dict[int, dict[str, dict[str, Any]]],
    whole: dict[str, dict[str, Any]],
    process_days: list[int],
) -> list[dict[str, Any]]:
    """The performance targets, each as the measured ratio (or value) beside its limit.

    Ratios of times come with the same ratio of CPU seconds (``cpu_value``), which a shared
    machine disturbs less.
    """
    longest_in = max(in_process)
    shortest_in = min(in_process)

    def get(results: dict[str, dict[str, Any]], name: str, key: str = "median") -> Any:
        return results.get(name, {}).get(key)

    def time_ratio(
        measure: str,
        results: dict[str, dict[str, Any]],
        names: tuple[str, str],
        limit: float,
        strict: bool = False,
    ) -> dict[str, Any]:
        mine, theirs = names
        return _target(
            measure,
            _ratio(get(results, mine), get(results, theirs)),
            limit,
            strict=strict,
            cpu_value=_ratio(get(results, mine, "cpu_median"), get(results, theirs, "cpu_median")),
        )

    big = in_process[longest_in]
    rows = [
        time_ratio(
            f"cold {longest_in} d in process: bessx (one pass) / polars lazy",
            big,
            (FASTEST, POLARS),
            0.8,
        ),
        time_ratio(
            f"cold {longest_in} d in process: bessx (one pass) / one-parse floor",
            big,
            (FASTEST, FLOOR),
            1.3,
        ),
        _target(
            f"peak RSS {longest_in} d in process, bessx [MB]",
            get(big, FASTEST, "peak_rss_mb"),
            400,
            " MB",
        ),
    ]
    if shortest_in != longest_in:
        rows.append(
            _target(
                f"peak RSS bessx {longest_in} d / {shortest_in} d",
                _ratio(
                    get(big, FASTEST, "peak_rss_mb"),
                    get(in_process[shortest_in], FASTEST, "peak_rss_mb"),
                ),
                1.3,
            )
        )
    for days in process_days:
        rows += [
            time_ratio(
                f"bessx run (CSV) cold / polars process, {days} d",
                whole,
                (f"bessx run cold {days} d", f"polars process {days} d"),
                1.2,
            ),
            _target(
                f"peak RSS bessx run cold {days} d [MB]",
                get(whole, f"bessx run cold {days} d", "peak_rss_mb"),
                500,
                " MB",
            ),
            time_ratio(
                f"bessx run warm (nothing new) {days} d / polars process {days} d",
                whole,
                (f"bessx run warm {days} d", f"polars process {days} d"),
                0.2,
            ),
            time_ratio(
                f"bessx run one new day on {days} d / polars process {days + 1} d",
                whole,
                (f"bessx run incremental {days}+1 d", f"polars process {days + 1} d"),
                0.35,
            ),
        ]
    rows += [
        _target('python -c "import bessx" [s]', get(whole, "import bessx"), 0.4, " s"),
    ]
    return rows


def _shown(value: float | None, limit: str) -> str:
    if value is None:
        return "n/a"
    return (
        f"{value:,.0f} MB"
        if limit.endswith("MB")
        else f"{value:.2f}" + (" s" if limit.endswith(" s") else "")
    )


def targets_table(rows: list[dict[str, Any]]) -> str:
    header = ["target", "measured", "CPU s ratio", "limit", "met?"]
    body = [
        [
            row["measure"],
            _shown(row["value"], row["target"]),
            "" if row.get("cpu_value") is None else f"{row['cpu_value']:.2f}",
            row["target"],
            {True: "yes", False: "NO", None: "?"}[row["met"]],
        ]
        for row in rows
    ]
    return _format_table(header, body)


def run_suite(args: argparse.Namespace, scratch: Path, log=print) -> tuple[dict[str, Any], bool]:
    """``--suite``: the in-process comparison at every period, whole processes, targets."""
    in_days = sorted(set(args.days or SUITE_DAYS))
    process_days = sorted(set(args.process_days or SUITE_PROCESS_DAYS))
    names = _selected(args.only or list(SUITE_APPROACHES), args.skip)
    if not names:
        parser().error("--only/--skip leave no approach to run")
    total = max(in_days + process_days) + 1
    source = ensure_plant(total, args.inverters, args.data_dir, log=log)
    size = warm_page_cache(source)
    log(f"plant: {total} days, {args.inverters} inverters, {size:,.0f} MB; page cache warmed")

    in_process: dict[int, dict[str, dict[str, Any]]] = {}
    for days in in_days:
        log(f"in process, {days} days: {', '.join(names)} x {args.repeat}")
        in_process[days] = compare_approaches(
            names, prefix_plant(source, days), args.repeat, scratch, log
        )
    log(f"whole processes, {', '.join(map(str, process_days))} days x {args.repeat}")
    whole = compare_processes(process_days, source, args.repeat, scratch, log)
    target_rows = targets(in_process, whole, process_days)

    for days, results in in_process.items():
        log(f"\nin process, {days} days")
        log(comparison_table(results))
    log("\nwhole processes")
    log(process_table(whole))
    log("\ntargets")
    log(targets_table(target_rows))

    failed = any(
        "median" not in summary or summary.get("check", {}).get("status") == "differs"
        for results in in_process.values()
        for summary in results.values()
    ) or any("median" not in summary for summary in whole.values())
    if not all(summary.get("same_csv_as_cold", True) for summary in whole.values()):
        log("the warm re-run wrote another daily_energy.csv than the cold run")
        failed = True
    document = {
        "settings": {"days": in_days, "process_days": process_days, "plant_days": total},
        "in_process": {str(days): results for days, results in in_process.items()},
        "processes": whole,
        "targets": target_rows,
    }
    return document, failed


def _relative_to_cwd(path: Path) -> str:
    """A path for the results file: relative when possible, never the machine's layout."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return path.name


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.repeat < 1:
        parser().error("--repeat must be at least 1")
    if not 1 <= args.inverters <= FULL_WIDTH:
        parser().error(f"--inverters must be between 1 and {FULL_WIDTH}")
    env = environment()
    print(
        f"bessx benchmark: {env['cpu_count']} CPUs, Python {env['python']}, "
        + ", ".join(f"{k} {v}" for k, v in env["versions"].items() if v)
    )
    settings = {
        "start": START,
        "inverters": args.inverters,
        "repeat": args.repeat,
        "rtol": RTOL,
        "timing": "run only, in a fresh process per repetition, page cache warm; "
        "imports timed apart",
    }

    with tempfile.TemporaryDirectory(prefix="bessx-bench-") as scratch_name:
        scratch = Path(scratch_name)
        if args.suite:
            if args.memory:
                parser().error("--suite and --memory are separate runs")
            suite, failed = run_suite(args, scratch)
            settings.update(suite.pop("settings"))
            document = {"environment": env, "settings": settings, **suite}
            out = args.out or DEFAULT_SUITE_OUT
        elif args.memory:
            day_counts = args.days or [7, 30]
            names = _selected(args.only, args.skip) if args.only else [REFERENCE]
            rows = []
            for days in day_counts:
                folder = ensure_plant(days, args.inverters, args.data_dir)
                warm_page_cache(folder)
                print(f"{days} days: {', '.join(names)} x {args.repeat}")
                summaries = compare_approaches(names, folder, args.repeat, scratch)
                rows += [{"approach": name, "days": days, **summaries[name]} for name in names]
            rows.sort(key=lambda row: (names.index(row["approach"]), row["days"]))
            print()
            print(memory_table(rows))
            document = {"environment": env, "settings": settings, "memory": rows}
            out = args.out or DEFAULT_MEMORY_OUT
            failed = any("median" not in row for row in rows)
        else:
            day_counts = args.days or [30]
            if len(day_counts) != 1:
                parser().error("several --days counts need --memory")
            days = day_counts[0]
            names = _selected(args.only, args.skip)
            if not names:
                parser().error("--only/--skip leave no approach to run")
            folder = ensure_plant(days, args.inverters, args.data_dir)
            size = warm_page_cache(folder)
            print(f"{days} days, {args.inverters} inverters, {size:,.0f} MB; page cache warmed")
            results = compare_approaches(names, folder, args.repeat, scratch)
            print()
            print(comparison_table(results))
            if phases := phases_table(results):
                print()
                print(phases)
            settings["days"] = days
            document = {"environment": env, "settings": settings, "implementations": results}
            out = args.out or DEFAULT_OUT
            failed = any(
                "median" not in summary or summary.get("check", {}).get("status") == "differs"
                for summary in results.values()
            )

    env["load_average_at_end"] = _load_average()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, default=_jsonable) + "\n")
    print(f"\nwrote {_relative_to_cwd(out)}")
    return 1 if failed else 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
