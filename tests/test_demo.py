"""The demo plant (``bessx.synthetic.demo``): every injected fault is one its week shows, at its
place, standing out of the natural spread, and ``summary.md`` says so."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bessx.cli.parser import DEMO_DAYS, DEMO_INVERTERS, DEMO_START
from bessx.config import Config
from bessx.health.report import _STEADY_SWING
from bessx.pipeline import run, write_outputs
from bessx.results import Results
from bessx.synthetic import (
    FAULT_KINDS,
    SOC_OFFSET_PCT,
    TIMEZONE,
    SyntheticPlant,
    health_truth,
    plan_faults,
    plant_topology,
    write_plant,
)
from bessx.synthetic.demo import (
    DEMO_FAULTS,
    DEMO_SOC_OFFSET_PCT,
    find_injected,
    injected_faults_section,
    write_demo_plant,
)
from bessx.synthetic.schedule import day_cycles


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticPlant, Results]:
    """The plant ``bessx demo`` writes by default, and the run on it."""
    folder = tmp_path_factory.mktemp("demo")
    plant = write_demo_plant(folder / "exports", DEMO_START, DEMO_DAYS, inverters=DEMO_INVERTERS)
    results = run(Config(data=folder / "exports", out=folder / "results", timezone=TIMEZONE))
    return plant, dataclasses.replace(results, injected=plant)


def fault(plant: SyntheticPlant, kind: str):
    (found,) = [f for f in plant.faults if f.kind == kind and f.inverter is not None]
    return found


def per_enclosure(results: Results, name: str) -> pd.Series:
    assert results.health is not None
    values = results.health[name].mean("window")
    ids = results.health["enclosure_id"].broadcast_like(values).values.ravel()
    series = pd.Series(values.values.ravel(), index=ids)
    return series[series.index != ""]


def test_demo_injects_no_fault_a_week_cannot_show(demo) -> None:
    plant, _ = demo
    kinds = {f.kind for f in plant.faults}
    assert kinds == set(DEMO_FAULTS) == set(FAULT_KINDS) - {"fast_fade"}
    record = json.loads((plant.folder / "health_truth.json").read_text())
    assert max(row["fade_pct_per_year"] for row in record["dc_inputs"]) <= 3.0
    assert record["soc_offsets"] == [
        {"enclosure_id": fault(plant, "soc_offset").enclosure_id, "offset_pct": DEMO_SOC_OFFSET_PCT}
    ]


def test_every_injected_fault_is_found_at_its_place(demo) -> None:
    plant, results = demo
    dead, weak = fault(plant, "dead_dc_input"), fault(plant, "weak_enclosure")
    outliers = results.outliers.set_index(["inverter", "dc_input"])["kind"]
    assert outliers[(dead.inverter, dead.dc_input)] == "dead_dc_input"
    assert outliers[(weak.inverter, weak.dc_input)] == "weak_dc_input"
    assert len(outliers) == 2  # nothing natural is flagged
    assert per_enclosure(results, "soc_swing_ratio").idxmin() == weak.enclosure_id

    assert results.health is not None
    efficiency = results.health["round_trip_efficiency"].median("window").to_series()
    lossy = fault(plant, "lossy_dc_input")
    assert efficiency.idxmin() == (lossy.inverter, lossy.dc_input)

    offset, swing = per_enclosure(results, "soc_offset"), per_enclosure(results, "soc_swing_ratio")
    steady = offset[(swing - 1.0).abs() <= _STEADY_SWING].abs()
    injected = fault(plant, "soc_offset").enclosure_id
    # reading high, it ties with its sibling on a DC input of two (equal and opposite offsets)
    assert offset[injected] > 0 and offset[injected] == steady.max()

    evidence = find_injected(plant.faults, results)
    assert [e.fault for e in evidence] == list(plant.faults)
    for item in evidence:
        if item.fault.kind == "nan_stretch" and item.fault.inverter is None:
            assert item.found is None  # the plant meter's rows: not analysed by bessx
        else:
            assert item.found is True, item


def test_each_fault_stands_out_of_the_natural_spread(demo) -> None:
    plant, results = demo
    assert results.health is not None
    # SOC offset: the injected one against the largest on any other DC input
    soc = fault(plant, "soc_offset")
    offset = per_enclosure(results, "soc_offset")
    siblings = results.health["enclosure_id"].sel(inverter=soc.inverter, dc_input=soc.dc_input)
    natural = offset.drop([str(e) for e in siblings.values if e], errors="ignore")
    weak = fault(plant, "weak_enclosure")
    on_weak = results.health["enclosure_id"].sel(inverter=weak.inverter, dc_input=weak.dc_input)
    natural = natural.drop([str(e) for e in on_weak.values if e], errors="ignore")
    assert offset[soc.enclosure_id] > 2.5 * natural.abs().max()
    assert offset[soc.enclosure_id] > 11.0  # 12 points high, less a natural 0.5
    # round trip: 0.88 against healthy ones of at least 0.94
    efficiency = results.health["round_trip_efficiency"].median("window").to_series()
    lossy = fault(plant, "lossy_dc_input")
    others = efficiency.drop((lossy.inverter, lossy.dc_input))
    assert efficiency[(lossy.inverter, lossy.dc_input)] < others.min() - 0.05
    # the weak DC input's energy per enclosure against the fleet: 14 % short, others ≤ 4 %
    daily = results.daily
    mean = daily["discharged"].where(daily["enclosure_id"] != "").mean("enclosure")
    ratio = (mean / mean.median(["inverter", "dc_input"])).median("time").to_series()
    dead = fault(plant, "dead_dc_input")
    healthy = ratio.drop([(weak.inverter, weak.dc_input), (dead.inverter, dead.dc_input)])
    assert ratio[(weak.inverter, weak.dc_input)] < 0.87
    assert healthy.min() > 0.95


def test_one_cycle_days_move_half_the_energy(demo) -> None:
    plant, results = demo
    cycles = pd.Series({day: day_cycles(day, seed=plant.seed) for day in plant.dates})
    assert cycles.tolist() == [2, 2, 2, 2, 2, 1, 1]
    plant_total = results.daily["discharged"].sum(["inverter", "dc_input", "enclosure"])
    per_day = pd.Series(plant_total.values, index=list(plant.dates))
    halves = per_day[cycles == 1].to_numpy() / per_day[cycles == 2].median()
    np.testing.assert_allclose(halves, 0.5, atol=0.01)


def test_summary_opens_with_the_injected_faults(demo, tmp_path: Path) -> None:
    plant, results = demo
    (path,) = write_outputs(results, tmp_path, ["summary.md"])
    text = path.read_text(encoding="utf-8")
    assert text.index("## Injected faults (demo plant)") < text.index("## Data read")
    section = text[text.index("## Injected faults") : text.index("## Data read")]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert len(rows) == len(plant.faults)
    for row, injected in zip(rows, plant.faults, strict=True):
        assert row.startswith(f"| `{injected.kind}` |")
        if injected.enclosure_id:
            assert f"| {injected.enclosure_id} ({injected.inverter} DC{injected.dc_input}) |" in row
    assert "not found" not in section
    assert "2022-10-06 to 2022-10-07 (2 days): days of one cycle" in section
    # a run on real exports has no such section
    (plain,) = write_outputs(dataclasses.replace(results, injected=None), tmp_path, ["summary.md"])
    assert "Injected faults" not in plain.read_text(encoding="utf-8")


def test_a_fault_the_results_miss_is_said_so(demo) -> None:
    plant, results = demo
    no_outliers = dataclasses.replace(results, outliers=results.outliers.iloc[0:0])
    section = injected_faults_section(plant, no_outliers)
    dead = fault(plant, "dead_dc_input")
    (row,) = [line for line in section.splitlines() if line.startswith("| `dead_dc_input`")]
    assert f"**not found**: not among the outliers at {dead.inverter} DC{dead.dc_input}" in row


def test_soc_offset_size_is_recorded_and_reads_at_most_100(tmp_path: Path) -> None:
    topology = plant_topology(2)
    (default,) = plan_faults(topology, ["2022-10-01"], faults={"soc_offset"})
    assert default.size == SOC_OFFSET_PCT
    (large,) = plan_faults(topology, ["2022-10-01"], faults={"soc_offset"}, soc_offset_pct=30.0)
    assert large.size == 30.0 and "30 percentage points" in large.detail
    truth = health_truth(topology, faults=[large])
    assert truth.soc_offset.max() == 30.0 and np.count_nonzero(truth.soc_offset) == 1
    plant = write_plant(
        tmp_path, "2022-10-01", 1, inverters=2, faults={"soc_offset"}, soc_offset_pct=30.0
    )
    frame = pd.read_parquet(plant.files[0])
    column = f"System state of charge (%) [Battery system {large.enclosure_id}]"
    assert frame[column].max() == pytest.approx(100.0)  # held at 100 %, as a BMS reports it
    saved = json.loads((tmp_path / "faults.json").read_text())["faults"]
    assert saved[0]["size"] == 30.0
