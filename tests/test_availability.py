"""Availability: hours of a plant with known outages, written by hand with pandas, from the
Dataset path, the one pass and the cache, bit for bit; idle days, communication gaps and
planned outages are never unavailable."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

import bessx
from bessx import synthetic
from bessx.availability import (
    PlannedOutageError,
    aggregate,
    availability,
    planned_outages,
    to_frame,
)
from bessx.cache import SummaryCache
from bessx.kernels.availability import (
    QUANTITIES,
    day_sums,
    dense_day_sums,
    sample_rates,
    sample_terms,
)
from bessx.kernels.flags import _fleet_direction, fleet_moves
from bessx.onepass import from_exports
from bessx.testing import make_dataset

TIMEZONE = "Australia/Sydney"
INVERTERS = ("1APCS1", "1APCS2", "1APCS3")
STEP = pd.Timedelta("5min")
SAMPLE_H = STEP / pd.Timedelta("1h")
DAYS = pd.date_range("2024-03-01", periods=3, freq="D")
PLANNED = [("2024-03-03T08:00", "2024-03-03T10:00", ["1APCS3"])]


def power_name(inverter: str, dc_input: int) -> str:
    return f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"


def soc_name(inverter: str, k: int) -> str:
    return f"System state of charge (%) [Battery system 1A{inverter[-1]}BAT{k}]"


def between(stamps: pd.DatetimeIndex, day: pd.Timestamp, start: str, end: str) -> np.ndarray:
    return (stamps >= day + pd.Timedelta(start)) & (stamps < day + pd.Timedelta(end))


def write_site(folder: Path) -> None:
    """Three local days of 5-minute exports, 3 inverters x 2 DC inputs x 2 enclosures.

    1 March: the fleet discharges 400 kW 08:00-12:00 and charges 300 kW 14:00-16:00; DC
    input (1APCS2, 2) is dead (0 kW) 09:00-11:00, (1APCS1, 1) has no data 14:00-15:00.
    2 March: idle all day. 3 March: discharge 08:00-12:00; 1APCS3 is at 0 kW in a planned
    outage 08:00-10:00, (1APCS1, 2) is dead all day, and no row was exported 11:00-11:30.
    """
    for number, day in enumerate(DAYS):
        stamps = pd.date_range(day, day + pd.Timedelta("1D") - STEP, freq=STEP)
        fleet = np.zeros(len(stamps))
        if number in (0, 2):
            fleet[between(stamps, day, "8h", "12h")] = 400.0
        if number == 0:
            fleet[between(stamps, day, "14h", "16h")] = -300.0
        columns: dict[str, np.ndarray] = {}
        for inverter in INVERTERS:
            for dc_input in (1, 2):
                columns[power_name(inverter, dc_input)] = fleet.copy()
        if number == 0:
            columns[power_name("1APCS2", 2)][between(stamps, day, "9h", "11h")] = 0.0
            columns[power_name("1APCS1", 1)][between(stamps, day, "14h", "15h")] = np.nan
        if number == 2:
            for dc_input in (1, 2):
                columns[power_name("1APCS3", dc_input)][between(stamps, day, "8h", "10h")] = 0.0
            columns[power_name("1APCS1", 2)][:] = 0.0
        for inverter in INVERTERS:
            for k in range(1, 5):
                columns[soc_name(inverter, k)] = np.full(len(stamps), 50.0)
        frame = pd.DataFrame(columns, index=pd.DatetimeIndex(stamps, name="Timestamp"))
        if number == 2:
            frame = frame[~between(frame.index, day, "11h", "11h30min")]
        frame.to_parquet(folder / f"{day:%Y%m%d}.parquet", engine="pyarrow")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("availability-site")
    write_site(folder)
    return folder


def quietly(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def history(site: Path) -> xr.Dataset:
    return quietly(bessx.open_exports, site, timezone=TIMEZONE, variables=["dc_power"])


@pytest.fixture(scope="module")
def per_day(history: xr.Dataset) -> xr.Dataset:
    return availability(history, planned=PLANNED).compute()


def hours(result: xr.Dataset, day: int, inverter: str, dc_input: int) -> dict[str, float]:
    one = result.isel(time=day).sel(inverter=inverter, dc_input=dc_input)
    return {
        name: float(one[f"{name}_time"])
        for name in ("dispatched", "unavailable", "data_outage", "planned")
    }


# ---------------------------------------------------------------------------------------
# hand-computed hours
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("day", "inverter", "dc_input", "expected"),
    [
        (0, "1APCS2", 2, {"dispatched": 6, "unavailable": 2, "data_outage": 0, "planned": 0}),
        (0, "1APCS1", 1, {"dispatched": 6, "unavailable": 0, "data_outage": 1, "planned": 0}),
        (0, "1APCS3", 1, {"dispatched": 6, "unavailable": 0, "data_outage": 0, "planned": 0}),
        (1, "1APCS2", 2, {"dispatched": 0, "unavailable": 0, "data_outage": 0, "planned": 0}),
        (2, "1APCS1", 2, {"dispatched": 3.5, "unavailable": 3.5, "data_outage": 0, "planned": 0}),
        (2, "1APCS3", 1, {"dispatched": 1.5, "unavailable": 0, "data_outage": 0, "planned": 2}),
        (2, "1APCS2", 1, {"dispatched": 3.5, "unavailable": 0, "data_outage": 0, "planned": 0}),
    ],
)
def test_hours_of_known_outages(
    per_day: xr.Dataset, day: int, inverter: str, dc_input: int, expected: dict[str, float]
) -> None:
    found = hours(per_day, day, inverter, dc_input)
    for name, value in expected.items():
        assert abs(found[name] - value) <= SAMPLE_H, (name, found)


def test_ratios_of_known_outages(per_day: xr.Dataset) -> None:
    dead = per_day.isel(time=0).sel(inverter="1APCS2", dc_input=2)
    assert float(dead["availability"]) == pytest.approx(1 - 2 / 6)
    # lost: 2 enclosures x the median 200 kW per enclosure of the live DC inputs, for 2 h
    assert float(dead["lost_energy"]) == pytest.approx(800.0)
    delivered = 400.0 * 2 + 300.0 * 2
    assert float(dead["delivered_energy"]) == pytest.approx(delivered)
    assert float(dead["energy_availability"]) == pytest.approx(1 - 800 / (800 + delivered))
    gap = per_day.isel(time=0).sel(inverter="1APCS1", dc_input=1)
    assert float(gap["availability"]) == 1.0  # a communication gap is not unavailable
    assert float(gap["energy_availability"]) == 1.0
    all_day = per_day.isel(time=2).sel(inverter="1APCS1", dc_input=2)
    assert float(all_day["availability"]) == 0.0
    assert float(all_day["lost_energy"]) == pytest.approx(400.0 * 3.5)


def test_an_idle_day_is_unknown_not_unavailable(per_day: xr.Dataset) -> None:
    idle = per_day.isel(time=1)
    assert float(idle["unavailable_time"].sum()) == 0.0
    assert float(idle["dispatched_time"].sum()) == 0.0
    assert idle["availability"].isnull().all()
    assert float(idle["observed_time"].max()) == 24.0


def test_planned_outage_is_excluded_and_reported(history: xr.Dataset) -> None:
    without = availability(history).compute()
    day = without.isel(time=2).sel(inverter="1APCS3")
    # without the planned outage its two hours at 0 kW are unavailable
    assert day["unavailable_time"].values.tolist() == [2.0, 2.0]
    assert day["planned_time"].values.tolist() == [0.0, 0.0]
    whole = availability(history, planned=[("2024-03-03", "2024-03-04", "all")]).compute()
    assert float(whole.isel(time=2)["dispatched_time"].sum()) == 0.0
    assert whole.isel(time=2)["planned_time"].values.min() == 23.5  # the rows exported


def test_monthly_plant_rows(per_day: xr.Dataset) -> None:
    monthly = aggregate(per_day, scope="plant", period="month")
    dispatched = 6 * 6 + 4 * 3.5 + 2 * 1.5  # 3 March: 1APCS3 1.5 h (planned 2 h)
    unavailable = 2 + 3.5
    outage = 1
    assert float(monthly["dispatched_time"][0]) == pytest.approx(dispatched)
    assert float(monthly["availability"][0]) == pytest.approx(
        1 - unavailable / (dispatched - outage)
    )
    assert int(monthly["days"][0]) == 3 and int(monthly["days_observed"][0]) == 3


def test_a_dc_input_dead_all_month_is_zero_not_missing() -> None:
    time = pd.date_range("2024-02-01", periods=29 * 24, freq="1h", tz="UTC")
    power = np.full((len(time), 3, 2), 500.0)
    power[:, 1, 0] = 0.0
    ds = make_dataset(time, power, interval_seconds=3600.0, timezone="UTC")
    monthly = aggregate(availability(ds), scope="dc_input", period="month")
    dead = monthly.isel(time=0, inverter=1).sel(dc_input=1)
    assert float(dead["availability"]) == 0.0
    assert float(dead["dispatched_time"]) == 29 * 24


@pytest.mark.parametrize(
    ("start", "long_day", "hours"),
    [("2024-04-06", "2024-04-07", 25.0), ("2024-10-05", "2024-10-06", 23.0)],
)
def test_dst_days_dispatch_their_real_length(start: str, long_day: str, hours: float) -> None:
    time = pd.date_range(start, periods=72, freq="1h", tz=TIMEZONE)
    power = np.full((72, 2, 2), 500.0)
    power[:, 1, 1] = 0.0  # dead throughout
    result = availability(make_dataset(time, power, interval_seconds=3600.0))
    day = result.sel(time=long_day)
    assert day["dispatched_time"].values.ravel().tolist() == [hours] * 4
    assert float(day["unavailable_time"].sel(inverter=result.inverter[1], dc_input=2)) == hours


def test_table(per_day: xr.Dataset) -> None:
    table = to_frame(per_day)
    assert list(table.columns) == [
        "date",
        "inverter",
        "dc_input",
        "dispatched_h",
        "unavailable_h",
        "data_outage_h",
        "planned_h",
        "availability",
        "energy_availability",
    ]
    days = table[table["date"].str.len() == 10]
    assert len(days) == 3 * (6 + 3 + 1)
    month = table[table["date"] == "2024-03"]
    assert month["inverter"].tolist() == [*INVERTERS, ""]
    row = days[(days["date"] == "2024-03-01") & (days["inverter"] == "1APCS2")]
    assert row["unavailable_h"].tolist() == [0.0, 2.0, 2.0]  # input 1, input 2, inverter


# ---------------------------------------------------------------------------------------
# one pass, cache, dask: the same, bit for bit
# ---------------------------------------------------------------------------------------
def test_one_pass_and_cache_equal_the_dataset_path(
    site: Path, per_day: xr.Dataset, tmp_path: Path
) -> None:
    cache = SummaryCache(tmp_path / "cache")
    options = {"timezone": TIMEZONE, "availability": True, "planned": PLANNED}
    first = quietly(from_exports, site, cache=cache, **options).availability
    again = quietly(from_exports, site, cache=cache, **options).availability
    assert cache.hits == 3
    xr.testing.assert_identical(first, per_day)
    xr.testing.assert_identical(again, per_day)


def test_a_file_without_a_dc_input_still_equals_the_dataset_path(
    site: Path, tmp_path: Path
) -> None:
    """A DC input with enclosures has no column in one export: its dispatched time there is
    a data outage, which the one pass cannot place; the classic path gives the same."""
    import shutil

    for path in site.glob("*.parquet"):
        shutil.copy(path, tmp_path / path.name)
    frame = pd.read_parquet(tmp_path / "20240303.parquet")
    frame.drop(columns=[power_name("1APCS2", 1)]).to_parquet(tmp_path / "20240303.parquet")
    history = quietly(bessx.open_exports, tmp_path, timezone=TIMEZONE, variables=["dc_power"])
    expected = availability(history).compute()
    day = expected.isel(time=2).sel(inverter="1APCS2", dc_input=1)
    # 08:00-10:00 the median of the five other DC inputs is 0 kW (three at 0): not dispatched
    assert float(day["data_outage_time"]) == float(day["dispatched_time"]) == 1.5
    results = quietly(from_exports, tmp_path, timezone=TIMEZONE, availability=True)
    xr.testing.assert_identical(results.availability, expected)


def test_dask_equals_numpy(history: xr.Dataset, per_day: xr.Dataset) -> None:
    lazy = availability(history.chunk({"time": 100}), planned=PLANNED)
    assert lazy["dispatched_time"].chunks is not None
    xr.testing.assert_identical(lazy.compute(), per_day)


def test_accessor(history: xr.Dataset, per_day: xr.Dataset) -> None:
    xr.testing.assert_identical(history.bess.availability(planned=PLANNED).compute(), per_day)
    assert bessx.availability is availability


def test_synthetic_plant_one_pass(tmp_path: Path) -> None:
    from bessx.synthetic import write_plant

    write_plant(tmp_path, "2023-03-30", 4, inverters=2, seed=3)  # across the end of DST
    history = quietly(
        bessx.open_exports, tmp_path, variables=["dc_power"], timezone=synthetic.TIMEZONE
    )
    expected = availability(history).compute()
    results = quietly(from_exports, tmp_path, availability=True, timezone=synthetic.TIMEZONE)
    xr.testing.assert_identical(results.availability, expected)


# ---------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------
def test_fleet_moves_is_the_dead_flags_test() -> None:
    rng = np.random.default_rng(0)
    power = rng.choice([-60.0, -50.0, 0.0, 50.0, 60.0, np.nan], size=(500, 6))
    with np.errstate(invalid="ignore"):
        up, down = _fleet_direction(power, power > 50.0, power < -50.0, 50.0)
    np.testing.assert_array_equal(fleet_moves(power, 50.0), up | down)


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 40),
    m=st.integers(1, 6),
    days=st.integers(1, 3),
)
def test_day_sums_equal_the_dense_reference_and_continue_exactly(
    data: st.DataObject, n: int, m: int, days: int
) -> None:
    """The fast sums equal the obvious ones bit for bit, and adding the last sample to the
    sums of the others gives them too (what the one pass does)."""
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    power = rng.choice([0.0, 0.5, 80.0, 400.0, -300.0, np.nan], size=(n, m))
    power = np.where(rng.random((n, m)) < 0.5, rng.normal(300.0, 200.0, (n, m)), power)
    dead = (np.abs(np.nan_to_num(power, nan=9.0)) <= 1.0) & (rng.random((n, m)) < 0.8)
    moving = rng.random(n) < 0.8
    planned = rng.random((n, m)) < data.draw(st.sampled_from([0.0, 0.2]))
    enclosures = rng.integers(0, 4, m)
    holds = rng.uniform(30.0, 40.0, n)
    day_index = np.sort(rng.integers(0, days, n))
    day_index -= day_index[0]
    n_days = int(day_index[-1]) + 1
    states = (power, dead, moving, planned)
    fast = day_sums(*states, enclosures, holds, day_index, n_days)
    rates = sample_rates(*states, enclosures)
    np.testing.assert_array_equal(fast, dense_day_sums(rates, holds, day_index, n_days))
    head = day_sums(*(x[:-1] for x in states), enclosures, holds[:-1], day_index[:-1], n_days)
    head[:, day_index[-1]] += sample_terms(rates[:, -1], holds[-1])
    np.testing.assert_array_equal(head, fast)
    assert (fast[:, :, enclosures == 0] == 0).all()  # a DC input without enclosures
    assert (fast >= 0).all() and len(QUANTITIES) == fast.shape[0]
    # unavailable and data outage lie within the dispatched time
    assert (fast[1] + fast[2] <= fast[0] + 1e-9).all()


# ---------------------------------------------------------------------------------------
# bad planned outages
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (("2024-03-02", "2024-03-01", "all"), "ends before it starts"),
        (("2024-03-01", "2024-03-02", ["9ZPCS9"]), "unknown inverter"),
        (("2024-03-01", "2024-03-02", "some"), "inverter names"),
        (("yesterday", "2024-03-02", "all"), "must be a date-time"),
        (("2024-03-01", "2024-03-02"), "must be [start, end"),
    ],
)
def test_bad_planned_outages(entry: tuple, message: str) -> None:
    with pytest.raises(PlannedOutageError, match=message.replace("[", r"\[")):
        planned_outages([entry], TIMEZONE, INVERTERS)


def test_one_pass_refuses_unknown_inverters(site: Path) -> None:
    with pytest.raises(PlannedOutageError, match="9ZPCS9"):
        quietly(
            from_exports,
            site,
            timezone=TIMEZONE,
            availability=True,
            planned=[("2024-03-01", "2024-03-02", ["9ZPCS9"])],
        )


# ---------------------------------------------------------------------------------------
# the heatmap
# ---------------------------------------------------------------------------------------
def test_heatmap_keeps_idle_days_and_days_without_data_apart(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bessx.plot_availability import availability_heatmap

    time = pd.date_range("2024-05-01", periods=4 * 24, freq="1h", tz="UTC")
    keep = (time < "2024-05-03") | (time >= "2024-05-04")  # no sample on 3 May
    power = np.full((len(time), 2, 2), 500.0)
    power[time.day == 2] = 0.0  # 2 May idle
    power[:6, 0, 1] = 0.0  # dead 6 h on 1 May
    power[30:34, 1, 0] = np.nan  # on the idle day: not a data outage
    power[80:84, 1, 0] = np.nan  # 4 May: 4 h without data while dispatched
    ds = make_dataset(time[keep], power[keep], interval_seconds=3600.0, timezone="UTC")
    ax = availability_heatmap(availability(ds))
    try:
        background = np.ma.filled(ax.images[0].get_array(), np.nan)
        values = np.ma.filled(ax.images[1].get_array(), np.nan)
        assert background[:, 1].tolist() == [0.0] * 4  # idle: light grey
        assert background[:, 2].tolist() == [1.0] * 4  # no data: dark grey
        assert np.isnan(background[:, [0, 3]]).all()
        assert values[1, 0] == pytest.approx(1 - 6 / 24)  # the dead DC input, first day
        dots = ax.collections[0].get_offsets()
        assert np.asarray(dots).tolist() == [[3.0, 2.0]]  # day 4, third DC input
        ax.figure.savefig(tmp_path / "heatmap.png", dpi=80)
        assert (tmp_path / "heatmap.png").stat().st_size > 0
    finally:
        plt.close(ax.figure)
