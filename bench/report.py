"""Markdown tables of a suite's results, for docs/performance.md and the README.

``python -m bench.report [bench/results-suite.json]`` prints the tables of the results file
written by ``python -m bench --suite``: the approaches in process at every period, the whole
processes, and the targets with their ratios.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.runner import DEFAULT_SUITE_OUT, FLOOR, REFERENCE, _shown, targets

_VERDICTS = {"floor": "(floor)", "read": "(read only)", "agrees": "yes", "differs": "**NO**"}


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = [_row(header), _row(["---"] * len(header))]
    return "\n".join([*lines, *(_row(row) for row in rows)])


def _spread(summary: dict[str, Any]) -> str:
    """The repetitions' range around the median: ``min–max``."""
    times = summary.get("times") or []
    return f"{min(times):.2f}–{max(times):.2f}" if times else ""


def in_process_table(in_process: dict[str, dict[str, dict[str, Any]]]) -> str:
    """One row per approach, a column group per period."""
    periods = sorted(in_process, key=int)
    names = list(dict.fromkeys(name for days in periods for name in in_process[days]))
    header = ["approach"]
    for days in periods:
        header += [f"{days} d s", f"{days} d CPU s", f"{days} d ÷ floor", f"{days} d peak RSS MB"]
    header.append("agrees with bessx?")
    rows = []
    for name in names:
        cells = [f"`{name}`"]
        verdict = ""
        for days in periods:
            summary = in_process[days].get(name, {})
            if "median" not in summary:
                cells += ["failed", "", "", ""]
                continue
            floor = in_process[days].get(FLOOR, {}).get("median")
            cells += [
                f"{summary['median']:.2f}",
                f"{summary['cpu_median']:.2f}",
                f"{summary['median'] / floor:.2f}" if floor else "",
                f"{summary['peak_rss_mb']:,.0f}",
            ]
            check = summary.get("check", {})
            status = check.get("status", "")
            verdict = _VERDICTS.get(status, status)
            if name == REFERENCE:
                verdict = "(reference)"
            elif status == "agrees":
                verdict += f" ({check.get('max_rel_diff', 0):.0e})"
        rows.append([*cells, verdict])
    return _table(header, rows)


def process_table(processes: dict[str, dict[str, Any]]) -> str:
    header = ["whole process", "median s", "range s", "CPU s", "peak RSS MB"]
    rows = []
    for name, summary in processes.items():
        if "median" not in summary:
            rows.append([name, "failed", "", "", ""])
            continue
        rows.append(
            [
                name,
                f"{summary['median']:.2f}",
                _spread(summary),
                f"{summary['cpu_median']:.2f}",
                f"{summary['peak_rss_mb']:,.0f}",
            ]
        )
    return _table(header, rows)


def targets_table(rows_of_targets: list[dict[str, Any]]) -> str:
    verdicts = {True: "yes", False: "**no**", None: "?"}
    rows = [
        [
            row["measure"],
            _shown(row["value"], row["target"]),
            "" if row.get("cpu_value") is None else f"{row['cpu_value']:.2f}",
            row["target"],
            verdicts[row["met"]],
        ]
        for row in rows_of_targets
    ]
    return _table(["target", "measured", "same ratio of CPU s", "limit", "met?"], rows)


def _targets(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The targets, recomputed from the measurements (so older results files get new ratios)."""
    in_process = {int(days): results for days, results in document["in_process"].items()}
    return targets(in_process, document["processes"], document["settings"]["process_days"])


def render(document: dict[str, Any]) -> str:
    settings = document["settings"]
    return "\n\n".join(
        [
            f"In process ({', '.join(map(str, settings['days']))} days), medians of "
            f"{settings['repeat']} fresh processes:",
            in_process_table(document["in_process"]),
            "Whole processes:",
            process_table(document["processes"]),
            "Targets:",
            targets_table(_targets(document)),
        ]
    )


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_SUITE_OUT
    print(render(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
