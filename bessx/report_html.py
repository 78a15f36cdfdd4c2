"""``report.html``: the one self-contained document of a run an owner or an OEM can be sent.

:func:`report_html` renders the :class:`~bessx.results.Results` of a run with the Jinja2
templates shipped in ``bessx/templates`` (autoescaped: enclosure ids, paths and messages
are text, never mark-up). Every figure is embedded as a PNG data URI and the stylesheet is
inline, so the file opens from a mail attachment or a USB stick and fetches nothing: no
script, no font, no image from anywhere. The tables are the sections of ``summary.md``
(:func:`bessx.report.summary_sections`), rendered from the same objects, so the two
documents always say the same. In order: the plant and period at a glance, the heatmaps,
the lowest and outlier tables, battery health, data quality, the problems met while
reading, and the method with the bessx version, the settings and the inputs' fingerprints
(``bessx.io.entries.fingerprint``), so the numbers can be reproduced.

A part the run did not compute (battery health, availability, guarantees) is left out
with one line saying why.
"""

from __future__ import annotations

import base64
import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.document import (
    MISSING,
    Heading,
    Items,
    Section,
    Table,
    Text,
    cells,
    date_ranges,
    from_markdown,
    inline_html,
)

if TYPE_CHECKING:
    import bessx.results
    from bessx.config import Config

__all__ = [
    "FIGURES",
    "fingerprints",
    "flag_count",
    "glance_section",
    "health_table",
    "key_figures",
    "method_section",
    "report_html",
    "run_settings",
    "verdicts",
]

#: The figures of the report: output name -> caption.
FIGURES: Final = {
    "heatmap_discharged.png": ("Energy discharged per enclosure and day [kWh]; outliers marked."),
    "heatmap_discharged_relative.png": (
        "Energy discharged per enclosure and day as % of the day's fleet median."
    ),
    "capacity_trend.png": (
        "Usable capacity per DC input [% of its first window]: the fastest-fading DC input "
        "with its Theil-Sen trend and the band of the trend's 95 % interval."
    ),
    "heatmap_availability.png": "Availability per DC input and day.",
}
#: The heatmaps of the daily energy, always in the report.
_HEATMAPS: Final = ("heatmap_discharged.png", "heatmap_discharged_relative.png")
_TEMPLATE: Final = "report.html.j2"


def report_html(
    results: bessx.results.Results, *, figures: Mapping[str, bytes] | None = None
) -> str:
    """The HTML report of a run.

    Parameters
    ----------
    results
        What :func:`bessx.pipeline.run` computed. ``results.source`` may carry
        ``"fingerprints"`` (export name -> ``bessx.io.entries.fingerprint``) and
        ``"settings"`` (:func:`run_settings`); without them the method says so.
    figures
        PNG bytes by output name (:data:`FIGURES`); a figure not given is drawn here.

    Returns
    -------
    str
        One HTML5 document: no script, no external reference (every ``src`` is a ``data:``
        URI, every ``href`` an anchor of the page).
    """
    from bessx import __version__
    from bessx.report import plant_totals, summary_sections

    given = dict(figures or {})
    summary = {
        section.key: section
        for section in summary_sections(
            results.daily,
            lowest_charged=results.lowest_charged,
            lowest_discharged=results.lowest_discharged,
            outliers=results.outliers,
            warnings=results.warnings,
            source=results.source,
            quality=results.quality,
        )
    }
    top = summary.pop("top")
    header = Section(top.key, top.title.replace("bessx summary", "bessx report", 1), top.blocks)
    charged, discharged, ratio = plant_totals(results.daily)
    figure_data = {
        name: _data_uri(given[name] if name in given else _draw(name, results))
        for name in _figure_names(results)
    }
    glance = _part(glance_section(results, summary.pop("plant-energy")))
    glance["key_figures"] = key_figures(results)
    parts: list[dict[str, Any]] = [
        glance,
        _figures_part(
            "heatmaps",
            "Daily energy per enclosure",
            list(_HEATMAPS),
            figure_data,
        ),
        *_text_parts(results, "guarantees", figure_data),
        _part(summary.pop("lowest-charged")),
        _part(summary.pop("lowest-discharged")),
        _part(summary.pop("outliers")),
        _health_part(results, figure_data),
        *_text_parts(results, "availability", figure_data),
        _group(
            "quality",
            "Data quality",
            [
                _gaps_section(results),
                summary.pop("data-read"),
                summary.pop("coverage"),
                *([summary.pop("data-quality")] if "data-quality" in summary else []),
            ],
        ),
        _part(summary.pop("problems")),
        *(_part(section) for section in summary.values()),  # sections added later
        _part(method_section(results, __version__)),
    ]
    environment = _environment()
    template = environment.get_template(_TEMPLATE)
    period = _period(results.daily)
    return template.render(
        title=f"bessx report: {results.source.get('data', 'the exports')}, {period}",
        heading=_part(header),
        parts=parts,
        css=_stylesheet(environment),
        version=__version__,
        totals={"charged": charged, "discharged": discharged, "ratio": ratio},
    )


# Sections of the report only ------------------------------------------------------------------
def glance_section(results: bessx.results.Results, plant_energy: Section) -> Section:
    """The plant and the period at a glance, with the plant-energy table of the summary."""
    from bessx.report import days_with_data, layout_summary

    daily = results.daily
    dates = pd.DatetimeIndex(daily[schema.DAY].values)
    with_data = days_with_data(daily)
    ids = daily["enclosure_id"].values.astype(str)
    items = [
        f"Plant: {daily.sizes.get(schema.INVERTER, 0)} inverters, "
        f"{int((ids != '').sum())} enclosures ({layout_summary((ids != '').sum(axis=-1))}); "
        f"timezone {daily.attrs.get('timezone', '?')}.",
        f"Period: {_period(daily)}: {len(dates)} local days, {int(with_data.sum())} with data"
        + (f"; without data: {date_ranges(dates[~with_data])}" if (~with_data).any() else "")
        + ".",
        _outliers_line(results.outliers),
        _flags_line(results.quality),
        _health_line(results.health),
        *_verdict_lines(results),
    ]
    if results.warnings:
        items.append(
            f"Problems found while reading: {len(results.warnings)} (see "
            "*Problems found while reading*)."
        )
    return Section(
        "glance", "Plant and period at a glance", (Items(tuple(items)), *plant_energy.blocks)
    )


def key_figures(results: bessx.results.Results) -> list[tuple[str, str]]:
    """The few numbers the report opens with: (label, value), in the units shown."""
    from bessx.report import plant_totals

    charged, discharged, ratio = plant_totals(results.daily)
    return [
        ("charged (DC side)", f"{charged / 1000:,.1f} MWh"),
        ("discharged (DC side)", f"{discharged / 1000:,.1f} MWh"),
        ("round-trip ratio", f"{ratio:.3f}" if math.isfinite(ratio) else "n/a"),
        ("outliers", f"{len(results.outliers):,}"),
        ("data-quality flags", f"{flag_count(results.quality):,}"),
    ]


def _outliers_line(outliers: pd.DataFrame) -> str:
    if outliers.empty:
        return "Outliers: none; no enclosure underperforms its peers."
    counts = outliers["kind"].value_counts()
    return (
        f"Outliers: **{len(outliers)}** ("
        + ", ".join(f"{counts[kind]} {kind}" for kind in counts.index)
        + ")."
    )


def flag_count(quality: pd.DataFrame) -> int:
    """Flags of a run: flagged DC input-days and enclosure-days, and the days on which
    duplicate rows were dropped (once a day, not once per DC input as in ``quality.csv``)."""
    duplicates = quality["flag"] == "duplicates_dropped"
    return int((~duplicates).sum()) + int(quality.loc[duplicates, "date"].nunique())


def _flags_line(quality: pd.DataFrame) -> str:
    from bessx.report import flag_kinds

    if quality.empty:
        return "Data-quality flags: none."
    implausible = quality["flag"].isin(["non_finite", "out_of_range"])
    parts = []
    for flag, counts in flag_kinds(quality).iterrows():
        if flag == "duplicates_dropped":
            days = quality.loc[quality["flag"] == flag, "date"].nunique()
            parts.append(f"{counts['export_rows']:,} duplicate export row(s) on {days} day(s)")
        else:
            parts.append(f"{counts['dc_input_days'] + counts['enclosure_days']:,} {flag}")
    excluded = int(quality.loc[implausible, "samples"].sum())
    return (
        f"Data-quality flags: {flag_count(quality):,} ("
        + ", ".join(parts)
        + f"; DC input-days and enclosure-days); {excluded:,} implausible sample(s) excluded. "
        "Details under *Data quality* and in `quality.csv`."
    )


def _health_line(health: xr.Dataset | None) -> str:
    if health is None:
        return f"Battery health: {_NO_HEALTH}"
    trend = health["capacity_trend"].values
    efficiency = health["round_trip_efficiency"].median(schema.WINDOW).values
    parts = []
    if np.isfinite(trend).any():
        parts.append(f"fastest capacity fade {float(np.nanmin(trend)):+.1f} %/year")
    else:
        parts.append("no capacity trend (it needs two windows with a usable capacity)")
    if np.isfinite(efficiency).any():
        parts.append(
            f"round-trip efficiency per DC input {float(np.nanmin(efficiency)):.3f} to "
            f"{float(np.nanmax(efficiency)):.3f}"
        )
    return "Battery health: " + "; ".join(parts) + "."


_NO_HEALTH: Final = (
    "not computed in this run (the `health` output was not asked for), so this report has "
    "no battery health section."
)
_NOT_COMPUTED: Final = "not computed in this run, so this report has no {} section."


def _verdict_lines(results: bessx.results.Results) -> list[str]:
    """Guarantee verdicts and availability, or one line each saying why there are none."""
    lines = []
    guarantees = getattr(results, "guarantees", None)
    if guarantees is None:
        lines.append("Guarantees: " + _NOT_COMPUTED.format("guarantees"))
    else:
        lines.append(f"Guarantees: {verdicts(guarantees)} (see *Guarantees*).")
    if getattr(results, "availability", None) is None:
        lines.append("Availability: " + _NOT_COMPUTED.format("availability"))
    else:
        lines.append("Availability: per month and DC input under *Availability*.")
    return lines


def verdicts(guarantees: pd.DataFrame) -> str:
    """The verdicts of a guarantee table in one line, per metric: the plant's (each period's
    verdict, failed periods named), then how many DC input verdicts pass, fail or are
    unknown. The table has the columns ``metric``, ``scope`` (``plant`` or a DC input),
    ``period`` and ``verdict`` (``pass``, ``fail``, ``unknown``)."""
    if guarantees.empty or not {"metric", "scope", "verdict"} <= set(guarantees.columns):
        return "no guaranteed metric could be measured"
    parts = []
    for metric, rows in guarantees.groupby("metric", sort=False):
        plant = rows[rows["scope"] == "plant"]
        per_input = rows[rows["scope"] != "plant"]
        said = []
        if not plant.empty:
            said.append("plant " + _counted(plant["verdict"]))
            failed = plant.loc[plant["verdict"] == "fail", "period"].astype(str).tolist()
            if failed:
                said[-1] += f" (**failed**: {', '.join(failed[:5])}"
                said[-1] += f" and {len(failed) - 5} more)" if len(failed) > 5 else ")"
        if not per_input.empty:
            said.append("DC inputs " + _counted(per_input["verdict"]))
        parts.append(f"{metric}: {'; '.join(said)}")
    return "; ".join(parts)


def _counted(verdict: pd.Series) -> str:
    """``pass`` when every verdict passes, else how many of each (``3 pass, 1 fail``)."""
    counts = verdict.value_counts()
    if len(counts) == 1:
        only = str(counts.index[0])
        return only if counts.iloc[0] == 1 else f"{only} ({counts.iloc[0]} of {counts.iloc[0]})"
    return ", ".join(f"{counts[name]} {name}" for name in counts.index)


def _text_section(results: bessx.results.Results, name: str) -> Section | None:
    """The section ``bessx.report.<name>_section(results)`` makes when the results hold
    ``<name>``: a :class:`~bessx.document.Section`, or Markdown text read back into one
    (:func:`bessx.document.from_markdown`), so that summary.md and the report say the same."""
    import bessx.report

    maker = getattr(bessx.report, f"{name}_section", None)
    if getattr(results, name, None) is None or maker is None:
        return None
    made = maker(results)
    if isinstance(made, Section):
        return made
    if isinstance(made, str) and made.strip():
        return from_markdown(made, key=name)
    return None


def _text_parts(
    results: bessx.results.Results, name: str, figure_data: Mapping[str, str]
) -> list[dict[str, Any]]:
    section = _text_section(results, name)
    if section is None:
        return []
    part = _part(section)
    figure = f"heatmap_{name}.png"
    if figure in figure_data:
        part["figures"] = [_figure(figure, figure_data[figure])]
    return [part]


def _gaps_section(results: bessx.results.Results) -> Section:
    """Days without data and plant-wide gaps as runs of dates."""
    from bessx.report import days_with_data

    daily = results.daily
    dates = pd.DatetimeIndex(daily[schema.DAY].values)
    with_data = days_with_data(daily)
    items = [
        "Days without any data: "
        + (date_ranges(dates[~with_data]) if (~with_data).any() else "none")
        + ".",
    ]
    gap_days = results.outliers.attrs.get("plant_gap_days") or []
    items.append(
        "Days with a plant-wide gap (not compared for outliers): "
        + (date_ranges(gap_days) if len(gap_days) else "none")
        + "."
    )
    idle = results.outliers.attrs.get("idle_days") or []
    if len(idle):
        items.append(f"Idle days (not compared for outliers): {date_ranges(idle)}.")
    if results.source.get("skipped"):
        items.append(
            f"Exports skipped: {len(results.source['skipped'])} "
            f"({', '.join(map(str, results.source['skipped']))})."
        )
    return Section("gaps", "Gaps", (Items(tuple(items)),))


def health_table(health: xr.Dataset) -> Table:
    """Round-trip efficiency, capacity and its trend per DC input, lowest efficiency first.

    The round-trip efficiency is the median over the windows of ``round_trip_efficiency``
    (the ratio of sums over complete days of a window); the usable capacity [kWh] is that of
    the first and the last window with an estimate; the trend [%/year] is the Theil-Sen
    slope of the usable capacity relative to its first window with its 95 % interval.
    """
    result = health[
        [
            "round_trip_efficiency",
            "usable_capacity",
            "capacity_trend",
            "capacity_trend_low",
            "capacity_trend_high",
            "equivalent_full_cycles",
        ]
    ].compute()
    dims = (schema.INVERTER, schema.DC_INPUT)
    efficiency = result["round_trip_efficiency"].median(schema.WINDOW).transpose(*dims).values
    usable = result["usable_capacity"].transpose(*dims, schema.WINDOW).values
    cycles = result["equivalent_full_cycles"].sum(schema.WINDOW, min_count=1)
    cycles_values = cycles.transpose(*dims).values
    trend = {
        name: result[name].transpose(*dims).values
        for name in ("capacity_trend", "capacity_trend_low", "capacity_trend_high")
    }
    has = (
        health["n_enclosures"].transpose(*dims).values > 0
        if "n_enclosures" in health.coords
        else np.ones(efficiency.shape, dtype=bool)
    )
    inverters = result[schema.INVERTER].values.astype(str)
    dc_inputs = result[schema.DC_INPUT].values
    rows = []
    for i, j in zip(*np.nonzero(has), strict=True):
        finite = usable[i, j][np.isfinite(usable[i, j])]
        rows.append(
            (
                efficiency[i, j],
                (
                    inverters[i],
                    str(int(dc_inputs[j])),
                    _fixed(efficiency[i, j], 3),
                    _fixed(finite[0] if len(finite) else math.nan, 0),
                    _fixed(finite[-1] if len(finite) else math.nan, 0),
                    _fixed(trend["capacity_trend"][i, j], 2),
                    _interval(
                        trend["capacity_trend_low"][i, j], trend["capacity_trend_high"][i, j]
                    ),
                    _fixed(cycles_values[i, j], 1),
                ),
            )
        )
    rows.sort(key=lambda row: (not np.isfinite(row[0]), row[0]))
    return Table(
        (
            "inverter",
            "DC input",
            "round-trip efficiency",
            "usable capacity, first window [kWh]",
            "usable capacity, last window [kWh]",
            "capacity trend [%/year]",
            "95 % interval [%/year]",
            "equivalent full cycles",
        ),
        cells(row for _, row in rows),
        "health-per-dc-input",
    )


def method_section(results: bessx.results.Results, version: str) -> Section:
    """The method in one paragraph, the settings and the inputs' fingerprints."""
    daily = results.daily
    outliers = results.outliers.attrs
    text = (
        f"Written by bessx {version}. Each DC input's power [kW] is integrated over each "
        f"local day of the plant ({daily.attrs.get('timezone', '?')}) by sample and hold "
        "(a sample holds until the next, labels at the interval's start), bridging gaps of "
        f"up to {_plain(daily.attrs.get('max_gap'))} nominal intervals; charging and "
        "discharging are integrated apart and a DC input's energy is shared among its "
        f"enclosures by the `{daily.attrs.get('allocation', '?')}` allocation. Implausible "
        "samples (±inf, beyond the physical limits) are flagged and excluded from every "
        "energy; missing samples (rows or NaN values) are `gap` flags and lower the day's "
        "coverage. An enclosure is an outlier when its daily "
        f"{outliers.get('by', 'discharged')} energy falls more than "
        f"{_percent(outliers.get('threshold'))} and {_plain(outliers.get('z_min'))} robust "
        "standard deviations below the fleet's median on at least "
        f"{outliers.get('min_days', '?')} days. "
        + (
            "Battery health is estimated per DC input over windows of "
            f"{results.health.attrs.get('window_days', '?')} days: usable capacity from "
            "discharge segments, round-trip efficiency as a ratio of sums over complete "
            "days, and the capacity trend as a Theil-Sen slope with its 95 % interval. "
            if results.health is not None
            else ""
        )
        + "The formulas are in the methodology of the bessx documentation."
    )
    blocks: list[Any] = [Text(text)]
    settings = dict(results.source.get("settings") or {})
    for key, value in outliers.items():  # the values in force where the library chose
        if settings.get(f"outliers.{key}") == "default":
            settings[f"outliers.{key}"] = f"{value} (default)"
    if settings:
        blocks += [
            Heading("Settings"),
            Table(("setting", "value"), cells(sorted(settings.items())), "settings"),
        ]
    else:
        blocks.append(Text("The run's settings were not recorded with these results."))
    prints = results.source.get("fingerprints")
    if prints:
        blocks += [
            Heading("Inputs"),
            Text(
                f"{len(prints)} export file(s) read from {_code(results.source.get('data', '?'))}; "
                "the fingerprint is a BLAKE2 hash of each file's size and its first and last "
                "64 KiB, the key of the run cache."
            ),
            Table(("export", "fingerprint"), cells(prints.items()), "fingerprints"),
        ]
    else:
        blocks.append(Text("The inputs' fingerprints were not recorded with these results."))
    return Section("method", "Method and reproducibility", tuple(blocks))


# The settings and the inputs of a run ----------------------------------------------------------
def run_settings(config: Config) -> dict[str, str]:
    """The settings of a run that decide its numbers, as ``name -> value`` text.

    Tables are flattened (``outliers.threshold``); a setting left to the library's default
    is ``default``, a column pattern not given is ``built-in``. The data, output folder and
    outputs are left out: they do not change a number.
    """
    values: dict[str, str] = {}

    def add(prefix: str, item: Any) -> None:
        for field in dataclasses.fields(item):
            value = getattr(item, field.name)
            name = f"{prefix}{field.name}"
            if dataclasses.is_dataclass(value):
                add(f"{name}.", value)
            elif name in ("data", "out", "outputs", "skip_bad_files"):
                continue
            elif value is None:
                values[name] = _NOT_GIVEN.get(
                    name, "built-in" if prefix == "columns." else "default"
                )
            elif hasattr(value, "pattern"):
                values[name] = str(value.pattern)
            elif isinstance(value, tuple):
                values[name] = ", ".join(map(str, value)) or "none"
            else:
                values[name] = str(value)

    add("", config)
    return values


_NOT_GIVEN: Final = {
    "interval": "inferred from the timestamps",
    "topology": "inferred from the columns",
}


def fingerprints(paths: Sequence[Path]) -> dict[str, str]:
    """``bessx.io.entries.fingerprint`` of each export, by file name."""
    from bessx.io.entries import fingerprint

    return {path.name: fingerprint(path) for path in paths}


# Rendering -----------------------------------------------------------------------------------
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("bessx", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _stylesheet(environment: Any) -> Any:
    """The stylesheet shipped with the templates, as the raw text a ``<style>`` holds."""
    from markupsafe import Markup

    css = environment.loader.get_source(environment, "report.css")[0]
    if "</" in css:
        raise ValueError("report.css may not hold '</' (it would end the <style> element)")
    return Markup(css)  # CSS is not HTML: escaping its quotes would break it


def _part(section: Section, *, level: int = 2) -> dict[str, Any]:
    """A section as the template takes it: blocks with their HTML already made safe."""
    from markupsafe import Markup

    blocks: list[dict[str, Any]] = []
    for block in section.blocks:
        if isinstance(block, Text):
            blocks.append({"kind": "text", "html": Markup(inline_html(block.text))})
        elif isinstance(block, Items):
            blocks.append(
                {"kind": "items", "entries": [Markup(inline_html(item)) for item in block.items]}
            )
        elif isinstance(block, Heading):
            blocks.append({"kind": "heading", "text": block.text, "level": level + 1})
        else:
            blocks.append(
                {
                    "kind": "table",
                    "name": block.name,
                    "header": list(block.header),
                    "numeric": block.numeric(),
                    "rows": [[Markup(inline_html(cell)) for cell in row] for row in block.rows],
                }
            )
    return {
        "key": section.key,
        "title": Markup(inline_html(section.title)),
        "level": level,
        "blocks": blocks,
        "children": [],
        "figures": [],
    }


def _group(key: str, title: str, sections: Sequence[Section]) -> dict[str, Any]:
    group = _part(Section(key, title, ()))
    group["children"] = [_part(section, level=3) for section in sections]
    return group


def _figures_part(
    key: str, title: str, names: Sequence[str], figure_data: Mapping[str, str]
) -> dict[str, Any]:
    part = _part(Section(key, title, ()))
    part["figures"] = [_figure(name, figure_data[name]) for name in names if name in figure_data]
    return part


def _figure(name: str, uri: str) -> dict[str, str]:
    return {"name": name, "src": uri, "caption": FIGURES[name]}


def _health_part(results: bessx.results.Results, figure_data: Mapping[str, str]) -> dict[str, Any]:
    from bessx.health import health_section

    if results.health is None:
        return _part(Section("health", "Battery health", (Text(f"Battery health: {_NO_HEALTH}"),)))
    section = health_section(results.health)
    table = health_table(results.health)
    part = _part(
        Section(
            section.key,
            section.title,
            (
                *section.blocks,
                Heading("Round-trip efficiency per DC input"),
                Text(
                    "Lowest round-trip efficiency first; the capacity trend is that of the "
                    "usable capacity relative to the DC input's first window."
                ),
                table,
            ),
        )
    )
    if "capacity_trend.png" in figure_data:
        part["figures"] = [_figure("capacity_trend.png", figure_data["capacity_trend.png"])]
    else:
        part["note"] = _no_trend_reason(results.health)
    return part


def _figure_names(results: bessx.results.Results) -> list[str]:
    names = list(_HEATMAPS)
    if results.health is not None and _has_trend(results.health):
        names.append("capacity_trend.png")
    if getattr(results, "availability", None) is not None and _drawn_by_an_output(
        "heatmap_availability.png"
    ):
        names.append("heatmap_availability.png")
    return names


def _drawn_by_an_output(name: str) -> bool:
    from bessx.figures import FIGURE_WRITERS

    return name in FIGURE_WRITERS


def _has_trend(health: xr.Dataset) -> bool:
    """Whether two windows hold a usable capacity: otherwise no trend axes are drawn."""
    usable = health["usable_capacity"].values
    window_axis = health["usable_capacity"].dims.index(schema.WINDOW)
    finite = np.isfinite(usable)
    other_axes = tuple(k for k in range(usable.ndim) if k != window_axis)
    return int(finite.any(axis=other_axes).sum()) >= 2


def _no_trend_reason(health: xr.Dataset) -> str:
    windows = health.sizes.get(schema.WINDOW, 0)
    return (
        f"No capacity trend figure: a trend needs two windows with a usable capacity, and "
        f"this history gives {windows} window(s) of {health.attrs.get('window_days', '?')} "
        "days."
    )


def _draw(name: str, results: bessx.results.Results) -> bytes:
    """Draw one figure with the writer of its output file."""
    import tempfile

    from bessx.figures import FIGURE_WRITERS

    writer = FIGURE_WRITERS[name]
    with tempfile.TemporaryDirectory(prefix="bessx-figure-") as folder:
        path = Path(folder) / name
        writer(results, path)
        return path.read_bytes()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _period(daily: xr.Dataset) -> str:
    dates = pd.DatetimeIndex(daily[schema.DAY].values)
    return f"{dates[0]:%Y-%m-%d} to {dates[-1]:%Y-%m-%d}" if len(dates) else "no days"


def _fixed(value: Any, digits: int) -> str:
    number = float(value)
    return f"{number:,.{digits}f}" if math.isfinite(number) else MISSING


def _interval(low: Any, high: Any) -> str:
    if not (math.isfinite(float(low)) and math.isfinite(float(high))):
        return MISSING
    return f"{float(low):+.2f} to {float(high):+.2f}"


def _plain(value: Any) -> str:
    try:
        return f"{float(value):g}"
    except (TypeError, ValueError):
        return "?"


def _percent(value: Any) -> str:
    try:
        return f"{100 * float(value):g} %"
    except (TypeError, ValueError):
        return "?"


def _code(text: Any) -> str:
    return f"`{str(text).replace('`', '')}`"
