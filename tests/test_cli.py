"""Tests of the ``bessx`` command on a small synthetic plant.

Each output is checked against the library's own numbers; the error paths against their exit
codes and one-line messages; atomicity with real bad input. The run whose outputs are checked,
and the exit codes, warnings and traceback as a process shows them, are the real command in a
subprocess (:func:`bessx`); the other tests call the same ``main`` in this process
(:func:`bessx_here`), sparing each the seconds a fresh interpreter takes to import the stack.
``summary_markdown`` and the staging folder are also tested in-process.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import subprocess
import sys
import warnings
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt

import bessx as bessx_package
from bessx import __version__, synthetic
from bessx.availability import availability
from bessx.cli import EXIT_DATA, EXIT_USAGE, HEATMAP_DPI, OUTPUT_FILES, main
from bessx.energy import daily_energy
from bessx.errors import OutputError
from bessx.health import health, summary_section
from bessx.io.archive import open_daily
from bessx.io.exports import ExportWarning, open_exports
from bessx.io.outputs import locked, write_set
from bessx.outliers import outliers
from bessx.plot import heatmap
from bessx.quality import quality, quality_table
from bessx.report import LOW_COVERAGE, availability_section, summary_markdown
from bessx.synthetic import write_plant
from bessx.tables import CSV_DECIMALS, lowest, to_frame

ALL_OUTPUTS = sorted(name for names in OUTPUT_FILES.values() for name in names)
START, DAYS, INVERTERS, SEED = "2022-10-01", 3, 8, 1


# Helpers -------------------------------------------------------------------------------------
def bessx(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m bessx ARGS`` the way a user would (stderr is not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "bessx", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "", "PYTHONPATH": _TESTED_ROOT},
    )


def bessx_here(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``bessx ARGS`` as :func:`bessx` gives it, but by calling ``main`` in this process, in
    ``cwd``: the same exit code and the same lines on stdout and stderr (not a terminal)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with (
        contextlib.chdir(cwd),
        contextlib.redirect_stdout(stdout),
        contextlib.redirect_stderr(stderr),
    ):
        code = main([str(arg) for arg in args])
    return subprocess.CompletedProcess(["bessx", *args], code, stdout.getvalue(), stderr.getvalue())


#: The folder holding the bessx package under test, so the subprocess imports the same copy.
_TESTED_ROOT = os.pathsep.join(
    [str(Path(bessx_package.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]
).rstrip(os.pathsep)


def error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without the reading warnings."""
    return [line for line in result.stderr.splitlines() if not line.startswith("bessx: warning:")]


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int, *parts: str):
    assert result.returncode == code, result.stderr
    lines = error_lines(result)
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("bessx: error: ")
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in lines[0]


def digest(folder: Path) -> dict[str, str]:
    """Every entry of ``folder`` with the hash of its content."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.iterdir())
    }


def shown(folder: Path) -> list[str]:
    """The names a user sees in an output folder (not the hidden output sets)."""
    return sorted(path.name for path in folder.iterdir() if not path.name.startswith("."))


def leftovers(*folders: Path) -> list[str]:
    """Staging folders, temporary links, and sets beyond the current and the previous one."""
    found = [p.name for f in folders if f.exists() for p in f.iterdir() if ".tmp-" in p.name]
    for folder in folders:
        state = folder / ".bessx"
        if state.is_dir():
            found += [p.name for p in state.iterdir() if p.name.startswith(".tmp-")]
            found += [p.name for p in state.iterdir() if p.name not in STATE_ENTRIES]
            sets = sorted(p.name for p in (state / "sets").iterdir())
            if len(sets) > 2:
                found += sets
    return found


#: What an output folder's .bessx may hold between runs.
STATE_ENTRIES = {"lock", "current", "previous", "sets", "cache"}


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path)  # pandas parses floats exactly (round trip)


def assert_same_table(written: pd.DataFrame, expected: pd.DataFrame) -> None:
    expected = expected.reset_index(drop=True)
    assert list(written.columns) == list(expected.columns)
    assert len(written) == len(expected)
    for column in expected.columns:
        if expected[column].dtype.kind == "f":
            decimals = [d for end, d in CSV_DECIMALS.items() if str(column).endswith(end)]
            # the CSV holds the value rounded to its decimals, nothing further off
            atol = 0.5 * 10.0 ** -decimals[0] * (1 + 1e-9) if decimals else 0.0
            np.testing.assert_allclose(
                written[column].to_numpy(float), expected[column], rtol=0, atol=atol
            )
        elif expected[column].dtype.kind == "M":
            dates = expected[column].dt.strftime("%Y-%m-%d")
            assert written[column].astype(str).tolist() == dates.tolist()
        else:
            text = written[column].astype(object).where(written[column].notna(), "").astype(str)
            assert text.tolist() == expected[column].astype(str).tolist()


def corrupt_data_page(path: Path) -> None:
    """Overwrite one DC power column's data pages; the footer stays readable."""
    row_group = pq.read_metadata(path).row_group(0)
    for index in range(row_group.num_columns):
        column = row_group.column(index)
        if column.path_in_schema.startswith("BESS1 DC Input Power"):
            start, size = column.data_page_offset, column.total_compressed_size
            break
    content = bytearray(path.read_bytes())
    content[start + 10 : start + size - 5] = b"\xab" * (size - 15)
    path.write_bytes(bytes(content))


# Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def plant(work: Path):
    return write_plant(work / "exports", START, DAYS, inverters=INVERTERS, seed=SEED, faults=True)


@pytest.fixture(scope="module")
def api(plant) -> dict:
    """The library's answers on the same folder, with the warnings it gives."""
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        history = open_exports(plant.folder, timezone=synthetic.TIMEZONE)
    daily = daily_energy(history).compute()
    return {
        "history": history,
        "daily": daily,
        "quality": quality_table(quality(history)),
        "warnings": [str(r.message) for r in records if issubclass(r.category, ExportWarning)],
    }


@pytest.fixture(scope="module")
def run(work: Path, plant) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = work / "results"
    return bessx("run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, cwd=work), out


# bessx run: the outputs ------------------------------------------------------------------------
def test_run_writes_every_output(run, work):
    result, out = run
    assert result.returncode == 0, result.stderr
    assert shown(out) == ALL_OUTPUTS
    assert all((out / name).is_symlink() for name in ALL_OUTPUTS)
    assert leftovers(out, work) == []
    assert "Traceback" not in result.stderr
    assert f"Wrote {len(ALL_OUTPUTS)} file(s)" in result.stdout


def test_reading_warnings_are_one_line_each(run, api):
    result, _ = run
    shown = [line for line in result.stderr.splitlines() if line.startswith("bessx: warning: ")]
    assert shown == [f"bessx: warning: {message}" for message in api["warnings"]]
    assert any("duplicate row" in line for line in shown)


def test_daily_csv_equals_the_api(run, api):
    _, out = run
    assert_same_table(read_csv(out / "daily_energy.csv"), to_frame(api["daily"]))


def test_daily_csv_is_written_to_the_precision_of_the_data(run):
    _, out = run
    lines = (out / "daily_energy.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "date,inverter,dc_input,enclosure_id,charged_kwh,discharged_kwh,coverage"
    for line in lines[1:50]:
        date, _, _, _, charged, discharged, coverage = line.split(",")
        assert len(date) == 10
        for energy in (charged, discharged):
            assert len(energy.partition(".")[2]) <= 3
        assert len(coverage.partition(".")[2]) <= 4


def test_lowest_and_outlier_csvs_equal_the_api(run, api):
    _, out = run
    daily = api["daily"]
    for by in ("charged", "discharged"):
        assert_same_table(read_csv(out / f"lowest_{by}.csv"), lowest(daily, 5, by=by))
    assert_same_table(read_csv(out / "outliers.csv"), outliers(daily))


def test_netcdf_round_trips_the_api(run, api):
    _, out = run
    archived = open_daily(out / "daily_energy.nc")
    expected = api["daily"]
    xr.testing.assert_equal(archived, expected)
    for name in expected.variables:
        xr.testing.assert_identical(archived[name].variable, expected[name].variable)
    assert {k: v for k, v in archived.attrs.items() if k != "history"} == {
        k: v for k, v in expected.attrs.items() if k != "history"
    }
    assert archived.attrs["allocation"] == "equal"


def test_heatmap_png_decodes_at_the_figure_size(run, api):
    _, out = run
    image = mpimg.imread(out / "heatmap_discharged.png")
    figure = heatmap(api["daily"], "discharged").figure
    figure.set_dpi(HEATMAP_DPI)
    width, height = figure.canvas.get_width_height()
    plt.close(figure)
    assert image.shape[:2] == (height, width)
    assert image.shape[2] in (3, 4)


def test_relative_heatmap_is_written_next_to_the_absolute_one(run, api):
    _, out = run
    image = mpimg.imread(out / "heatmap_discharged_relative.png")
    figure = heatmap(api["daily"], "discharged", relative=True).figure
    figure.set_dpi(HEATMAP_DPI)
    width, height = figure.canvas.get_width_height()
    plt.close(figure)
    assert image.shape[:2] == (height, width)
    absolute = mpimg.imread(out / "heatmap_discharged.png")
    assert not np.array_equal(image[..., :3], absolute[..., :3])


def test_summary_reports_the_injected_faults(run, plant):
    _, out = run
    text = (out / "summary.md").read_text(encoding="utf-8")
    faults = {fault.kind: fault for fault in plant.faults}
    dead, weak = faults["dead_dc_input"], faults["weak_enclosure"]
    assert f"DC input {dead.dc_input} of {dead.inverter} (enclosures " in text
    assert " delivered ≈0 " in text
    # allocation="equal" (the default) finds the weak enclosure's DC input, one row
    weak_rows = [line for line in text.splitlines() if "| weak_dc_input |" in line]
    assert len(weak_rows) == 1
    assert weak.enclosure_id in weak_rows[0] and f"| {weak.inverter} |" in weak_rows[0]
    duplicate_day = faults["duplicate_row"].dates[0].replace("-", "")
    assert f"{duplicate_day}.parquet: 1 duplicate row(s) dropped" in text
    assert f"{START} to 2022-10-03" in text
    assert "round-trip ratio" in text and "Australia/Sydney" in text


def test_summary_file_is_summary_markdown_of_the_api(run, api, plant):
    _, out = run
    daily = api["daily"]
    expected = summary_markdown(
        daily,
        lowest_charged=lowest(daily, 5, by="charged"),
        lowest_discharged=lowest(daily, 5, by="discharged"),
        outliers=outliers(daily),
        warnings=api["warnings"],
        source={
            "data": str(plant.folder),
            "files": [path.name for path in plant.files],
            "rows": api["history"].sizes["time"],
            "interval": "inferred",
        },
        quality=api["quality"],
    )
    expected += "\n" + summary_section(health(api["history"]))
    per_day = availability(api["history"])
    expected += "\n" + availability_section(SimpleNamespace(availability=per_day))
    assert (out / "summary.md").read_text(encoding="utf-8") == expected


def test_summary_markdown_lists_low_coverage_and_no_findings(api):
    daily = api["daily"]
    gappy = daily.assign(coverage=daily["coverage"].where(daily["inverter"] != "1APCS2", 0.5))
    none = outliers(daily).iloc[:0]
    text = summary_markdown(
        gappy,
        lowest_charged=lowest(daily, 5, by="charged"),
        lowest_discharged=lowest(daily, 5, by="discharged"),
        outliers=none,
        warnings=[],
        source={"data": "exports", "files": ["a.parquet"]},
    )
    per_dc_input = gappy["coverage"].max("enclosure")  # the same for every enclosure
    expected = int((per_dc_input < LOW_COVERAGE).sum())
    assert expected >= 6  # at least 1APCS2's 2 DC inputs × 3 days
    assert f"DC input-days with coverage below {LOW_COVERAGE}: {expected}." in text
    assert "| 2022-10-01 | 1APCS2 | 1 | 0.500 | 12.00 |" in text
    assert "No enclosure underperforms its peers." in text
    assert text.endswith("## Problems found while reading\n\nNone.\n")


def test_summary_lists_plant_wide_gaps_once_then_the_worst_dc_input_days():
    from bessx.testing import make_daily

    n_days, n_inverters = 30, 24
    coverage = np.ones((n_days, n_inverters, 2, 3))
    gap_days = list(range(3, 23))
    coverage[gap_days] = 1 - 0.5 / 24  # 20 days with 30 min of the whole plant missing
    coverage[7, 5, 1] = 1 - 1.0 / 24  # a 60-minute NaN stretch of one DC input
    coverage[25, 9, 0] = 1 - 2.0 / 24  # and a 2-hour one on a day without a plant gap
    coverage[12, 3, 0] = 1 - 0.5 / 24 - 1e-4  # as short as the plant: not its own gap
    daily = make_daily(np.full(coverage.shape, 2800.0), [2, 3] * 12, coverage=coverage)
    daily = daily.assign_attrs(timezone="Australia/Sydney")
    text = summary_markdown(
        daily,
        lowest_charged=lowest(daily, 5, by="charged"),
        lowest_discharged=lowest(daily, 5, by="discharged"),
        outliers=outliers(daily),
        warnings=[],
        source={"data": "exports", "files": ["a.parquet"]},
    )
    section = text.split("## Coverage")[1].split("## Plant energy")[0]
    gaps, worst = section.split("### Worst DC input-days")
    gap_rows = [line for line in gaps.splitlines() if line.startswith("| 2024-")]
    assert len(gap_rows) == len(gap_days)  # once per day, not once per DC input
    assert gap_rows[0] == "| 2024-03-04 | 48 of 48 | 0.979 | 0.50 |"
    worst_rows = [line for line in worst.splitlines() if line.startswith("| 2024-")]
    assert worst_rows == [
        "| 2024-03-26 | 1BPCS1 | 1 | 0.917 | 2.00 |",
        "| 2024-03-08 | 1APCS6 | 2 | 0.958 | 1.00 |",
    ]
    assert "more" not in worst


# bessx info and demo ---------------------------------------------------------------------------
def test_info_inventories_without_computing(work, plant):
    result = bessx_here("info", plant.folder, "--timezone", synthetic.TIMEZONE, cwd=work)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    columns = len(pq.read_schema(plant.files[0]).names)
    assert f"{DAYS} parquet export(s)" in text
    assert f"{START} to 2022-10-03: 3 with data, 0 missing" in text
    assert "36 s (inferred)" in text and "Australia/Sydney" in text
    assert "8 (1APCS1 … 1APCS8)" in text
    assert "38: 3 inverters × 3+3, 5 × 2+2 per DC input" in text
    assert f"{columns:,} in 20221001.parquet: 16 DC power, 38 SOC, 3 plant, 1 timestamp" in text
    assert "1 duplicate row(s) dropped" in text
    assert "50 sample(s) missing" in text  # the missing-rows fault
    assert result.stderr == ""


def test_demo_writes_exports_and_results(work):
    out = work / "demo"
    result = bessx_here("demo", "--out", out, "--days", 2, "--inverters", 6, "--quiet", cwd=work)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert error_lines(result) == []
    assert len(list((out / "exports").glob("*.parquet"))) == 2
    assert (out / "exports" / "faults.json").is_file()
    assert shown(out / "results") == ALL_OUTPUTS

    again = bessx_here("demo", "--out", out, "--days", 1, "--inverters", 6, cwd=work)
    assert again.returncode == 0, again.stderr
    assert len(list((out / "exports").glob("*.parquet"))) == 1  # replaced, not mixed
    assert "Injected faults" in again.stdout and str(out / "results") in again.stdout
    assert "fast_fade" not in again.stdout  # a demo's week cannot show it
    summary = (out / "results" / "summary.md").read_text(encoding="utf-8")
    assert "## Injected faults (demo plant)" in summary
    assert leftovers(out, work) == []


def test_demo_leaves_a_foreign_exports_folder_alone(work):
    out = work / "not-a-demo"
    (out / "exports").mkdir(parents=True)
    (out / "exports" / "notes.txt").write_text("mine")
    result = bessx("demo", "--out", out, "--days", 1, "--inverters", 6, cwd=work)
    assert_one_line_error(result, EXIT_USAGE, "not written by bessx demo")
    assert [path.name for path in (out / "exports").iterdir()] == ["notes.txt"]


# Errors ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def broken(work: Path, plant) -> Path:
    """The plant's exports and a file of garbage named like an export."""
    folder = work / "broken"
    folder.mkdir()
    for path in plant.files:
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "20221004.parquet").write_bytes(b"not parquet at all")
    return folder


def test_corrupt_file_exits_1_naming_it(work, broken):
    result = bessx_here(
        "run", broken, "--timezone", synthetic.TIMEZONE, "--out", work / "never", cwd=work
    )
    assert_one_line_error(result, EXIT_DATA, "20221004.parquet", "not a readable parquet")
    assert not (work / "never").exists()


def test_missing_folder_exits_1(work):
    result = bessx("run", work / "no-such-folder", "--timezone", synthetic.TIMEZONE, cwd=work)
    assert_one_line_error(result, EXIT_DATA, "no-such-folder")
    assert not (work / "bessx-out").exists()


def test_bad_config_key_exits_2(work, plant):
    site = work / "typo.toml"
    site.write_text('alocation = "soc"\n')
    result = bessx("run", plant.folder, "--config", site, cwd=work)
    assert_one_line_error(result, EXIT_USAGE, "typo.toml", "unknown key 'alocation'")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--max-gap", "0.5"], "--max-gap must be a number from 1 to 10,000"),
        (["--max-gap", "x"], "'x' is not a number"),
        (["--allocation", "fair"], "invalid choice: 'fair'"),
        (["--workers", "0"], "must be at least 1"),
        (["--timezone", "Mars/Olympus"], "IANA timezone"),
    ],
)
def test_bad_flag_value_exits_2(work, plant, flags, message):
    result = bessx("run", plant.folder, "--timezone", synthetic.TIMEZONE, *flags, cwd=work)
    assert_one_line_error(result, EXIT_USAGE, message)


def test_out_equal_to_data_exits_2(work, plant):
    before = digest(plant.folder)
    result = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", plant.folder, cwd=work
    )
    assert_one_line_error(result, EXIT_USAGE, "data folder")
    assert digest(plant.folder) == before


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_out_inside_the_data_folder_exits_2(work, plant, cache):
    """Outputs never go into the data folder, with the cache or without: one message, about
    --out."""
    before = digest(plant.folder)
    out = plant.folder / "results"
    result = bessx_here(
        "run", plant.folder, "--timezone", synthetic.TIMEZONE, "--out", out, *cache, cwd=work
    )
    assert_one_line_error(
        result, EXIT_USAGE, f"{out}: --out is inside the data folder {plant.folder.resolve()}"
    )
    assert not out.exists()
    assert digest(plant.folder) == before


def test_usage_errors_in_process(capsys):
    assert main(["run", "--max-gap"]) == EXIT_USAGE
    assert main([]) == EXIT_USAGE
    assert main(["frobnicate"]) == EXIT_USAGE
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("bessx: error: ") for line in err)


def test_debug_shows_the_traceback(work):
    result = bessx(
        "run", work / "no-such-folder", "--timezone", synthetic.TIMEZONE, "--debug", cwd=work
    )
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ExportError" in result.stderr


def test_help_and_version(capsys):
    for command in ("run", "demo", "info"):
        assert main([command, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"usage: bessx {command}" in text
        assert "examples:" in text and "exit codes:" in text
    assert main(["--help"]) == 0
    assert "exit codes:" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"bessx {__version__}"


# Atomicity -----------------------------------------------------------------------------------
@pytest.fixture
def previous_results(work: Path, run, tmp_path: Path) -> Path:
    """An output folder holding the results of an earlier bessx, as plain files."""
    _, out = run
    folder = tmp_path / "previous"
    folder.mkdir()
    for name in shown(out):
        (folder / name).write_bytes((out / name).read_bytes())
    return folder


def test_failure_at_open_leaves_earlier_results_untouched(work, broken, previous_results):
    before = digest(previous_results)
    result = bessx_here(
        "run", broken, "--timezone", synthetic.TIMEZONE, "--out", previous_results, cwd=work
    )
    assert result.returncode == EXIT_DATA
    assert digest(previous_results) == before
    assert leftovers(previous_results, previous_results.parent) == []


def test_failure_mid_computation_leaves_earlier_results_untouched(
    work, plant, previous_results, tmp_path
):
    data = tmp_path / "bitrot"
    data.mkdir()
    for path in plant.files:
        (data / path.name).write_bytes(path.read_bytes())
    corrupt_data_page(data / plant.files[1].name)  # the footer reads, the data do not
    before = digest(previous_results)
    result = bessx_here(
        "run", data, "--timezone", synthetic.TIMEZONE, "--out", previous_results, cwd=work
    )
    assert_one_line_error(result, EXIT_DATA, f"{plant.files[1].name}: cannot read its data")
    assert digest(previous_results) == before
    assert leftovers(previous_results, previous_results.parent) == []


def test_a_failed_set_is_removed_and_the_folder_too_if_new(tmp_path):
    out = tmp_path / "new" / "out"

    def half(path: Path) -> None:
        path.write_text("half")
        raise RuntimeError("the heatmap failed")

    # any writer's failure is the output's error, naming it (the writer's words as reason)
    with pytest.raises(OutputError, match=r"summary\.md: the heatmap failed"):
        with locked(out):
            write_set(out, {"summary.md": half})
    assert not (tmp_path / "new").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "summary.md").write_text("old")
    with pytest.raises(OutputError), locked(existing):
        write_set(existing, {"summary.md": half})
    assert digest(existing) == {"summary.md": hashlib.sha256(b"old").hexdigest()}

    with locked(existing):
        write_set(existing, {"summary.md": lambda path: path.write_text("new")})
    assert (existing / "summary.md").read_text() == "new"
    assert shown(existing) == ["summary.md"]
    assert leftovers(existing) == []


# Configuration ----------------------------------------------------------------------------------
def test_flags_override_the_site_file(work, plant):
    site = work / "site.toml"
    site.write_text(
        f'data = "{plant.folder.name}"\nallocation = "soc"\nout = "from-file"\n'
        f'outputs = ["netcdf"]\ntimezone = "{synthetic.TIMEZONE}"\n'
    )
    from_file = bessx_here("run", "--config", site, cwd=work)
    assert from_file.returncode == 0, from_file.stderr
    assert shown(work / "from-file") == ["daily_energy.nc"]
    assert open_daily(work / "from-file" / "daily_energy.nc").attrs["allocation"] == "soc"

    flagged = bessx_here(
        "run",
        "--config",
        site,
        "--allocation",
        "equal",
        "--out",
        "flag",
        cwd=work,
    )
    assert flagged.returncode == 0, flagged.stderr
    assert open_daily(work / "flag" / "daily_energy.nc").attrs["allocation"] == "equal"


# A real local cluster -------------------------------------------------------------------------
@pytest.mark.slow
def test_local_cluster_gives_the_threaded_numbers(work, plant, run):
    _, threaded = run
    out = work / "cluster"
    result = bessx(
        "run",
        plant.folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        out,
        "--workers",
        2,
        cwd=work,
    )
    assert result.returncode == 0, result.stderr
    assert (out / "daily_energy.csv").read_bytes() == (threaded / "daily_energy.csv").read_bytes()


def test_site_example_shows_the_real_command_and_defaults():
    """docs/site.example.toml: the command that works, and every value shown is the default."""
    import inspect
    import re
    import tomllib

    from bessx.config import OUTLIER_SETTINGS, SITE_SETTINGS

    example = Path(__file__).parents[1] / "docs" / "site.example.toml"
    text = example.read_text(encoding="utf-8")
    assert "`bessx run EXPORTS --config site.toml`" in text
    assert "`bessx --config" not in text
    uncommented = re.sub(r"^# (\w+ = )", r"\1", text, flags=re.MULTILINE)
    shown = tomllib.loads(uncommented)
    library = inspect.signature(outliers).parameters
    for name in OUTLIER_SETTINGS:
        assert shown["outliers"][name] == library[name].default, name
    # the timezone has no default: the example shows one, and says it is required
    assert SITE_SETTINGS["timezone"].default is None and shown["timezone"] == "Australia/Sydney"
    assert "Required, no default" in text
    for name in ("allocation", "max_gap", "out", "outputs"):
        default = SITE_SETTINGS[name].default
        expected = str(default) if isinstance(default, Path) else default
        assert shown[name] == (list(expected) if isinstance(expected, tuple) else expected), name
