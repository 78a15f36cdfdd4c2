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

import re
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
def pyarrow_floor(folder: Path) -> Outcome:
    """``pyarrow.dataset`` read of Timestamp + the DC input columns, nothing else."""
    import pyarrow.dataset as pads

    dataset = pads.dataset([str(path) for path in export_files(folder)], format="parquet")
    table = dataset.to_table(columns=[TIMESTAMP, *dc_columns(dataset.schema.names)])
    return Outcome(table.num_rows)


# 2-4. bessx -----------------------------------------------------------------------------------
def _bessx_pipeline(folder: Path, engine: str) -> Any:
    import warnings

    from bessx import ExportWarning, open_exports
    from bessx.energy import daily_energy
    from bessx.tables import to_frame

    with warnings.catch_warnings():
        # the synthetic plant carries a duplicate row on purpose: the reader says so
        warnings.simplefilter("ignore", ExportWarning)
        ds = open_exports(folder, variables=["dc_power"], engine=engine)
    return to_frame(daily_energy(ds))


def bessx_read(folder: Path) -> Outcome:
    """``open_exports`` + the DC input power in memory: bessx's counterpart of the floor."""
    import warnings

    from bessx import ExportWarning, open_exports

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        ds = open_exports(folder, variables=["dc_power"])
    return Outcome(ds["dc_power"].values.shape)


def bessx_default(folder: Path) -> Outcome:
    return Outcome(_bessx_pipeline(folder, "auto"))


def bessx_pyarrow(folder: Path) -> Outcome:
    return Outcome(_bessx_pipeline(folder, "pyarrow"))


def bessx_distributed(folder: Path) -> Outcome:
    """bessx under a 2-process LocalCluster; the time includes starting the cluster."""
    import time

    from distributed import Client, LocalCluster

    started = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    ready = time.perf_counter()
    frame = _bessx_pipeline(folder, "auto")
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


# 5. polars ------------------------------------------------------------------------------------
def polars_lazy(folder: Path) -> Outcome:
    """One lazy query: localise, hold to the next sample (capped), clip, sum per local day."""
    import polars as pl

    scan = pl.scan_parquet(export_files(folder))
    power = dc_columns(scan.collect_schema().names())
    wall = pl.col(TIMESTAMP)

    # The autumn change repeats an hour of naive local time; its second pass (after the
    # clock steps back within the date) is standard time.
    stepped_back = (wall.diff() < pl.duration(seconds=0)).fill_null(False)
    second_pass = stepped_back.cum_sum().over(wall.dt.date()) > 0
    ambiguous = pl.when(second_pass).then(pl.lit("latest")).otherwise(pl.lit("earliest"))
    local = wall.dt.replace_time_zone(TIMEZONE, ambiguous=ambiguous, non_existent="raise")

    step = pl.col("local").diff().shift(-1).dt.total_nanoseconds() / 1e9
    interval = pl.col("step").filter(pl.col("step") > 0).median()
    capped = pl.col("step").is_null() | (pl.col("step") > MAX_GAP * pl.col("interval"))
    hold_hours = pl.when(capped).then(pl.col("interval")).otherwise(pl.col("step")) / 3600.0

    hours = pl.col("hold_hours")
    daily = (
        scan.select(wall, *power)
        .with_columns(local=local)
        .with_columns(step=step)
        .with_columns(interval=interval)
        .with_columns(hold_hours=hold_hours)
        .group_by(pl.col("local").dt.date().alias("day"))
        .agg(
            *((pl.col(c).clip(lower_bound=0) * hours).sum().alias(f"d|{c}") for c in power),
            *((pl.col(c).clip(upper_bound=0) * -hours).sum().alias(f"c|{c}") for c in power),
        )
        .sort("day")
        .collect()
    )
    return Outcome((daily, power))


def polars_totals(result: Any) -> Totals:
    daily, power = result
    return Totals(
        np.array([day.isoformat() for day in daily["day"].to_list()]),
        np.array([dc_label(column) for column in power]),
        daily.select(f"d|{c}" for c in power).to_numpy().astype(np.float64),
        daily.select(f"c|{c}" for c in power).to_numpy().astype(np.float64),
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
            "pyarrow_floor",
            "pyarrow.dataset read of Timestamp + the 144 DC input columns (no energy)",
            ("pyarrow.dataset",),
            pyarrow_floor,
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
