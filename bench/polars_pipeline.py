"""The polars pipeline: daily energy per DC input in one lazy query, as a polars user writes it.

``python -m bench.polars_pipeline DATA OUT.csv`` is the whole-process counterpart of
``bessx run DATA --out OUT`` (CSV only): it imports polars alone, runs the query and writes
one row per local day and DC input (``date, dc_input, discharged_kwh, charged_kwh``).
:func:`bench.approaches.polars_lazy` times the same query inside a process.

The rule is bessx's: each sample of DC power holds until the next timestamp, for one nominal
interval (the median positive step) where the next sample is more than ``MAX_GAP`` intervals
away and after the last sample; discharged = sum of max(P, 0) * hours, charged = sum of
max(-P, 0) * hours, per local calendar day (``Australia/Sydney``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Final

import polars as pl

TIMEZONE: Final = "Australia/Sydney"
TIMESTAMP: Final = "Timestamp"
MAX_GAP: Final = 3.0  # nominal intervals, as bessx.energy.daily_energy's default

#: ``BESS1 DC Input Power (kW) [Battery Inverter 1APCS1]`` (the export's DC input columns)
DC_POWER: Final = re.compile(
    r"^BESS(?P<dc_input>[12]) DC Input Power \(kW\) \[Battery Inverter (?P<inverter>\w+)\]$"
)


def export_files(folder: Path) -> list[Path]:
    return sorted(Path(folder).glob("*.parquet"))


def dc_label(column: str) -> str:
    """``"1APCS1/2"`` for DC input 2 of inverter 1APCS1."""
    match = DC_POWER.match(column)
    assert match is not None
    return f"{match['inverter']}/{match['dc_input']}"


def daily_sums(folder: Path) -> tuple[pl.DataFrame, list[str]]:
    """One row per local day: ``d|<column>`` discharged and ``c|<column>`` charged [kWh]."""
    scan = pl.scan_parquet(export_files(folder))
    power = [name for name in scan.collect_schema().names() if DC_POWER.match(name)]
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
    return daily, power


def long_table(daily: pl.DataFrame, power: list[str]) -> pl.DataFrame:
    """``date, dc_input, discharged_kwh, charged_kwh``: one row per day and DC input."""
    labels = {column: dc_label(column) for column in power}
    parts = {
        quantity: daily.unpivot(
            [f"{prefix}|{c}" for c in power], index="day", variable_name="column"
        ).rename({"value": quantity})
        for prefix, quantity in (("d", "discharged_kwh"), ("c", "charged_kwh"))
    }
    discharged = parts["discharged_kwh"].with_columns(pl.col("column").str.slice(2))
    charged = parts["charged_kwh"].with_columns(pl.col("column").str.slice(2))
    return (
        discharged.join(charged, on=["day", "column"])
        .with_columns(pl.col("column").replace_strict(labels).alias("dc_input"))
        .select(pl.col("day").alias("date"), "dc_input", "discharged_kwh", "charged_kwh")
        .sort("date", "dc_input")
    )


def main(argv: list[str]) -> int:
    folder, out = argv
    daily, power = daily_sums(Path(folder))
    long_table(daily, power).write_csv(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
