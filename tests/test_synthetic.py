"""Tests of the synthetic plant, checked with plain pandas / pyarrow (no bessx reader)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from bessx import synthetic
from bessx.schema import (
    DC_POWER_PATTERN,
    PLANT_COLUMNS,
    SOC_PATTERN,
    TIMESTAMP_COLUMN,
)

SAMPLE = pd.Timedelta(seconds=36)
SPRING_DAY = "2022-10-02"
AUTUMN_DAY = "2023-04-02"


def dc_column(frame: pd.DataFrame, inverter: str, dc_input: int) -> str:
    (name,) = [
        name
        for name in frame.columns
        if (match := DC_POWER_PATTERN.fullmatch(name))
        and match["inverter"] == inverter
        and int(match["dc_input"]) == dc_input
    ]
    return name


def soc_column(frame: pd.DataFrame, enclosure_id: str) -> str:
    (name,) = [
        name
        for name in frame.columns
        if (match := SOC_PATTERN.fullmatch(name)) and match["enclosure_id"] == enclosure_id
    ]
    return name


def dc_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if DC_POWER_PATTERN.fullmatch(name)]


def soc_columns(frame: pd.DataFrame) -> list[str]:
    return [name for name in frame.columns if SOC_PATTERN.fullmatch(name)]


def read(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path)


def soc_swing(frame: pd.DataFrame) -> pd.Series:
    soc = frame[soc_columns(frame)]
    swing = soc.max() - soc.min()
    return swing.rename(lambda name: SOC_PATTERN.fullmatch(name)["enclosure_id"])


# Topology ---------------------------------------------------------------------------------
def test_inverter_names_order() -> None:
    names = synthetic.inverter_names()
    assert len(names) == len(set(names)) == 72
    assert names[:3] == ["1APCS1", "1APCS2", "1APCS3"]
    assert names[8:10] == ["1APCS9", "1BPCS1"]
    assert names[-1] == "4BPCS9"
    assert synthetic.inverter_names(5) == names[:5]
    with pytest.raises(ValueError, match="inverters"):
        synthetic.inverter_names(73)


def test_plant_topology_full_size() -> None:
    topology = synthetic.plant_topology()
    assert list(topology.columns) == ["inverter", "dc_input", "enclosure_id"]
    counts = topology.groupby("inverter").size()
    assert counts.value_counts().to_dict() == {4: 45, 6: 27}
    assert len(topology) == 342
    assert topology["enclosure_id"].is_unique
    for (inverter, dc_input), group in topology.groupby(["inverter", "dc_input"]):
        assert len(group) == counts[inverter] // 2
        slots = group["enclosure_id"].str.extract(r"BAT(\d+)$")[0].astype(int)
        half = counts[inverter] // 2
        expected = range(1, half + 1) if dc_input == 1 else range(half + 1, 2 * half + 1)
        assert list(slots) == list(expected)
        assert all(eid.startswith(inverter.replace("PCS", "")) for eid in group["enclosure_id"])


def test_plant_topology_small_has_both_kinds() -> None:
    for n in range(2, 10):
        counts = synthetic.plant_topology(n).groupby("inverter").size()
        assert set(counts) == {4, 6}


# Full-size day ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_day(tmp_path_factory: pytest.TempPathFactory) -> synthetic.SyntheticPlant:
    folder = tmp_path_factory.mktemp("full")
    started = time.perf_counter()
    plant = synthetic.write_plant(folder, "2022-10-01", days=1, faults=False)
    # A generous guard against pathological slowness (typically about 0.4 s).
    assert time.perf_counter() - started < 5.0
    return plant


def test_full_day_file_and_index(full_day: synthetic.SyntheticPlant) -> None:
    assert [path.name for path in full_day.files] == ["20221001.parquet"]
    assert (full_day.folder / "topology.csv").is_file()
    assert (full_day.folder / "faults.json").is_file()
    metadata = pq.read_schema(full_day.files[0]).pandas_metadata
    assert metadata["index_columns"] == [TIMESTAMP_COLUMN]
    frame = read(full_day.files[0])
    assert len(frame) == 2400
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == TIMESTAMP_COLUMN
    assert frame.index.tz is None
    assert frame.index.dtype == np.dtype("datetime64[ns]")
    assert frame.index[0] == pd.Timestamp("2022-10-01 00:00:00")
    assert frame.index[-1] == pd.Timestamp("2022-10-02 00:00:00") - SAMPLE
    assert (frame.index.to_series().diff().dropna() == SAMPLE).all()


def test_full_day_columns(full_day: synthetic.SyntheticPlant) -> None:
    frame = read(full_day.files[0])
    assert 2700 <= frame.shape[1] <= 2900
    dtypes = frame.dtypes.value_counts()
    assert 2550 <= dtypes[np.dtype("float64")] <= 2750
    assert dtypes[np.dtype("int64")] == 164
    assert set(PLANT_COLUMNS) <= set(frame.columns)
    topology = full_day.topology
    assert len(dc_columns(frame)) == 144
    inputs = {
        (match["inverter"], int(match["dc_input"]))
        for match in map(DC_POWER_PATTERN.fullmatch, dc_columns(frame))
    }
    assert inputs == {(inv, dc) for inv in topology["inverter"].unique() for dc in (1, 2)}
    soc_ids = {SOC_PATTERN.fullmatch(name)["enclosure_id"] for name in soc_columns(frame)}
    assert soc_ids == set(topology["enclosure_id"])
    last = frame.columns[-1]
    assert last == f"Unnamed: {frame.shape[1]}"
    assert frame[last].isna().all()
    assert not frame.drop(columns=last).isna().any().any()


def test_full_day_values(full_day: synthetic.SyntheticPlant) -> None:
    frame = read(full_day.files[0])
    dc_power = frame[dc_columns(frame)]
    plant_power = frame["BESS active power (kW) [BESS]"]
    dc_total = dc_power.sum(axis=1)
    assert 150_000 < plant_power.max() < 230_000
    assert -230_000 < plant_power.min() < -150_000
    active = dc_total.abs() > 10_000
    assert active.sum() > 200
    np.testing.assert_allclose(plant_power[active], dc_total[active], rtol=0.03)
    np.testing.assert_allclose(plant_power[~active], dc_total[~active], atol=1_000)
    assert 1_000 < dc_power.max().median() < 1_900
    setpoint = frame["External active power setpoint (kW) [BESS]"]
    assert (setpoint - plant_power).abs().median() < 1_000
    soc = frame[soc_columns(frame)]
    assert 4.0 < soc.min().min() and soc.max().max() < 96.0
    np.testing.assert_allclose(frame["BESS SOC (%) [BESS]"], soc.mean(axis=1), atol=1e-3)
    values = frame.select_dtypes("float64").to_numpy()
    np.testing.assert_array_equal(values, values.astype(np.float32).astype(np.float64))
    swing = soc_swing(frame)
    assert swing.min() > 0.85 * swing.median()
    assert swing.max() < 1.15 * swing.median()


def test_day_frame_is_what_is_written(full_day: synthetic.SyntheticPlant) -> None:
    written = read(full_day.files[0])
    built = synthetic.day_frame("2022-10-01", topology=full_day.topology, seed=0)
    pd.testing.assert_frame_equal(written, built, check_column_type=False)


# DST -------------------------------------------------------------------------------------
def test_dst_days(tmp_path: Path) -> None:
    spring = read(
        synthetic.write_plant(tmp_path, SPRING_DAY, days=1, inverters=2, faults=False).files[0]
    )
    assert len(spring) == 2300
    assert not (spring.index.hour == 2).any()
    assert spring.index[0] == pd.Timestamp(SPRING_DAY)
    assert spring.index.is_monotonic_increasing

    autumn = read(
        synthetic.write_plant(tmp_path, AUTUMN_DAY, days=1, inverters=2, faults=False).files[0]
    )
    assert len(autumn) == 2500
    repeated = autumn.index[autumn.index.hour == 2]
    assert len(repeated) == 200
    first, second = repeated[:100], repeated[100:]
    assert first.is_monotonic_increasing and second.is_monotonic_increasing
    assert first[0] == second[0] == pd.Timestamp(f"{AUTUMN_DAY} 02:00:00")
    assert first[-1] == pd.Timestamp(f"{AUTUMN_DAY} 02:59:24")
    chronological = autumn.index.tz_localize(synthetic.TIMEZONE, ambiguous="infer")
    assert (np.diff(chronological.asi8) == 36_000_000_000).all()
    assert sorted(path.name for path in tmp_path.glob("*.parquet")) == [
        "20221002.parquet",
        "20230402.parquet",
    ]


# Faults ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> synthetic.SyntheticPlant:
    return synthetic.write_plant(tmp_path_factory.mktemp("faulty"), "2022-10-01", 7, inverters=9)


def frame_of(plant: synthetic.SyntheticPlant, date: str) -> pd.DataFrame:
    return read(plant.folder / f"{date.replace('-', '')}.parquet")


def faults_of(plant: synthetic.SyntheticPlant, kind: str) -> list[synthetic.Fault]:
    return [fault for fault in plant.faults if fault.kind == kind]


def row_faults(plant: synthetic.SyntheticPlant) -> list[synthetic.Fault]:
    """The faults that touch some rows of one day."""
    return [fault for fault in plant.faults if fault.start is not None]


def test_fault_record(faulty: synthetic.SyntheticPlant) -> None:
    kinds = [fault.kind for fault in faulty.faults]
    assert kinds == [
        "dead_dc_input",
        "weak_enclosure",
        "nan_stretch",
        "nan_stretch",
        "missing_rows",
        "duplicate_row",
        "fast_fade",
        "lossy_dc_input",
        "soc_offset",
    ]
    single = [fault.dates[0] for fault in row_faults(faulty)]
    assert len(set(single)) == 3  # nan stretch, missing rows, duplicate: distinct days
    assert len(faults_of(faulty, "dead_dc_input")[0].dates) == 3
    assert faults_of(faulty, "weak_enclosure")[0].dates == faulty.dates
    saved = json.loads((faulty.folder / "faults.json").read_text())
    assert [synthetic.Fault(**{**f, "dates": tuple(f["dates"])}) for f in saved["faults"]] == list(
        faulty.faults
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(faulty.folder / "topology.csv"), faulty.topology, check_dtype=False
    )


def test_dead_dc_input(faulty: synthetic.SyntheticPlant) -> None:
    (dead,) = faults_of(faulty, "dead_dc_input")
    topology = faulty.topology
    on_input = (topology["inverter"] == dead.inverter) & (topology["dc_input"] == dead.dc_input)
    for date in faulty.dates:
        frame = frame_of(faulty, date)
        power = frame[dc_column(frame, dead.inverter, dead.dc_input)].dropna()
        socs = frame[[soc_column(frame, eid) for eid in topology["enclosure_id"][on_input]]]
        if date in dead.dates:
            assert (power.abs() < 1.0).all()
            assert (socs.nunique() == 1).all()
        else:
            assert power.abs().max() > 500
            assert (socs.max() - socs.min()).min() > 50


def test_weak_enclosure(faulty: synthetic.SyntheticPlant) -> None:
    (weak,) = faults_of(faulty, "weak_enclosure")
    (dead,) = faults_of(faulty, "dead_dc_input")
    for date in faulty.dates:
        swing = soc_swing(frame_of(faulty, date))
        peers = swing.drop(weak.enclosure_id)
        peers = peers[peers > 1.0]  # the dead input's enclosures stay flat
        assert swing[weak.enclosure_id] / peers.median() == pytest.approx(0.7, abs=0.05)
    assert (weak.inverter, weak.dc_input) != (dead.inverter, dead.dc_input)
    frame = frame_of(faulty, faulty.dates[0])
    topology = faulty.topology
    per_input = topology.groupby(["inverter", "dc_input"]).size()
    discharged = {
        key: frame[dc_column(frame, *key)].clip(lower=0).sum() / count
        for key, count in per_input.items()
    }
    weak_key = (weak.inverter, weak.dc_input)
    n = per_input[weak_key]
    expected = (n - 1 + 0.7) / n
    healthy = [value for key, value in discharged.items() if key != weak_key and value > 100]
    assert discharged[weak_key] / np.median(healthy) == pytest.approx(expected, abs=0.04)


def test_nan_stretches(faulty: synthetic.SyntheticPlant) -> None:
    dc_fault, plant_fault = faults_of(faulty, "nan_stretch")
    assert plant_fault.inverter is None
    frame = frame_of(faulty, dc_fault.dates[0])
    column = dc_column(frame, dc_fault.inverter, dc_fault.dc_input)
    nan_times = frame.index[frame[column].isna()]
    assert len(nan_times) == 100
    assert nan_times[0] == pd.Timestamp(dc_fault.start)
    assert nan_times[-1] == pd.Timestamp(dc_fault.end)
    plant_nan = frame[list(PLANT_COLUMNS)].isna()
    assert (plant_nan.all(axis=1) == plant_nan.any(axis=1)).all()
    nan_rows = frame.index[plant_nan.all(axis=1)]
    assert len(nan_rows) == 4
    assert (nan_rows >= pd.Timestamp(plant_fault.start)).all()
    assert (nan_rows <= pd.Timestamp(plant_fault.end)).all()
    other = frame.drop(columns=[column, *PLANT_COLUMNS, frame.columns[-1]])
    assert not other.isna().any().any()


def test_missing_rows(faulty: synthetic.SyntheticPlant) -> None:
    (missing,) = faults_of(faulty, "missing_rows")
    frame = frame_of(faulty, missing.dates[0])
    full = len(synthetic.day_frame(missing.dates[0], topology=faulty.topology))
    assert len(frame) == full - 50
    steps = frame.index.to_series().diff().dropna()
    gap = steps[steps != SAMPLE]
    assert list(gap) == [51 * SAMPLE]
    assert gap.index[0] == pd.Timestamp(missing.end) + SAMPLE
    assert pd.Timestamp(missing.start) not in frame.index


def test_duplicate_row(faulty: synthetic.SyntheticPlant) -> None:
    (duplicate,) = faults_of(faulty, "duplicate_row")
    frame = frame_of(faulty, duplicate.dates[0])
    repeated = frame.index[frame.index.duplicated()]
    assert list(repeated) == [pd.Timestamp(duplicate.start)]
    pair = frame.loc[repeated[0]]
    assert len(pair) == 2
    pd.testing.assert_series_equal(pair.iloc[0], pair.iloc[1], check_names=False)
    assert frame.index.is_monotonic_increasing


def test_other_days_are_clean(faulty: synthetic.SyntheticPlant) -> None:
    touched = {fault.dates[0] for fault in row_faults(faulty)}
    for date in set(faulty.dates) - touched:
        frame = frame_of(faulty, date)
        expected = 2300 if date == SPRING_DAY else 2400
        assert len(frame) == expected
        assert frame.index.is_unique
        assert not frame.iloc[:, :-1].isna().any().any()


def test_healthy_plant(tmp_path: Path) -> None:
    plant = synthetic.write_plant(tmp_path, "2022-10-01", days=3, inverters=9, faults=False)
    assert plant.faults == ()
    assert json.loads((tmp_path / "faults.json").read_text())["faults"] == []
    for path in plant.files:
        frame = read(path)
        assert len(frame) == (2300 if path.name == "20221002.parquet" else 2400)
        assert frame.index.is_unique
        assert not frame.iloc[:, :-1].isna().any().any()
        assert (frame[dc_columns(frame)].abs().max() > 500).all()
        swing = soc_swing(frame)
        assert swing.min() > 0.85 * swing.median()


def test_fault_subset_and_unknown_names(tmp_path: Path) -> None:
    plant = synthetic.write_plant(
        tmp_path, days=2, inverters=3, faults={"dead_dc_input", "weak_enclosure"}
    )
    assert {fault.kind for fault in plant.faults} == {"dead_dc_input", "weak_enclosure"}
    with pytest.raises(ValueError, match="dead_dc_input") as error:
        synthetic.write_plant(tmp_path / "bad", days=1, inverters=2, faults={"dead_inverter"})
    assert "dead_inverter" in str(error.value)
    assert not (tmp_path / "bad").exists()


def test_smallest_plant_gets_every_fault(tmp_path: Path) -> None:
    plant = synthetic.write_plant(tmp_path, days=1, inverters=1)
    assert {fault.kind for fault in plant.faults} == set(synthetic.FAULT_KINDS)
    frame = read(plant.files[0])
    assert len(frame) == 2400 - 50 + 1
    assert frame.index.duplicated().sum() == 1


def test_determinism(tmp_path: Path) -> None:
    first = synthetic.write_plant(tmp_path / "a", days=2, inverters=4, seed=3)
    second = synthetic.write_plant(tmp_path / "b", days=2, inverters=4, seed=3)
    other = synthetic.write_plant(tmp_path / "c", days=2, inverters=4, seed=4)
    assert first.faults == second.faults
    for a, b, c in zip(first.files, second.files, other.files, strict=True):
        assert a.read_bytes() == b.read_bytes()
        assert a.read_bytes() != c.read_bytes()


def test_timestamp_column_variant(tmp_path: Path) -> None:
    plant = synthetic.write_plant(tmp_path, days=1, inverters=2, timestamps="column", faults=False)
    frame = read(plant.files[0])
    assert isinstance(frame.index, pd.RangeIndex)
    assert frame.columns[0] == TIMESTAMP_COLUMN
    times = pd.DatetimeIndex(frame[TIMESTAMP_COLUMN])
    assert times.tz is None
    expected = read(
        synthetic.write_plant(tmp_path / "index", days=1, inverters=2, faults=False).files[0]
    )
    np.testing.assert_array_equal(times.as_unit("ns"), expected.index.as_unit("ns"))


def test_tz_aware_variant(tmp_path: Path) -> None:
    aware = read(
        synthetic.write_plant(
            tmp_path, SPRING_DAY, days=1, inverters=2, tz_aware=True, faults=False
        ).files[0]
    )
    assert str(aware.index.tz) == synthetic.TIMEZONE
    assert aware.index.name == TIMESTAMP_COLUMN
    naive = synthetic.day_frame(SPRING_DAY, topology=synthetic.plant_topology(2))
    np.testing.assert_array_equal(aware.index.tz_localize(None), naive.index)
    assert (np.diff(aware.index.asi8) > 0).all()


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="timestamps"):
        synthetic.write_plant(tmp_path, days=1, inverters=1, timestamps="row")
    with pytest.raises(ValueError, match="days"):
        synthetic.write_plant(tmp_path, days=0, inverters=1)
    with pytest.raises(ValueError, match="inverters"):
        synthetic.write_plant(tmp_path, days=1, inverters=0)


def test_inputs_not_mutated() -> None:
    topology = synthetic.plant_topology(3)
    before = topology.copy()
    faults = synthetic.plan_faults(topology, ["2022-10-01"], seed=1)
    synthetic.day_frame("2022-10-01", topology=topology, seed=1, faults=faults)
    pd.testing.assert_frame_equal(topology, before)


# Battery health physics -------------------------------------------------------------------
@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> synthetic.SyntheticPlant:
    faults = {*synthetic.HEALTH_FAULT_KINDS, "weak_enclosure"}
    return synthetic.write_plant(
        tmp_path_factory.mktemp("aged"), "2023-01-10", 2, inverters=3, seed=5, faults=faults
    )


def test_health_truth_files(aged: synthetic.SyntheticPlant) -> None:
    record = json.loads((aged.folder / "health_truth.json").read_text())
    assert record["commissioning_date"] == synthetic.COMMISSIONING_DATE.isoformat()
    inputs = pd.DataFrame(record["dc_inputs"])
    assert len(inputs) == 6
    (fast,) = faults_of(aged, "fast_fade")
    (lossy,) = faults_of(aged, "lossy_dc_input")
    (offset,) = faults_of(aged, "soc_offset")
    by_input = inputs.set_index(["inverter", "dc_input"])
    assert by_input.loc[(fast.inverter, fast.dc_input), "fade_pct_per_year"] == 12.0
    assert by_input.loc[(lossy.inverter, lossy.dc_input), "round_trip_efficiency"] == (
        pytest.approx(0.88)
    )
    assert record["soc_offsets"] == [{"enclosure_id": offset.enclosure_id, "offset_pct": 4.0}]
    daily = pd.read_csv(aged.folder / "health_truth_daily.csv")
    assert len(daily) == 2 * 6
    first = daily[daily["date"] == aged.dates[0]]
    np.testing.assert_allclose(first["usable_capacity_kwh"], inputs["usable_capacity_kwh_at_start"])
    enclosures = pd.read_csv(aged.folder / "health_truth_enclosures.csv")
    assert len(enclosures) == 2 * len(aged.topology)


def test_soc_follows_dc_energy(aged: synthetic.SyntheticPlant) -> None:
    """Discharged DC energy = mean SOC drop x usable capacity; charged = drop / round trip."""
    record = json.loads((aged.folder / "health_truth.json").read_text())
    (weak,) = faults_of(aged, "weak_enclosure")
    (offset,) = faults_of(aged, "soc_offset")
    frame = frame_of(aged, aged.dates[0])
    topology = aged.topology
    for row in record["dc_inputs"]:
        power = frame[dc_column(frame, row["inverter"], row["dc_input"])].to_numpy()
        ids = topology["enclosure_id"][
            (topology["inverter"] == row["inverter"]) & (topology["dc_input"] == row["dc_input"])
        ]
        readings = frame[[soc_column(frame, eid) for eid in ids]].to_numpy()
        np.testing.assert_allclose(readings, np.round(readings, 1), atol=1e-5)  # 0.1 % steps
        soc = readings.mean(axis=1)
        discharging = power > 5.0
        first = int(np.argmax(discharging))
        last = first + int(np.argmin(discharging[first:]))  # first idle sample after
        discharged = power[first:last].sum() * 36 / 3600
        drop = soc[first] - soc[last]
        usable = row["usable_capacity_kwh_at_start"]
        assert discharged == pytest.approx(drop / 100 * usable, rel=2e-3)
        charged = -power[power < -5.0].sum() * 36 / 3600
        total_dis = power[power > 5.0].sum() * 36 / 3600
        assert total_dis / charged == pytest.approx(row["round_trip_efficiency"], abs=2e-3)
    assert weak.enclosure_id != offset.enclosure_id
    readings = frame[soc_column(frame, offset.enclosure_id)]
    assert readings.max() < 100.0
