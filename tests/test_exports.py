"""The export reader: every rule of ``bessx.open_exports`` on synthetic files."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

import bessx
from bessx import schema, synthetic
from bessx.errors import ExportError
from bessx.io.engines import ENGINES, Engine
from bessx.io.exports import ColumnPatterns, ExportWarning
from bessx.topology import read_topology

TZ = "Australia/Sydney"


@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    """Three healthy days of a four-inverter plant, spring DST change in the middle."""
    folder = tmp_path_factory.mktemp("plant")
    return synthetic.write_plant(folder, start="2022-10-01", days=3, inverters=4, faults=False)


@pytest.fixture(scope="module")
def frame(plant):
    """The plant's exports as one pandas frame in file order (the slow obvious read)."""
    return pd.concat([pd.read_parquet(path) for path in plant.files])


def dc_column(inverter: str, dc_input: int) -> str:
    return f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"


def soc_column(enclosure_id: str) -> str:
    return f"System state of charge (%) [Battery system {enclosure_id}]"


def utc(naive_local: pd.Index) -> np.ndarray:
    return (
        pd.DatetimeIndex(naive_local)
        .tz_localize(TZ, ambiguous="infer")
        .tz_convert("UTC")
        .tz_localize(None)
        .as_unit("ns")
        .to_numpy()
    )


def write(frame: pd.DataFrame, path) -> None:
    frame.to_parquet(path, engine="pyarrow")


# The Dataset -----------------------------------------------------------------------------
def test_layout_units_and_attrs(plant):
    ds = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    assert dict(ds.sizes) == {
        "time": 2400 + 2300 + 2400,
        "inverter": 4,
        "dc_input": 2,
        "enclosure": 3,
    }
    assert ds["dc_power"].dims == ("time", "inverter", "dc_input")
    assert ds["soc"].dims == ("time", "inverter", "dc_input", "enclosure")
    for var in schema.VARIABLES:
        assert ds[var].attrs["units"] in {"kW", "%"}
        assert ds[var].attrs["long_name"]
    assert ds.time.dtype == np.dtype("datetime64[ns]")
    assert ds.attrs["timezone"] == TZ
    assert ds.attrs["interval_seconds"] == 36.0
    assert ds.attrs["source_files"] == 3
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert "open_exports" in ds.attrs["history"]
    dropped = ds["duplicates_dropped"]
    assert dropped.dims == ("time",)
    assert dropped.dtype == np.uint16
    assert (dropped.values == 0).all()
    assert dropped.attrs["long_name"] == "duplicate rows dropped at this timestamp"
    assert dropped.attrs["units"] == "1"


def test_values_match_a_plain_pandas_read(plant, frame, engine):
    ds = bessx.open_exports(plant.folder, engine=engine, timezone=synthetic.TIMEZONE)
    assert (ds.time.values == utc(frame.index)).all()
    for inverter in ds.inverter.values[[0, -1]]:
        for dc_input in (1, 2):
            expected = frame[dc_column(inverter, dc_input)].to_numpy()
            actual = ds.dc_power.sel(inverter=inverter, dc_input=dc_input).values
            np.testing.assert_array_equal(actual, expected)
    plant_power = frame["BESS active power (kW) [BESS]"].to_numpy()
    np.testing.assert_array_equal(ds.plant_power.values, plant_power)


def test_topology_inferred_from_battery_system_columns(plant):
    ds = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    table = plant.topology
    for inverter, dc_input, enclosure_id in table[list(table.columns[:3])].itertuples(index=False):
        ids = ds.enclosure_id.sel(inverter=inverter, dc_input=dc_input).values
        assert enclosure_id in ids
    counts = table.groupby(["inverter", "dc_input"]).size()
    for (inverter, dc_input), count in counts.items():
        assert ds.n_enclosures.sel(inverter=inverter, dc_input=dc_input) == count
    unused = ds.enclosure_id.values == ""
    assert unused.sum() == ds.sizes["inverter"] * 2 * 3 - len(table)
    assert np.isnan(ds.soc.isel(time=0).values[unused]).all()
    assert not np.isnan(ds.soc.isel(time=0).values[~unused]).any()


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    return request.param


@pytest.fixture
def calls(engine, monkeypatch):
    """Record every footer scan and column read the engine is asked for."""
    record = {"scan": [], "read": [], "load": []}
    original = ENGINES[engine]

    def scan(path):
        record["scan"].append(path)
        return original.scan(path)

    def read(path, columns):
        record["read"].append(tuple(columns))
        return original.read(path, columns)

    def load(path, pick):
        record["load"].append(path)
        return original.load(path, pick)

    monkeypatch.setitem(ENGINES, engine, Engine(engine, scan, read, load))
    return record


def test_one_chunk_per_file_and_lazy(plant, engine, calls):
    ds = bessx.open_exports(plant.folder, engine=engine, timezone=synthetic.TIMEZONE)
    assert len(calls["scan"]) == 3, "one footer parse per file at open"
    assert calls["read"] == [], "no data is read at open"
    assert ds.dc_power.chunks[0] == (2400, 2300, 2400)
    for var in schema.VARIABLES:
        assert ds[var].chunks is not None
    ds.dc_power.sum().compute()
    assert len(calls["read"]) == 3, "one read per file"


def test_projection_reads_only_needed_columns(plant, engine, calls):
    ds = bessx.open_exports(
        plant.folder, variables=["dc_power"], engine=engine, timezone=synthetic.TIMEZONE
    )
    ds.dc_power.compute()
    n_dc = ds.sizes["inverter"] * 2
    assert [len(columns) for columns in calls["read"]] == [n_dc] * 3
    assert all(schema.DC_POWER_PATTERN.match(name) for name in calls["read"][0])
    width = pq.ParquetFile(plant.files[0]).metadata.num_columns
    assert width > 10 * n_dc


def test_pyarrow_engine_projects_at_the_file_level(plant, monkeypatch):
    reads = []
    original = pq.ParquetFile.read

    def spy(self, columns=None, **kwargs):
        reads.append(tuple(columns or ()))
        return original(self, columns=columns, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read", spy)
    ds = bessx.open_exports(
        plant.folder, engine="pyarrow", variables=["dc_power", "soc"], timezone=synthetic.TIMEZONE
    )
    assert reads == [("Timestamp",)] * 3
    ds.compute()
    n_columns = ds.sizes["inverter"] * 2 + int(ds.n_enclosures.sum())
    assert [len(columns) for columns in reads[3:]] == [n_columns] * 3


def test_engines_agree(plant):
    pyarrow = bessx.open_exports(
        plant.folder, engine="pyarrow", timezone=synthetic.TIMEZONE
    ).compute()
    polars = bessx.open_exports(
        plant.folder, engine="polars", timezone=synthetic.TIMEZONE
    ).compute()
    xr.testing.assert_identical(pyarrow.drop_attrs(), polars.drop_attrs())
    with pytest.raises(ValueError, match="unknown engine"):
        bessx.open_exports(plant.folder, engine="fastparquet", timezone=synthetic.TIMEZONE)


def test_eager_read_equals_lazy_read(plant):
    lazy = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    eager = bessx.open_exports(plant.folder, chunks=None, timezone=synthetic.TIMEZONE)
    assert eager.dc_power.chunks is None
    xr.testing.assert_identical(lazy.compute().drop_attrs(), eager.drop_attrs())


# Timestamps ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "rows"),
    [("2022-10-01", [2400, 2300, 2400]), ("2023-04-01", [2400, 2500, 2400])],
    ids=["spring", "autumn"],
)
def test_dst_days_have_exact_sample_counts(tmp_path, start, rows, engine):
    plant = synthetic.write_plant(tmp_path, start=start, days=3, inverters=2, faults=False)
    ds = bessx.open_exports(plant.folder, engine=engine, timezone=synthetic.TIMEZONE)
    assert ds.dc_power.chunks[0] == tuple(rows)
    steps = np.diff(ds.time.values).astype("m8[s]").astype(int)
    assert (steps == 36).all(), "UTC samples are evenly spaced across the DST change"
    local = ds.indexes["time"].tz_localize("UTC").tz_convert(TZ)
    assert local[0] == pd.Timestamp(start, tz=TZ)


def test_autumn_repeat_resolved_from_row_order(tmp_path):
    plant = synthetic.write_plant(tmp_path, start="2023-04-02", days=1, inverters=1, faults=False)
    naive = pd.read_parquet(plant.files[0]).index
    assert naive.duplicated().sum() == 100, "the repeated hour has 100 naive duplicates"
    ds = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    assert ds.sizes["time"] == 2500
    assert (np.diff(ds.time.values) == np.timedelta64(36, "s")).all()


def test_timestamp_column_and_tz_aware_input_give_the_same_dataset(tmp_path, plant, engine):
    column = synthetic.write_plant(
        tmp_path / "column",
        start="2022-10-01",
        days=3,
        inverters=4,
        faults=False,
        timestamps="column",
    )
    aware = synthetic.write_plant(
        tmp_path / "aware", start="2022-10-01", days=3, inverters=4, faults=False, tz_aware=True
    )
    expected = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE).compute().drop_attrs()
    for other in (column, aware):
        xr.testing.assert_identical(
            bessx.open_exports(other.folder, engine=engine, timezone=synthetic.TIMEZONE)
            .compute()
            .drop_attrs(),
            expected,
        )


def test_shuffled_rows_and_files_in_any_order(tmp_path, plant, frame):
    for path in plant.files:
        day = pd.read_parquet(path)
        write(day.sample(frac=1.0, random_state=1), tmp_path / path.name)
    expected = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE).compute().drop_attrs()
    with pytest.warns(ExportWarning, match="sorted"):
        shuffled = bessx.open_exports(
            sorted(tmp_path.glob("*.parquet"), reverse=True), timezone=synthetic.TIMEZONE
        )
    xr.testing.assert_identical(shuffled.compute().drop_attrs(), expected)


def test_same_data_split_differently_gives_the_same_dataset(tmp_path, plant, frame):
    # twelve-hour files that do not start at midnight, in a different folder
    halves = frame.groupby(np.arange(len(frame)) // 1000)
    for number, (_, part) in enumerate(halves):
        write(part, tmp_path / f"part{number:02d}.parquet")
    expected = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE).compute().drop_attrs()
    split = bessx.open_exports(str(tmp_path / "part*.parquet"), timezone=synthetic.TIMEZONE)
    assert len(split.dc_power.chunks[0]) == len(halves)
    xr.testing.assert_identical(split.compute().drop_attrs(), expected)


def test_missing_rows_and_missing_days(tmp_path, plant, frame):
    day = pd.read_parquet(plant.files[0])
    write(day.drop(day.index[100:150]), tmp_path / plant.files[0].name)
    write(pd.read_parquet(plant.files[2]), tmp_path / plant.files[2].name)
    ds = bessx.open_exports(tmp_path, timezone=synthetic.TIMEZONE)
    assert ds.sizes["time"] == 2400 - 50 + 2400
    gaps = np.diff(ds.time.values).astype("m8[s]").astype(int)
    # 50 rows removed on the first day; the spring day (23 h) missing between the others
    assert sorted(set(gaps)) == [36, 36 * 51, 36 + 23 * 3600]
    assert ds.attrs["interval_seconds"] == 36.0


def test_exact_duplicate_rows_are_dropped_and_reported(tmp_path, plant, engine):
    from bessx.io.archive import to_netcdf

    day = pd.read_parquet(plant.files[0])
    write(
        pd.concat([day.iloc[:6], day.iloc[[5, 5]], day.iloc[6:9], day.iloc[[8]], day.iloc[9:]]),
        tmp_path / "a.parquet",
    )
    with pytest.warns(
        ExportWarning, match=r"3 duplicate row\(s\) dropped if equal to the row kept"
    ):
        ds = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    expected = np.zeros(ds.sizes["time"], np.uint16)
    expected[[5, 8]] = [2, 1]
    np.testing.assert_array_equal(ds.duplicates_dropped.values, expected)
    single = bessx.open_exports(plant.files[0], timezone=synthetic.TIMEZONE)
    xr.testing.assert_identical(
        ds.compute().drop_attrs().drop_vars("duplicates_dropped"),
        single.compute().drop_attrs().drop_vars("duplicates_dropped"),
    )
    archived = bessx.open_exports(
        to_netcdf(ds, tmp_path / "history.nc"), timezone=synthetic.TIMEZONE
    )
    xr.testing.assert_identical(archived.duplicates_dropped, ds.duplicates_dropped)


@pytest.mark.parametrize("variable", ["dc_power", "soc", "plant_power"])
def test_duplicate_timestamps_with_different_values_are_an_error(tmp_path, plant, variable, engine):
    day = pd.read_parquet(plant.files[0])
    changed = day.iloc[[5]].copy()
    column = {
        "dc_power": dc_column(plant.topology.inverter[0], 1),
        "soc": soc_column(plant.topology.enclosure_id[0]),
        "plant_power": "BESS active power (kW) [BESS]",
    }[variable]
    changed[column] += 1.0
    write(pd.concat([day, changed]), tmp_path / "a.parquet")
    with pytest.warns(ExportWarning, match="duplicate") as notes:
        ds = bessx.open_exports(
            tmp_path, variables=[variable], engine=engine, timezone=synthetic.TIMEZONE
        )
    # the note says what happens next, and does not claim the rows are identical
    (note,) = (str(w.message) for w in notes if "duplicate row" in str(w.message))
    assert "dropped if equal to the row kept" in note
    assert "a difference is an error" in note
    assert "identical" not in note
    with pytest.raises(ExportError) as raised:
        ds.compute()
    assert str(raised.value) == (
        f"{tmp_path / 'a.parquet'}: row 2400 repeats a timestamp with different values "
        f"(row 5 differs in '{column}')"
    )
    # a difference in a column that is not read does not matter
    other = [name for name in ("dc_power", "soc", "plant_power") if name != variable]
    with pytest.warns(ExportWarning, match="duplicate"):
        bessx.open_exports(
            tmp_path, variables=other, engine=engine, timezone=synthetic.TIMEZONE
        ).compute()


def test_interval_override_and_inference(plant):
    assert (
        bessx.open_exports(plant.folder, interval=60, timezone=synthetic.TIMEZONE).attrs[
            "interval_seconds"
        ]
        == 60.0
    )
    with pytest.raises(ValueError, match="interval"):
        bessx.open_exports(plant.folder, interval=0, timezone=synthetic.TIMEZONE)


# Columns and topology -----------------------------------------------------------------------
def test_inverter_missing_in_one_day_gives_nan_and_a_warning(tmp_path, plant, engine):
    absent = plant.topology.inverter[0]
    for number, path in enumerate(plant.files):
        day = pd.read_parquet(path)
        if number == 1:
            day = day.drop(columns=[c for c in day.columns if absent in c or "1A1BAT" in c])
        write(day, tmp_path / path.name)
    with pytest.warns(ExportWarning, match=rf"{plant.files[1].name}: no power column for {absent}"):
        ds = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    power = ds.dc_power.sel(inverter=absent)
    chunks = np.cumsum((0, *ds.dc_power.chunks[0]))
    assert power[chunks[1] : chunks[2]].isnull().all()
    assert power[: chunks[1]].notnull().all()
    assert ds.soc.sel(inverter=absent)[chunks[1] : chunks[2]].isnull().all()


def test_topology_file_overrides_inference(tmp_path, plant):
    table = plant.topology.copy()
    first = table.inverter[0]
    ids = table.loc[table.inverter == first, "enclosure_id"].tolist()
    # interleave the first inverter's enclosures over its DC inputs: BAT1, BAT3, ... on 1
    table.loc[table.inverter == first, "enclosure_id"] = ids[0::2] + ids[1::2]
    path = tmp_path / "topology.csv"
    table.to_csv(path, index=False)
    ds = bessx.open_exports(plant.folder, topology=path, timezone=synthetic.TIMEZONE)
    half = len(ids) // 2
    assert ds.enclosure_id.sel(inverter=first, dc_input=1).values[:half].tolist() == ids[0::2]
    assert ds.enclosure_id.sel(inverter=first, dc_input=2).values[:half].tolist() == ids[1::2]
    mapping = {
        inverter: {
            dc_input: group.enclosure_id.tolist() for dc_input, group in rows.groupby("dc_input")
        }
        for inverter, rows in table.groupby("inverter")
    }
    from_mapping = bessx.open_exports(plant.folder, topology=mapping, timezone=synthetic.TIMEZONE)
    xr.testing.assert_identical(from_mapping.enclosure_id, ds.enclosure_id)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("move an enclosure", "1A1BAT1 is listed under 1APCS2, but its name says 1APCS1"),
        ("unknown inverter", "no export has a DC input power column for 9ZPCS1"),
        ("empty DC input", "DC input 2 of 1APCS1 is metered but has no enclosure"),
    ],
)
def test_topology_that_does_not_fit_the_exports_is_an_error(
    tmp_path, plant, change, message, engine
):
    table = plant.topology.copy()
    if change == "move an enclosure":
        table.loc[table.enclosure_id == "1A1BAT1", "inverter"] = "1APCS2"
    elif change == "unknown inverter":
        table.loc[len(table)] = ["9ZPCS1", 1, "9Z1BAT1"]
    else:
        table = table[~((table.inverter == "1APCS1") & (table.dc_input == 2))]
    path = tmp_path / "topology.csv"
    table.to_csv(path, index=False)
    with pytest.raises(bessx.BessxError, match=f"topology.csv: .*{message}"):
        bessx.open_exports(plant.folder, topology=path, engine=engine, timezone=synthetic.TIMEZONE)


def test_inverter_without_battery_system_columns_is_an_error(tmp_path, plant, engine):
    day = pd.read_parquet(plant.files[0])
    write(
        day.drop(columns=[c for c in day.columns if "[Battery system 1A2BAT" in c]),
        tmp_path / "a.parquet",
    )
    with pytest.raises(bessx.BessxError, match="DC input 1 of 1APCS2 is metered but has no encl"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"inverter": ["1APCS1"], "dc_input": [17], "enclosure_id": ["1A1BAT1"]}, "1 to 16"),
        (
            {"inverter": ["1APCS1"] * 2, "dc_input": [1, 1.5], "enclosure_id": ["1A1BAT1", "X"]},
            r"line 3 \(enclosure X\): dc_input must be a whole number from 1 to 16, not 1\.5",
        ),
        (
            {"inverter": ["1APCS1"] * 2, "dc_input": [1, 2], "enclosure_id": ["1A1BAT1"] * 2},
            "more than once",
        ),
        ({"inverter": ["1APCS1"], "enclosure_id": ["1A1BAT1"]}, "lacks column"),
    ],
)
def test_inconsistent_topology_is_an_error(tmp_path, plant, table, message, engine):
    path = tmp_path / "topology.csv"
    pd.DataFrame(table).to_csv(path, index=False)
    with pytest.raises(bessx.BessxError, match=f"topology.csv: .*{message}"):
        bessx.open_exports(plant.folder, topology=path, engine=engine, timezone=synthetic.TIMEZONE)


def test_odd_number_of_battery_systems_needs_a_topology(tmp_path, plant, engine):
    day = pd.read_parquet(plant.files[0])
    write(day.drop(columns=[soc_column("1A1BAT1")]), tmp_path / "a.parquet")
    with pytest.raises(bessx.BessxError, match="cannot be split evenly"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)


# Bad input ----------------------------------------------------------------------------------
def _bad_file(kind: str, folder, plant):
    day = pd.read_parquet(plant.files[0])
    path = folder / "20221001.parquet"
    if kind == "zero-byte":
        path.write_bytes(b"")
    elif kind == "corrupt":
        data = plant.files[0].read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "not parquet":
        path.write_text("Timestamp,power\n2022-10-01,1\n")
    elif kind == "no timestamps":
        write(day.reset_index(drop=True), path)
    elif kind == "no DC input columns":
        write(day.drop(columns=[c for c in day.columns if "DC Input" in c]), path)
    elif kind == "text power":
        write(day.assign(**{dc_column(plant.topology.inverter[0], 1): "1.0"}), path)
    elif kind == "no rows":
        write(day.iloc[:0], path)
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("zero-byte", "empty file"),
        ("corrupt", "not a readable parquet file"),
        ("not parquet", "not a readable parquet file"),
        ("no timestamps", "no 'Timestamp' index or column"),
        ("no DC input columns", "no DC input power columns"),
        ("text power", "not numeric"),
        ("no rows", "no rows"),
    ],
)
def test_bad_file_is_a_one_line_error_naming_it(tmp_path, plant, kind, message, engine):
    path = _bad_file(kind, tmp_path, plant)
    with pytest.raises(ExportError, match=message) as raised:
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    text = str(raised.value)
    assert text.startswith(f"{path}: ")
    assert "\n" not in text
    assert isinstance(raised.value, ValueError)


def test_empty_folder_and_missing_paths(tmp_path):
    with pytest.raises(ExportError, match=r"no \*\.parquet exports"):
        bessx.open_exports(tmp_path, timezone=synthetic.TIMEZONE)
    with pytest.raises(ExportError, match="no such file"):
        bessx.open_exports(tmp_path / "nothing-*.parquet", timezone=synthetic.TIMEZONE)
    with pytest.raises(ExportError, match="no such file"):
        bessx.open_exports([tmp_path / "20221001.parquet"], timezone=synthetic.TIMEZONE)


def test_a_period_exported_twice_is_kept_once_if_equal_else_an_error(tmp_path, plant, engine):
    day = pd.read_parquet(plant.files[0])
    write(day, tmp_path / "a.parquet")
    write(day.iloc[100:200], tmp_path / "b.parquet")
    with pytest.warns(ExportWarning, match=r"b.parquet: \d+ column\(s\) also in a.parquet"):
        twice = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    once = bessx.open_exports(tmp_path / "a.parquet", engine=engine, timezone=synthetic.TIMEZONE)
    xr.testing.assert_equal(twice, once)
    changed = day.iloc[100:200].copy()
    changed.iloc[50, changed.columns.get_loc(dc_column("1APCS1", 2))] += 1.0
    write(changed, tmp_path / "b.parquet")
    with pytest.warns(ExportWarning):
        lazy = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    with pytest.raises(ExportError, match=r"b.parquet: overlaps a.parquet in time and differs"):
        lazy.compute()


def test_all_null_unnamed_column_is_ignored(plant):
    table = pq.read_table(plant.files[0])
    (unnamed,) = (name for name in table.column_names if name.startswith("Unnamed: "))
    assert table.column(unnamed).null_count == table.num_rows
    ds = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    assert "Unnamed" not in " ".join(map(str, ds.variables))


def test_column_patterns_override(tmp_path, plant):
    renamed = {
        dc_column(inv, dc): f"DC{dc} power kW {inv}"
        for inv in plant.topology.inverter.unique()
        for dc in (1, 2)
    }
    for path in plant.files:
        write(pd.read_parquet(path).rename(columns=renamed), tmp_path / path.name)
    with pytest.raises(ExportError, match="no DC input power columns"):
        bessx.open_exports(tmp_path, timezone=synthetic.TIMEZONE)
    patterns = ColumnPatterns(
        dc_power=re.compile(r"^DC(?P<dc_input>[12]) power kW (?P<inverter>\w+)$")
    )
    ds = bessx.open_exports(tmp_path, columns=patterns, timezone=synthetic.TIMEZONE)
    expected = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE).compute().drop_attrs()
    xr.testing.assert_identical(ds.compute().drop_attrs(), expected)


def test_history_archive_opens_like_the_exports(tmp_path, plant):
    from bessx.io.archive import to_netcdf

    ds = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    path = to_netcdf(ds, tmp_path / "history.nc")
    again = bessx.open_exports(path, timezone=synthetic.TIMEZONE)
    assert again.dc_power.chunks is not None
    xr.testing.assert_equal(again.compute(), ds.compute())
    only_power = bessx.open_exports(path, variables=["dc_power"], timezone=synthetic.TIMEZONE)
    assert list(only_power.data_vars) == ["dc_power"]
    other = bessx.open_exports(path, timezone="Australia/Brisbane", interval=60)
    assert (other.attrs["timezone"], other.attrs["interval_seconds"]) == ("Australia/Brisbane", 60)
    with pytest.raises(ValueError, match="keeps its topology"):
        bessx.open_exports(path, topology=plant.topology, timezone=synthetic.TIMEZONE)


def test_broken_data_pages_are_named_at_compute(tmp_path, plant, engine):
    data = bytearray(plant.files[0].read_bytes())
    # scramble the data pages, keep the footer: the file opens but cannot be decoded
    data[4 : len(data) // 2] = bytes(len(data) // 2 - 4)
    path = tmp_path / plant.files[0].name
    path.write_bytes(bytes(data))
    ds = bessx.open_exports(
        path, engine=engine, variables=["dc_power"], timezone=synthetic.TIMEZONE
    )
    with pytest.raises(ExportError, match=rf"^{path}: cannot read its data \("):
        ds.dc_power.compute()


def test_duplicate_row_with_nan_where_the_kept_row_has_a_value(tmp_path, plant, engine):
    day = pd.read_parquet(plant.files[0])
    changed = day.iloc[[5]].copy()
    changed[dc_column(plant.topology.inverter[0], 1)] = np.nan
    write(pd.concat([day, changed]), tmp_path / "a.parquet")
    with pytest.warns(ExportWarning, match="duplicate"):
        ds = bessx.open_exports(
            tmp_path, engine=engine, variables=["dc_power"], timezone=synthetic.TIMEZONE
        )
    with pytest.raises(ExportError, match=r"a\.parquet: row 2400 repeats a timestamp with diff"):
        ds.compute()


def test_a_single_sample_needs_the_interval(tmp_path, plant, engine):
    write(pd.read_parquet(plant.files[0]).iloc[:1], tmp_path / "a.parquet")
    with pytest.raises(ExportError, match=r"a\.parquet: a single sample: .* \(give interval=\)"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert (
        bessx.open_exports(tmp_path, interval=36, engine=engine, timezone=synthetic.TIMEZONE).attrs[
            "interval_seconds"
        ]
        == 36
    )


@pytest.fixture(scope="module")
def autumn(tmp_path_factory):
    folder = tmp_path_factory.mktemp("autumn")
    return synthetic.write_plant(folder, start="2023-04-02", days=1, inverters=2, faults=False)


@pytest.mark.parametrize(
    "split",
    ["01:00", "02:30 first pass", "02:00 second pass", "02:30 second pass", "04:00"],
)
def test_autumn_day_split_anywhere_gives_the_same_dataset(tmp_path, autumn, split):
    day = pd.read_parquet(autumn.files[0])
    clock, _, which = split.partition(" ")
    passes = np.flatnonzero(day.index.strftime("%H:%M:%S") == f"{clock}:00")
    row = passes[1 if which == "second pass" else 0]
    write(day.iloc[:row], tmp_path / "a.parquet")
    write(day.iloc[row:], tmp_path / "b.parquet")
    whole = bessx.open_exports(autumn.files[0], timezone=synthetic.TIMEZONE).compute().drop_attrs()
    xr.testing.assert_identical(
        bessx.open_exports(tmp_path, timezone=synthetic.TIMEZONE).compute().drop_attrs(), whole
    )


@pytest.mark.parametrize("problem", ["shuffled rows", "first pass missing"])
def test_unresolvable_autumn_hour_is_an_error(tmp_path, autumn, problem, engine):
    day = pd.read_parquet(autumn.files[0])
    if problem == "shuffled rows":
        day = day.sample(frac=1.0, random_state=3)
    else:  # rows 200-299 are 02:00-02:59 daylight time, 300-399 the same in standard time
        assert (day.index[200:300] == day.index[300:400]).all()
        day = day.iloc[np.r_[0:200, 300 : len(day)]]
    write(day, tmp_path / "a.parquet")
    with pytest.raises(ExportError, match="daylight and standard time cannot be told apart"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)


# The engines agree on every numeric type ------------------------------------------------------
def _with_power_column(plant, tmp_path, array) -> tuple[str, object]:
    """The first export with its first DC power column replaced by a pyarrow ``array``."""
    import pyarrow as pa

    table = pq.read_table(plant.files[0])
    name = dc_column(plant.topology.inverter[0], 1)
    position = table.column_names.index(name)
    table = table.set_column(position, pa.field(name, array.type), array)
    path = tmp_path / plant.files[0].name
    pq.write_table(table, path)
    return name, path


def _numeric_array(kind: str, rows: int):
    """A column of ``kind``, and the float64 values both engines must give for it."""
    import decimal

    import pyarrow as pa

    rng = np.random.default_rng(8)
    integers = rng.integers(0, 100, rows)
    nulls = np.zeros(rows, dtype=bool)
    nulls[[3, 7]] = True
    if kind == "decimal128":
        text = [f"{value:.6f}" for value in rng.uniform(-1800, 1800, rows)]
        text[0], text[1] = "-1.100000", "0.100000"  # not exactly representable in binary
        values = [decimal.Decimal(t) for t in text]
        expected = np.array([float(t) for t in text])
        array = pa.array(values, pa.decimal128(12, 6), mask=nulls)
    elif kind.startswith("uint"):
        dtype = np.dtype(kind)
        values = integers.astype(dtype)
        values[0] = np.iinfo(dtype).max
        if kind == "uint64":
            values[1] = 2**63
        expected = values.astype(np.float64)
        array = pa.array(values, mask=nulls)
    elif kind.startswith("int"):
        dtype = np.dtype(kind)
        values = (integers - 50).astype(dtype)
        values[0], values[1] = np.iinfo(dtype).min, np.iinfo(dtype).max
        expected = values.astype(np.float64)
        array = pa.array(values, mask=nulls)
    elif kind == "null":
        expected = np.full(rows, np.nan)
        array = pa.nulls(rows)
        nulls[:] = True
    else:  # float16, float32
        values = rng.uniform(-1800, 1800, rows).astype(kind)
        values[2] = np.inf
        expected = values.astype(np.float64)
        array = pa.array(values, mask=nulls)
    expected[nulls] = np.nan
    return array, expected


@pytest.mark.parametrize(
    "kind",
    [
        "decimal128",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "float32",
        "null",
    ],
)
def test_engines_convert_every_numeric_type_alike(tmp_path, plant, kind):
    rows = len(pd.read_parquet(plant.files[0], columns=[]))
    array, expected = _numeric_array(kind, rows)
    _, path = _with_power_column(plant, tmp_path, array)
    inverter = plant.topology.inverter[0]
    read = {
        engine: bessx.open_exports(
            path, engine=engine, variables=["dc_power"], timezone=synthetic.TIMEZONE
        )
        .dc_power.sel(inverter=inverter, dc_input=1)
        .values
        for engine in ENGINES
    }
    for values in read.values():
        assert values.dtype == np.float64
        np.testing.assert_array_equal(values, expected)
    assert read["pyarrow"].tobytes() == read["polars"].tobytes(), "bit for bit"


def test_uint64_two_to_the_63_is_a_large_positive_float(tmp_path, plant, engine):
    import pyarrow as pa

    rows = len(pd.read_parquet(plant.files[0], columns=[]))
    values = np.full(rows, 2**63, dtype=np.uint64)
    _, path = _with_power_column(plant, tmp_path, pa.array(values))
    ds = bessx.open_exports(
        path, engine=engine, variables=["dc_power"], timezone=synthetic.TIMEZONE
    )
    power = ds.dc_power.sel(inverter=plant.topology.inverter[0], dc_input=1).values
    assert (power == 9.223372036854776e18).all()


@pytest.mark.parametrize(
    ("kind", "refusal"),
    [
        ("bool", "it holds booleans"),
        ("string", "it holds text"),
        ("timestamp", "it holds dates or times"),
        ("duration", "it holds dates or times"),
        ("decimal256", "it holds decimals of more than 38 digits"),
        ("binary", "it holds neither numbers nor nulls"),
    ],
)
def test_engines_refuse_other_types_with_the_same_message(tmp_path, plant, kind, refusal):
    import decimal

    import pyarrow as pa

    rows = len(pd.read_parquet(plant.files[0], columns=[]))
    array = {
        "bool": lambda: pa.array(np.arange(rows) % 2 == 0),
        "string": lambda: pa.array([str(i) for i in range(rows)]),
        "timestamp": lambda: pa.array(np.arange(rows).astype("datetime64[s]")),
        "duration": lambda: pa.array(np.arange(rows).astype("timedelta64[s]")),
        "binary": lambda: pa.array([b"\x00"] * rows, pa.binary()),
        "decimal256": lambda: pa.array(
            [decimal.Decimal(i) for i in range(rows)], pa.decimal256(40)
        ),
    }[kind]()
    name, path = _with_power_column(plant, tmp_path, array)
    messages = set()
    for engine in ENGINES:
        with pytest.raises(ExportError) as raised:
            bessx.open_exports(path, engine=engine, timezone=synthetic.TIMEZONE)
        messages.add(str(raised.value))
    assert messages == {f"{path}: column '{name}' is not numeric ({refusal})"}


# Time sanity ---------------------------------------------------------------------------------
def _shifted(path, offset: pd.DateOffset) -> pd.DataFrame:
    day = pd.read_parquet(path)
    return day.set_axis(day.index + offset)


@pytest.mark.parametrize("years", [-180, 5])
def test_timestamps_outside_the_plausible_window_are_refused(tmp_path, plant, engine, years):
    for path in plant.files:
        write(pd.read_parquet(path), tmp_path / path.name)
    odd = tmp_path / plant.files[1].name
    write(_shifted(plant.files[1], pd.DateOffset(years=years)), odd)
    with pytest.raises(ExportError, match="plausible window 2000-01-01 00:00 to ") as raised:
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value).startswith(f"{odd}: timestamps from ")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("year", [1500, 2500, 2585])  # 2585 in ns would wrap into the window
def test_timestamps_beyond_the_nanosecond_range_are_refused_alike(tmp_path, plant, year):
    import pyarrow as pa

    table = pq.read_table(plant.files[0])
    start = np.datetime64(f"{year}-01-01", "us")
    times = start + np.arange(table.num_rows) * np.timedelta64(36, "s")
    position = table.column_names.index("Timestamp")
    table = table.set_column(position, "Timestamp", pa.array(times, pa.timestamp("us")))
    path = tmp_path / "a.parquet"
    pq.write_table(table, path)
    messages = set()
    for engine in ENGINES:
        with pytest.raises(ExportError) as raised:
            bessx.open_exports(path, engine=engine, timezone=synthetic.TIMEZONE)
        messages.add(str(raised.value))
    (message,) = messages
    assert f"from {year}-01-01 00:00 to {year}-01-01 23:59 lie outside the plausible" in message


def test_timestamps_must_fit_the_date_in_the_file_name(tmp_path, plant, engine):
    # the second day's rows under the first day's name
    wrong = tmp_path / plant.files[0].name
    write(pd.read_parquet(plant.files[1]), wrong)
    with pytest.raises(ExportError) as raised:
        bessx.open_exports(wrong, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value) == (
        f"{wrong}: its rows run from 2022-10-02 00:00 to 2022-10-02 23:59 local time "
        "(2022-10-01 14:00 to 2022-10-02 12:59 UTC), which does not fit the date 2022-10-01 in "
        "its name, as a local or as a UTC date (allowed: 2022-09-30 23:00 to 2022-10-02 01:00)"
    )


def test_a_daily_file_may_close_with_the_next_midnight(tmp_path, plant, engine):
    first, second = (pd.read_parquet(path) for path in plant.files[:2])
    write(pd.concat([first, second.iloc[:1]]), tmp_path / plant.files[0].name)
    write(second.iloc[1:], tmp_path / "rest.parquet")  # no date in the name: not checked
    ds = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert ds.sizes["time"] == len(first) + len(second)


def test_name_date_is_read_only_when_it_is_one_valid_date():
    from pathlib import Path

    from bessx.io.exports import name_date

    assert name_date(Path("20230501.parquet")) == np.datetime64("2023-05-01", "ns")
    assert name_date(Path("bess_20230501_part2.parquet")) == np.datetime64("2023-05-01", "ns")
    for name in ("a.parquet", "20230231.parquet", "123202305011.parquet", "20230501_20230502.pq"):
        assert name_date(Path(name)) is None, name


def test_an_export_far_from_the_rest_of_the_history_is_refused(tmp_path, plant, engine):
    for path in plant.files:
        write(pd.read_parquet(path), tmp_path / path.name)
    stray = tmp_path / "stray.parquet"
    write(_shifted(plant.files[1], pd.DateOffset(years=-10)), stray)
    with pytest.raises(ExportError) as raised:
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value) == (
        f"{stray}: its timestamps (2012-10-01 14:00 UTC) lie 10.0 years from the rest of the "
        "history (3 file(s), nearest 20221001.parquet); exports more than 730 days apart are "
        "refused (a clock error? else give max_gap_days=)"
    )
    ds = bessx.open_exports(tmp_path, engine=engine, max_gap_days=4000, timezone=synthetic.TIMEZONE)
    assert ds.attrs["source_files"] == 4
    with pytest.raises(ValueError, match="max_gap_days must be positive"):
        bessx.open_exports(tmp_path, max_gap_days=0, timezone=synthetic.TIMEZONE)


def test_two_exports_years_apart_keep_the_later_one(tmp_path, plant, engine):
    # one file each side, of as many rows: neither is the history, the later one is kept
    stray = tmp_path / "early.parquet"
    write(_shifted(plant.files[0], pd.DateOffset(years=-3)), stray)
    write(pd.read_parquet(plant.files[2]), tmp_path / plant.files[2].name)
    with pytest.raises(ExportError, match=r"early\.parquet: its timestamps .* 3\.0 years from"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)


def test_time_errors_come_before_any_data_is_read(tmp_path, plant, engine, calls):
    write(_shifted(plant.files[0], pd.DateOffset(years=-180)), tmp_path / "a.parquet")
    with pytest.raises(ExportError, match="plausible window"):
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert calls["read"] == []


# A stable topology -----------------------------------------------------------------------------
def _with_soc_columns(plant, folder, changes: dict[int, dict[str, str | None]]) -> list:
    """Copy the plant, adding (copied from another) or dropping (None) SOC columns per file."""
    paths = []
    for number, path in enumerate(plant.files):
        day = pd.read_parquet(path)
        for enclosure_id, source in changes.get(number, {}).items():
            if source is None:
                day = day.drop(columns=[soc_column(enclosure_id)])
            else:
                day[soc_column(enclosure_id)] = day[soc_column(source)]
        write(day, folder / path.name)
        paths.append(folder / path.name)
    return paths


def test_battery_systems_that_appear_in_one_export_are_an_error(tmp_path, plant, engine):
    # 1APCS2 has 4 battery systems (2 + 2); two more in the second file would make it 3 + 3
    extra = {"1A2BAT5": "1A2BAT4", "1A2BAT6": "1A2BAT4"}
    paths = _with_soc_columns(plant, tmp_path, {1: extra})
    with pytest.raises(ExportError) as raised:
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value) == (
        f"{paths[1]}: battery systems 1A2BAT5, 1A2BAT6 appear here but not in 20221001.parquet; "
        "the inferred topology would re-split inverter 1APCS2 on every day: give --topology "
        "(topology= in Python)"
    )
    # a topology settles it; the extra columns are then not read
    ds = bessx.open_exports(
        tmp_path, engine=engine, topology=plant.topology, timezone=synthetic.TIMEZONE
    )
    assert ds.n_enclosures.sel(inverter="1APCS2").values.tolist() == [2, 2]


def test_battery_systems_only_in_the_first_export_are_an_error(tmp_path, plant, engine):
    extra = {"1A2BAT5": "1A2BAT4", "1A2BAT6": "1A2BAT4"}
    paths = _with_soc_columns(plant, tmp_path, {0: extra})
    with pytest.raises(ExportError, match=r"appear here but not in 20221002\.parquet") as raised:
        bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value).startswith(f"{paths[0]}: battery systems 1A2BAT5, 1A2BAT6 ")


def test_battery_systems_missing_from_one_export_keep_the_split(tmp_path, plant, engine):
    # 1APCS1 has 6 (3 + 3); without BAT5, BAT6 for a day it is still 3 + 3 on every day
    _with_soc_columns(plant, tmp_path, {1: {"1A1BAT5": None, "1A1BAT6": None}})
    with pytest.warns(
        ExportWarning, match=r"20221002\.parquet: no state of charge for 1A1BAT5, 1A"
    ):
        ds = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    expected = bessx.open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    xr.testing.assert_identical(ds.enclosure_id, expected.enclosure_id)
    chunks = np.cumsum((0, *ds.soc.chunks[0]))
    missing = ds.soc.sel(inverter="1APCS1", dc_input=2)[chunks[1] : chunks[2], 1:]
    assert missing.isnull().all()


def test_as_many_exports_with_as_without_is_a_change(tmp_path, plant, engine):
    extra = {"1A2BAT5": "1A2BAT4", "1A2BAT6": "1A2BAT4"}
    paths = _with_soc_columns(plant, tmp_path, {1: extra})
    with pytest.raises(ExportError, match=r"20221002\.parquet: battery systems 1A2BAT5, 1A2BAT6"):
        bessx.open_exports(paths[:2], engine=engine, timezone=synthetic.TIMEZONE)
    # present in most exports, they are the inverter's set: the file without them misses them
    _with_soc_columns(plant, tmp_path, {1: extra, 2: extra})
    with pytest.warns(ExportWarning, match=r"20221001\.parquet: no state of charge for 1A2BAT5"):
        ds = bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert ds.n_enclosures.sel(inverter="1APCS2").values.tolist() == [3, 3]


def test_topology_enclosures_in_no_export_give_one_warning(tmp_path, plant, engine):
    table = plant.topology[["inverter", "dc_input", "enclosure_id"]].copy()
    table.loc[len(table)] = ["1APCS2", 2, "1A2BAT9"]
    path = tmp_path / "topology.csv"
    table.to_csv(path, index=False)
    with pytest.warns(ExportWarning) as records:
        ds = bessx.open_exports(
            plant.folder, engine=engine, topology=path, timezone=synthetic.TIMEZONE
        )
    messages = [str(record.message) for record in records]
    assert messages == [
        f"{path}: enclosure(s) 1A2BAT9 of the topology appear in no export "
        "(their state of charge is NaN)"
    ]
    assert ds.n_enclosures.sel(inverter="1APCS2").values.tolist() == [2, 3]


@pytest.mark.parametrize(("dc_input", "expected"), [(1.0, 1), ("1", 1), (" 2 ", 2), (2, 2)])
def test_topology_dc_input_whole_numbers_as_text_or_float(plant, dc_input, expected):
    table = plant.topology[["inverter", "dc_input", "enclosure_id"]].astype({"dc_input": object})
    table.loc[table.enclosure_id == "1A1BAT1", "dc_input"] = dc_input
    ds = bessx.open_exports(plant.folder, topology=table, timezone=synthetic.TIMEZONE)
    assert "1A1BAT1" in ds.enclosure_id.sel(inverter="1APCS1", dc_input=expected).values


@pytest.mark.parametrize("dc_input", [1.5, 0, 17, "one", True])
def test_topology_dc_input_other_than_a_whole_number_is_an_error_naming_the_row(
    plant, dc_input, engine
):
    table = plant.topology[["inverter", "dc_input", "enclosure_id"]].astype({"dc_input": object})
    row = int(np.flatnonzero(table.enclosure_id == "1A1BAT2")[0])
    table.loc[row, "dc_input"] = dc_input
    with pytest.raises(bessx.BessxError) as raised:
        bessx.open_exports(plant.folder, topology=table, engine=engine, timezone=synthetic.TIMEZONE)
    assert str(raised.value) == (
        f"topology: row {row} (enclosure 1A1BAT2): dc_input must be a whole number from 1 to "
        f"16, not {dc_input}"
    )
    mapping = {"1APCS1": {dc_input: ["1A1BAT1"]}}
    with pytest.raises(bessx.BessxError, match=r"row 0 .*dc_input must be a whole number"):
        read_topology(mapping)


def test_no_warning_comes_before_an_error_at_open(tmp_path, plant, engine):
    import warnings

    # a repeated row leaves a single sample: the error alone, not a note about the repeat
    write(pd.read_parquet(plant.files[0]).iloc[[0, 0]], tmp_path / "a.parquet")
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        with pytest.raises(ExportError, match="a single sample"):
            bessx.open_exports(tmp_path, engine=engine, timezone=synthetic.TIMEZONE)
    assert records == []
