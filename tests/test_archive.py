"""netCDF archives: exact round trips, encoding on disk, atomic writes, errors."""

from __future__ import annotations

import tracemalloc

import dask
import dask.array as da
import netCDF4
import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bessx import schema, synthetic
from bessx.errors import BessxError
from bessx.io.archive import (
    COMPRESSION,
    KIND_ATTR,
    archive_kind,
    open_daily,
    open_history,
    to_netcdf,
)
from bessx.io.exports import open_exports

INVERTERS = ("1APCS1", "1APCS2")
# 1APCS1 has 6 enclosures (3 per DC input), 1APCS2 has 4 (slot 3 unused).
ENCLOSURE_IDS = np.array(
    [
        [["1A1BAT1", "1A1BAT2", "1A1BAT3"], ["1A1BAT4", "1A1BAT5", "1A1BAT6"]],
        [["1A2BAT1", "1A2BAT2", ""], ["1A2BAT3", "1A2BAT4", ""]],
    ],
    dtype=str,
)
DAY_SAMPLES = 144  # 10-minute samples


# Builders ---------------------------------------------------------------------------------
def plant_coords() -> dict:
    return {
        "inverter": ("inverter", np.array(INVERTERS, dtype=str), schema.COORD_ATTRS["inverter"]),
        "dc_input": ("dc_input", np.array(schema.DC_INPUTS), schema.COORD_ATTRS["dc_input"]),
        "enclosure": ("enclosure", np.arange(1, 4), schema.COORD_ATTRS["enclosure"]),
        "enclosure_id": (
            ("inverter", "dc_input", "enclosure"),
            ENCLOSURE_IDS,
            schema.COORD_ATTRS["enclosure_id"],
        ),
        "n_enclosures": (
            ("inverter", "dc_input"),
            (ENCLOSURE_IDS != "").sum(axis=-1),
            schema.COORD_ATTRS["n_enclosures"],
        ),
    }


def history_dataset(
    days: float = 2.5,
    interval: int = 600,
    file_rows: int | tuple[int, ...] | None = None,
    seed: int = 0,
) -> xr.Dataset:
    """A plant history as :func:`open_exports` returns it; dask chunks of ``file_rows``."""
    rng = np.random.default_rng(seed)
    n_time = int(days * 86_400 / interval)
    time = np.datetime64("2024-03-01T13:00", "ns") + np.arange(n_time) * np.timedelta64(
        interval, "s"
    )
    dc_power = rng.normal(0, 500, (n_time, 2, 2))
    dc_power[rng.random(dc_power.shape) < 0.05] = np.nan
    soc = rng.uniform(5, 95, (n_time, 2, 2, 3))
    soc[:, ENCLOSURE_IDS == ""] = np.nan
    soc[10:20, 0, 1, 2] = np.nan
    plant = rng.normal(0, 2000, n_time)
    data_vars = {
        "dc_power": (schema.VARIABLE_DIMS["dc_power"], dc_power),
        "soc": (schema.VARIABLE_DIMS["soc"], soc),
        "plant_power": ("time", plant),
        "plant_soc": ("time", np.full(n_time, 50.0)),
        "setpoint": ("time", np.where(np.arange(n_time) % 7 == 0, np.nan, plant)),
    }
    data_vars = {
        name: (dims, values, dict(schema.VARIABLE_ATTRS[name]))
        for name, (dims, values) in data_vars.items()
    }
    coords = {"time": ("time", time, schema.COORD_ATTRS["time"]), **plant_coords()}
    attrs = {
        "Conventions": "CF-1.10",
        "timezone": "Australia/Sydney",
        "interval_seconds": float(interval),
        "source_files": 3,
        "history": "2024-03-04T00:00:00Z bessx.open_exports: read 3 export file(s)",
    }
    history = xr.Dataset(data_vars, coords, attrs)
    if file_rows is not None:
        history = history.chunk({"time": file_rows})
    return history


def daily_dataset(n_days: int = 10, seed: int = 1) -> xr.Dataset:
    """Daily energy as :func:`bessx.daily_energy` returns it."""
    rng = np.random.default_rng(seed)
    time = np.datetime64("2024-03-01", "ns") + np.arange(n_days) * np.timedelta64(1, "D")
    shape = (n_days, 2, 2, 3)
    data_vars = {}
    for name in schema.DAILY_ATTRS:
        values = rng.uniform(0, 1 if name == "coverage" else 900, shape)
        values[:, ENCLOSURE_IDS == ""] = np.nan
        values[3] = np.nan  # a missing day
        data_vars[name] = (
            ("time", "inverter", "dc_input", "enclosure"),
            values,
            dict(schema.DAILY_ATTRS[name]),
        )
    data_vars["charged"][1][5, 0, 0, 0] = 0.0  # a day without charging
    coords = {"time": ("time", time, schema.DAILY_TIME_ATTRS), **plant_coords()}
    attrs = {
        "Conventions": "CF-1.10",
        "timezone": "Australia/Sydney",
        "interval_seconds": 600.0,
        "allocation": "equal",
        "max_gap": 3.0,
        "history": "2024-03-11T00:00:00Z bessx.daily_energy: allocation=equal",
    }
    return xr.Dataset(data_vars, coords, attrs)


def write_exports(folder, days: int = 3) -> None:
    """Tiny parquet exports, one per local day, in the plant's column naming."""
    rng = np.random.default_rng(2)
    for day in pd.date_range("2024-03-01", periods=days, freq="D"):
        stamps = pd.date_range(day, periods=DAY_SAMPLES, freq="10min")
        columns = {"Timestamp": stamps}
        for inverter in INVERTERS:
            for dc_input in schema.DC_INPUTS:
                name = f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"
                columns[name] = rng.normal(0, 300, DAY_SAMPLES)
        for enclosure_id in ENCLOSURE_IDS[ENCLOSURE_IDS != ""]:
            name = f"System state of charge (%) [Battery system {enclosure_id}]"
            columns[name] = rng.uniform(0, 100, DAY_SAMPLES)
        for name in schema.PLANT_COLUMNS:
            columns[name] = rng.normal(0, 1000, DAY_SAMPLES)
        pd.DataFrame(columns).to_parquet(folder / f"export_{day:%Y%m%d}.parquet", index=False)


def assert_same_dtypes(actual: xr.Dataset, expected: xr.Dataset) -> None:
    assert set(actual.variables) == set(expected.variables)
    for name, var in expected.variables.items():
        assert actual[name].dtype == var.dtype, name


def without_written_line(archived: xr.Dataset, original: xr.Dataset) -> xr.Dataset:
    """The archived Dataset with the ``history`` line added by the writer checked and removed."""
    before, _, line = archived.attrs["history"].rpartition("\n")
    assert before == original.attrs["history"]
    assert "written by bessx.to_netcdf" in line
    return archived.assign_attrs(history=before)


# Round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("lazy", [False, True], ids=["numpy", "dask"])
def test_daily_round_trip_is_exact(tmp_path, lazy):
    daily = daily_dataset()
    if lazy:
        daily = daily.chunk({"time": 3})
    path = to_netcdf(daily, tmp_path / "daily.nc")
    assert path == tmp_path / "daily.nc"
    reopened = open_daily(path)
    xr.testing.assert_identical(without_written_line(reopened, daily), daily.compute())
    assert_same_dtypes(reopened, daily)
    assert reopened.time.dtype == np.dtype("datetime64[ns]")
    assert reopened.enclosure_id.dtype.kind == "U" and reopened.inverter.dtype.kind == "U"
    assert reopened.enclosure_id.values[1, 0, 2] == ""
    np.testing.assert_array_equal(np.isnan(reopened.charged), np.isnan(daily.charged))
    assert reopened.charged.values[5, 0, 0, 0] == 0.0
    for key, value in daily.attrs.items():
        assert type(reopened.attrs[key]) is type(value), key
    assert KIND_ATTR not in reopened.attrs
    assert not any(var.chunks for var in reopened.variables.values())


def test_writing_does_not_touch_the_input(tmp_path):
    daily = daily_dataset()
    before = daily.copy(deep=True)
    to_netcdf(daily, tmp_path / "daily.nc")
    xr.testing.assert_identical(daily, before)
    assert daily.encoding == before.encoding


def test_missing_cf_attrs_are_filled_in(tmp_path):
    daily = daily_dataset()
    daily["charged"].attrs = {"units": "kWh"}
    daily.attrs = {}
    reopened = open_daily(to_netcdf(daily, tmp_path / "daily.nc"))
    assert reopened.charged.attrs == schema.DAILY_ATTRS["charged"]
    assert reopened.attrs["Conventions"] == "CF-1.10"
    assert "written by bessx" in reopened.attrs["history"]


def test_a_reopened_daily_archive_can_be_rewritten_in_place(tmp_path):
    path = to_netcdf(daily_dataset(), tmp_path / "daily.nc")
    reopened = open_daily(path)
    to_netcdf(reopened, path)
    again = open_daily(path)
    assert again.attrs["history"].count("written by bessx") == 2
    xr.testing.assert_identical(again.drop_attrs(), reopened.drop_attrs())


@pytest.mark.parametrize("file_rows", [None, (100, 144, 116)], ids=["numpy", "dask"])
def test_history_round_trip_is_exact(tmp_path, file_rows):
    history = history_dataset(file_rows=file_rows)
    path = to_netcdf(history, tmp_path / "history.nc")
    reopened = open_history(path)
    assert reopened.dc_power.chunks is not None
    assert set(reopened.dc_power.chunks[0][:-1]) == {DAY_SAMPLES}
    assert reopened.enclosure_id.chunks is None
    assert reopened.inverter.dtype.kind == "U" and reopened.enclosure_id.dtype.kind == "U"
    computed = reopened.compute()
    xr.testing.assert_identical(without_written_line(computed, history), history.compute())
    assert_same_dtypes(computed, history)
    assert computed.time.dtype == np.dtype("datetime64[ns]")
    reopened.close()


def test_history_read_into_memory(tmp_path):
    history = history_dataset()
    reopened = open_history(to_netcdf(history, tmp_path / "history.nc"), chunks=None)
    assert not any(var.chunks for var in reopened.variables.values())
    xr.testing.assert_identical(without_written_line(reopened, history), history)


def test_history_subset_of_variables(tmp_path):
    history = history_dataset()[["plant_power", "setpoint"]]
    reopened = open_history(to_netcdf(history, tmp_path / "plant.nc")).compute()
    xr.testing.assert_identical(without_written_line(reopened, history), history)


def test_history_from_parquet_exports_round_trips(tmp_path):
    write_exports(tmp_path)
    history = open_exports(tmp_path, timezone=synthetic.TIMEZONE)
    assert history.dc_power.chunks[0] == (DAY_SAMPLES,) * 3
    path = to_netcdf(history, tmp_path / "history.nc")
    reopened = open_history(path)
    xr.testing.assert_identical(
        without_written_line(reopened.compute(), history), history.compute()
    )
    reopened.close()


def test_sub_second_times_round_trip(tmp_path):
    history = history_dataset(days=0.01, interval=1)
    history = history.assign_coords(time=history.time + np.timedelta64(250, "ms"))
    path = to_netcdf(history, tmp_path / "history.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc["time"].units == "milliseconds since 1970-01-01"
    reopened = open_history(path).compute()
    np.testing.assert_array_equal(reopened.time.values, history.time.values)


# On disk -----------------------------------------------------------------------------------
def test_history_on_disk_is_compressed_and_chunked_by_day(tmp_path):
    path = to_netcdf(history_dataset(), tmp_path / "history.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.Conventions == "CF-1.10"
        assert nc.getncattr(KIND_ATTR) == "history"
        for name in schema.VARIABLES:
            var = nc[name]
            assert var.dtype == np.float64
            assert var.filters()["zlib"] and var.filters()["shuffle"]
            assert var.filters()["complevel"] == COMPRESSION["complevel"]
            assert np.isnan(var.getncattr("_FillValue"))
            assert var.chunking()[0] == DAY_SAMPLES
        assert nc["soc"].chunking() == [DAY_SAMPLES, 2, 2, 3]
        assert nc["dc_power"].chunking() == [DAY_SAMPLES, 2, 2]
        assert nc["dc_power"].units == "kW"
        time = nc["time"]
        assert time.dtype == np.int64
        assert time.units == "seconds since 1970-01-01"
        assert time[0] == pd.Timestamp("2024-03-01T13:00").value // 10**9
        assert nc["enclosure_id"].dtype is str
        assert nc["inverter"].dtype is str


def test_daily_on_disk_encoding(tmp_path):
    path = to_netcdf(daily_dataset(), tmp_path / "daily.nc")
    with netCDF4.Dataset(path) as nc:
        assert nc.getncattr(KIND_ATTR) == "daily"
        # Sydney's midnights are 13:00 or 14:00 UTC: hours hold the bounds exactly
        assert nc["time"].units == "hours since 1970-01-01"
        # bounds inherit the units of their coordinate (or repeat them)
        assert getattr(nc["time_bounds"], "units", nc["time"].units) == nc["time"].units
        assert nc["time"].dtype == np.int64 and nc["time_bounds"].dtype == np.int64
        for name, attrs in schema.DAILY_ATTRS.items():
            var = nc[name]
            assert var.dtype == np.float64 and var.filters()["zlib"]
            assert var.chunking() == [10, 2, 2, 3]
            assert {key: var.getncattr(key) for key in attrs} == attrs
        assert nc["n_enclosures"].dtype == np.int64


def test_history_writes_stream_chunk_by_chunk(tmp_path):
    """Writing a lazy 55 MB history holds a few day chunks (1.4 MB each), not the history."""
    n_days, per_day = 40, 1440
    shape = (n_days * per_day, 20, 2, 3)

    def day_block(block_info=None):
        location = block_info[None]["array-location"][0]
        return np.full(block_info[None]["chunk-shape"], float(location[0] % 97))

    soc = da.map_blocks(
        day_block,
        chunks=((1000,) * (shape[0] // 1000) + (shape[0] % 1000,), (20,), (2,), (3,)),
        dtype=np.float64,
    )
    time = np.datetime64("2024-01-01", "ns") + np.arange(shape[0]) * np.timedelta64(60, "s")
    history = xr.Dataset(
        {"soc": (schema.VARIABLE_DIMS["soc"], soc)},
        {"time": time},
        {"interval_seconds": 60.0},
    )
    total = soc.nbytes
    with dask.config.set(scheduler="synchronous"):
        tracemalloc.start()
        try:
            to_netcdf(history, tmp_path / "big.nc")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < total / 8, f"peak {peak / 2**20:.1f} MiB for {total / 2**20:.1f} MiB"
    with netCDF4.Dataset(tmp_path / "big.nc") as nc:
        assert nc["soc"].chunking() == [per_day, 20, 2, 3]
        assert nc["soc"][1000, 0, 0, 0] == 1000 % 97


# Atomic writes ------------------------------------------------------------------------------
def failing_history() -> xr.Dataset:
    """A lazy history whose third chunk fails to compute, after the first are written."""
    history = history_dataset(file_rows=DAY_SAMPLES)

    def maybe_fail(block, block_info=None):
        if block_info[0]["chunk-location"][0] == 2:
            raise RuntimeError("export file vanished")
        return block

    dc_power = da.map_blocks(maybe_fail, history.dc_power.data, dtype=np.float64)
    return history.assign(dc_power=history.dc_power.copy(data=dc_power))


def test_failed_write_leaves_no_file(tmp_path):
    with pytest.raises(RuntimeError, match="export file vanished"):
        to_netcdf(failing_history(), tmp_path / "history.nc")
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_the_existing_archive(tmp_path):
    target = tmp_path / "history.nc"
    to_netcdf(history_dataset(), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError, match="export file vanished"):
        to_netcdf(failing_history(), target)
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]


def test_interrupted_move_removes_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "daily.nc"
    target.write_bytes(b"previous archive")

    def interrupted(source, destination):
        raise KeyboardInterrupt

    monkeypatch.setattr("bessx.io.archive.os.replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        to_netcdf(daily_dataset(), target)
    assert target.read_bytes() == b"previous archive"
    assert list(tmp_path.iterdir()) == [target]


# Errors --------------------------------------------------------------------------------------
def test_kind_is_told_from_the_content():
    assert archive_kind(daily_dataset()) == "daily"
    assert archive_kind(history_dataset()) == "history"
    assert archive_kind(history_dataset()[["soc"]]) == "history"
    with pytest.raises(BessxError, match="neither daily energy"):
        archive_kind(xr.Dataset({"temperature": ("time", [1.0])}))
    mixed = daily_dataset()[["charged"]].rename(time="day").assign(plant_power=("x", [1.0]))
    with pytest.raises(BessxError, match="mixes daily energy"):
        archive_kind(mixed)


def test_write_errors(tmp_path):
    with pytest.raises(BessxError, match="nothing to archive"):
        to_netcdf(xr.Dataset(), tmp_path / "empty.nc")
    with pytest.raises(BessxError, match="no such folder"):
        to_netcdf(daily_dataset(), tmp_path / "missing" / "daily.nc")
    with pytest.raises(BessxError, match="attribute 'max_gap' of the Dataset is None"):
        to_netcdf(daily_dataset().assign_attrs(max_gap=None), tmp_path / "daily.nc")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_the_file_being_read(tmp_path):
    path = to_netcdf(history_dataset(), tmp_path / "history.nc")
    reopened = open_history(path)
    with pytest.raises(BessxError, match="read from this file"):
        to_netcdf(reopened, path)
    to_netcdf(reopened, tmp_path / "copy.nc")
    reopened.close()


@pytest.mark.parametrize("opener", [open_daily, open_history])
def test_missing_file(tmp_path, opener):
    with pytest.raises(BessxError, match=r"nothing\.nc: no such file$"):
        opener(tmp_path / "nothing.nc")


@pytest.mark.parametrize("opener", [open_daily, open_history])
def test_not_netcdf(tmp_path, opener):
    path = tmp_path / "notes.nc"
    path.write_text("not a netCDF file\n")
    with pytest.raises(BessxError, match=r"notes\.nc: not a readable netCDF file") as error:
        opener(path)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("opener", [open_daily, open_history])
def test_netcdf_not_written_by_bessx(tmp_path, opener):
    path = tmp_path / "other.nc"
    xr.Dataset({"charged": ("time", [1.0])}).to_netcdf(path, engine="netcdf4")
    with pytest.raises(BessxError, match=r"other\.nc: not a bessx .* archive \(not written by"):
        opener(path)


def test_archive_of_the_other_kind(tmp_path):
    daily_path = to_netcdf(daily_dataset(), tmp_path / "daily.nc")
    history_path = to_netcdf(history_dataset(), tmp_path / "history.nc")
    with pytest.raises(BessxError, match=r"history\.nc: not a bessx daily archive \(it is"):
        open_daily(history_path)
    with pytest.raises(BessxError, match=r"daily\.nc: not a bessx history archive \(it is"):
        open_history(daily_path)


def test_open_history_rejects_unknown_chunks(tmp_path):
    with pytest.raises(ValueError, match="chunks must be"):
        open_history(tmp_path / "history.nc", chunks="file")


# CF conventions of the daily archive ----------------------------------------------------------
def test_daily_archive_is_read_by_cf_xarray(tmp_path):
    cf_xarray = pytest.importorskip("cf_xarray")
    del cf_xarray  # registers the .cf accessor
    # Sydney: 25 h on 2024-04-07 (end of DST), 23 h on 2024-10-06 (start of DST)
    dates = np.array(["2024-04-06", "2024-04-07", "2024-10-06"], dtype="datetime64[ns]")
    daily = daily_dataset(n_days=6).isel(time=[0, 1, 2])
    daily = daily.assign_coords(time=("time", dates, schema.DAILY_TIME_ATTRS))
    path = to_netcdf(daily, tmp_path / "daily.nc")
    with xr.open_dataset(path) as raw:
        assert raw.cf["T"].name == "time"
        assert raw.cf["time"].attrs["standard_name"] == "time"
        assert raw.cf.bounds["T"] == ["time_bounds"]
        bounds = raw.cf.get_bounds("time")
        assert bounds.dims == ("time", "nv")
        expected = np.array(
            [
                ["2024-04-05T13:00", "2024-04-06T13:00"],
                ["2024-04-06T13:00", "2024-04-07T14:00"],
                ["2024-10-05T14:00", "2024-10-06T13:00"],
            ],
            dtype="datetime64[ns]",
        )
        np.testing.assert_array_equal(bounds.values, expected)
        hours = (bounds[:, 1] - bounds[:, 0]) / np.timedelta64(1, "h")
        np.testing.assert_array_equal(hours, [24, 25, 23])
        np.testing.assert_array_equal(raw["time"].values, dates)

        mask = raw["slot_used"]
        assert list(mask.attrs["flag_values"]) == [0, 1]
        assert mask.attrs["flag_meanings"] == "unused_slot enclosure"
        np.testing.assert_array_equal(mask.values == 1, ENCLOSURE_IDS != "")
        assert raw["charged"].attrs["ancillary_variables"] == "slot_used"
        used = raw["slot_used"].cf == "enclosure"  # compared by flag meaning
        np.testing.assert_array_equal(used.values, ENCLOSURE_IDS != "")
    reopened = open_daily(path)
    xr.testing.assert_identical(without_written_line(reopened, daily), daily)


def test_daily_archive_without_timezone_has_no_bounds(tmp_path):
    daily = daily_dataset(n_days=6)
    daily.attrs.pop("timezone")
    path = to_netcdf(daily, tmp_path / "daily.nc")
    with xr.open_dataset(path) as raw:
        assert "time_bounds" not in raw.variables and "bounds" not in raw["time"].attrs
        assert raw["time"].attrs["axis"] == "T"
    xr.testing.assert_identical(without_written_line(open_daily(path), daily), daily)
