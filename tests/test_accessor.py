"""``Dataset.bess`` is a thin, stateless forward to the public functions."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bessx
from bessx import synthetic


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plant")
    synthetic.write_plant(folder, start="2022-10-01", days=4, inverters=8, seed=1)
    with pytest.warns(bessx.ExportWarning, match="duplicate"):
        return bessx.open_exports(folder, timezone=synthetic.TIMEZONE)


@pytest.fixture(scope="module")
def daily(history):
    return bessx.daily_energy(history, allocation="soc").compute()


def test_accessor_is_registered_on_import_and_stateless(history):
    accessor = history.bess
    assert type(accessor).__slots__ == ("_obj",)
    assert not hasattr(accessor, "__dict__")


@pytest.mark.parametrize("allocation", ["equal", "soc"])
def test_daily_energy(history, allocation):
    lazy = history.bess.daily_energy(allocation=allocation, max_gap=2.0)
    assert lazy.charged.chunks is not None, "still lazy"
    expected = bessx.daily_energy(history, allocation=allocation, max_gap=2.0)
    xr.testing.assert_identical(lazy.drop_attrs(), expected.drop_attrs())
    assert {k: v for k, v in lazy.attrs.items() if k != "history"} == {
        k: v for k, v in expected.attrs.items() if k != "history"
    }


def test_tables(daily):
    pd.testing.assert_frame_equal(daily.bess.to_frame(), bessx.to_frame(daily))
    for by in ("charged", "discharged"):
        pd.testing.assert_frame_equal(daily.bess.lowest(3, by=by), bessx.lowest(daily, 3, by=by))
    pd.testing.assert_frame_equal(
        daily.bess.outliers(min_days=2), bessx.outliers(daily, min_days=2)
    )


def test_heatmap(daily):
    figure, (left, right) = plt.subplots(1, 2)
    try:
        assert daily.bess.heatmap(ax=left) is left
        bessx.heatmap(daily, ax=right)
        left_mesh, right_mesh = left.collections[0], right.collections[0]
        np.testing.assert_array_equal(left_mesh.get_array(), right_mesh.get_array())
    finally:
        plt.close(figure)


def test_to_netcdf(tmp_path, daily):
    path = daily.bess.to_netcdf(tmp_path / "daily.nc")
    again = bessx.open_daily(path)
    assert again.attrs["history"].startswith(daily.attrs["history"] + "\n")
    assert "written by bessx.to_netcdf" in again.attrs["history"]
    xr.testing.assert_identical(again.drop_attrs(), daily.drop_attrs())


def test_docstrings_are_the_functions(history):
    for name in ("daily_energy", "to_frame", "lowest", "outliers", "heatmap", "to_netcdf"):
        assert getattr(type(history.bess), name).__doc__ == getattr(bessx, name).__doc__
