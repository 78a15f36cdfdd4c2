"""Every broken export gets bessx's own one-line answer, on both engines and both paths.

Each case is a real parquet file damaged as the exports of a real site are: cut in the
middle with its footer intact, one row only, a column name repeated, unreadable. The answer
is an :class:`bessx.ExportError` naming the file (never a panic, a ``KeyError`` or a
traceback); ``--skip-bad-files`` leaves it out, and ``bessx info`` lists it.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import xarray as xr

import bessx
from bessx import ExportError, ExportWarning, synthetic
from bessx.onepass import daily_from_exports, health_from_exports
from bessx.synthetic import write_plant

ENGINES = ("polars", "pyarrow")
SKIP_HINT = "(--skip-bad-files leaves it out)"


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reliability-source")
    write_plant(folder, "2023-03-01", 3, inverters=2, seed=4)
    return folder


@pytest.fixture
def folder(source, tmp_path) -> Path:
    exports = tmp_path / "exports"
    shutil.copytree(source, exports)
    return exports


def middle(folder: Path) -> Path:
    return sorted(folder.glob("*.parquet"))[1]


def cut_middle(path: Path) -> None:
    """Half the data pages gone, the footer intact (a copy interrupted and patched)."""
    raw = path.read_bytes()
    footer = int.from_bytes(raw[-8:-4], "little") + 8
    path.write_bytes(raw[: (len(raw) - footer) // 2] + raw[-footer:])


def single_row(path: Path) -> None:
    pq.write_table(pq.read_table(path).slice(0, 1), path)


def repeat_name(path: Path, needed: bool) -> str:
    """A column renamed to another's name: a DC power column's, or an unused column's."""
    table = pq.read_table(path)
    names = table.column_names
    powers = [i for i, name in enumerate(names) if "DC Input Power" in name]
    others = [i for i, name in enumerate(names) if "Power" not in name and "charge" not in name]
    first, second = (powers[0], powers[1]) if needed else (others[1], others[2])
    names[second] = names[first]
    pq.write_table(table.rename_columns(names), path)
    return names[first]


def quietly(function, *args, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        return function(*args, **options)


def dataset_daily(folder: Path, **options) -> xr.Dataset:
    ds = quietly(bessx.open_exports, folder, timezone=synthetic.TIMEZONE, **options)
    return quietly(lambda: ds.bess.daily_energy().compute())


PATHS = {
    "one pass": lambda folder, engine: quietly(
        daily_from_exports, folder, engine=engine, timezone=synthetic.TIMEZONE
    ),
    "dataset": lambda folder, engine: dataset_daily(folder, engine=engine),
    "health": lambda folder, engine: quietly(
        health_from_exports, folder, engine=engine, timezone=synthetic.TIMEZONE
    ),
}


def cli(*args: object) -> tuple[int, str]:
    import contextlib
    import io

    from bessx.cli import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore", ExportWarning)
        code = main([str(arg) for arg in args])
    return code, err.getvalue()


# Row 2: a file cut in the middle --------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("path_name", sorted(PATHS))
def test_a_file_cut_in_the_middle_is_an_export_error(folder, engine, path_name):
    bad = middle(folder)
    cut_middle(bad)
    with pytest.raises(ExportError) as raised:
        PATHS[path_name](folder, engine)
    assert raised.value.path == str(bad)
    assert "\n" not in str(raised.value)


def test_a_file_cut_in_the_middle_is_skipped_and_listed(folder, tmp_path):
    bad = middle(folder)
    cut_middle(bad)
    code, err = cli(
        "run", folder, "--timezone", synthetic.TIMEZONE, "--out", tmp_path / "out", "--quiet"
    )
    assert code == 1 and f"{bad}:" in err and err.rstrip().endswith(SKIP_HINT)
    assert "Traceback" not in err
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--skip-bad-files",
    )
    assert code == 0, err
    assert "skipped" in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert bad.name in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


# Row 1: a file of one row ---------------------------------------------------------------------
@pytest.mark.parametrize("engine", ENGINES)
def test_a_single_row_file_takes_the_interval_of_the_history(folder, engine):
    single_row(middle(folder))
    one_pass, _ = quietly(daily_from_exports, folder, engine=engine, timezone=synthetic.TIMEZONE)
    xr.testing.assert_allclose(
        one_pass[["charged", "discharged"]],
        dataset_daily(folder, engine=engine)[["charged", "discharged"]],
    )
    assert float(one_pass.attrs["interval_seconds"]) == 36.0


def test_bessx_run_takes_a_single_row_file(folder, tmp_path):
    single_row(middle(folder))
    code, err = cli(
        "run", folder, "--timezone", synthetic.TIMEZONE, "--out", tmp_path / "out", "--quiet"
    )
    assert code == 0, err


@pytest.mark.parametrize("path_name", ["one pass", "dataset"])
def test_a_history_of_single_rows_is_refused_with_a_reason(folder, tmp_path, path_name):
    """One file of one row: no time step anywhere (two such files a day apart would give
    the history a step of a day)."""
    first, *others = sorted(folder.glob("*.parquet"))
    single_row(first)
    for path in others:
        path.unlink()
    with pytest.raises(ExportError, match="interval cannot be inferred"):
        PATHS[path_name](folder, "auto")
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--skip-bad-files",
    )
    assert code == 1
    assert "interval cannot be inferred" in err and "Traceback" not in err


# Row 4: a repeated column name ----------------------------------------------------------------
@pytest.mark.parametrize("needed", [True, False], ids=["dc power", "unused column"])
def test_a_repeated_column_name_is_refused_alike_by_both_engines(folder, needed):
    bad = middle(folder)
    name = repeat_name(bad, needed)
    messages = set()
    for engine in ENGINES:
        for path_name in sorted(PATHS):
            with pytest.raises(ExportError) as raised:
                PATHS[path_name](folder, engine)
            assert raised.value.path == str(bad)
            messages.add(raised.value.problem)
    assert messages == {f"column '{name}' appears 2 times (names must differ)"}


# Row 3: an export that cannot be opened ----------------------------------------------------------
@pytest.mark.parametrize("cache", [True, False], ids=["cache", "no cache"])
def test_an_unreadable_export_is_skipped_with_the_cache_on(folder, tmp_path, cache):
    """A folder where an export should be: the fingerprint cannot be taken (an OS error
    at open), and the file's boundary says so; with --skip-bad-files the run goes on."""
    bad = middle(folder)
    bad.unlink()
    bad.mkdir()
    options = [] if cache else ["--no-cache"]
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        *options,
    )
    assert code == 1 and err.startswith(f"bessx: error: {bad}:"), err
    assert err.rstrip().endswith(SKIP_HINT)
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--skip-bad-files",
        *options,
    )
    assert code == 0, err
    assert bad.name in err


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_an_export_without_permission_is_skipped_with_the_cache_on(folder, tmp_path):
    bad = middle(folder)
    bad.chmod(0)
    try:
        code, err = cli(
            "run",
            folder,
            "--timezone",
            synthetic.TIMEZONE,
            "--out",
            tmp_path / "out",
            "--quiet",
            "--skip-bad-files",
        )
    finally:
        bad.chmod(0o644)
    assert code == 0, err
    assert "Permission denied" in err and str(bad) in err


# Issue 23 row 3: every file bad ----------------------------------------------------------------
def test_every_file_bad_names_each_reason_then_the_summary(folder, tmp_path):
    files = sorted(folder.glob("*.parquet"))
    for path in files:
        path.write_bytes(b"not parquet")
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        "--skip-bad-files",
    )
    assert code == 1
    lines = err.strip().splitlines()
    for path in files:
        assert any(str(path) in line and "not a readable parquet file" in line for line in lines)
    assert "no usable export" in lines[-1] and "3 file(s)" in lines[-1]


# Row 7: settings inside physics ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("flags", "allowed"),
    [
        (["--interval", "1e300"], "from 0.1 to 86,400 (one day)"),
        (["--interval", "1e-300"], "from 0.1 to 86,400 (one day)"),
        (["--interval", "0.05"], "from 0.1 to 86,400 (one day)"),
        (["--max-gap", "1e9"], "from 1 to 10,000"),
    ],
)
def test_a_setting_outside_physics_is_a_configuration_error(folder, tmp_path, flags, allowed):
    code, err = cli(
        "run",
        folder,
        "--timezone",
        synthetic.TIMEZONE,
        "--out",
        tmp_path / "out",
        "--quiet",
        *flags,
    )
    assert code == 2 and allowed in err and flags[0] in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("table", "key", "value", "allowed"),
    [
        ("", "interval", "1e300", "from 0.1 to 86,400"),
        ("", "dc_power_limit_kw", "1e300", "≤ 100,000"),
        ("quality", "stuck_minutes", "1e300", "≤ 1,440 (one day)"),
        ("quality", "dead_minutes", "1e9", "≤ 1,440 (one day)"),
        ("quality", "sign_minutes", "5000", "≤ 1,440 (one day)"),
        ("quality", "moving_kw", "1e12", "≤ 100,000"),
        ("quality", "dead_kw", "1e12", "≤ 100,000"),
    ],
)
def test_a_site_setting_outside_physics_is_a_configuration_error(
    folder, tmp_path, table, key, value, allowed
):
    site = tmp_path / "site.toml"
    site.write_text((f"[{table}]\n" if table else "") + f"{key} = {value}\n", encoding="utf-8")
    code, err = cli("run", folder, "--config", site, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and allowed in err and key in err, err


@pytest.mark.parametrize("interval", [1e300, 1e-300])
def test_the_library_refuses_an_interval_outside_physics(folder, interval):
    for function in (daily_from_exports, bessx.open_exports):
        with pytest.raises(ValueError, match=r"from 0\.1 to 86400 s"):
            function(folder, interval=interval)


# Row 6: an output that cannot be written ----------------------------------------------------------
def test_a_full_disk_during_the_netcdf_write_names_the_output(folder, tmp_path, monkeypatch):
    """netCDF says only "NetCDF: HDF error" when the disk fills: the message names the
    output and the operating system's reason, and the previous set stays."""
    import shutil as shutil_module
    from collections import namedtuple

    import bessx.io.outputs

    out = tmp_path / "out"
    code, err = cli("run", folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet")
    assert code == 0, err
    before = (out / "daily_energy.csv").read_bytes()

    def full(self, path, *args, **kwargs):
        raise RuntimeError("NetCDF: HDF error")

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(xr.Dataset, "to_netcdf", full)
    monkeypatch.setattr(
        bessx.io.outputs.shutil, "disk_usage", lambda path: usage(10**9, 10**9, 4096)
    )
    assert bessx.io.outputs.shutil is shutil_module
    code, err = cli(
        "run", folder, "--timezone", synthetic.TIMEZONE, "--out", out, "--quiet", "--force"
    )  # not up to date
    monkeypatch.undo()
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"bessx: error: {out / 'daily_energy.nc'}: No space left on device (NetCDF: HDF error)"
    )
    assert (out / "daily_energy.csv").read_bytes() == before, "the previous set stays"
