"""What each output file of ``bessx run`` holds, in a few words, for ``bessx run --help``.

The files themselves, their order and the ``outputs`` choice that selects each, are
:data:`bessx.pipeline.OUTPUT_TABLE`; the help lists that table, with these words next to
each name. Standard library only: the help imports nothing heavy for them.
"""

from __future__ import annotations

from typing import Final

__all__ = ["OUTPUT_DESCRIPTIONS", "describe"]

#: Output file name -> what it holds (``{lowest_n}`` is the number of the lowest tables).
OUTPUT_DESCRIPTIONS: Final[dict[str, str]] = {
    "daily_energy.csv": "charged / discharged [kWh] and coverage per enclosure and day",
    "daily_energy.nc": "the same as a CF netCDF archive (bessx.io.archive.open_daily)",
    "lowest_charged.csv": "the {lowest_n} enclosures with the lowest energy charged per day",
    "lowest_discharged.csv": "... and discharged (days with coverage >= min_coverage)",
    "outliers.csv": "enclosures that underperform their peers, with the evidence",
    "quality.csv": "data-quality flags: one row per date, DC input or enclosure and flag "
    "(implausible samples are excluded from every energy)",
    "heatmap_discharged.png": "energy discharged [kWh], enclosure x day, outliers marked",
    "heatmap_discharged_relative.png": "... as % of the day's fleet median per enclosure "
    "(beyond 120 days both show weekly cells)",
    "health.csv": "battery health per DC input and window (--health-window): usable "
    "capacity [kWh], round-trip efficiency and why it is unknown, cycles, SOC spread, "
    "capacity trend [%/year] with its 95 % interval",
    "capacity_trend.png": "usable capacity per DC input over the windows, relative to the "
    "first, with the fastest fade marked",
    "summary.md": "what was read, coverage, plant totals, the tables, battery health, warnings",
}


def describe(name: str, lowest_n: int) -> str:
    """The words for output ``name``; an output without any says where it is documented."""
    text = OUTPUT_DESCRIPTIONS.get(name, "see docs/cli.md")
    return text.format(lowest_n=lowest_n)
