"""The issue's acceptance case: implausible samples in real exports, through `bessx run`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import xarray as xr

from bessx import synthetic
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
        code = main(
            [
                "run",
                str(folder),
                "--timezone",
                synthetic.TIMEZONE,
                "--out",
                str(outs[name]),
                "--allocation",
                allocation,
            ]
        )
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
        name: daily_energy(
            open_exports(folder, engine=engine, timezone=synthetic.TIMEZONE), allocation=allocation
        ).compute()
        for name, folder in folders.items()
    }
    energies = ["charged", "discharged", "coverage"]
    xr.testing.assert_equal(results["corrupted"][energies], results["missing"][energies])


# The other corrupt values of the issue, through real files and both engines -----------------
@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corrupt-clean")
    write_plant(folder, "2023-03-01", 1, inverters=3, faults=False)
    return folder


def energies_of(folder: Path, engine: str, allocation: str = "equal") -> xr.Dataset:
    daily = daily_energy(
        open_exports(folder, engine=engine, timezone=synthetic.TIMEZONE), allocation=allocation
    ).compute()
    return daily[["charged", "discharged", "coverage"]]


def export_with(clean: Path, target: Path, change) -> None:
    """Rewrite the clean export through ``change(table) -> table``, uncompressed and plain."""
    import pyarrow as pa

    target.mkdir()
    (path,) = clean.glob("*.parquet")
    table = change(pq.read_table(path), pa)
    pq.write_table(
        table,
        target / path.name,
        compression="none",
        use_dictionary=False,
        write_statistics=False,
    )


def with_values(column: str, rows: list[int], value, arrow_type=None):
    def change(table, pa):
        position = table.schema.get_field_index(column)
        values = table.column(position).to_numpy().astype(np.float64)
        if arrow_type is None:
            values[rows] = value
            array = pa.array(values)
        else:  # an integer column, as some exports store counters
            integers = np.round(np.nan_to_num(values)).astype(np.uint64)
            integers[rows] = value
            array = pa.array(integers, arrow_type)
        return table.set_column(position, pa.field(column, array.type), array)

    return change


@pytest.mark.parametrize("engine", ["pyarrow", "polars"])
@pytest.mark.parametrize(
    ("case", "column", "rows", "value", "arrow_type"),
    [
        ("uint64 2**63", POWER.format(dc=1, inverter="1APCS2"), [800], 2**63, "uint64"),
        ("three 1.7e308", POWER.format(dc=2, inverter="1APCS1"), [10, 11, 900], 1.7e308, None),
        ("SOC spike 1e9", SOC.format(enclosure="1A1BAT1"), [1200], 1e9, None),
    ],
)
def test_corrupt_values_count_as_missing(
    clean, tmp_path, engine, case, column, rows, value, arrow_type
):
    import pyarrow as pa

    bad_type = None if arrow_type is None else getattr(pa, arrow_type)()
    export_with(clean, tmp_path / "bad", with_values(column, rows, value, bad_type))
    if arrow_type is None:
        export_with(clean, tmp_path / "missing", with_values(column, rows, np.nan))
    else:  # the same integer column, with the corrupt samples null

        def nulls(table, pa):
            table = with_values(column, rows, 0, bad_type)(table, pa)
            position = table.schema.get_field_index(column)
            mask = np.zeros(table.num_rows, dtype=bool)
            mask[rows] = True
            values = table.column(position).to_numpy()
            return table.set_column(position, column, pa.array(values, bad_type, mask=mask))

        export_with(clean, tmp_path / "missing", nulls)
    for allocation in ("equal", "soc"):
        bad = energies_of(tmp_path / "bad", engine, allocation)
        xr.testing.assert_equal(bad, energies_of(tmp_path / "missing", engine, allocation))
        assert float(bad["discharged"].sum()) < 1e7, case


@pytest.mark.parametrize("engine", ["pyarrow", "polars"])
def test_a_flipped_exponent_bit_is_excluded(clean, tmp_path, engine):
    """One bit of one stored power value flips on disk: the sample is excluded, not summed."""
    column = POWER.format(dc=1, inverter="1APCS3")
    export_with(clean, tmp_path / "plain", lambda table, pa: table)
    (path,) = (tmp_path / "plain").glob("*.parquet")
    value = pq.read_table(path, columns=[column]).column(0).to_numpy()[1000]
    raw = bytearray(path.read_bytes())
    where = raw.find(np.float64(value).tobytes())
    assert where > 0 and raw.count(np.float64(value).tobytes()) == 1
    raw[where + 7] ^= 0b0010_0000  # exponent bit 61: the value is multiplied by 2**512
    (tmp_path / "flipped").mkdir()
    (tmp_path / "flipped" / path.name).write_bytes(bytes(raw))
    flipped = pq.read_table(tmp_path / "flipped" / path.name, columns=[column]).column(0)
    assert abs(flipped.to_numpy()[1000]) > 1e100
    export_with(clean, tmp_path / "missing", with_values(column, [1000], np.nan))
    xr.testing.assert_equal(
        energies_of(tmp_path / "flipped", engine), energies_of(tmp_path / "missing", engine)
    )
