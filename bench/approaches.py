"""The implementations the benchmark times, each as a function of the plant folder.

Every approach except the floor computes the same thing: the energy discharged and charged
per DC input and local calendar day (``Australia/Sydney``), each valid sample of DC power
holding until the next timestamp, for one nominal interval where the next sample is more
than ``max_gap`` intervals away and after the last sample. The naive script is the
exception on purpose: it is the plant's first analysis, with its known mistakes.

An approach runs in a fresh process (see :mod:`bench.child`): its ``imports`` are imported
and timed first, then ``run(folder)`` is timed; ``totals`` turns the result into
:class:`Totals` afterwards, untimed, for the agreement check. This module imports nothing
heavy at module level, so that no approach pays for another one's libraries.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NamedTuple

import numpy as np

TIMEZONE: Final = "Australia/Sydney"
TIMESTAMP: Final = "Timestamp"
MAX_GAP: Final = 3.0  # nominal intervals, as bessx.energy.daily_energy's default
NAIVE_HOURS: Final = 0.25  # the naive script's fixed "15-minute" interval

#: ``BESS1 DC Input Power (kW) [Battery Inverter 1APCS1]`` (the export's DC input columns)
DC_POWER: Final = re.compile(
    r"^BESS(?P<dc_input>[12]) DC Input Power \(kW\) \[Battery Inverter (?P<inverter>\w+)\]$"
)


class Totals(NamedTuple):
    """Daily energy per DC input: what every approach hands back for the check."""

    dates: np.ndarray  # (day,) "YYYY-MM-DD"
    dc_inputs: np.ndarray  # (dc,) "1APCS1/1"
    discharged: np.ndarray  # (day, dc) [kWh]
    charged: np.ndarray  # (day, dc) [kWh], non-negative


@dataclass
class Outcome:
    """What ``run`` returns: the result, named phase durations [s], untimed clean-up."""

    result: Any
    phases: dict[str, float] = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None


@dataclass(frozen=True)
class Approach:
    name: str
    description: str
    imports: tuple[str, ...]
    run: Callable[[Path], Outcome]
    totals: Callable[[Any], Totals] | None  # None: computes no energy (the floor)
    #: "agree" with bessx, "floor" (the ratio denominator), "read" (no energy: not checked),
    #: "wrong" (report its error)
    check: str = "agree"
    #: starts worker processes: peak RSS is sampled over the whole process tree
    multiprocess: bool = False
    #: run untimed in a process of its own before each timed run (``python -m bench.child
    #: --prepare``), such as writing the index a warm open reads
    prepare: Callable[[Path], None] | None = None


def export_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.parquet"))


def dc_columns(names: Sequence[str]) -> list[str]:
    """The DC input power columns among ``names``, in file order."""
    return [name for name in names if DC_POWER.match(name)]


def dc_label(column: str) -> str:
    """``"1APCS1/2"`` for DC input 2 of inverter 1APCS1."""
    match = DC_POWER.match(column)
    assert match is not None
    return f"{match['inverter']}/{match['dc_input']}"


# 1. the floor ---------------------------------------------------------------------------------
def one_parse_floor(folder: Path) -> Outcome:
    """``polars.read_parquet`` of Timestamp + the DC input columns per file, 2 files at a time.

    Each footer is parsed once (the column names come from the first file's schema); the
    frames are counted and dropped: what just getting the needed values into memory costs.
    """
    from concurrent.futures import ThreadPoolExecutor

    import polars as pl

    files = export_files(folder)
    columns = [TIMESTAMP, *dc_columns(pl.read_parquet_schema(files[0]))]

    def rows(path: Path) -> int:
        return pl.read_parquet(path, columns=columns).height

    with ThreadPoolExecutor(max_workers=2) as pool:
        return Outcome(sum(pool.map(rows, files)))


# 2-4. bessx -----------------------------------------------------------------------------------
def _bessx_pipeline(folder: Path, engine: str = "auto", cache: Path | None = None) -> Outcome:
    """open -> daily_energy -> to_frame; the phases give the open and the rest apart, each
    in wall and CPU seconds (``time.process_time``: all threads of the process)."""
    import warnings

    from bessx import ExportWarning, open_exports
    from bessx.energy import daily_energy
    from bessx.tables import to_frame

    began, cpu_began = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        # the synthetic plant carries a duplicate row on purpose: the reader says so
        warnings.simplefilter("ignore", ExportWarning)
        ds = open_exports(
            folder, variables=["dc_power"], engine=engine, cache=cache, timezone=TIMEZONE
        )
    opened, cpu_opened = time.perf_counter(), time.process_time()
    frame = to_frame(daily_energy(ds))
    phases = {
        "open": opened - began,
        "open_cpu": cpu_opened - cpu_began,
        "compute": time.perf_counter() - opened,
        "compute_cpu": time.process_time() - cpu_opened,
    }
    return Outcome(frame, phases)


def warm_index_folder(folder: Path) -> Path:
    """Where the warm index of the plant in ``folder`` is kept: in the runner's scratch
    folder (``BENCH_SCRATCH``), never in the data folder."""
    scratch = Path(os.environ.get("BENCH_SCRATCH") or tempfile.gettempdir())
    return scratch / f"bessx-index-{folder.name}"


def prepare_warm_index(folder: Path) -> None:
    """Open the plant once with its index: written the first time, checked after."""
    _bessx_pipeline(folder, cache=warm_index_folder(folder))


def bessx_index_cold(folder: Path) -> Outcome:
    """The Dataset path with an empty index folder: parse, and write the index."""
    import shutil

    index = Path(tempfile.mkdtemp(prefix="bessx-index-cold-"))
    outcome = _bessx_pipeline(folder, cache=index)
    outcome.cleanup = lambda: shutil.rmtree(index, ignore_errors=True)
    return outcome


def bessx_index_warm(folder: Path) -> Outcome:
    """The Dataset path with the index of an earlier open: no footer parsed at open."""
    return _bessx_pipeline(folder, cache=warm_index_folder(folder))


def bessx_onepass(folder: Path) -> Outcome:
    """``daily_from_exports``: each export read once (footer, timestamps and DC columns)."""
    import warnings

    from bessx import ExportWarning
    from bessx.onepass import daily_from_exports
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, _ = daily_from_exports(folder, soc=False, timezone=TIMEZONE)
    return Outcome(to_frame(daily))


def bessx_onepass_soc(folder: Path) -> Outcome:
    """``daily_from_exports`` with the state of charge: what a default ``bessx run`` reads."""
    import warnings

    from bessx import ExportWarning
    from bessx.onepass import daily_from_exports
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        daily, _ = daily_from_exports(folder, soc=True, timezone=TIMEZONE)
    return Outcome(to_frame(daily))


def bessx_onepass_health(folder: Path) -> Outcome:
    """``from_exports(health=True)``: daily energy, flags and health in one pass (bessx run)."""
    import warnings

    from bessx import ExportWarning
    from bessx.health import health_from_daily
    from bessx.onepass import from_exports
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        results = from_exports(folder, soc=True, health=True, timezone=TIMEZONE)
    assert results.daily is not None and results.health is not None
    health_from_daily(results.health)
    return Outcome(to_frame(results.daily))


def bessx_onepass_availability(folder: Path) -> Outcome:
    """``from_exports(soc=True, availability=True)``: the daily pass plus the availability."""
    import warnings

    from bessx import ExportWarning
    from bessx.onepass import from_exports
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        results = from_exports(folder, soc=True, availability=True, timezone=TIMEZONE)
    assert results.daily is not None and results.availability is not None
    return Outcome(to_frame(results.daily))


def bessx_run_availability(folder: Path) -> Outcome:
    """``from_exports(soc, health, availability)``: what a default ``bessx run`` computes."""
    import warnings

    from bessx import ExportWarning
    from bessx.health import health_from_daily
    from bessx.onepass import from_exports
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        results = from_exports(folder, soc=True, health=True, availability=True, timezone=TIMEZONE)
    assert results.daily is not None and results.health is not None
    assert results.availability is not None
    health_from_daily(results.health)
    return Outcome(to_frame(results.daily))


def bessx_health(folder: Path) -> Outcome:
    """``health_from_exports``: each export read once (DC power, SOC, plant power)."""
    import warnings

    from bessx import ExportWarning
    from bessx.onepass import health_from_exports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        return Outcome(health_from_exports(folder, timezone=TIMEZONE).sizes)


def bessx_health_dataset(folder: Path) -> Outcome:
    """``health`` of ``open_exports`` (DC power, SOC, plant power): two footer parses a file."""
    import warnings

    from bessx import ExportWarning, health, open_exports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        ds = open_exports(folder, variables=["dc_power", "soc", "plant_power"], timezone=TIMEZONE)
    return Outcome(health(ds).compute().sizes)


def bessx_read(folder: Path) -> Outcome:
    """``open_exports`` + the DC input power in memory: bessx's counterpart of the floor."""
    import warnings

    from bessx import ExportWarning, open_exports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        ds = open_exports(folder, variables=["dc_power"], timezone=TIMEZONE)
    return Outcome(ds["dc_power"].values.shape)


def bessx_default(folder: Path) -> Outcome:
    return _bessx_pipeline(folder)


def bessx_pyarrow(folder: Path) -> Outcome:
    return _bessx_pipeline(folder, "pyarrow")


def bessx_distributed(folder: Path) -> Outcome:
    """bessx under a 2-process LocalCluster; the time includes starting the cluster."""
    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    ready = time.perf_counter()
    frame = _bessx_pipeline(folder).result
    done = time.perf_counter()

    def close() -> None:
        client.close()
        cluster.close()

    return Outcome(
        frame,
        {"cluster_start": ready - started, "compute": done - ready},
        cleanup=close,
    )


def bessx_totals(frame: Any) -> Totals:
    """Sum the enclosure rows of :func:`bessx.tables.to_frame` back to their DC input."""
    labels = frame["inverter"].astype(str) + "/" + frame["dc_input"].astype(str)
    by_dc = (
        frame.assign(dc=labels, date=frame["date"].dt.strftime("%Y-%m-%d"))
        .groupby(["date", "dc"], sort=True)[["discharged_kwh", "charged_kwh"]]
        .sum(min_count=1)
    )
    discharged = by_dc["discharged_kwh"].unstack("dc")
    charged = by_dc["charged_kwh"].unstack("dc").reindex_like(discharged)
    return Totals(
        discharged.index.to_numpy(dtype=str),
        discharged.columns.to_numpy(dtype=str),
        discharged.to_numpy(np.float64),
        charged.to_numpy(np.float64),
    )


# 5. polars and duckdb -------------------------------------------------------------------------
def polars_lazy(folder: Path) -> Outcome:
    """One lazy query: localise, hold to the next sample (capped), clip, sum per local day."""
    from bench.polars_pipeline import daily_sums

    return Outcome(daily_sums(folder))


def polars_totals(result: Any) -> Totals:
    daily, power = result
    return Totals(
        np.array([day.isoformat() for day in daily["day"].to_list()]),
        np.array([dc_label(column) for column in power]),
        daily.select(f"d|{c}" for c in power).to_numpy().astype(np.float64),
        daily.select(f"c|{c}" for c in power).to_numpy().astype(np.float64),
    )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def duckdb_sql(folder: Path) -> Outcome:
    """One SQL query over the files: the polars pipeline's rule, in window functions.

    Rows keep file order (``filename``, ``file_row_number``), as in the polars scan. DuckDB
    reads an ambiguous wall time (the repeated autumn hour) as standard time, the later
    instant; a row of the hour's first pass takes the earlier one, found as the instant of
    the wall time an hour before plus an hour (equal to the first away from the change).
    """
    import duckdb

    files = [str(path) for path in export_files(folder)]
    connection = duckdb.connect()
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM parquet_schema($file)", {"file": files[0]}
        ).fetchall()
    ]
    power = dc_columns(names)
    sums = ",\n".join(
        [f"sum(greatest({_quoted(c)}, 0) * hold_hours) AS {_quoted('d|' + c)}" for c in power]
        + [f"sum(least({_quoted(c)}, 0) * -hold_hours) AS {_quoted('c|' + c)}" for c in power]
    )
    query = f"""
    WITH raw AS (
        SELECT {TIMESTAMP}::TIMESTAMP AS wall, {", ".join(map(_quoted, power))},
               filename, file_row_number
        FROM read_parquet($files, filename = true, file_row_number = true)
    ), stepped AS (
        SELECT *, coalesce(wall < lag(wall) OVER rows_in_order, false) AS stepped_back
        FROM raw WINDOW rows_in_order AS (ORDER BY filename, file_row_number)
    ), passes AS (
        SELECT *, sum(stepped_back::INTEGER) OVER (
            PARTITION BY wall::DATE ORDER BY filename, file_row_number
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
        ) > 0 AS second_pass
        FROM stepped
    ), localised AS (
        SELECT *, CASE WHEN second_pass THEN timezone('{TIMEZONE}', wall)
                  ELSE least(timezone('{TIMEZONE}', wall),
                             timezone('{TIMEZONE}', wall - INTERVAL 1 HOUR) + INTERVAL 1 HOUR)
                  END AS instant
        FROM passes
    ), steps AS (
        SELECT *, epoch(lead(instant) OVER (ORDER BY filename, file_row_number))
                  - epoch(instant) AS step
        FROM localised
    ), nominal AS (
        SELECT median(step) AS interval FROM steps WHERE step > 0
    ), held AS (
        SELECT steps.*, CASE WHEN step IS NULL OR step > {MAX_GAP} * interval THEN interval
                        ELSE step END / 3600.0 AS hold_hours
        FROM steps, nominal
    )
    SELECT wall::DATE AS day,
    {sums}
    FROM held GROUP BY day ORDER BY day
    """
    daily = connection.execute(query, {"files": files}).fetchnumpy()
    connection.close()
    return Outcome((daily, power))


def duckdb_totals(result: Any) -> Totals:
    daily, power = result
    return Totals(
        np.array([str(day)[:10] for day in daily["day"]]),
        np.array([dc_label(column) for column in power]),
        np.column_stack([daily[f"d|{c}"] for c in power]).astype(np.float64),
        np.column_stack([daily[f"c|{c}"] for c in power]).astype(np.float64),
    )


# 6. pandas ------------------------------------------------------------------------------------
def pandas_vectorised(folder: Path) -> Outcome:
    """Projected reads, one concatenated frame, vectorised weights, groupby local day."""
    import pandas as pd
    import pyarrow.parquet as pq

    files = export_files(folder)
    power_columns = dc_columns(pq.read_schema(files[0]).names)
    days = []
    for path in files:
        day = pd.read_parquet(path, columns=power_columns)  # the Timestamp index comes along
        day.index = day.index.tz_localize(TIMEZONE, ambiguous="infer")
        days.append(day)
    power = pd.concat(days)

    utc_ns = power.index.tz_convert("UTC").as_unit("ns").asi8
    step = np.diff(utc_ns) / 1e9
    interval = float(np.median(step[step > 0]))
    hold = np.append(np.where(step > MAX_GAP * interval, interval, step), interval)
    hours = hold / 3600.0
    local_day = power.index.tz_localize(None).normalize()

    discharged = power.clip(lower=0).mul(hours, axis=0).groupby(local_day).sum()
    charged = power.clip(upper=0).mul(-hours, axis=0).groupby(local_day).sum()
    return Outcome((discharged, charged))


def pandas_totals(result: Any) -> Totals:
    discharged, charged = result
    return Totals(
        discharged.index.strftime("%Y-%m-%d").to_numpy(dtype=str),
        np.array([dc_label(column) for column in discharged.columns]),
        discharged.to_numpy(np.float64),
        charged[discharged.columns].to_numpy(np.float64),
    )


# 7. the naive script --------------------------------------------------------------------------
def naive_script(folder: Path) -> Outcome:
    """A plant's first analysis script, mistakes included (see docs/export-format.md)."""
    import pandas as pd

    frames = []
    for path in export_files(folder):
        frame = pd.read_parquet(path)
        frame["file"] = path.name
        frames.append(frame)
    everything = pd.concat(frames, ignore_index=True)

    discharged, charged = {}, {}
    for column in everything.columns:
        if "DC Input Power" not in column:
            continue
        energy = everything[column] * NAIVE_HOURS
        discharged[column] = energy.clip(lower=0).groupby(everything["file"]).sum()
        charged[column] = -energy.clip(upper=0).groupby(everything["file"]).sum()
    return Outcome((pd.DataFrame(discharged), pd.DataFrame(charged)))


def naive_totals(result: Any) -> Totals:
    discharged, charged = result
    names = discharged.index.str.removesuffix(".parquet")
    dates = [f"{name[:4]}-{name[4:6]}-{name[6:8]}" for name in names]
    return Totals(
        np.array(dates),
        np.array([dc_label(column) for column in discharged.columns]),
        discharged.to_numpy(np.float64),
        charged[discharged.columns].to_numpy(np.float64),
    )


# dask imports distributed, when installed, on the first compute: count it as an import
_BESSX_IMPORTS = (
    "numpy",
    "pandas",
    "xarray",
    "dask.array",
    "distributed",
    "bessx",
    "bessx.energy",
)

APPROACHES: Final = {
    approach.name: approach
    for approach in (
        Approach(
            "floor",
            "one-parse floor: polars.read_parquet of Timestamp + 144 DC columns, 2 threads",
            ("polars",),
            one_parse_floor,
            None,
            check="floor",
        ),
        Approach(
            "bessx",
            "open_exports(variables=['dc_power']) -> daily_energy -> to_frame, dask threads",
            (*_BESSX_IMPORTS, "polars", "bessx.tables"),
            bessx_default,
            bessx_totals,
        ),
        Approach(
            "bessx_index_cold",
            "the same with open_exports(cache=an empty folder): the index is written",
            (*_BESSX_IMPORTS, "polars", "bessx.tables"),
            bessx_index_cold,
            bessx_totals,
        ),
        Approach(
            "bessx_index_warm",
            "the same with the index of an earlier open: no footer parsed at open",
            (*_BESSX_IMPORTS, "polars", "bessx.tables"),
            bessx_index_warm,
            bessx_totals,
            prepare=prepare_warm_index,
        ),
        Approach(
            "bessx_onepass",
            "daily_from_exports(soc=False) -> to_frame: one pass per file, dask threads",
            (*_BESSX_IMPORTS, "polars", "bessx.tables", "bessx.onepass"),
            bessx_onepass,
            bessx_totals,
        ),
        Approach(
            "bessx_onepass_soc",
            "daily_from_exports(soc=True) -> to_frame: one pass with the SOC and its flags",
            (*_BESSX_IMPORTS, "polars", "bessx.tables", "bessx.onepass"),
            bessx_onepass_soc,
            bessx_totals,
        ),
        Approach(
            "bessx_onepass_health",
            "from_exports(soc=True, health=True): daily energy, flags and health, one pass",
            (*_BESSX_IMPORTS, "polars", "bessx.tables", "bessx.health", "bessx.onepass"),
            bessx_onepass_health,
            bessx_totals,
        ),
        Approach(
            "bessx_onepass_availability",
            "from_exports(soc=True, availability=True): bessx_onepass_soc plus the availability",
            (*_BESSX_IMPORTS, "polars", "bessx.tables", "bessx.onepass", "bessx.availability"),
            bessx_onepass_availability,
            bessx_totals,
        ),
        Approach(
            "bessx_run_availability",
            "from_exports(soc, health, availability): bessx_onepass_health plus the availability",
            (
                *_BESSX_IMPORTS,
                "polars",
                "bessx.tables",
                "bessx.health",
                "bessx.onepass",
                "bessx.availability",
            ),
            bessx_run_availability,
            bessx_totals,
        ),
        Approach(
            "bessx_health",
            "health_from_exports: battery health, one pass per file (DC power, SOC, plant)",
            (*_BESSX_IMPORTS, "polars", "bessx.health", "bessx.onepass"),
            bessx_health,
            None,
            check="read",
        ),
        Approach(
            "bessx_health_dataset",
            "open_exports(dc_power, soc, plant_power) -> health: the Dataset path",
            (*_BESSX_IMPORTS, "polars", "bessx.health"),
            bessx_health_dataset,
            None,
            check="read",
        ),
        Approach(
            "bessx_read",
            "open_exports(variables=['dc_power']) and the DC input power in memory (no energy)",
            (*_BESSX_IMPORTS, "polars"),
            bessx_read,
            None,
            check="read",
        ),
        Approach(
            "bessx_pyarrow",
            "the same with engine='pyarrow'",
            (*_BESSX_IMPORTS, "pyarrow.parquet", "bessx.tables"),
            bessx_pyarrow,
            bessx_totals,
        ),
        Approach(
            "bessx_distributed",
            "the same under LocalCluster(2 processes x 1 thread), cluster start included",
            (*_BESSX_IMPORTS, "polars", "bessx.tables", "distributed"),
            bessx_distributed,
            bessx_totals,
            multiprocess=True,
        ),
        Approach(
            "polars",
            "polars lazy scan: localise, capped hold, clip, group_by local day",
            ("polars",),
            polars_lazy,
            polars_totals,
        ),
        Approach(
            "duckdb",
            "duckdb SQL over the files: the same rule in window functions, group by day",
            ("duckdb",),
            duckdb_sql,
            duckdb_totals,
        ),
        Approach(
            "pandas",
            "pandas projected read, concat, vectorised, groupby local day",
            ("pandas", "pyarrow.parquet"),
            pandas_vectorised,
            pandas_totals,
        ),
        Approach(
            "naive",
            "all columns, concat(ignore_index), loop, fixed 15 min, day = file name",
            ("pandas", "pyarrow.parquet"),
            naive_script,
            naive_totals,
            check="wrong",
        ),
    )
}
