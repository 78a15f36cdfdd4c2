"""Fuzz: malformed exports give bessx's own errors or finite, conserving results.

Random small exports in the real layout (a ``Timestamp`` index, DC power and SOC columns)
with random numeric types, NaN and infinity patterns, disordered or repeated timestamps and
random column subsets are written as real parquet files and read with both engines. Only
:class:`bessx.BessxError` may escape; every result is finite, non-negative, and both
allocations give each DC input the same energy.

Damaged histories go further: one file cut in the middle (its footer intact), reduced to a
single row or given a repeated column name, and a cache entry replaced by a pickle, garbage,
a torn entry or an entry of another type. Both engines, with and without
``--skip-bad-files``, cold and warm: only bessx's errors, and the cache never changes a
result.
"""

from __future__ import annotations

import decimal
import warnings
from pathlib import Path

import dask
import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import xarray as xr
from hypothesis import HealthCheck, given, settings

from bessx import BessxError, ExportWarning, daily_energy, open_exports, synthetic

INVERTERS = ("1APCS1", "1APCS2")
ENCLOSURES = {
    "1APCS1": ("1A1BAT1", "1A1BAT2", "1A1BAT3", "1A1BAT4"),
    "1APCS2": ("1A2BAT1", "1A2BAT2"),
}
TYPES = (
    pa.float64(),
    pa.float32(),
    pa.int64(),
    pa.int32(),
    pa.uint64(),
    pa.uint16(),
    pa.decimal128(12, 3),
)
SPECIAL = (np.nan, np.inf, -np.inf, 1e9, -1e7, 1.7e308, 0.0)


@st.composite
def exports(draw: st.DrawFn) -> pa.Table:
    """One small malformed export as an arrow table."""
    n = draw(st.integers(1, 30))
    start = pd.Timestamp("2023-04-02 01:30") + pd.Timedelta(minutes=draw(st.integers(0, 600)))
    steps = draw(st.lists(st.sampled_from([36] * 8 + [0, -36, 720]), min_size=n, max_size=n))
    seconds = np.cumsum([0, *steps[1:]])
    time = pd.DatetimeIndex(start + pd.to_timedelta(seconds, unit="s"), name="Timestamp")
    repeated = np.r_[False, np.diff(seconds) == 0]
    differs = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    identical = repeated & (np.asarray(differs) > 0)  # mostly an exact repeat
    columns = {}
    for inverter in INVERTERS:
        for dc_input in (1, 2):
            if draw(st.integers(0, 4)) or not columns:
                name = f"BESS{dc_input} DC Input Power (kW) [Battery Inverter {inverter}]"
                columns[name] = ("power", draw(st.sampled_from(TYPES)))
        everything = draw(st.integers(0, 7))  # mostly all of an inverter's battery systems
        for enclosure in ENCLOSURES[inverter]:
            if everything or draw(st.booleans()):
                name = f"System state of charge (%) [Battery system {enclosure}]"
                columns[name] = ("soc", draw(st.sampled_from(TYPES)))
    arrays = {"Timestamp": pa.array(time.values, pa.timestamp("ns"))}
    for name, (kind, arrow_type) in columns.items():
        low, high = (-1500.0, 1500.0) if kind == "power" else (0.0, 100.0)
        values = np.asarray(
            draw(st.lists(st.floats(low, high, width=32), min_size=n, max_size=n)), dtype=float
        )
        for row in draw(st.lists(st.integers(0, n - 1), max_size=3)):
            values[row] = draw(st.sampled_from(SPECIAL))
        for row in np.flatnonzero(identical):  # most repeated rows repeat their values
            values[row] = values[row - 1]
        arrays[name] = _typed(values, arrow_type)
    return pa.table(arrays)


def _typed(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """``values`` as ``arrow_type``; values the type cannot hold become nulls."""
    if pa.types.is_floating(arrow_type):
        with np.errstate(over="ignore"):
            return pa.array(values.astype(arrow_type.to_pandas_dtype()), arrow_type)
    if pa.types.is_decimal(arrow_type):
        limit = 10.0 ** (arrow_type.precision - arrow_type.scale)
        fits = np.isfinite(values) & (np.abs(values) < limit)
        items = [
            decimal.Decimal(f"{v:.3f}") if ok else None for v, ok in zip(values, fits, strict=True)
        ]
        return pa.array(items, arrow_type)
    info = np.iinfo(arrow_type.to_pandas_dtype())
    fits = np.isfinite(values) & (values >= info.min) & (values <= info.max)
    integers = np.where(fits, np.round(np.where(fits, values, 0)), 0).astype(info.dtype)
    return pa.array(integers, arrow_type, mask=~fits)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tables=st.lists(exports(), min_size=1, max_size=2))
def test_malformed_exports(tmp_path: Path, tables: list[pa.Table]) -> None:
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for index, table in enumerate(tables):  # a day apart, mostly: overlaps are refused
        days = pa.array(pd.to_timedelta([index] * len(table), unit="D").values)
        shifted = pa.compute.add(table["Timestamp"], days)
        table = table.set_column(0, "Timestamp", shifted)
        pq.write_table(table, folder / f"export{index}.parquet")
    outcomes = {engine: _analyse(folder, engine) for engine in ("pyarrow", "polars")}
    for outcome in outcomes.values():
        if isinstance(outcome, dict):
            _check(outcome)
    # the engines agree: the same results, or the same one-line error
    first, second = outcomes.values()
    if isinstance(first, str) or isinstance(second, str):
        assert first == second
    else:
        for allocation in first:
            xr.testing.assert_equal(first[allocation], second[allocation])


def _analyse(folder: Path, engine: str) -> dict[str, xr.Dataset] | str:
    """Daily energy under both allocations, or the text of bessx's error."""
    try:
        # one task after the other: with several bad files, the same one is reported first
        with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
            warnings.simplefilter("ignore", ExportWarning)
            ds = open_exports(folder, engine=engine, interval=36.0, timezone=synthetic.TIMEZONE)
            return {
                allocation: daily_energy(ds, allocation=allocation).compute()
                for allocation in ("equal", "soc")
            }
    except BessxError as error:  # anything else escapes and fails the test
        return str(error)


def _check(results: dict[str, xr.Dataset]) -> None:
    for daily in results.values():
        for name in ("charged", "discharged"):
            values = daily[name].values
            assert np.isfinite(values[~np.isnan(values)]).all()
            assert (values[~np.isnan(values)] >= 0).all()
        coverage = daily["coverage"].values
        assert ((coverage[~np.isnan(coverage)] >= 0) & (coverage[~np.isnan(coverage)] <= 1)).all()
    for name in ("charged", "discharged"):  # both allocations conserve each DC input's energy
        equal, soc = (results[a][name].sum("enclosure", min_count=1).values for a in results)
        np.testing.assert_allclose(equal, soc, rtol=1e-12, equal_nan=True)


# Damaged histories: cut files, single rows, repeated names, planted cache entries -------------
DAMAGES = ("none", "cut middle", "single row", "repeated name", "repeated power name")
PLANTS = ("none", "pickle", "garbage", "torn", "another type")


def _damage(path: Path, damage: str, where: float) -> None:
    """Damage one written export as real files get damaged."""
    if damage == "cut middle":  # data pages lost, the footer intact
        raw = path.read_bytes()
        footer = int.from_bytes(raw[-8:-4], "little") + 8
        body = len(raw) - footer
        start = 4 + int((body - 4) * where)
        path.write_bytes(raw[:start] + raw[start + max(1, (body - start) // 2) : len(raw)])
    elif damage == "single row":
        pq.write_table(pq.read_table(path).slice(0, 1), path)
    elif damage.startswith("repeated"):
        table = pq.read_table(path)
        names = table.column_names
        powers = [i for i, name in enumerate(names) if "DC Input Power" in name]
        others = [i for i in range(1, len(names)) if i not in powers[:1]]
        if damage == "repeated power name" and len(powers) > 1:
            names[powers[1]] = names[powers[0]]
        elif others:
            names[others[-1]] = names[others[0]]
        pq.write_table(table.rename_columns(names), path)


def _plant(entry: Path, plant: str) -> None:
    """Replace a cache entry by something that is not one (or would run code if unpickled)."""
    import pickle

    from bessx.io.entries import dump_entry

    content = {
        "pickle": lambda: pickle.dumps(ValueError("planted")),
        "garbage": lambda: b"PK\x03\x04 not a zip at all",
        "torn": lambda: entry.read_bytes()[: entry.stat().st_size // 3],
        "another type": lambda: dump_entry({"path": str(entry)}, ()),
    }[plant]()
    entry.write_bytes(content)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    tables=st.lists(exports(), min_size=2, max_size=3),
    damage=st.sampled_from(DAMAGES),
    victim=st.integers(0, 2),
    where=st.floats(0.0, 0.9),
    plant=st.sampled_from(PLANTS),
)
def test_damaged_histories(
    tmp_path: Path, tables: list[pa.Table], damage: str, victim: int, where: float, plant: str
) -> None:
    """Both engines, both paths, with a cache: only bessx's errors, and a warm run with a
    planted entry equals a run without the cache."""
    import shutil

    from bessx.cache import SummaryCache
    from bessx.errors import CacheWarning
    from bessx.onepass import daily_from_exports

    folder = tmp_path / "damaged"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)
    folder.mkdir()
    for index, table in enumerate(tables):
        days = pa.array(pd.to_timedelta([index] * len(table), unit="D").values)
        table = table.set_column(0, "Timestamp", pa.compute.add(table["Timestamp"], days))
        pq.write_table(table, folder / f"export{index}.parquet")
    files = sorted(folder.glob("*.parquet"))
    _damage(files[victim % len(files)], damage, where)

    def one_pass(engine: str, cache: Path | None, bad_files: str) -> object:
        try:
            with warnings.catch_warnings(), dask.config.set(scheduler="synchronous"):
                warnings.simplefilter("ignore", ExportWarning)
                warnings.simplefilter("ignore", CacheWarning)
                daily, _ = daily_from_exports(
                    folder,
                    engine=engine,
                    interval=36.0,
                    bad_files=bad_files,
                    cache=None if cache is None else SummaryCache(cache),
                    timezone=synthetic.TIMEZONE,
                )
            return daily.assign_attrs(history="")
        except BessxError as error:  # anything else escapes and fails the test
            return str(error)

    for engine in ("pyarrow", "polars"):
        for bad_files in ("raise", "skip"):
            cache = tmp_path / "cache" / f"{engine}-{bad_files}"
            fresh = one_pass(engine, None, bad_files)
            cold = one_pass(engine, cache, bad_files)
            entries = sorted(cache.glob("*.summary"))
            if plant != "none" and entries:
                _plant(entries[victim % len(entries)], plant)
            warm = one_pass(engine, cache, bad_files)
            for outcome in (cold, warm):
                if isinstance(fresh, str) or isinstance(outcome, str):
                    assert outcome == fresh
                else:
                    xr.testing.assert_identical(outcome, fresh)
            if not isinstance(fresh, str):
                _check({"equal": fresh, "soc": fresh})
        outcome = _analyse(folder, engine)  # the Dataset path: only bessx's errors
        if isinstance(outcome, dict):
            _check(outcome)


# The battery health's round trip ------------------------------------------------------------
@st.composite
def cycling_exports(draw: st.DrawFn) -> pd.DataFrame:
    """Whole local days of one inverter (two DC inputs, two enclosures each) in the exports'
    layout: runs of random power, a SOC that follows it with random one-way efficiencies
    and capacity, and random faults (bursts of a plausible power the SOC does not see, SOC
    jumps, drift and noise)."""
    interval = draw(st.sampled_from(["15min", "1h"]))
    days = draw(st.integers(1, 3))
    time = pd.date_range("2023-05-01", periods=days * 24 * (4 if interval == "15min" else 1),
                         freq=interval, name="Timestamp")  # fmt: skip
    hours = pd.Timedelta(interval).total_seconds() / 3600.0
    n = len(time)
    frame = pd.DataFrame(index=time)
    for dc_input in (1, 2):
        power = np.zeros(n)
        start = 0
        while start < n:
            length = draw(st.integers(1, max(1, n // 4)))
            power[start : start + length] = draw(
                st.sampled_from([0.0, 0.0, 1.0]) | st.floats(-1500.0, 1500.0)
            )
            start += length
        charge_eta, discharge_eta = (draw(st.floats(0.8, 1.0)) for _ in range(2))
        stored = np.where(power > 0, power / discharge_eta, power * charge_eta) * hours
        drawn = -np.concatenate(([0.0], np.cumsum(stored)[:-1]))  # stored energy [kWh]
        span = draw(st.floats(20.0, 90.0))  # the SOC's range, of a capacity that fits it
        capacity = max(float(np.ptp(drawn)), 1.0) * 100.0 / span
        lowest = draw(st.floats(0.0, 100.0 - span))
        soc = lowest + 100.0 * (drawn - drawn.min()) / capacity
        for _ in range(draw(st.integers(0, 2))):
            row = draw(st.integers(0, n - 1))
            kind = draw(st.sampled_from(["burst", "jump", "drift", "noise"]))
            if kind == "burst":  # a plausible power the SOC does not see
                power[row : row + draw(st.integers(1, 8))] = 3000.0
            elif kind == "jump":
                soc[row:] += draw(st.floats(-40.0, 40.0))
            elif kind == "drift":
                soc += np.linspace(0.0, draw(st.floats(-20.0, 20.0)), n)
            else:
                soc += np.asarray(draw(st.lists(st.floats(-3.0, 3.0), min_size=n, max_size=n)))
        frame[f"BESS{dc_input} DC Input Power (kW) [Battery Inverter 1APCS1]"] = power
        for enclosure in (2 * dc_input - 1, 2 * dc_input):
            frame[f"System state of charge (%) [Battery system 1A1BAT{enclosure}]"] = soc
    return frame


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(frame=cycling_exports())
def test_health_round_trip_never_exceeds_one(tmp_path: Path, frame: pd.DataFrame) -> None:
    """Whatever the data, a round trip that health gives lies in [0, 1 + tolerance]; where
    it is unknown, the flag says why (and is 0 exactly where it is known)."""
    from bessx.health import ROUND_TRIP_FLAGS, ROUND_TRIP_TOLERANCE
    from bessx.onepass import health_from_exports

    folder = tmp_path / "cycling"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.parquet"):
        old.unlink()
    for date, day in frame.groupby(frame.index.date):
        day.to_parquet(folder / f"{date:%Y%m%d}.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        for window in ("1D", "3D"):
            result = health_from_exports(folder, window=window, timezone="UTC")
            round_trip = result["round_trip_efficiency"].values
            known = np.isfinite(round_trip)
            assert (round_trip[known] >= 0.0).all()
            assert (round_trip[known] <= 1.0 + ROUND_TRIP_TOLERANCE).all()
            flag = result["round_trip_flag"].values
            assert ((flag == 0) == known).all()
            assert ((flag >= 0) & (flag < len(ROUND_TRIP_FLAGS))).all()
