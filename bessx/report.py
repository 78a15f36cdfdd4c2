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
from typing import Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema

__all__ = ["LOW_COVERAGE", "layout_summary", "summary_markdown"]

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

_MISSING: Final = "–"
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
    sections = [
        _header(daily, source),
        _data_read(daily, source),
        _coverage(daily),
        _totals(daily),
        _lowest_section("charged", lowest_charged),
        _lowest_section("discharged", lowest_discharged),
        _outliers_section(outliers),
        *([] if quality is None else [_quality_section(quality, daily)]),
        _warnings_section(warnings),
    ]
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"


# Sections -----------------------------------------------------------------------------------
def _header(daily: xr.Dataset, source: Mapping[str, Any]) -> str:
    from bessx import __version__

    dates = _dates(daily)
    period = f"{dates[0]} to {dates[-1]}" if len(dates) else "no days"
    return (
        f"# bessx summary: {_code(source.get('data', 'the exports'))}, {period}\n\n"
        f"Daily charged and discharged energy per battery enclosure, written by "
        f"bessx {__version__}. Energies are DC-side [kWh], per local calendar day of the "
        f"plant; the method is described in `docs/methodology.md`."
    )


def _data_read(daily: xr.Dataset, source: Mapping[str, Any]) -> str:
    files = list(source.get("files", []))
    dates = _dates(daily)
    covered = _days_with_data(daily)
    missing = [date for date, has_data in zip(dates, covered, strict=True) if not has_data]
    interval = daily.attrs.get("interval_seconds")
    interval_text = f"{_number(interval, 3)} s" if _finite(interval) else "unknown"
    if source.get("interval"):
        interval_text += f" ({source['interval']})"
    ids = daily["enclosure_id"].values.astype(str)
    n_enclosures = int((ids != "").sum())
    per_input = (ids != "").sum(axis=-1)
    lines = [
        "## Data read",
        "",
        f"- Source: {_code(source.get('data', '?'))}"
        + (f", configuration {_code(source['config'])}" if source.get("config") else ""),
        f"- Files: {len(files)}" + (f" ({_first_last(files)})" if files else ""),
        *(
            [
                f"- Skipped: {len(source['skipped'])} file(s) that could not be used "
                f"({_short_list(list(source['skipped']))}; see the problems below)"
            ]
            if source.get("skipped")
            else []
        ),
        f"- Local days: {len(dates)}"
        + (f", {dates[0]} to {dates[-1]}" if len(dates) else "")
        + f"; {int(covered.sum())} with data, {len(missing)} without"
        + (f" ({_short_list(missing)})" if missing else ""),
    ]
    if source.get("rows") is not None:
        lines.append(f"- Samples: {int(source['rows']):,}")
    lines += [
        f"- Sampling interval: {interval_text}",
        f"- Timezone: {daily.attrs.get('timezone', '?')}",
        *_exports_line(daily.attrs),
        f"- Inverters: {daily.sizes.get(schema.INVERTER, 0)}; "
        f"enclosures: {n_enclosures} ({layout_summary(per_input)})",
        "- Topology: "
        + (_code(source["topology"]) if source.get("topology") else "inferred from the columns"),
        f"- Allocation: {daily.attrs.get('allocation', '?')}; "
        f"longest gap bridged: {_number(daily.attrs.get('max_gap'), 3)} intervals",
        *(f"- Note: {_escape(note)}" for note in source.get("notes", ())),
    ]
    return "\n".join(lines)


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
    return [f"- Exports: {'; '.join(parts)}"] if parts else []


def _coverage(daily: xr.Dataset) -> str:
    coverage, dates, labels = _dc_input_coverage(daily)
    lines = ["## Coverage", ""]
    if coverage.size == 0:
        return "\n".join([*lines, "No DC input with enclosures."])
    low = coverage < LOW_COVERAGE
    lines.append(
        f"Mean coverage of the {coverage.size:,} DC input-days: {coverage.mean():.3f}. "
        f"DC input-days with coverage below {LOW_COVERAGE}: {int(low.sum())}."
    )
    if not low.any():
        return "\n".join(lines)
    hours = _day_hours(daily)
    with_data = np.asarray((coverage > 0).any(axis=1))
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
        lines += [
            "",
            "### Plant-wide gaps",
            "",
            f"Days on which at least {100 * PLANT_GAP_SHARE:.0f} % of the DC inputs lack data "
            "together (missing rows, an export cut short), once per day; days without any "
            "data are listed under *Data read*.",
            "",
            _table(("date", "DC inputs below", "median coverage", "missing [h]"), shown),
        ]
        if len(rows) > len(shown):
            lines += ["", f"… and {len(rows) - len(shown)} more day(s)."]
    # a DC input-day stands out when it lacks more than its day's plant-wide gap
    own = low & ~(plant_gap[:, None] & (coverage >= plant_level[:, None] - OWN_GAP_TOLERANCE))
    own &= with_data[:, None]
    lines += ["", "### Worst DC input-days", ""]
    if not own.any():
        lines.append("No DC input lacks data beyond the plant-wide gaps.")
        return "\n".join(lines)
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
    lines += [
        f"DC input-days with coverage below {LOW_COVERAGE} beyond the plant-wide gap of "
        f"their day, lowest coverage first ({listed}):",
        "",
        _table(("date", "inverter", "DC input", "coverage", "missing [h]"), worst),
    ]
    if len(order) > MAX_LISTED:
        lines += ["", f"… and {len(order) - MAX_LISTED} more, all in daily_energy.csv."]
    return "\n".join(lines)


def _day_hours(daily: xr.Dataset) -> np.ndarray:
    """Length of each local day [h]: 23 or 25 on DST days when the timezone is known."""
    from bessx.io.archive import day_bounds_utc

    dates = daily[schema.DAY].values
    timezone = daily.attrs.get("timezone")
    if not timezone:
        return np.full(len(dates), 24.0)
    bounds = day_bounds_utc(dates, str(timezone))
    return (bounds[:, 1] - bounds[:, 0]) / np.timedelta64(1, "h")


def _totals(daily: xr.Dataset) -> str:
    charged = _total(daily["charged"])
    discharged = _total(daily["discharged"])
    ratio = discharged / charged if charged > 0 else math.nan
    ratio_text = f"{ratio:.3f}" if math.isfinite(ratio) else "n/a (nothing charged)"
    return "\n".join(
        [
            "## Plant energy",
            "",
            _table(
                ("quantity", "value"),
                [
                    ("charged", f"{charged:,.1f} kWh ({charged / 1000:,.1f} MWh)"),
                    ("discharged", f"{discharged:,.1f} kWh ({discharged / 1000:,.1f} MWh)"),
                    ("round-trip ratio (discharged / charged)", ratio_text),
                ],
            ),
            "",
            "Sums over all enclosures and days with data; days without data add nothing.",
        ]
    )


def _lowest_section(by: str, table: pd.DataFrame) -> str:
    title = f"## The {len(table)} lowest enclosures by energy {by}"
    if table.empty:
        return f"{title}\n\nNo enclosure has {by} data."
    rows = [
        tuple(_cell(table[column].iloc[k]) for column in _LOWEST_COLUMNS) for k in range(len(table))
    ]
    return "\n".join(
        [
            title,
            "",
            _lowest_method(table),
            "",
            _table(tuple(_LOWEST_COLUMNS.values()), rows),
        ]
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


def _outliers_section(outliers: pd.DataFrame) -> str:
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
            f"{name.replace('_', ' ')}: {', '.join(params[key])}"
            for key, name in (("idle_days", "idle days"), ("plant_gap_days", "plant gaps"))
            if params.get(key)
        ]
        if skipped:
            method += " Not compared — " + "; ".join(skipped) + "."
    lines = ["## Outliers", ""]
    if method:
        lines += [method, ""]
    if outliers.empty:
        lines.append("No enclosure underperforms its peers.")
        return "\n".join(lines)
    counts = outliers["kind"].value_counts()
    lines.append("Findings: " + ", ".join(f"{counts[kind]} {kind}" for kind in counts.index) + ".")
    header = (
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
    lines += ["", _table(header, rows)]
    return "\n".join(lines)


def _quality_section(table: pd.DataFrame, daily: xr.Dataset) -> str:
    """Flags grouped by kind, then where: plant-wide flags once per date, worst first."""
    from bessx.quality import FLAGS

    lines = ["## Data quality", ""]
    if table.empty:
        return "\n".join([*lines, "No sample was flagged."])
    implausible = table[table["flag"].isin(["non_finite", "out_of_range"])]
    if implausible.empty:
        lines.append("No implausible sample: nothing was excluded.")
    else:
        by_flag = implausible.groupby("flag", sort=False)["samples"].sum()
        parts = ", ".join(f"{int(n):,} {flag}" for flag, n in by_flag.items())
        lines.append(
            f"**{int(by_flag.sum()):,} implausible sample(s) excluded** ({parts}): they count "
            "as missing, in no energy, share or total."
        )
    lines.append(
        "Every flag is listed in `quality.csv`, one row per date, DC input or enclosure and flag."
    )
    is_soc = table["enclosure_id"] != ""
    kinds = []
    for flag, flagged in table.groupby("flag", sort=False):
        kinds.append(
            (
                _code(flag),
                f"{int((~is_soc[flagged.index]).sum()):,}",
                f"{int(is_soc[flagged.index].sum()):,}",
                f"{int(flagged['samples'].sum()):,}",
                FLAGS[str(flag)].description,
            )
        )
    header = ("flag", "DC input-days", "enclosure-days", "samples", "meaning")
    lines += ["", _table(header, kinds), ""]

    used = _used(daily)
    level = np.where(is_soc, "enclosures", "DC inputs")
    size = {"DC inputs": int(used.any(axis=-1).sum()), "enclosures": int(used.sum())}
    everywhere = table.assign(level=level).groupby(["date", "flag", "level"], sort=True)
    plant_wide = everywhere.filter(
        lambda group: len(group) >= size[group.name[2]] and group["samples"].nunique() == 1
    )
    rows = [
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
        rows.append(
            (
                _iso_day(row.date),
                where,
                _code(row.flag),
                _count(row.samples),
                str(row.detail),
            )
        )
    lines += [_table(("date", "where", "flag", "samples", "detail"), rows)]
    if len(rest) > MAX_LISTED:
        lines += ["", f"… and {len(rest) - MAX_LISTED:,} more rows in `quality.csv`."]
    return "\n".join(lines)


def _warnings_section(warnings: Sequence[str]) -> str:
    lines = ["## Problems found while reading", ""]
    if not warnings:
        lines.append("None.")
    else:
        lines += [f"- {_escape(message)}" for message in warnings]
    return "\n".join(lines)


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


def _days_with_data(daily: xr.Dataset) -> np.ndarray:
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
def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown pipe table; numbers (right-aligned) are recognised by their first row."""
    rows = [tuple(_escape(cell) for cell in row) for row in rows]
    numeric = [
        bool(rows) and all(_looks_numeric(row[k]) for row in rows) for k in range(len(header))
    ]
    align = ["---:" if right else "---" for right in numeric]
    lines = [
        "| " + " | ".join(_escape(name) for name in header) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _looks_numeric(text: str) -> bool:
    if text == _MISSING:
        return True
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit()


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return _MISSING
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


def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: Any) -> str:
    return f"`{str(text).replace('`', '')}`"


def _first_last(names: Sequence[Any]) -> str:
    names = [str(name) for name in names]
    return names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"


def _short_list(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
