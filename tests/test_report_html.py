"""report.html: self-contained, the twin of summary.md, the numbers of the CSVs; bad input."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import io
import re
import warnings
from pathlib import Path

import html5lib
import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bessx import synthetic
from bessx.cli import main
from bessx.config import OUTPUTS, Config
from bessx.document import date_ranges, from_markdown, to_markdown
from bessx.health import health, health_section
from bessx.io.exports import ExportWarning, open_exports
from bessx.pipeline import output_names, run, write_outputs
from bessx.report import summary_markdown, summary_sections
from bessx.report_html import report_html
from bessx.results import Results
from bessx.synthetic import write_plant

NS = "{http://www.w3.org/1999/xhtml}"
POWER = "BESS{dc} DC Input Power (kW) [Battery Inverter {inverter}]"
SOC = "System state of charge (%) [Battery system {enclosure}]"


# Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def plant(tmp_path_factory):
    return write_plant(
        tmp_path_factory.mktemp("report") / "exports", "2022-10-01", 3, inverters=4, seed=3
    )


@pytest.fixture(scope="module")
def done(plant, tmp_path_factory) -> tuple[Results, Path]:
    out = tmp_path_factory.mktemp("report-out")
    config = Config(data=plant.folder, out=out, timezone=synthetic.TIMEZONE)
    # one-day health windows: three days give a capacity trend to draw
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)  # the injected duplicate row
        trend = health(
            open_exports(plant.folder, timezone=synthetic.TIMEZONE), window="1D"
        ).compute()
    results = dataclasses.replace(run(config), health=trend)
    write_outputs(results, out, output_names(config.outputs))
    return results, out


def parse(text: str):
    return html5lib.parse(text, treebuilder="etree", namespaceHTMLElements=True)


def tag(element) -> str:
    return str(element.tag).removeprefix(NS)


def text_of(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def html_tables(document) -> dict[str, list[list[str]]]:
    """Each table of a parsed report by its name: the header row, then the body rows."""
    tables = {}
    for table in document.iter(f"{NS}table"):
        rows = [[text_of(cell) for cell in row] for row in table.iter(f"{NS}tr")]
        tables[table.get("data-table")] = rows
    return tables


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The pipe tables of a Markdown text, cells unescaped and without inline mark-up."""
    tables, current = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
            cells = [cell.strip().replace("\\|", "|") for cell in cells]
            # inline mark-up is text in the HTML: `code` and **strong** lose their marks
            current.append([re.sub(r"\*\*(.+?)\*\*", r"\1", c).replace("`", "") for c in cells])
            continue
        if current:
            tables.append([row for k, row in enumerate(current) if k != 1])  # the rule row
            current = []
    return tables


# Self-contained ------------------------------------------------------------------------------
def test_report_is_written_with_the_set(done):
    _, out = done
    assert (out / "report.html").is_symlink()
    assert "report" in OUTPUTS and "report.html" in output_names(OUTPUTS)


def test_every_figure_is_embedded_and_nothing_is_fetched(done):
    _, out = done
    text = (out / "report.html").read_text(encoding="utf-8")
    document = parse(text)
    ids = {element.get("id") for element in document.iter() if element.get("id")}
    images = list(document.iter(f"{NS}img"))
    assert len(images) == 2 + 1 + 1  # the two heatmaps, the capacity trend, the availability
    for element in document.iter():
        assert tag(element) not in ("script", "link", "iframe", "object", "embed"), tag(element)
        source = element.get("src")
        if source is not None:
            assert "http" not in source
            assert source.startswith("data:image/png;base64,")
        reference = element.get("href")
        if reference is not None:
            assert reference.startswith("#") and reference[1:] in ids, reference
    style = "".join(element.text or "" for element in document.iter(f"{NS}style"))
    assert "url(" not in style and "@import" not in style and "@font-face" not in style
    assert '"Liberation Sans"' in style and "&#" not in style  # CSS as written, not escaped
    assert "@media print" in style and "size: A4" in style
    # each figure decodes, and is the output file of the same set, byte for byte
    embedded = {
        figure.get("id").removeprefix("figure-"): base64.b64decode(
            figure.find(f"{NS}img").get("src").partition(",")[2]
        )
        for figure in document.iter(f"{NS}figure")
    }
    assert len(embedded) == len(images)
    for name, png in embedded.items():
        assert mpimg.imread(io.BytesIO(png)).ndim == 3
        assert png == (out / name).read_bytes(), name


def test_report_holds_the_parts_in_order(done, plant):
    _, out = done
    document = parse((out / "report.html").read_text(encoding="utf-8"))
    main_element = document.find(f".//{NS}main")
    order = [section.get("id") for section in main_element.findall(f"{NS}section")]
    assert order == [
        "glance",
        "heatmaps",
        "lowest-charged",
        "lowest-discharged",
        "outliers",
        "health",
        "availability",
        "quality",
        "problems",
        "method",
    ]
    method = text_of(document.find(f".//{NS}section[@id='method']"))
    from bessx import __version__
    from bessx.io.entries import fingerprint

    assert f"bessx {__version__}" in method
    assert html_tables(document)["fingerprints"][1:] == [
        [path.name, fingerprint(path)] for path in plant.files
    ]
    settings = dict(html_tables(document)["settings"][1:])
    assert settings["allocation"] == "equal" and settings["max_gap"] == "3.0"


def test_every_summary_table_has_its_twin(done):
    _, out = done
    summary = markdown_tables((out / "summary.md").read_text(encoding="utf-8"))
    tables = html_tables(parse((out / "report.html").read_text(encoding="utf-8")))
    assert len(summary) >= 6
    unmatched = [table for table in summary if table not in tables.values()]
    assert unmatched == []


def test_the_numbers_equal_the_csvs(done):
    _, out = done
    document = parse((out / "report.html").read_text(encoding="utf-8"))
    tables = html_tables(document)
    daily = pd.read_csv(out / "daily_energy.csv")
    key = {
        text_of(item.find(f"{NS}dt")): text_of(item.find(f"{NS}dd"))
        for item in document.find(f".//{NS}dl").findall(f"{NS}div")
    }
    assert key["charged (DC side)"] == f"{daily['charged_kwh'].sum() / 1000:,.1f} MWh"
    assert key["discharged (DC side)"] == f"{daily['discharged_kwh'].sum() / 1000:,.1f} MWh"
    ratio = daily["discharged_kwh"].sum() / daily["charged_kwh"].sum()
    assert key["round-trip ratio"] == f"{ratio:.3f}"
    assert key["outliers"] == str(len(pd.read_csv(out / "outliers.csv")))
    energy = dict(tables["plant-energy"][1:3])
    for quantity in ("charged", "discharged"):
        shown = float(energy[quantity].split(" kWh")[0].replace(",", ""))
        total = daily[f"{quantity}_kwh"].sum()
        # the CSV rounds each value to 0.001 kWh, the report the total to 0.1 kWh
        assert shown == pytest.approx(total, abs=0.05 + 0.0005 * len(daily))
    for by in ("charged", "discharged"):
        csv = pd.read_csv(out / f"lowest_{by}.csv", keep_default_na=False)
        rows = tables[f"lowest-{by}"][1:]
        assert [row[0] for row in rows] == csv["enclosure_id"].astype(str).tolist()
        for column, k in (("charged_kwh_per_day", 3), ("discharged_kwh_per_day", 4)):
            shown = [float(row[k].replace(",", "")) for row in rows]
            np.testing.assert_allclose(shown, csv[column], atol=0.05 + 5e-4)
    found = pd.read_csv(out / "outliers.csv", keep_default_na=False)
    rows = tables["outliers"][1:]
    assert len(rows) == len(found) > 0
    np.testing.assert_allclose(
        [float(row[7].replace(",", "")) for row in rows], found["shortfall_kwh"], atol=0.05 + 5e-4
    )
    health = pd.read_csv(out / "health.csv")
    efficiency = health.groupby(["inverter", "dc_input"])["round_trip_efficiency"].median()
    rows = tables["health-per-dc-input"][1:]
    assert len(rows) == len(efficiency)
    for row in rows:
        expected = efficiency[(row[0], int(row[1]))]
        if np.isnan(expected):
            assert row[2] == "–"
        else:
            assert float(row[2]) == pytest.approx(expected, abs=0.0005 + 1e-6)
    assert any(row[2] != "–" for row in rows)
    flags = pd.read_csv(out / "quality.csv", keep_default_na=False)
    by_kind = {row[0]: row for row in tables["flags-by-kind"][1:]}
    power = flags[flags["enclosure_id"] == ""]
    for flag, rows in power.groupby("flag"):
        if flag == "duplicates_dropped":
            continue
        assert by_kind[flag][1] == f"{len(rows):,}"
        assert by_kind[flag][2] == f"{rows['samples'].sum():,}"
    soc = flags[flags["enclosure_id"] != ""]
    for flag, rows in soc.groupby("flag"):
        assert by_kind[flag][3] == f"{len(rows):,}"
        assert by_kind[flag][4] == f"{rows['samples'].sum():,}"


# Bad input ---------------------------------------------------------------------------------
def test_parts_not_computed_are_left_out_with_one_line(done):
    results, _ = done
    document = parse(report_html(dataclasses.replace(results, health=None, availability=None)))
    health = document.find(f".//{NS}section[@id='health']")
    assert [tag(child) for child in health] == ["h2", "p"]
    assert "not computed in this run" in text_of(health)
    assert "health-per-dc-input" not in html_tables(document)
    assert len(list(document.iter(f"{NS}img"))) == 2
    glance = text_of(document.find(f".//{NS}section[@id='glance']"))
    for name in ("Availability", "Guarantees"):
        assert f"{name}: not computed in this run" in glance


def test_one_day_draws_no_trend_axes(tmp_path):
    plant = write_plant(tmp_path / "exports", "2023-01-10", 1, inverters=2, seed=4)
    out = tmp_path / "out"
    config = Config(data=plant.folder, out=out, timezone=synthetic.TIMEZONE)
    write_outputs(run(config), out, output_names(config.outputs))
    document = parse((out / "report.html").read_text(encoding="utf-8"))
    names = [figure.get("id") for figure in document.iter(f"{NS}figure")]
    assert names == [
        "figure-heatmap_discharged.png",
        "figure-heatmap_discharged_relative.png",
        "figure-heatmap_availability.png",
    ]
    health = text_of(document.find(f".//{NS}section[@id='health']"))
    assert "No capacity trend figure: a trend needs two windows" in health


def test_html_characters_in_names_and_paths_are_text(done):
    results, _ = done
    bad = "<b>1&amp;A</b>"
    lowest = results.lowest_charged.copy()
    ids = results.daily["enclosure_id"].values.astype(object)
    ids[ids == lowest["enclosure_id"].iloc[0]] = bad
    lowest.loc[lowest.index[0], "enclosure_id"] = bad
    daily = results.daily.assign_coords(enclosure_id=(results.daily["enclosure_id"].dims, ids))
    results = dataclasses.replace(
        results,
        daily=daily,
        lowest_charged=lowest,
        source={
            **results.source,
            "data": "exports/<script>alert(1)</script>&co",
            "topology": "topology <&> 'x'.csv",
        },
        warnings=[*results.warnings, "x.parquet: <img src=http://example.com/x.png> & more"],
    )
    text = report_html(results)
    assert "<script" not in text and "<b>1" not in text and "<img src=http" not in text
    document = parse(text)
    assert not list(document.iter(f"{NS}script")) and not list(document.iter(f"{NS}b"))
    assert all(image.get("src").startswith("data:") for image in document.iter(f"{NS}img"))
    assert "exports/<script>alert(1)</script>&co" in text_of(document.find(f".//{NS}h1"))
    problems = text_of(document.find(f".//{NS}section[@id='problems']"))
    assert "<img src=http://example.com/x.png> & more" in problems
    assert html_tables(document)["lowest-charged"][1][0] == bad
    assert "Topology: topology <&> 'x'.csv" in text_of(document)


# Dates as ranges, coverage over the days with data --------------------------------------------
@pytest.fixture(scope="module")
def holey(tmp_path_factory) -> tuple[Path, Path]:
    """Two days, a hole of 20 days, two days: files for 4 of 24 days."""
    root = tmp_path_factory.mktemp("holey")
    folder = root / "exports"
    write_plant(folder, "2022-10-01", 2, inverters=2, seed=5, faults=False)
    write_plant(folder, "2022-10-23", 2, inverters=2, seed=6, faults=False)
    out = root / "out"
    assert (
        main(["run", str(folder), "--timezone", synthetic.TIMEZONE, "--out", str(out), "--quiet"])
        == 0
    )
    return folder, out


def test_a_hole_is_one_date_range_in_summary_report_and_info(holey, capsys):
    folder, out = holey
    hole = "2022-10-03 to 2022-10-22 (20 days)"
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert f"4 with data, 20 without: {hole}\n" in summary
    assert "2022-10-04, 2022-10-05" not in summary
    report = text_of(parse((out / "report.html").read_text(encoding="utf-8")))
    assert f"Days without any data: {hole}." in report
    assert f"without data: {hole}." in report
    capsys.readouterr()
    assert main(["info", str(folder), "--timezone", synthetic.TIMEZONE]) == 0
    info = capsys.readouterr().out
    assert f"4 with data, 20 missing: {hole}\n" in info


def test_coverage_counts_the_days_with_data_only(holey):
    _, out = holey
    daily = pd.read_csv(out / "daily_energy.csv")
    per_input = daily.groupby(["date", "inverter", "dc_input"])["coverage"].max()
    with_data = per_input[per_input.groupby(level="date").transform("max") > 0]
    summary = (out / "summary.md").read_text(encoding="utf-8")
    expected = (
        f"Mean coverage of the {len(with_data):,} DC input-days of the 4 day(s) with data: "
        f"{with_data.mean():.3f}. DC input-days with coverage below 0.99: "
        f"{int((with_data < 0.99).sum())}. The 20 day(s) without any data are not counted"
    )
    assert expected in summary
    assert with_data.mean() > 0.9  # not the 0.17 of counting the hole as data


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ([], ""),
        (["2024-03-30", "2024-03-31", "2024-04-01"], "2024-03-30 to 2024-04-01 (3 days)"),
        (["2024-02-29", "2024-02-28", "2024-02-28"], "2024-02-28 to 2024-02-29 (2 days)"),
        (["2024-01-01", "2024-01-03"], "2024-01-01, 2024-01-03"),
    ],
)
def test_date_ranges(dates, expected):
    assert date_ranges(dates) == expected


def test_date_ranges_count_what_they_leave_out():
    dates = pd.date_range("2024-01-01", periods=30, freq="2D")
    text = date_ranges(dates, limit=3)
    assert text == "2024-01-01, 2024-01-03, 2024-01-05 and 27 more runs (27 days)"


# Issue: the flag table per kind of signal ------------------------------------------------------
def hand_written_day(folder: Path) -> None:
    """One Berlin day at 60 s, 2 inverters × 2 DC inputs, one enclosure each, written with
    pandas: one repeated row, and a 30-minute NaN stretch in one DC input's power."""
    index = pd.date_range("2023-06-01", periods=1440, freq="60s", name="Timestamp")
    minutes = np.arange(1440)
    power = np.where((minutes > 600) & (minutes < 720), 400.0, 0.0)
    power = np.where((minutes > 1000) & (minutes < 1100), -450.0, power)
    columns = {}
    for inverter in ("1APCS1", "1APCS2"):
        n = inverter[-1]
        for dc in (1, 2):
            columns[POWER.format(dc=dc, inverter=inverter)] = power.copy()
            columns[SOC.format(enclosure=f"1A{n}BAT{dc}")] = np.linspace(20.0, 80.0, 1440)
    frame = pd.DataFrame(columns, index=index)
    frame.iloc[300:330, frame.columns.get_loc(POWER.format(dc=2, inverter="1APCS2"))] = np.nan
    frame = pd.concat([frame.iloc[:500], frame.iloc[[499]], frame.iloc[500:]])
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "20230601.parquet")


def test_flag_table_counts_each_signal_apart(tmp_path):
    folder = tmp_path / "exports"
    hand_written_day(folder)
    config = Config(data=folder, timezone="Europe/Berlin", interval=60.0)
    results = run(config)
    text = summary_markdown(
        results.daily,
        lowest_charged=results.lowest_charged,
        lowest_discharged=results.lowest_discharged,
        outliers=results.outliers,
        warnings=results.warnings,
        source=results.source,
        quality=results.quality,
    )
    table = next(t for t in markdown_tables(text) if t[0][0] == "flag")
    assert table[0][:6] == [
        "flag",
        "DC input-days",
        "DC power samples",
        "enclosure-days",
        "SOC samples",
        "export rows",
    ]
    rows = {row[0]: row for row in table[1:]}
    # one repeated row of the export is one row, not one per DC input
    assert rows["duplicates_dropped"][1:6] == ["–", "–", "–", "–", "1"]
    # the NaN stretch is 30 missing intervals of one DC input's power, no SOC, no non_finite
    assert rows["gap"][1:6] == ["1", "30", "0", "0", "–"]
    assert "non_finite" not in rows
    assert "A NaN sample is missing: it counts in `gap`, never in `non_finite`" in text


def expand(text: str) -> set[pd.Timestamp]:
    """The dates a :func:`date_ranges` text names (its inverse, for the property test)."""
    dates: set[pd.Timestamp] = set()
    for part in filter(None, text.split(", ")):
        first, _, rest = part.partition(" to ")
        if rest:
            last, _, count = rest.partition(" (")
            span = pd.date_range(first, last, freq="D")
            assert count == f"{len(span)} days)"
            dates.update(span)
        else:
            dates.add(pd.Timestamp(first))
    return dates


@given(st.sets(st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2020, 3, 1))))
def test_date_ranges_name_exactly_the_dates(dates):
    text = date_ranges(sorted(dates), limit=len(dates) + 1)
    assert expand(text) == {pd.Timestamp(day) for day in dates}
    # runs are separated by at least one missing day: no two runs could be merged
    starts = {day for day in dates if day - dt.timedelta(days=1) not in dates}
    assert (len(text.split(", ")) if text else 0) == len(starts)


# Sections other modules write as Markdown text -------------------------------------------------
def test_every_summary_section_reads_back_from_its_markdown(done):
    results, _ = done
    sections = summary_sections(
        results.daily,
        lowest_charged=results.lowest_charged,
        lowest_discharged=results.lowest_discharged,
        outliers=results.outliers,
        warnings=results.warnings,
        source=results.source,
        quality=results.quality,
    )
    for section in [*sections[1:], health_section(results.health)]:
        text = to_markdown(section)
        again = from_markdown(text)
        assert to_markdown(again) == text, section.key
        assert [t.rows for t in again.tables()] == [t.rows for t in section.tables()]


@dataclasses.dataclass(frozen=True)
class WithGuarantees(Results):
    guarantees: pd.DataFrame | None = None


def test_a_section_written_as_text_is_in_the_report_with_its_verdicts(done, monkeypatch):
    import bessx.report

    results, _ = done
    table = pd.DataFrame(
        {
            "period": ["2022-10", "2022-10-01", "2022-10-01", "2022-10-01", "2022-10-01"],
            "metric": ["availability", *["round_trip_efficiency"] * 3, "capacity_retention"],
            "scope": ["plant", "plant", "1APCS1 DC1", "1APCS1 DC2", "plant"],
            "verdict": ["pass", "fail", "fail", "pass", "unknown"],
        }
    )
    text = "## Guarantees\n\nThe guaranteed <metrics> & their verdicts.\n\n"
    text += "| metric | scope | verdict |\n| --- | --- | --- |\n"
    text += "\n".join(f"| {r.metric} | {r.scope} | {r.verdict} |" for r in table.itertuples())
    monkeypatch.setattr(bessx.report, "guarantees_section", lambda r: text, raising=False)
    fields = {
        f.name: getattr(results, f.name)
        for f in dataclasses.fields(results)
        if f.name != "guarantees"
    }
    fields["availability"] = None  # as a run that does not compute it
    document = parse(report_html(WithGuarantees(**fields, guarantees=table)))
    section = document.find(f".//{NS}section[@id='guarantees']")
    assert text_of(section.find(f"{NS}h2")) == "Guarantees"
    assert "The guaranteed <metrics> & their verdicts." in text_of(section)
    rows = html_tables(document)["guarantees-1"]
    assert rows == [
        ["metric", "scope", "verdict"],
        *table[["metric", "scope", "verdict"]].values.tolist(),
    ]
    glance = text_of(document.find(f".//{NS}section[@id='glance']"))
    assert (
        "Guarantees: availability: plant pass; round_trip_efficiency: plant fail (failed: "
        "2022-10-01); DC inputs 1 fail, 1 pass; capacity_retention: plant unknown (see "
        "Guarantees)." in glance
    )
    assert "Availability: not computed in this run" in glance
