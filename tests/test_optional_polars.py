"""polars is optional: bessx imports it only to read, and falls back to pyarrow without it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import bessx
from bessx import synthetic
from bessx.io.engines import get_engine
from bessx.synthetic import write_plant


def test_importing_bessx_does_not_import_polars():
    code = "import sys, bessx; sys.exit('polars' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_auto_engine_falls_back_to_pyarrow_without_polars(tmp_path, monkeypatch):
    plant = write_plant(tmp_path, "2023-04-01", days=2, inverters=2, faults=False)
    with_polars = (
        bessx.open_exports(plant.folder, engine="auto", timezone=synthetic.TIMEZONE)
        .bess.daily_energy()
        .compute()
    )

    monkeypatch.setitem(sys.modules, "polars", None)  # as if polars were not installed
    assert get_engine("auto").name == "pyarrow"
    with pytest.raises(ImportError):
        import polars  # noqa: F401
    without = (
        bessx.open_exports(plant.folder, engine="auto", timezone=synthetic.TIMEZONE)
        .bess.daily_energy()
        .compute()
    )

    np.testing.assert_array_equal(without["discharged"], with_polars["discharged"])
    np.testing.assert_array_equal(without["charged"], with_polars["charged"])


def test_asking_for_a_missing_engine_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "polars", None)  # as if polars were not installed
    with pytest.raises(ValueError, match=r"engine 'polars' is not installed: pip install"):
        get_engine("polars")
    with pytest.raises(ValueError, match="unknown engine"):
        get_engine("duckdb")


def test_the_fast_schema_is_polars_public_one(tmp_path, monkeypatch):
    """The mapping under polars' Schema wrapper is the schema; without it, the public call."""
    pl = pytest.importorskip("polars")
    from bessx.io import engines

    plant = write_plant(tmp_path, "2023-04-01", days=1, inverters=2, faults=False)
    lazy = pl.scan_parquet(next(plant.folder.glob("*.parquet")))
    public = lazy.collect_schema()
    assert list(engines._schema(lazy).items()) == list(public.items())

    class Public:  # a polars without the private mapping
        def collect_schema(self):
            return public

    assert engines._schema(Public()) is public
