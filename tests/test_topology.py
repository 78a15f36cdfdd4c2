"""The topology rules that need no export files: dc_input values, stable splits, ordering."""

from __future__ import annotations

import pytest

from bessx.errors import BessxError
from bessx.topology import find_resplit, infer_topology, read_topology, sort_enclosures


def battery_systems(inverter: str, numbers) -> list[str]:
    """``battery_systems("1A1", [1, 2])`` → ``["1A1BAT1", "1A1BAT2"]``."""
    return [f"{inverter}BAT{k}" for k in numbers]


FOUR = battery_systems("1A1", range(1, 5))
SIX = battery_systems("1A1", range(1, 7))
OTHER = battery_systems("1A2", range(1, 5))


@pytest.mark.parametrize(
    "sets",
    [
        [FOUR, FOUR, FOUR],
        [FOUR + OTHER, OTHER, FOUR + OTHER],  # an inverter absent from one export
        [FOUR, FOUR[:3], FOUR],  # one SOC column missing for a day
        [SIX, SIX, FOUR],  # two missing for a day: still 3 + 3, as on most days
        [],
    ],
    ids=["same", "inverter absent", "one column missing", "two missing", "no files"],
)
def test_missing_battery_systems_do_not_re_split(sets):
    assert find_resplit(sets) is None


def test_extra_battery_systems_re_split_and_the_first_file_is_named():
    sets = [FOUR + OTHER, FOUR + OTHER, SIX + OTHER, SIX + OTHER, FOUR + OTHER]
    assert find_resplit(sets) == (2, "1APCS1", ["1A1BAT5", "1A1BAT6"], 1)


def test_extra_battery_systems_in_the_first_file_name_a_file_without_them():
    sets = [SIX, FOUR, FOUR]
    assert find_resplit(sets) == (0, "1APCS1", ["1A1BAT5", "1A1BAT6"], 1)


def test_one_extra_battery_system_makes_an_odd_inverter_a_re_split():
    assert find_resplit([FOUR, [*FOUR, "1A1BAT5"], FOUR]) == (1, "1APCS1", ["1A1BAT5"], 0)


def test_rare_battery_systems_that_keep_the_split_are_not_a_re_split():
    # BAT3 and BAT6 in one file: BAT1, 2 stay on DC input 1 and BAT4, 5 on DC input 2
    usual = battery_systems("1A1", [1, 2, 4, 5])
    assert find_resplit([usual, SIX, usual]) is None


def test_the_earliest_re_split_is_reported():
    sets = [FOUR + OTHER, FOUR + OTHER + ["1A2BAT5", "1A2BAT6"], SIX + OTHER, FOUR + OTHER]
    assert find_resplit(sets)[:2] == (1, "1APCS2")


def test_names_that_are_not_battery_systems_are_left_to_inference():
    assert find_resplit([[*FOUR, "odd"], FOUR]) is None
    with pytest.raises(BessxError, match="does not follow"):
        infer_topology([*FOUR, "odd"])


def test_sort_enclosures_in_plant_order():
    names = ["1A10BAT1", "1B1BAT1", "1A1BAT10", "x", "1A1BAT2", "2A1BAT1"]
    assert sort_enclosures(names) == ["1A1BAT2", "1A1BAT10", "1A10BAT1", "1B1BAT1", "2A1BAT1", "x"]


def test_mapping_topology_checks_dc_input_like_a_table():
    ok = read_topology({"1APCS1": {1.0: ["1A1BAT1"], "2": ["1A1BAT2"]}})
    assert ok.table["dc_input"].tolist() == [1, 2]
    assert ok.table["dc_input"].dtype.kind == "i"
    with pytest.raises(BessxError, match=r"row 1 \(enclosure 1A1BAT2\): .* not 1\.5$"):
        read_topology({"1APCS1": {1: ["1A1BAT1"], 1.5: ["1A1BAT2"]}})


def test_csv_topology_names_the_line(tmp_path):
    path = tmp_path / "topology.csv"
    path.write_text("inverter,dc_input,enclosure_id\n1APCS1,1,1A1BAT1\n1APCS1,1.5,1A1BAT2\n")
    with pytest.raises(BessxError) as raised:
        read_topology(path)
    assert str(raised.value) == (
        f"{path}: line 3 (enclosure 1A1BAT2): dc_input must be a whole number from 1 to 16, not 1.5"
    )


def test_usual_battery_systems_are_counted_per_name_whatever_the_order():
    # names first seen in an order unlike the sorted one, inverters in different numbers of
    # files: each count must stay with its name
    late = battery_systems("1B9", range(1, 5))
    early = battery_systems("1A1", range(1, 5))
    extra = ["1A1BAT5", "1A1BAT6"]
    sets = [late, late, late, [*late, *early, *extra], [*late, *early, *extra]]
    assert find_resplit(sets) is None, "1A1BAT5, 6 are in both files that have 1APCS1"
    sets = [late, late, late, [*late, *early], [*late, *early, *extra]]
    assert find_resplit(sets) == (4, "1APCS1", extra, 3)
