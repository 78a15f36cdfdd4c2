"""The issue's acceptance case: implausible samples in real exports, through `bessx run`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from bessx.cli import main
from bessx.energy import daily_energy
from bessx.io.exports import open_exports
from bessx.synthetic import write_plant

POWER = "BESS{dc} DC Input Power (kW) [Battery Inverter {inverter}]"
SOC = "System state of charge (%) [Battery system {enclosure}]"
#: (column, row, value): a +inf, a 1e9 kW, a -1e7 kW power sample and an infinite SOC.
CORRUPTIONS = (
    (POWER.format(dc=1, inverter="1APCS1"), 100, np.inf),
    (POWER.format(dc=2, inverter="1APCS2"), 700, 1e9),
    (POWER.format(dc=1, inverter="1APCS3"), 1500, -1e7),
    (SOC.format(enclosure="1A1BAT2"), 900, np.inf),
)


def rewrite(source: Path, target: Path, value: float | None) -> None:
    """Copy an export, setting the corrupted cells to their value (or NaN when None)."""
    frame = pq.read_table(source).to_pandas()
    for column, row, bad in CORRUPTIONS:
        frame.iloc[row, frame.columns.get_loc(column)] = np.nan if value is None else bad
    frame.to_parquet(target)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("implausible")
    plant = write_plant(root / "clean", "2023-03-01", 2, inverters=4, faults=False)
    folders = {"corrupted": root / "corrupted", "missing": root / "missing"}
    for name, folder in folders.items():
        folder.mkdir()
        for index, path in enumerate(plant.files):
            if index == 0:
                rewrite(path, folder / path.name, None if name == "missing" else 1.0)
            else:
                (folder / path.name).write_bytes(path.read_bytes())
    return folders


@pytest.mark.parametrize("allocation", ["equal", "soc"])
def test_run_gives_the_energies_of_missing_samples(folders, tmp_path, allocation, capsys):
    outs = {}
    for name, folder in folders.items():
        outs[name] = tmp_path / name
        code = main(["run", str(folder), "--out", str(outs[name]), "--allocation", allocation])
        assert code == 0
    stdout = capsys.readouterr().out
    assert "inf" not in stdout.replace("info", "")
    energies = {name: pd.read_csv(out / "daily_energy.csv") for name, out in outs.items()}
    pd.testing.assert_frame_equal(energies["corrupted"], energies["missing"])
    assert np.isfinite(energies["corrupted"][["charged_kwh", "discharged_kwh"]]).all(axis=None)

    flags = pd.read_csv(outs["corrupted"] / "quality.csv", keep_default_na=False)
    named = {
        (row.inverter, row.dc_input, row.enclosure_id, row.flag)
        for row in flags.itertuples()
        if row.flag in ("non_finite", "out_of_range")
    }
    assert named == {
        ("1APCS1", 1, "", "non_finite"),
        ("1APCS2", 2, "", "out_of_range"),
        ("1APCS3", 1, "", "out_of_range"),
        ("1APCS1", 1, "1A1BAT2", "non_finite"),
    }
    summary = (outs["corrupted"] / "summary.md").read_text(encoding="utf-8")
    assert "**4 implausible sample(s) excluded** (2 non_finite, 2 out_of_range)" in summary
    for where in ("1APCS1 DC1", "1APCS2 DC2", "1APCS3 DC1", "1A1BAT2"):
        assert where in summary


@pytest.mark.parametrize("engine", ["pyarrow", "polars"])
@pytest.mark.parametrize("allocation", ["equal", "soc"])
def test_both_engines_exclude_the_same_samples(folders, engine, allocation):
    results = {
        name: daily_energy(open_exports(folder, engine=engine), allocation=allocation).compute()
        for name, folder in folders.items()
    }
    energies = ["charged", "discharged", "coverage"]
    xr.testing.assert_equal(results["corrupted"][energies], results["missing"][energies])
