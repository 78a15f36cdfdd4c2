"""The benchmark runner, end to end on a tiny plant: every approach runs and agrees, and the
suite's whole-process modes (cold, warm, one new day, imports) run and give every ratio."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
if not (REPOSITORY / "bench" / "runner.py").is_file():
    pytest.skip("the bench package is only in a clone of the repository", allow_module_level=True)
sys.path.insert(0, str(REPOSITORY))

from bench import processes, runner  # noqa: E402
from bench.approaches import APPROACHES, Totals  # noqa: E402
from bench.data import ensure_plant, export_files, prefix_plant  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("bench")
    out = folder / "results.json"
    status = runner.main(
        [
            "--days", "2",
            "--inverters", "8",
            "--repeat", "1",
            "--skip", "bessx_distributed",  # starting a LocalCluster alone takes ~10 s here
            "--data-dir", str(folder / "data"),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert status == 0
    return json.loads(out.read_text())


def test_every_approach_ran(results: dict) -> None:
    implementations = results["implementations"]
    assert set(implementations) == set(APPROACHES) - {"bessx_distributed"}
    for name, summary in implementations.items():
        assert not summary["errors"], name
        assert len(summary["times"]) == 1
        assert summary["median"] > 0
        assert summary["peak_rss_mb"] > 0
        assert summary["cpu_median"] >= 0
        assert summary["process_cpu_median"] > 0
    assert implementations["floor"]["ratio"] == pytest.approx(1.0)
    assert implementations["floor"]["check"]["status"] == "floor"


def test_approaches_agree_with_bessx(results: dict) -> None:
    for name, summary in results["implementations"].items():
        expectation = APPROACHES[name].check
        if expectation == "agree":
            assert summary["check"]["status"] == "agrees", (name, summary["check"])
            assert max(summary["check"]["total_rel_diff"].values()) <= runner.RTOL


def test_naive_script_is_reported_wrong(results: dict) -> None:
    check = results["implementations"]["naive"]["check"]
    assert check["status"] == "wrong"
    # 15-minute intervals on 36-second data: 25 times too much energy
    for factor in check["error_factor"].values():
        assert factor > 5
        assert factor == pytest.approx(25.0, rel=0.01)


def test_results_record_the_environment(results: dict) -> None:
    environment = results["environment"]
    assert environment["cpu_count"] >= 1
    assert environment["versions"]["bessx"]
    assert results["settings"]["days"] == 2
    assert str(REPOSITORY) not in json.dumps(results)


def test_disagreement_is_detected() -> None:
    reference = Totals(
        np.array(["2022-10-01", "2022-10-02"]),
        np.array(["1APCS1/1", "1APCS1/2"]),
        np.array([[10.0, 20.0], [30.0, 40.0]]),
        np.array([[1.0, 0.0], [3.0, 4.0]]),
    )
    # the same numbers in another order agree
    shuffled = Totals(
        reference.dates[::-1],
        reference.dc_inputs[::-1],
        reference.discharged[::-1, ::-1],
        reference.charged[::-1, ::-1],
    )
    assert runner.compare(shuffled, reference, "agree")["agrees"]
    off = reference._replace(charged=reference.charged * (1 + 1e-6))
    assert runner.compare(off, reference, "agree")["status"] == "differs"
    fewer = reference._replace(
        dates=reference.dates[:1],
        discharged=reference.discharged[:1],
        charged=reference.charged[:1],
    )
    assert runner.compare(fewer, reference, "agree")["status"] == "differs"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("suite")
    out = folder / "results-suite.json"
    status = runner.main(
        [
            "--suite",
            "--days", "1,2",
            "--process-days", "2",
            "--inverters", "2",
            "--repeat", "1",
            "--only", "floor,bessx,bessx_onepass,polars",
            "--data-dir", str(folder / "data"),
            "--out", str(out),
        ]
    )  # fmt: skip
    assert status == 0
    return json.loads(out.read_text())


def test_suite_runs_in_process_at_every_period(suite: dict) -> None:
    assert set(suite["in_process"]) == {"1", "2"}
    for results in suite["in_process"].values():
        assert set(results) == {"floor", "bessx", "bessx_onepass", "polars"}
        assert results["polars"]["check"]["status"] == "agrees"
    assert suite["settings"]["plant_days"] == 3  # the longest period and one more day


def test_suite_runs_every_whole_process_mode(suite: dict) -> None:
    whole = suite["processes"]
    assert set(whole) == {
        "import bessx",
        "import xarray",
        "python",
        "polars process 2 d",
        "bessx run cold 2 d",
        "bessx run warm 2 d",
        "bessx run incremental 2+1 d",
        "polars process 3 d",
    }
    for name, summary in whole.items():
        assert not summary["errors"], name
        assert summary["median"] > 0
        assert summary["cpu_median"] > 0
        assert summary["peak_rss_mb"] > 0
    assert whole["bessx run warm 2 d"]["same_csv_as_cold"]


def test_suite_reports_every_target(suite: dict) -> None:
    measures = [row["measure"] for row in suite["targets"]]
    assert len(measures) == 9
    assert all(row["value"] is not None and row["met"] is not None for row in suite["targets"])
    assert 'python -c "import bessx" [s]' in measures
    assert str(REPOSITORY) not in json.dumps(suite)


def test_timed_process_reports_failures(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; print('bad input'); sys.exit(3)"]
    run = processes.timed_process(command, tmp_path, "failing")
    assert run["returncode"] == 3
    assert "bad input" in run["error"]
    assert run["seconds"] > 0


def test_prefix_plant_links_the_first_days(tmp_path: Path) -> None:
    source = ensure_plant(3, 1, tmp_path, log=lambda line: None)
    first = prefix_plant(source, 2)
    assert [path.name for path in export_files(first)] == [
        path.name for path in export_files(source)[:2]
    ]
    assert export_files(first)[0].stat().st_ino == export_files(source)[0].stat().st_ino
    assert prefix_plant(source, 2) == first  # reused
    assert prefix_plant(source, 3) == source
    with pytest.raises(ValueError, match="fewer"):
        prefix_plant(source, 4)


def test_report_renders_the_suite_as_markdown(suite: dict) -> None:
    from bench import report

    text = report.render(suite)
    assert "| `bessx` |" in text
    assert "bessx run incremental 2+1 d" in text
    assert text.count("\n| python -c") == 1  # the import target
    assert all(row["cpu_value"] is not None for row in report._targets(suite)[:2])
