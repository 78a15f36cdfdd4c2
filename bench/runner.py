"""The benchmark runner behind ``python -m bench`` (see ``docs/performance.md``).

Each repetition of each approach runs in a fresh Python process (:mod:`bench.child`);
repetitions go round-robin over the approaches, so that a noisy neighbour on a shared
machine slows all of them alike rather than one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Final

import numpy as np

from bench.approaches import APPROACHES, Totals
from bench.data import DATA_ROOT, FULL_WIDTH, START, ensure_plant, warm_page_cache

REFERENCE: Final = "bessx"
FLOOR: Final = "pyarrow_floor"
RTOL: Final = 1e-9
ATOL_KWH: Final = 1e-9
DEFAULT_OUT: Final = Path("bench") / "results.json"
DEFAULT_MEMORY_OUT: Final = Path("bench") / "results-memory.json"
_PACKAGES: Final = (
    "bessx",
    "numpy",
    "pandas",
    "pyarrow",
    "polars",
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
        help="days of data (default 30); with --memory a list such as 7,30,90,365 (default 7,30)",
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
    command = [sys.executable, "-m", "bench.child", name, str(folder), str(report_path)]
    started = time.perf_counter()
    finished = subprocess.run(
        [*command, str(totals_path)], env=env, capture_output=True, text=True, check=False
    )
    process_seconds = time.perf_counter() - started
    if finished.returncode != 0 or not report_path.is_file():
        tail = "\n".join(finished.stderr.strip().splitlines()[-15:])
        return {
            "error": _without_paths(f"exit code {finished.returncode}\n{tail}", folder, scratch)
        }
    report = json.loads(report_path.read_text())
    report["process_seconds"] = process_seconds
    if totals_path.is_file():
        with np.load(totals_path) as saved:
            report["totals"] = Totals(**{key: saved[key] for key in Totals._fields})
    return report


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
        "versions": versions,
    }


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
        import_median=statistics.median(run["import_seconds"] for run in good),
        process_median=statistics.median(run["process_seconds"] for run in good),
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
    header = ["approach", "median s", "min s", "ratio", "peak RSS MB", "import s", "agrees?"]
    rows = []
    for name, summary in results.items():
        if "median" not in summary:
            rows.append([name, "failed", "", "", "", "", summary["errors"][0].splitlines()[0]])
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
                "" if ratio is None else f"{ratio:.2f}",
                f"{rss:,.0f}" + (" (all processes)" if "tree_peak_rss_mb" in summary else ""),
                f"{summary['import_median']:.2f}",
                verdict,
            ]
        )
    return _format_table(header, rows)


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
        if args.memory:
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
            settings["days"] = days
            document = {"environment": env, "settings": settings, "implementations": results}
            out = args.out or DEFAULT_OUT
            failed = any(
                "median" not in summary or summary.get("check", {}).get("status") == "differs"
                for summary in results.values()
            )

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=1, default=_jsonable) + "\n")
    print(f"\nwrote {_relative_to_cwd(out)}")
    return 1 if failed else 0


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
