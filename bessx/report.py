"""The ``summary.md`` report of a ``bessx run``: a pure function of the results.

:func:`summary_markdown` turns the daily energy and the tables computed from it into a short
Markdown document for an asset engineer: what was read, how well the data cover the period,
the plant's energy totals, the lowest enclosures, the outliers with their evidence and the
problems met while reading. It does no I/O and no dask computation beyond loading the small
daily arrays, so it is tested without the command line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.document import (
    MISSING,
    Block,
    Heading,
    Items,
    Section,
    Table,
    Text,
    cells,
    date_ranges,
    markdown_table,
    to_markdown,
)

if TYPE_CHECKING:
    from bessx.results import Results

__all__ = [
    "LOW_COVERAGE",
    "availability_section",
    "coverage_section",
    "data_read_section",
    "flag_kinds",
    "guarantees_section",
    "header_section",
    "layout_summary",
    "lowest_section",
    "outliers_section",
    "plant_totals",
    "quality_section",
    "summary_markdown",
    "summary_sections",
    "totals_section",
    "warnings_section",
]

#: A DC input-day with less than this coverage [1] is listed in the report.
LOW_COVERAGE: Final = 0.99
#: At most this many low-coverage DC input-days are listed (the rest are counted).
MAX_LISTED: Final = 20
#: A day on which at least this share of the DC inputs is below LOW_COVERAGE is a
#: plant-wide gap, listed once.
PLANT_GAP_SHARE: Final = 0.5
#: On a plant-wide gap day, a DC input below the day's median coverage by more than this
#: [1] (about 1.4 min of a day) lacks data of its own and is listed with the worst.
OWN_GAP_TOLERANCE: Final = 0.001

_LOWEST_COLUMNS: Final = {
    "enclosure_id": "enclosure",
    "inverter": "inverter",
    "dc_input": "DC input",
    "charged_kwh_per_day": "charged [kWh/d]",
    "discharged_kwh_per_day": "discharged [kWh/d]",
    "days": "days",
}


def summary_markdown(
    daily: xr.Dataset,
    *,
    lowest_charged: pd.DataFrame,
    lowest_discharged: pd.DataFrame,
    outliers: pd.DataFrame,
    warnings: Sequence[str],
    source: Mapping[str, Any],
    quality: pd.DataFrame | None = None,
    leading: Sequence[str] = (),
) -> str:
    """The Markdown summary of an analysis.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.energy.daily_energy`: ``charged``, ``discharged`` [kWh]
        and ``coverage`` [1] on (``time``, ``inverter``, ``dc_input``, ``enclosure``), with
        the ``enclosure_id`` coordinate and the attributes ``timezone``,
        ``interval_seconds``, ``allocation`` and ``max_gap``. Dask-backed data are loaded.
    lowest_charged, lowest_discharged
        :func:`bessx.tables.lowest` by ``"charged"`` and by ``"discharged"``.
    outliers
        :func:`bessx.outliers.outliers` of ``daily`` (its ``attrs`` give the parameters).
    warnings
        The problems met while reading, one line each (e.g. "x.parquet: 1 duplicate
        row(s) dropped").
    source
        What was read: ``"data"`` (the folder, pattern or file as given), ``"files"``
        (export file names in time order), and optionally ``"rows"`` (samples read),
        ``"interval"`` (``"given"`` or ``"inferred"``), ``"topology"`` (the topology file)
        ``"config"`` (the site file) and ``"notes"`` (what was said once about the exports as
        a whole, such as a plant without meter columns). Other keys are ignored.
    quality
        :func:`bessx.quality.quality_table` of the run: the data-quality flags, grouped
        by flag in the report (plant-wide flags once per day).
    leading
        Sections (Markdown) placed first, right after the title (the guarantees'
        verdicts: :func:`guarantees_section`).

    Returns
    -------
    str
        The document, ending with a newline. It holds no time stamp, so the same results
        give the same text.

    Notes
    -----
    The coverage of a DC input-day is the fraction of the local day covered by valid
    samples; a DC input-day without any valid sample counts as 0. The coverage section
    lists plant-wide gaps once per day (at least :data:`PLANT_GAP_SHARE` of the DC inputs
    below :data:`LOW_COVERAGE`), then the worst DC input-days, lowest coverage first: those
    below :data:`LOW_COVERAGE` that lack more than their day's plant-wide gap, so that a
    one-hour NaN stretch of one DC input is never hidden behind rows of the same plant
    gap. Missing hours use the day's real length (23 or 25 h on DST days). The plant totals are
    sums over all enclosures and days of the DC-side energies, and the round-trip ratio is
    discharged / charged over the period.
    """
    sections = summary_sections(
        daily,
        lowest_charged=lowest_charged,
        lowest_discharged=lowest_discharged,
        outliers=outliers,
        warnings=warnings,
        source=source,
        quality=quality,
    )
    parts = [
        to_markdown(sections[0], level=1),
        *leading,
        *(to_markdown(s) for s in sections[1:]),
    ]
    return "\n\n".join(part.rstrip("\n") for part in parts) + "\n"


def summary_sections(
    daily: xr.Dataset,
    *,
    lowest_charged: pd.DataFrame,
    lowest_discharged: pd.DataFrame,
    outliers: pd.DataFrame,
    warnings: Sequence[str],
    source: Mapping[str, Any],
    quality: pd.DataFrame | None = None,
) -> list[Section]:
    """The sections of :func:`bessx.report.summary_markdown`, as data (the title first).

    ``report.html`` (:mod:`bessx.report_html`) renders the same sections, so the two say
    the same. The parameters are those of :func:`summary_markdown`.
    """
    return [
        header_section(daily, source),
        data_read_section(daily, source),
        coverage_section(daily),
        totals_section(daily),
        lowest_section("charged", lowest_charged),
        lowest_section("discharged", lowest_discharged),
        outliers_section(outliers),
        *([] if quality is None else [quality_section(quality, daily)]),
        warnings_section(warnings),
    ]


# Sections -----------------------------------------------------------------------------------
def header_section(daily: xr.Dataset, source: Mapping[str, Any]) -> Section:
    """The title (the data and the period) and what the document is."""
    from bessx import __version__

    dates = _dates(daily)
    period = f"{dates[0]} to {dates[-1]}" if len(dates) else "no days"
    return Section(
        "top",
        f"bessx summary: {_code(source.get('data', 'the exports'))}, {period}",
        (
            Text(
                f"Daily charged and discharged energy per battery enclosure, written by "
                f"bessx {__version__}. Energies are DC-side [kWh], per local calendar day of "
                f"the plant; the method is described in `docs/methodology.md`."
            ),
        ),
    )


def data_read_section(daily: xr.Dataset, source: Mapping[str, Any]) -> Section:
    """What was read: files, days with and without data, samples, interval, layout."""
    files = list(source.get("files", []))
    dates = _dates(daily)
    covered = days_with_data(daily)
    missing = [date for date, has_data in zip(dates, covered, strict=True) if not has_data]
    interval = daily.attrs.get("interval_seconds")
    interval_text = f"{_number(interval, 3)} s" if _finite(interval) else "unknown"
    if source.get("interval"):
        interval_text += f" ({source['interval']})"
    ids = daily["enclosure_id"].values.astype(str)
    n_enclosures = int((ids != "").sum())
    per_input = (ids != "").sum(axis=-1)
    items = [
        f"Source: {_code(source.get('data', '?'))}"
        + (f", configuration {_code(source['config'])}" if source.get("config") else ""),
        f"Files: {len(files)}" + (f" ({_first_last(files)})" if files else ""),
        *(
            [
                f"Skipped: {len(source['skipped'])} file(s) that could not be used "
                f"({_short_list(list(source['skipped']))}; see the problems below)"
            ]
            if source.get("skipped")
            else []
        ),
        f"Local days: {len(dates)}"
        + (f", {dates[0]} to {dates[-1]}" if len(dates) else "")
        + f"; {int(covered.sum())} with data, {len(missing)} without"
        + (f": {date_ranges(missing)}" if missing else ""),
    ]
    if source.get("rows") is not None:
        items.append(f"Samples: {int(source['rows']):,}")
    items += [
        f"Sampling interval: {interval_text}",
        f"Timezone: {daily.attrs.get('timezone', '?')}",
        *_exports_line(daily.attrs),
        f"Inverters: {daily.sizes.get(schema.INVERTER, 0)}; "
        f"enclosures: {n_enclosures} ({layout_summary(per_input)})",
        "Topology: "
        + (_code(source["topology"]) if source.get("topology") else "inferred from the columns"),
        f"Allocation: {daily.attrs.get('allocation', '?')}; "
        f"longest gap bridged: {_number(daily.attrs.get('max_gap'), 3)} intervals",
        *(f"Note: {note}" for note in source.get("notes", ())),
    ]
    return Section("data-read", "Data read", (Items(tuple(items)),))


def _exports_line(attrs: Mapping[str, Any]) -> list[str]:
    """How the exports were written, when it is not the reference plant's way."""
    parts = []
    if attrs.get("file_naming"):
        parts.append(str(attrs["file_naming"]))
    if attrs.get("file_grouping"):
        parts.append(str(attrs["file_grouping"]))
    sign, unit = attrs.get("export_power_sign"), attrs.get("export_power_unit")
    if sign is not None and unit is not None:
        parts.append(f"power in {unit}, {str(sign).replace('_', ' ')} (converted to kW)")
    return [f"Exports: {'; '.join(parts)}"] if parts else []


def coverage_section(daily: xr.Dataset) -> Section:
    """Coverage over the DC input-days of the days with data; plant gaps; the worst."""
    coverage, dates, labels = _dc_input_coverage(daily)
    blocks: list[Block] = []

    def done() -> Section:
        return Section("coverage", "Coverage", tuple(blocks))

    if coverage.size == 0:
        blocks.append(Text("No DC input with enclosures."))
        return done()
    with_data = np.asarray((coverage > 0).any(axis=1))
    n_without = int((~with_data).sum())
    counted = coverage[with_data]
    low = coverage < LOW_COVERAGE
    without = (
        f" The {n_without} day(s) without any data are not counted (see *Data read*)."
        if n_without
        else ""
    )
    if counted.size == 0:
        blocks.append(Text("No day has data." + without))
        return done()
    blocks.append(
        Text(
            f"Mean coverage of the {counted.size:,} DC input-days of the "
            f"{int(with_data.sum()):,} day(s) with data: {counted.mean():.3f}. "
            f"DC input-days with coverage below {LOW_COVERAGE}: "
            f"{int((counted < LOW_COVERAGE).sum()):,}." + without
        )
    )
    if not low[with_data].any():
        return done()
    hours = _day_hours(daily)
    plant_gap = (low.mean(axis=1) >= PLANT_GAP_SHARE) & with_data
    plant_level = np.median(coverage, axis=1)
    if plant_gap.any():
        rows = [
            (
                dates[day],
                f"{int(low[day].sum())} of {coverage.shape[1]}",
                f"{plant_level[day]:.3f}",
                f"{(1 - plant_level[day]) * hours[day]:.2f}",
            )
            for day in np.flatnonzero(plant_gap)
        ]
        shown = rows[:MAX_LISTED]
        blocks += [
            Heading("Plant-wide gaps"),
            Text(
                f"Days on which at least {100 * PLANT_GAP_SHARE:.0f} % of the DC inputs lack "
                "data together (missing rows, an export cut short), once per day; days "
                "without any data are listed under *Data read*."
            ),
            Table(
                ("date", "DC inputs below", "median coverage", "missing [h]"),
                cells(shown),
                "plant-gaps",
            ),
        ]
        if len(rows) > len(shown):
            blocks.append(Text(f"… and {len(rows) - len(shown)} more day(s)."))
    # a DC input-day stands out when it lacks more than its day's plant-wide gap
    own = low & ~(plant_gap[:, None] & (coverage >= plant_level[:, None] - OWN_GAP_TOLERANCE))
    own &= with_data[:, None]
    blocks.append(Heading("Worst DC input-days"))
    if not own.any():
        blocks.append(Text("No DC input lacks data beyond the plant-wide gaps."))
        return done()
    day_index, input_index = np.nonzero(own)
    order = np.lexsort((input_index, day_index, coverage[day_index, input_index]))
    worst = []
    for k in order[:MAX_LISTED]:
        day, column = day_index[k], input_index[k]
        inverter, dc_input = labels[column]
        value = coverage[day, column]
        worst.append(
            (dates[day], inverter, str(dc_input), f"{value:.3f}", f"{(1 - value) * hours[day]:.2f}")
        )
    listed = f"the {len(worst)} lowest of {len(order)}" if len(order) > len(worst) else "all"
    blocks += [
        Text(
            f"DC input-days with coverage below {LOW_COVERAGE} beyond the plant-wide gap of "
            f"their day, lowest coverage first ({listed}):"
        ),
        Table(
            ("date", "inverter", "DC input", "coverage", "missing [h]"),
            cells(worst),
            "worst-dc-input-days",
        ),
    ]
    if len(order) > MAX_LISTED:
        blocks.append(Text(f"… and {len(order) - MAX_LISTED} more, all in daily_energy.csv."))
    return done()


def _day_hours(daily: xr.Dataset) -> np.ndarray:
    """Length of each local day [h]: 23 or 25 on DST days when the timezone is known."""
    from bessx.io.archive import day_bounds_utc

    dates = daily[schema.DAY].values
    timezone = daily.attrs.get("timezone")
    if not timezone:
        return np.full(len(dates), 24.0)
    bounds = day_bounds_utc(dates, str(timezone))
    return (bounds[:, 1] - bounds[:, 0]) / np.timedelta64(1, "h")


def plant_totals(daily: xr.Dataset) -> tuple[float, float, float]:
    """Charged and discharged energy of the plant [kWh] and their ratio [1] (NaN: none)."""
    charged = _total(daily["charged"])
    discharged = _total(daily["discharged"])
    return charged, discharged, discharged / charged if charged > 0 else math.nan


def totals_section(daily: xr.Dataset) -> Section:
    """The plant's charged and discharged energy and the round-trip ratio."""
    charged, discharged, ratio = plant_totals(daily)
    ratio_text = f"{ratio:.3f}" if math.isfinite(ratio) else "n/a (nothing charged)"
    return Section(
        "plant-energy",
        "Plant energy",
        (
            Table(
                ("quantity", "value"),
                (
                    ("charged", f"{charged:,.1f} kWh ({charged / 1000:,.1f} MWh)"),
                    ("discharged", f"{discharged:,.1f} kWh ({discharged / 1000:,.1f} MWh)"),
                    ("round-trip ratio (discharged / charged)", ratio_text),
                ),
                "plant-energy",
            ),
            Text("Sums over all enclosures and days with data; days without data add nothing."),
        ),
    )


def lowest_section(by: str, table: pd.DataFrame) -> Section:
    """One lowest-energy table (:func:`bessx.tables.lowest`) with how it was ranked."""
    key = f"lowest-{by}"
    title = f"The {len(table)} lowest enclosures by energy {by}"
    if table.empty:
        return Section(key, title, (Text(f"No enclosure has {by} data."),))
    rows = [
        tuple(_cell(table[column].iloc[k]) for column in _LOWEST_COLUMNS) for k in range(len(table))
    ]
    return Section(
        key,
        title,
        (
            Text(_lowest_method(table)),
            Table(tuple(_LOWEST_COLUMNS.values()), cells(rows), key),
        ),
    )


def _lowest_method(table: pd.DataFrame) -> str:
    """How the lowest table was ranked, from its ``attrs``."""
    min_coverage = table.attrs.get("min_coverage", math.nan)
    counted = (
        f"days with coverage ≥ {_number(min_coverage, 3)}"
        if _finite(min_coverage) and float(min_coverage) > 0
        else "days with data"
    )
    if table.attrs.get("rank") == "total":
        return f"Ranked by the total over the {counted} [kWh]; `days` counts them."
    return (
        f"Ranked by the mean energy per day over the {counted} [kWh/d], so that missing "
        "days do not make an enclosure look low; `days` counts them."
    )


#: The columns of the outlier table.
OUTLIER_HEADER: Final = (
    "enclosure(s)",
    "inverter",
    "DC input",
    "kind",
    "scope",
    "days flagged / valid",
    "median shortfall [%]",
    "shortfall [kWh]",
    "period",
    "evidence",
)


def outliers_section(outliers: pd.DataFrame) -> Section:
    """The outlier method from the table's ``attrs``, the findings and their evidence."""
    params = outliers.attrs
    method = ""
    if params:
        method = (
            f"Each day every enclosure's {params.get('by', 'discharged')} energy is compared "
            f"with the fleet median; a short day is more than "
            f"{100 * float(params.get('threshold', math.nan)):.0f} % and "
            f"{_number(params.get('z_min'), 3)} robust standard deviations below it, counted "
            f"on days with coverage ≥ {_number(params.get('min_coverage'), 3)}; an enclosure "
            f"is flagged after {params.get('min_days', '?')} short days."
        )
        skipped = [
            f"{name.replace('_', ' ')}: {date_ranges(params[key])}"
            for key, name in (("idle_days", "idle days"), ("plant_gap_days", "plant gaps"))
            if params.get(key)
        ]
        if skipped:
            method += " Not compared — " + "; ".join(skipped) + "."
    blocks: list[Block] = [Text(method)] if method else []
    if outliers.empty:
        blocks.append(Text("No enclosure underperforms its peers."))
        return Section("outliers", "Outliers", tuple(blocks))
    counts = outliers["kind"].value_counts()
    blocks.append(
        Text("Findings: " + ", ".join(f"{counts[kind]} {kind}" for kind in counts.index) + ".")
    )
    rows = []
    for row in outliers.itertuples(index=False):
        first_date, last_date = str(row.first_date), str(row.last_date)
        period = first_date if first_date == last_date else f"{first_date} to {last_date}"
        rows.append(
            (
                str(getattr(row, "enclosures", row.enclosure_id)),
                str(row.inverter),
                str(row.dc_input),
                str(row.kind),
                str(row.scope),
                f"{row.days_flagged} / {row.days_valid}",
                _cell(row.median_shortfall_pct),
                _cell(row.shortfall_kwh),
                period,
                str(row.note),
            )
        )
    blocks.append(Table(OUTLIER_HEADER, cells(rows), "outliers"))
    return Section("outliers", "Outliers", tuple(blocks))


def _flag_description(flag: str) -> str:
    """What a flag of the quality table means (a sample flag, or the history's sign rule)."""
    from bessx.kernels.flags import FLAGS
    from bessx.sign import SIGN_DESCRIPTION, SIGN_FLAG

    return SIGN_DESCRIPTION if flag == SIGN_FLAG else FLAGS[flag].description


def _applies(flag: str, signal: str) -> bool:
    """Whether a flag counts samples of the DC power (``"power"``) or the SOC (``"soc"``);
    the sign rule is decided per DC input over the history and counts no samples."""
    from bessx.kernels.flags import FLAGS
    from bessx.sign import SIGN_FLAG

    return flag != SIGN_FLAG and bool(getattr(FLAGS[flag], signal))


#: The columns of the flags-by-kind table: one count per kind of signal.
FLAG_KIND_HEADER: Final = (
    "flag",
    "DC input-days",
    "DC power samples",
    "enclosure-days",
    "SOC samples",
    "export rows",
    "meaning",
)


def flag_kinds(table: pd.DataFrame) -> pd.DataFrame:
    """Flagged samples per flag and kind of signal, from :func:`bessx.quality.quality_table`.

    Returns
    -------
    pandas.DataFrame
        Indexed by flag (in the order met): ``dc_input_days`` and ``power_samples`` (the
        DC input power's rows of the table, their samples summed; for ``gap`` nominal
        intervals), ``enclosure_days`` and ``soc_samples`` (the enclosure SOC's rows), and
        ``export_rows``: for ``duplicates_dropped`` the rows dropped from the exports,
        counted once (the table repeats a day's count on every DC input), otherwise 0. A
        ``duplicates_dropped`` row has no power samples of its own (0).
    """
    is_soc = table["enclosure_id"] != ""
    columns = ["dc_input_days", "power_samples", "enclosure_days", "soc_samples", "export_rows"]
    result = {}
    for flag, flagged in table.groupby("flag", sort=False):
        soc = is_soc[flagged.index]
        samples = flagged["samples"].astype("int64")
        power_samples = int(samples[~soc].sum())
        export_rows = 0
        if flag == "duplicates_dropped":  # one count per day, repeated on every DC input
            export_rows = int(flagged.groupby("date")["samples"].max().sum())
            power_samples = 0
        result[str(flag)] = (
            int((~soc).sum()),
            power_samples,
            int(soc.sum()),
            int(samples[soc].sum()),
            export_rows,
        )
    return pd.DataFrame.from_dict(result, orient="index", columns=columns)


def quality_section(table: pd.DataFrame, daily: xr.Dataset) -> Section:
    """Flags grouped by kind, then where: plant-wide flags once per date, worst first."""

    blocks: list[Block] = []
    if table.empty:
        return Section("data-quality", "Data quality", (Text("No sample was flagged."),))
    implausible = table[table["flag"].isin(["non_finite", "out_of_range"])]
    if implausible.empty:
        blocks.append(Text("No implausible sample: nothing was excluded."))
    else:
        by_flag = implausible.groupby("flag", sort=False)["samples"].sum()
        parts = ", ".join(f"{int(n):,} {flag}" for flag, n in by_flag.items())
        blocks.append(
            Text(
                f"**{int(by_flag.sum()):,} implausible sample(s) excluded** ({parts}): they "
                "count as missing, in no energy, share or total."
            )
        )
    blocks.append(
        Text(
            "Every flag is listed in `quality.csv`, one row per date, DC input or enclosure "
            "and flag. Counts are per kind of signal: DC power samples, SOC samples, and "
            "rows of the exports for `duplicates_dropped`. A NaN sample is missing: it "
            "counts in `gap`, never in `non_finite` (+inf or -inf only)."
        )
    )
    kinds = flag_kinds(table)
    rows = [
        (
            _code(flag),
            _count_or_missing(counts.dc_input_days, flag != "duplicates_dropped"),
            _count_or_missing(
                counts.power_samples, _applies(flag, "power") and flag != "duplicates_dropped"
            ),
            _count_or_missing(counts.enclosure_days, _applies(flag, "soc")),
            _count_or_missing(counts.soc_samples, _applies(flag, "soc")),
            _count_or_missing(counts.export_rows, flag == "duplicates_dropped"),
            _flag_description(flag),
        )
        for flag, counts in zip(kinds.index, kinds.itertuples(index=False), strict=True)
    ]
    blocks.append(Table(FLAG_KIND_HEADER, cells(rows), "flags-by-kind"))

    is_soc = table["enclosure_id"] != ""
    used = _used(daily)
    level = np.where(is_soc, "enclosures", "DC inputs")
    size = {"DC inputs": int(used.any(axis=-1).sum()), "enclosures": int(used.sum())}
    everywhere = table.assign(level=level).groupby(["date", "flag", "level"], sort=True)
    plant_wide = everywhere.filter(
        lambda group: len(group) >= size[group.name[2]] and group["samples"].nunique() == 1
    )
    where_rows = [
        (
            _iso_day(date),
            f"all {size[str(where)]} {where}",
            _code(flag),
            f"{int(group['samples'].iloc[0]):,}",
            str(group["detail"].iloc[0]),
        )
        for (date, flag, where), group in plant_wide.groupby(["date", "flag", "level"])
    ]
    rest = table.drop(plant_wide.index).sort_values("samples", ascending=False, kind="stable")
    for row in rest.head(MAX_LISTED).itertuples(index=False):
        where = str(row.enclosure_id or f"{row.inverter} DC{row.dc_input}")
        where_rows.append(
            (
                _iso_day(row.date),
                where,
                _code(row.flag),
                _count(row.samples),
                str(row.detail),
            )
        )
    blocks.append(
        Table(("date", "where", "flag", "samples", "detail"), cells(where_rows), "flags-where")
    )
    if len(rest) > MAX_LISTED:
        blocks.append(Text(f"… and {len(rest) - MAX_LISTED:,} more rows in `quality.csv`."))
    return Section("data-quality", "Data quality", tuple(blocks))


def _count_or_missing(value: Any, applies: bool) -> str:
    return f"{int(value):,}" if applies else MISSING


def warnings_section(warnings: Sequence[str]) -> Section:
    """The problems met while reading, one item each."""
    title = "Problems found while reading"
    if not warnings:
        return Section("problems", title, (Text("None."),))
    return Section("problems", title, (Items(tuple(str(message) for message in warnings)),))


# Quantities -------------------------------------------------------------------------------
def _dates(daily: xr.Dataset) -> list[str]:
    return list(pd.DatetimeIndex(daily[schema.DAY].values).strftime("%Y-%m-%d"))


def _used(daily: xr.Dataset) -> np.ndarray:
    """(inverter, dc_input, enclosure) slots that hold an enclosure."""
    order = (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    return daily["enclosure_id"].transpose(*order).values.astype(str) != ""


def _dc_input_coverage(daily: xr.Dataset) -> tuple[np.ndarray, list[str], list[tuple[str, int]]]:
    """Coverage (day, DC input with enclosures), NaN as 0, with dates and DC input labels."""
    used = _used(daily)
    order = (schema.DAY, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    values = np.asarray(daily["coverage"].transpose(*order).values, dtype=np.float64)
    values = np.where(used, np.nan_to_num(values, nan=0.0), -np.inf)
    per_input = values.max(axis=-1, initial=-np.inf)  # shared by the enclosures of a DC input
    has_enclosures = used.any(axis=-1)
    inverters = daily[schema.INVERTER].values.astype(str)
    dc_inputs = daily[schema.DC_INPUT].values
    labels = [
        (inverters[i], int(dc_inputs[j])) for i, j in zip(*np.nonzero(has_enclosures), strict=True)
    ]
    return per_input[:, has_enclosures], _dates(daily), labels


def days_with_data(daily: xr.Dataset) -> np.ndarray:
    """Whether any DC input has coverage on each day of ``daily``: boolean ``(day,)``."""
    coverage, _, _ = _dc_input_coverage(daily)
    if coverage.size == 0:
        return np.zeros(daily.sizes.get(schema.DAY, 0), dtype=bool)
    return np.any(coverage > 0, axis=1)


def _total(energy: xr.DataArray) -> float:
    return float(np.nansum(np.asarray(energy.values, dtype=np.float64)))


def layout_summary(per_input: np.ndarray) -> str:
    """Describe the enclosures per DC input of each inverter, most enclosures first.

    Parameters
    ----------
    per_input
        Number of enclosures, shape (inverter, dc_input).

    Examples
    --------
    >>> layout_summary(np.array([[3, 3], [2, 2], [2, 2]]))
    '1 inverter × 3+3, 2 × 2+2 per DC input'
    """
    if per_input.size == 0:
        return "none"
    layouts = pd.Series(["+".join(map(str, counts)) for counts in per_input.tolist()])
    counts = layouts.value_counts(sort=False)
    counts = counts.sort_index(key=lambda index: index.map(_layout_key), ascending=False)
    parts = [f"{count} × {layout}" for layout, count in counts.items()]
    parts[0] = parts[0].replace(" × ", " inverters × " if counts.iloc[0] > 1 else " inverter × ")
    return ", ".join(parts) + " per DC input"


def _layout_key(layout: str) -> tuple[int, ...]:
    return tuple(int(count) for count in layout.split("+"))


# Formatting -----------------------------------------------------------------------------------
_MISSING: Final = MISSING


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown pipe table of text cells (:func:`bessx.document.markdown_table`)."""
    return markdown_table(Table(tuple(header), cells(rows)))


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return MISSING
        return f"{value:,.1f}"
    return str(value)


def _number(value: Any, digits: int) -> str:
    """A number with up to ``digits`` significant decimals and no trailing zeros."""
    if not _finite(value):
        return "?"
    return f"{float(value):.{digits}f}".rstrip("0").rstrip(".")


def _iso_day(value: Any) -> str:
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def _count(value: Any) -> str:
    return f"{int(value):,}"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _code(text: Any) -> str:
    return f"`{str(text).replace('`', '')}`"


def _first_last(names: Sequence[Any]) -> str:
    names = [str(name) for name in names]
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"


# Availability and guarantees (sections of a run's results) --------------------------------------
#: At most this many DC input-months are listed as the least available.
MAX_UNAVAILABLE_LISTED: Final = 10
#: At most this many failed or unknown DC-input verdicts are listed per metric.
MAX_VERDICTS_LISTED: Final = 10
_METRIC_NAMES: Final = {
    "availability": "availability (time-based, plant, per month)",
    "round_trip_efficiency": "DC round-trip efficiency (per window)",
    "capacity_retention": "capacity retention (usable capacity / first window's)",
    "cycles_per_year": "equivalent full cycles per warranty year (at most)",
}


def _fraction(value: Any) -> str:
    return _number(value, 4) if _finite(value) else _MISSING


def availability_section(results: Results) -> str:
    """An "Availability" section (Markdown) of a run's results (``results.availability``).

    The plant per month (dispatched, unavailable, data-outage and planned DC input-hours,
    time- and energy-based availability, days with data), then the least available DC
    input-months; "" when the results hold no availability.
    """
    from bessx.availability import aggregate

    if results.availability is None:
        return ""
    per_day = results.availability.load()
    monthly = aggregate(per_day, scope="plant", period="month")
    lines = [
        "## Availability",
        "",
        "Per DC input (the `dead` flag while the fleet moves), summed in DC input-hours over "
        "the plant; data outages (dispatched with the sample missing or implausible) are "
        "unknown, not unavailable, and planned outages are excluded. Details per day in "
        "`availability.csv`, the method in `docs/methodology.md`.",
        "",
    ]
    rows = []
    months = pd.DatetimeIndex(monthly[schema.DAY].values).strftime("%Y-%m")
    for month, label in enumerate(months):
        one = monthly.isel({schema.DAY: month})
        rows.append(
            [
                label,
                _number(float(one["dispatched_time"]), 1),
                _number(float(one["unavailable_time"]), 1),
                _number(float(one["data_outage_time"]), 1),
                _number(float(one["planned_time"]), 1),
                _fraction(float(one["availability"])),
                _fraction(float(one["energy_availability"])),
                f"{int(one['days_observed'])} of {int(one['days'])}",
            ]
        )
    header = [
        "month",
        "dispatched [h]",
        "unavailable [h]",
        "data outage [h]",
        "planned [h]",
        "availability",
        "energy availability",
        "days with data",
    ]
    lines += [_table(header, rows), ""]
    per_input = aggregate(per_day, scope="dc_input", period="month")
    frame = (
        per_input[["unavailable_time", "availability"]]
        .to_dataframe()
        .reset_index()
        .dropna(subset=["unavailable_time"])
    )
    frame = frame[frame["unavailable_time"] > 0].sort_values(
        ["unavailable_time", schema.DAY], ascending=[False, True], kind="stable"
    )
    if frame.empty:
        lines.append("No DC input was unavailable.")
    else:
        listed = frame.head(MAX_UNAVAILABLE_LISTED)
        lines.append(
            f"Least available DC input-months ({len(listed)} of {len(frame)} with unavailable "
            "time):"
        )
        lines.append("")
        lines.append(
            _table(
                ["DC input", "month", "unavailable [h]", "availability"],
                [
                    [
                        f"{row['inverter']} DC{int(row['dc_input'])}",
                        pd.Timestamp(row["time"]).strftime("%Y-%m"),
                        _number(row["unavailable_time"], 1),
                        _fraction(row["availability"]),
                    ]
                    for row in listed.to_dict("records")
                ],
            )
        )
    planned = int(per_day.attrs.get("planned_outages", 0))
    if planned:
        lines += ["", f"{planned} planned outage(s) of the site file excluded."]
    return "\n".join(lines) + "\n"


def guarantees_section(results: Results) -> str:
    """A "Guarantees" section (Markdown) of a run's results (``results.guarantees``).

    Per metric: the guarantee, how many verdicts pass, fail or are unknown, the plant's
    verdicts, and the DC inputs that fail (or are unknown), worst first; "" without
    guarantees.
    """
    table = results.guarantees
    if table is None:
        return ""
    lines = [
        "## Guarantees",
        "",
        "Each guaranteed metric against its measurement at the DC inputs (not at the point of "
        "connection: auxiliary load and transformer losses are not seen). A verdict passes "
        "when the whole interval [low, high] meets the guarantee, fails when none of it "
        "does, and is unknown otherwise (no data, a day without data in the month, an "
        "interval across the guarantee). Every row is in `guarantees.csv`.",
        "",
    ]
    if table.empty:
        return "\n".join([*lines, "Nothing measured for the guaranteed metrics."]) + "\n"
    counts = []
    for metric, rows in table.groupby("metric", sort=False):
        found = rows["verdict"].value_counts()
        guaranteed = rows["guaranteed"].dropna()
        shown = (
            _number(guaranteed.iloc[0], 4)
            if guaranteed.nunique() == 1
            else f"{_number(guaranteed.min(), 4)}–{_number(guaranteed.max(), 4)}"
            if len(guaranteed)
            else _MISSING
        )
        counts.append(
            [
                _METRIC_NAMES.get(str(metric), str(metric)),
                shown,
                str(int(found.get("pass", 0))),
                str(int(found.get("fail", 0))),
                str(int(found.get("unknown", 0))),
            ]
        )
    lines += [_table(["metric", "guaranteed", "pass", "fail", "unknown"], counts), ""]
    plant = table[table["scope"] == "plant"]
    if not plant.empty:
        lines += ["The plant:", ""]
        lines.append(
            _table(
                ["period", "metric", "guaranteed", "measured", "low", "high", "verdict"],
                [
                    [
                        str(row["period"]),
                        str(row["metric"]),
                        _fraction(row["guaranteed"]),
                        _fraction(row["measured"]),
                        _fraction(row["low"]),
                        _fraction(row["high"]),
                        f"**{row['verdict']}**" if row["verdict"] == "fail" else row["verdict"],
                    ]
                    for row in plant.to_dict("records")
                ],
            )
        )
        lines.append("")
    failing = table[(table["scope"] != "plant") & (table["verdict"] != "pass")]
    for metric, rows in failing.groupby("metric", sort=False):
        ordered = rows.assign(
            order=rows["verdict"].map({"fail": 0, "unknown": 1}),
            margin=(rows["measured"] - rows["guaranteed"]).abs(),
        ).sort_values(["order", "margin"], ascending=[True, False], kind="stable")
        listed = ordered.head(MAX_VERDICTS_LISTED)
        lines += [
            f"{_METRIC_NAMES.get(str(metric), str(metric))}: {len(rows)} DC-input verdict(s) "
            f"not passed, {len(listed)} listed:",
            "",
            _table(
                ["period", "DC input", "guaranteed", "measured", "low", "high", "verdict"],
                [
                    [
                        str(row["period"]),
                        str(row["scope"]),
                        _fraction(row["guaranteed"]),
                        _fraction(row["measured"]),
                        _fraction(row["low"]),
                        _fraction(row["high"]),
                        str(row["verdict"]),
                    ]
                    for row in listed.to_dict("records")
                ],
            ),
            "",
        ]
    return "\n".join(lines).rstrip("\n") + "\n"
