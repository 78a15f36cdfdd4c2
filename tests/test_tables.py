"""Tests of bessx.tables: the tidy frame and the lowest-N enclosures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from bessx.errors import BessxError
from bessx.tables import lowest, to_frame
from bessx.testing import make_daily

DIMS = ("time", "inverter", "dc_input", "enclosure")


@pytest.fixture
def small() -> xr.Dataset:
    """2 days; inverter 1 has 6 enclosures, inverter 2 has 4."""
    discharged = np.arange(2 * 2 * 2 * 3, dtype=float).reshape(2, 2, 2, 3) + 1
    discharged[1, 1, 0, 1] = np.nan  # a day without data on 1APCS2, DC input 1
    return make_daily(discharged, [3, 2])


# to_frame ---------------------------------------------------------------------------------


def test_to_frame_rows_columns_and_order(small: xr.Dataset) -> None:
    frame = to_frame(small)
    assert list(frame.columns) == [
        "date",
        "inverter",
        "dc_input",
        "enclosure_id",
        "charged_kwh",
        "discharged_kwh",
        "coverage",
    ]
    assert len(frame) == 10 * 2  # (6 + 4) existing enclosures × 2 days
    assert frame.index.equals(pd.RangeIndex(20))
    assert frame["date"].dtype == "datetime64[ns]"
    assert list(frame["date"].unique()) == list(pd.to_datetime(["2024-03-01", "2024-03-02"]))
    assert list(frame["enclosure_id"][:10]) == [
        "1A1BAT1",
        "1A1BAT2",
        "1A1BAT3",
        "1A1BAT4",
        "1A1BAT5",
        "1A1BAT6",
        "1A2BAT1",
        "1A2BAT2",
        "1A2BAT3",
        "1A2BAT4",
    ]
    assert list(frame["dc_input"][:10]) == [1, 1, 1, 2, 2, 2, 1, 1, 2, 2]
    assert list(frame["inverter"][:10]) == ["1APCS1"] * 6 + ["1APCS2"] * 4


def test_to_frame_values(small: xr.Dataset) -> None:
    frame = to_frame(small)
    frame = frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d"))
    frame = frame.set_index(["date", "enclosure_id"])
    row = frame.loc[("2024-03-02", "1A1BAT5")]  # day 1, inverter 0, DC input 2, slot 2
    assert row["discharged_kwh"] == 12 + 3 + 1 + 1
    assert row["charged_kwh"] == pytest.approx(1.1 * 17)
    assert row["coverage"] == 1.0
    assert frame.loc[("2024-03-01", "1A2BAT3"), "discharged_kwh"] == 6 + 3 + 0 + 1
    assert np.isnan(frame.loc[("2024-03-02", "1A2BAT2"), "discharged_kwh"])
    assert frame["discharged_kwh"].dtype == np.float64


def test_to_frame_is_dask_safe_and_leaves_input_alone(small: xr.Dataset) -> None:
    before = small.copy(deep=True)
    lazy = small.chunk({"time": 1})
    pd.testing.assert_frame_equal(to_frame(lazy), to_frame(small))
    xr.testing.assert_identical(small, before)


def test_to_frame_rejects_other_data() -> None:
    with pytest.raises(BessxError, match="enclosure_id"):
        to_frame(xr.Dataset({"discharged": (DIMS, np.zeros((1, 1, 1, 1)))}))
    with pytest.raises(BessxError, match=r"xarray\.Dataset"):
        to_frame(pd.DataFrame())  # type: ignore[arg-type]


# lowest -----------------------------------------------------------------------------------


def test_lowest_orders_ascending_per_day(small: xr.Dataset) -> None:
    table = lowest(small, n=3)
    assert list(table.columns) == [
        "enclosure_id",
        "inverter",
        "dc_input",
        "charged_kwh_per_day",
        "discharged_kwh_per_day",
        "days",
        "charged_kwh",
        "discharged_kwh",
    ]
    # Day 0 holds 1..12, day 1 holds 13..24 in (inverter, dc_input, slot) order;
    # 1A2BAT2 has one NaN day: its one day (8 kWh) ties with 1A1BAT2's mean of 2 and 14.
    assert list(table["enclosure_id"]) == ["1A1BAT1", "1A1BAT2", "1A2BAT2"]
    assert list(table["discharged_kwh_per_day"]) == [7.0, 8.0, 8.0]
    assert list(table["discharged_kwh"]) == [14.0, 16.0, 8.0]
    assert list(table["days"]) == [2, 2, 1]
    assert table["charged_kwh"].tolist() == pytest.approx([15.4, 17.6, 8.8])
    assert table.attrs == {"by": "discharged", "rank": "per_day", "min_coverage": 0.95}


def test_lowest_total_ranking_is_the_period_total(small: xr.Dataset) -> None:
    table = lowest(small, n=3, rank="total", min_coverage=0)
    assert list(table["enclosure_id"]) == ["1A2BAT2", "1A1BAT1", "1A1BAT2"]
    assert list(table["discharged_kwh"]) == [8.0, 14.0, 16.0]
    assert list(table["days"]) == [1, 2, 2]


def test_lowest_per_day_is_not_fooled_by_missing_days() -> None:
    """An inverter missing from most exports is not the lowest performer."""
    discharged = np.full((10, 4, 2, 3), 100.0)
    discharged[:, 1, 0, :] = 90.0  # 1A2 DC input 1 is 10 % weak every day
    coverage = np.ones_like(discharged)
    discharged[2:, 2] = np.nan  # 1A3 is in 2 of the 10 exports only
    coverage[2:, 2] = 0.0
    coverage[5, 3, 1] = 0.5  # half a day of data: not counted per day
    discharged[5, 3, 1] = 50.0
    daily = make_daily(discharged, [2, 2, 2, 2], coverage=coverage)
    per_day = lowest(daily, n=2)
    assert list(per_day["enclosure_id"]) == ["1A2BAT1", "1A2BAT2"]
    assert list(per_day["discharged_kwh_per_day"]) == [90.0, 90.0]
    assert list(per_day["days"]) == [10, 10]
    totals = lowest(daily, n=2, rank="total", min_coverage=0)
    assert list(totals["enclosure_id"]) == ["1A3BAT1", "1A3BAT2"]
    assert list(totals["days"]) == [2, 2]
    half_day = lowest(daily, n=20).set_index("enclosure_id").loc["1A4BAT3"]
    assert half_day["days"] == 9
    assert half_day["discharged_kwh_per_day"] == 100.0


@pytest.mark.parametrize("rank", ["mean", "", "Total"])
def test_lowest_rejects_unknown_rank(small: xr.Dataset, rank: str) -> None:
    with pytest.raises(ValueError, match="valid names: 'per_day', 'total'"):
        lowest(small, rank=rank)


@pytest.mark.parametrize("min_coverage", [-0.1, 1.5, "0.9", True])
def test_lowest_rejects_bad_min_coverage(small: xr.Dataset, min_coverage: object) -> None:
    with pytest.raises(ValueError, match="min_coverage"):
        lowest(small, min_coverage=min_coverage)  # type: ignore[arg-type]


def test_lowest_ties_keep_plant_order() -> None:
    discharged = np.full((3, 3, 2, 3), 10.0)
    discharged[:, 2, 1, 0] = 5.0  # 1APCS3 DC 2 slot 1: lowest
    table = lowest(make_daily(discharged, [2, 3, 2]), n=4)
    assert list(table["enclosure_id"]) == ["1A3BAT3", "1A1BAT1", "1A1BAT2", "1A1BAT3"]


def test_lowest_by_charged_and_all_rows() -> None:
    discharged = np.full((2, 2, 2, 3), 10.0)
    charged = np.full((2, 2, 2, 3), 10.0)
    charged[:, 1, 0, 1] = 1.0
    discharged[:, 0, 1, 0] = 1.0
    daily = make_daily(discharged, [2, 2], charged=charged)
    assert lowest(daily, n=1, by="charged")["enclosure_id"].item() == "1A2BAT2"
    assert lowest(daily, n=1)["enclosure_id"].item() == "1A1BAT3"
    assert len(lowest(daily, n=100)) == 8


def test_lowest_excludes_enclosures_without_data() -> None:
    discharged = np.full((2, 2, 2, 3), 10.0)
    discharged[:, 0, 0, 0] = np.nan
    table = lowest(make_daily(discharged, [2, 2]), n=10)
    assert "1A1BAT1" not in set(table["enclosure_id"])
    assert len(table) == 7


@pytest.mark.parametrize("by", ["power", "Discharged", ""])
def test_lowest_rejects_unknown_by(small: xr.Dataset, by: str) -> None:
    with pytest.raises(ValueError, match="valid names: 'charged', 'discharged'"):
        lowest(small, by=by)


@pytest.mark.parametrize("n", [0, -2, 2.5, True, "3"])
def test_lowest_rejects_bad_n(small: xr.Dataset, n: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        lowest(small, n=n)  # type: ignore[arg-type]


def test_lowest_dask_equals_numpy(small: xr.Dataset) -> None:
    pd.testing.assert_frame_equal(lowest(small.chunk({"time": 1}), n=6), lowest(small, n=6))


@settings(deadline=None, max_examples=40)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_days=st.integers(1, 5),
    slots=st.lists(st.sampled_from([2, 3]), min_size=1, max_size=4),
    n=st.integers(1, 30),
    by=st.sampled_from(["charged", "discharged"]),
    rank=st.sampled_from(["per_day", "total"]),
)
def test_lowest_equals_slow_reference(
    seed: int, n_days: int, slots: list[int], n: int, by: str, rank: str
) -> None:
    rng = np.random.default_rng(seed)
    shape = (n_days, len(slots), 2, 3)
    # Few distinct values, so ties happen; some days missing.
    discharged = rng.integers(0, 4, shape).astype(float)
    charged = rng.integers(0, 4, shape).astype(float)
    missing = rng.random(shape) < 0.3
    discharged[missing] = np.nan
    charged[missing] = np.nan
    coverage = np.where(missing, 0.0, rng.choice([0.5, 0.95, 1.0], shape))
    daily = make_daily(discharged, slots, charged=charged, coverage=coverage)

    frame = to_frame(daily)
    assert len(frame) == int((np.nan_to_num(daily["coverage"].values) > 0).sum())
    assert (frame["coverage"] > 0).all()
    ids = daily["enclosure_id"].values.ravel().astype(str)
    plant_order = {name: i for i, name in enumerate(ids[ids != ""])}
    expected = []
    for enclosure_id, rows in frame.groupby("enclosure_id"):
        counted = rows[(rows["coverage"] >= 0.95) & rows[f"{by}_kwh"].notna()]
        if len(counted):
            total = counted[f"{by}_kwh"].sum()
            key = total / len(counted) if rank == "per_day" else total
            expected.append((key, plant_order[enclosure_id], enclosure_id, len(counted), total))
    expected.sort()
    table = lowest(daily, n=n, by=by, rank=rank)
    assert list(table["enclosure_id"]) == [row[2] for row in expected[:n]]
    assert list(table["days"]) == [row[3] for row in expected[:n]]
    np.testing.assert_allclose(table[f"{by}_kwh"], [row[4] for row in expected[:n]])


def test_to_frame_computes_lazy_input_once():
    """All columns come from one compute: each load of a lazy variable re-reads the exports."""
    from bessx.testing import raise_if_dask_computes

    discharged = np.arange(2 * 2 * 2 * 3, dtype=float).reshape(2, 2, 2, 3)
    daily = make_daily(discharged, [2, 3])
    daily = daily.assign({name: daily[name].chunk({"time": 1}) for name in daily.data_vars})
    with raise_if_dask_computes(max_computes=1):
        to_frame(daily)


def test_to_frame_lists_only_days_with_data() -> None:
    discharged = np.full((3, 2, 2, 3), 10.0)
    coverage = np.ones_like(discharged)
    discharged[1] = np.nan  # a day between exports: no data anywhere
    coverage[1] = 0.0
    discharged[2, 1, 0] = np.nan  # 1APCS2 DC input 1 missing on the last day
    coverage[2, 1, 0] = np.nan
    frame = to_frame(make_daily(discharged, [2, 3], coverage=coverage))
    dates = frame["date"].dt.strftime("%Y-%m-%d")
    assert sorted(set(dates)) == ["2024-03-01", "2024-03-03"]
    assert len(frame) == 10 + 10 - 3
    last_day = frame[dates == "2024-03-03"]
    assert not {"1A2BAT1", "1A2BAT2", "1A2BAT3"} & set(last_day["enclosure_id"])
    assert frame["discharged_kwh"].notna().all()


def test_write_csv_rounds_to_the_precision_of_the_data(tmp_path) -> None:
    from bessx.tables import write_csv

    discharged = np.full((2, 1, 2, 3), 1 / 3)
    daily = make_daily(discharged, [2], coverage=2 / 3)
    frame = to_frame(daily)
    before = frame.copy()
    path = tmp_path / "daily.csv"
    write_csv(frame, path)
    pd.testing.assert_frame_equal(frame, before)
    lines = path.read_text().splitlines()
    assert lines[0] == "date,inverter,dc_input,enclosure_id,charged_kwh,discharged_kwh,coverage"
    assert lines[1] == "2024-03-01,1APCS1,1,1A1BAT1,0.367,0.333,0.6667"
    back = pd.read_csv(path, parse_dates=["date"])
    assert pd.api.types.is_datetime64_dtype(back["date"])
    np.testing.assert_allclose(back["discharged_kwh"], frame["discharged_kwh"], atol=5e-4)

    lowest_path = tmp_path / "lowest.csv"
    write_csv(lowest(daily, n=1, min_coverage=0.5), lowest_path)
    assert lowest_path.read_text().splitlines()[1] == "1A1BAT1,1APCS1,1,0.367,0.333,2,0.733,0.667"


_CELLS = st.one_of(
    st.floats(-1e15, 1e15),
    st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e16, 1e-5, 0.1 + 0.2, 2.0**63]),
)
_INTEGERS = st.integers(-(2**40), 2**40)
_TEXT = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["a,b", 'say "hi"', "x\ny"]))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_write_csv_writes_the_bytes_pandas_writes(tmp_path_factory, data) -> None:
    """The fast writer's text equals ``to_csv``'s for every kind of column it takes, and a
    table with another kind of column is left to pandas."""
    from bessx.tables import write_csv

    rows = data.draw(st.integers(0, 8))
    frame = pd.DataFrame(
        {
            "value_kwh": data.draw(st.lists(_CELLS, min_size=rows, max_size=rows)),
            "other": data.draw(st.lists(_CELLS, min_size=rows, max_size=rows)),
            "count": data.draw(
                st.lists(st.integers(-(2**40), 2**40), min_size=rows, max_size=rows)
            ),
            "flag": data.draw(st.lists(st.booleans(), min_size=rows, max_size=rows)),
            "name": data.draw(st.lists(_TEXT, min_size=rows, max_size=rows)),
            "date": pd.date_range("2024-03-01", periods=rows, freq="D"),
        }
    ).astype({"value_kwh": np.float64, "other": np.float64, "count": np.int64, "flag": bool})
    if data.draw(st.booleans()):  # another kind of column: pandas writes the table
        frame["float32"] = np.arange(rows, dtype=np.float32) / 3
    folder = tmp_path_factory.mktemp("csv")
    write_csv(frame, folder / "fast.csv")
    rounded = frame.assign(
        value_kwh=frame["value_kwh"].round(3), date=frame["date"].dt.strftime("%Y-%m-%d")
    )
    rounded.to_csv(folder / "pandas.csv", index=False)
    assert (folder / "fast.csv").read_bytes() == (folder / "pandas.csv").read_bytes()
