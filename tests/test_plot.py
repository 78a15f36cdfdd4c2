"""Tests of bessx.plot.heatmap (Agg backend, figures closed)."""

from __future__ import annotations

import functools
import subprocess
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

matplotlib.use("Agg")

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
from matplotlib.collections import QuadMesh

from bessx.outliers import outliers
from bessx.plot import NO_DATA_STYLE, heatmap
from bessx.testing import inverter_names
from bessx.testing import make_daily as _make_daily

#: charged is 8 % above discharged, as a round trip of ~0.93
make_daily = functools.partial(_make_daily, charged=1.08)


def plant(n_inverters: int, n_days: int, seed: int = 0) -> xr.Dataset:
    """A plant with 4 % scatter, one weak enclosure, a DC input dead on 3 days, one gap."""
    rng = np.random.default_rng(seed)
    slots = np.full(n_inverters, 2)
    candidates = np.setdiff1d(np.arange(n_inverters), [1, 3, 5])  # the faulty ones keep 4
    slots[rng.choice(candidates, round(n_inverters * 27 / 72), replace=False)] = 3
    cycles = rng.choice([1.0, 2.0], n_days) * rng.uniform(0.9, 1.1, n_days)
    kwh = (
        2800
        * cycles[:, None, None, None]
        * (1 + 0.04 * rng.standard_normal((n_days, n_inverters, 2, 3)))
    )
    coverage = np.ones_like(kwh)
    kwh[:, 1, 0, 1] *= 0.7  # 1APCS2 DC 1 slot 2: weak
    kwh[[1, 3, 5], 3, 1, :] = 0.0  # 1APCS4 DC 2: dead on days 2, 4, 6
    kwh[2, 5, 0, :] = np.nan  # 1APCS6 DC 1: no data on day 3
    coverage[2, 5, 0, :] = 0.0
    return make_daily(kwh, slots, coverage=coverage)


def expected_matrix(daily: xr.Dataset, var: str = "discharged") -> tuple[np.ndarray, list[str]]:
    """(enclosure, day) matrix in plant order, by an obvious slow loop."""
    rows, ids = [], []
    for inverter in daily["inverter"].values:
        for dc_input in daily["dc_input"].values:
            for slot in daily["enclosure"].values:
                where = {"inverter": inverter, "dc_input": dc_input, "enclosure": slot}
                enclosure_id = str(daily["enclosure_id"].sel(where).item())
                if enclosure_id:
                    rows.append(daily[var].sel(where).values)
                    ids.append(enclosure_id)
    return np.array(rows), ids


def one_line(text: str) -> str:
    """A title or label as one line: the heatmap wraps them to fit their room."""
    return " ".join(text.split())


def only_mesh(ax) -> QuadMesh:
    meshes = [artist for artist in ax.collections if isinstance(artist, QuadMesh)]
    assert len(meshes) == 1
    return meshes[0]


@pytest.fixture
def small() -> xr.Dataset:
    return plant(8, 7)


def test_mesh_is_the_data_in_plant_order(small: xr.Dataset, tmp_path) -> None:
    ax = heatmap(small)
    try:
        mesh = only_mesh(ax)
        matrix, _ = expected_matrix(small)
        shown = mesh.get_array()
        assert shown.shape == matrix.shape == (2 * (3 * 3 + 2 * 5), 7)
        np.testing.assert_array_equal(shown.filled(np.nan), matrix)
        np.testing.assert_array_equal(np.ma.getmaskarray(shown), np.isnan(matrix))
        assert np.ma.getmaskarray(shown).sum() == 2  # the 2 enclosures of 1APCS6 DC 1, day 3
        assert ax.get_ylim() == (len(matrix), 0)  # first enclosure on top
        assert [label.get_text() for label in ax.get_yticklabels()] == inverter_names(8)
        colorbar = mesh.colorbar
        assert one_line(colorbar.ax.get_ylabel()) == "energy discharged from the enclosure [kWh]"
        assert mesh.norm.vmin == 0
        assert "2024-03-01 to 2024-03-07" in one_line(ax.get_title(loc="left"))
        path = tmp_path / "heatmap.png"
        ax.figure.savefig(path, dpi=60)
        image = mpimg.imread(path)
        assert image.ndim == 3 and image.shape[0] > image.shape[1] / 3
    finally:
        plt.close(ax.figure)


def test_missing_days_look_different_from_zero(small: xr.Dataset, tmp_path) -> None:
    """Sample the rendered PNG: a NaN cell is grey hatching, a 0 kWh cell is dark purple."""
    ax = heatmap(small)
    try:
        figure = ax.figure
        path = tmp_path / "heatmap.png"
        figure.savefig(path, dpi=figure.dpi)  # so that pixels match ax.transData
        image = mpimg.imread(path)[..., :3]
        matrix, ids = expected_matrix(small)

        def cell_colour(row: int, day: int) -> np.ndarray:
            (x0, y0), (x1, y1) = ax.transData.transform(
                [(day + 0.2, row + 0.2), (day + 0.8, row + 0.8)]
            )
            height = image.shape[0]
            rows = slice(int(height - max(y0, y1)), int(height - min(y0, y1)) + 1)
            columns = slice(int(min(x0, x1)), int(max(x0, x1)) + 1)
            return image[rows, columns].reshape(-1, 3).mean(axis=0)

        gap_row = ids.index("1A6BAT1")
        dead_row = ids.index("1A4BAT3")
        assert np.isnan(matrix[gap_row, 2]) and matrix[dead_row, 1] == 0
        grey = np.asarray(matplotlib.colors.to_rgb(NO_DATA_STYLE["facecolor"]))
        zero = np.asarray(plt.get_cmap("viridis")(0.0)[:3])
        gap, dead = cell_colour(gap_row, 2), cell_colour(dead_row, 1)
        assert np.abs(gap - grey).max() < 0.15  # grey with darker hatching
        assert np.ptp(gap) < 0.05  # grey: no hue
        assert np.abs(dead - zero).max() < 0.05
        assert np.abs(gap - dead).max() > 0.4
        legend_texts = [text.get_text() for text in _legends(figure)]
        assert "no data (NaN)" in legend_texts
    finally:
        plt.close(ax.figure)


def _legends(figure):
    for legend in figure.legends:
        yield from legend.get_texts()


def test_outlier_rows_are_marked(small: xr.Dataset) -> None:
    ax = heatmap(small)
    try:
        _, ids = expected_matrix(small)
        marks = {line.get_gid(): line for line in ax.lines if line.get_gid()}
        dead_rows = marks["bessx-outliers-dead_dc_input"].get_ydata() - 0.5
        weak_rows = marks["bessx-outliers-weak_enclosure"].get_ydata() - 0.5
        low_rows = marks["bessx-outliers-low_coverage"].get_ydata() - 0.5
        assert sorted(ids[int(row)] for row in dead_rows) == ["1A4BAT3", "1A4BAT4"]
        assert [ids[int(row)] for row in weak_rows] == ["1A2BAT2"]
        assert sorted(ids[int(row)] for row in low_rows) == ["1A6BAT1", "1A6BAT2"]
        labels = {text.get_text() for text in ax.texts}
        assert {"1APCS4 DC2", "1A2BAT2", "1APCS6 DC1"} <= labels
        tick_colours = {label.get_text(): label.get_color() for label in ax.get_yticklabels()}
        assert tick_colours["1APCS4"] != tick_colours["1APCS1"]
        assert tick_colours["1APCS2"] != tick_colours["1APCS1"]
    finally:
        plt.close(ax.figure)


def test_given_outliers_and_axes(small: xr.Dataset) -> None:
    figure, ax = plt.subplots()
    try:
        table = outliers(small)
        weak_only = table[table["kind"] == "weak_enclosure"]
        assert heatmap(small, ax=ax, outliers=weak_only) is ax
        gids = {line.get_gid() for line in ax.lines}
        assert gids == {"bessx-outliers-weak_enclosure"}
        ax.clear()
        heatmap(small, ax=ax, outliers=pd.DataFrame())
        assert not ax.lines and not ax.texts
    finally:
        plt.close(figure)


def test_coverage_and_dask(small: xr.Dataset) -> None:
    ax = heatmap(small.chunk({"time": 2}), var="coverage")
    try:
        mesh = only_mesh(ax)
        matrix, _ = expected_matrix(small, "coverage")
        np.testing.assert_array_equal(mesh.get_array().filled(np.nan), matrix)
        assert (mesh.norm.vmin, mesh.norm.vmax) == (0.0, 1.0)
        assert one_line(mesh.colorbar.ax.get_ylabel()).endswith("[1]")
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="valid names: 'charged', 'discharged', 'coverage'"):
        heatmap(small, var="soc")


def test_relative_view(small: xr.Dataset) -> None:
    ax = heatmap(small, relative=True)
    try:
        matrix, ids = expected_matrix(small)
        percent = 100 * matrix / np.nanmedian(matrix, axis=0)
        shown = only_mesh(ax).get_array()
        np.testing.assert_allclose(shown.filled(np.nan), percent, rtol=1e-12)
        assert shown[ids.index("1A2BAT2")].mean() == pytest.approx(70, abs=6)
        label = one_line(only_mesh(ax).colorbar.ax.get_ylabel())
        assert label.endswith("[% of the day's fleet median per enclosure]")
        norm = only_mesh(ax).norm
        assert (norm.vmin + norm.vmax) / 2 == 100  # diverging, centred on the fleet
        assert only_mesh(ax).cmap.name.startswith("RdBu")
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="relative=True compares energies"):
        heatmap(small, var="coverage", relative=True)


def test_full_plant(tmp_path) -> None:
    daily = plant(72, 30, seed=7)
    ax = heatmap(daily)
    try:
        figure = ax.figure
        mesh = only_mesh(ax)
        assert mesh.get_array().shape == (342, 30)
        assert len(ax.get_yticks()) == 72
        assert figure.get_figheight() > 15  # 342 rows need room
        assert 5 <= len(ax.get_xticklabels()) <= 15  # thinned dates
        figure.savefig(tmp_path / "full.png", dpi=50)
    finally:
        plt.close(figure)


def legend_texts(figure) -> list[str]:
    return [text.get_text() for text in _legends(figure)]


@pytest.mark.parametrize("relative", [False, True])
def test_legend_lists_only_what_is_drawn(relative: bool) -> None:
    """No missing-cell entry on a complete plant, no finding entry without a finding."""
    complete = plant(8, 7).fillna(2800.0).assign(coverage=lambda ds: ds["coverage"] * 0 + 1)
    complete = complete.where(complete["enclosure_id"] != "")
    ax = heatmap(complete, relative=relative, outliers=pd.DataFrame())
    try:
        assert np.isfinite(only_mesh(ax).get_array().filled(np.nan)).all()
        assert legend_texts(ax.figure) == []
    finally:
        plt.close(ax.figure)
    ax = heatmap(plant(8, 7), relative=relative)
    try:
        texts = legend_texts(ax.figure)
        missing = "not compared (no data, low coverage, idle day)" if relative else "no data (NaN)"
        assert texts[0] == missing
        assert set(texts[1:]) == {"dead DC input", "weak enclosure", "low coverage"}
    finally:
        plt.close(ax.figure)


def test_a_long_period_is_drawn_in_weekly_cells() -> None:
    daily = plant(8, 200)  # 2024-03-01 (a Friday) to 2024-09-16
    dates = pd.DatetimeIndex(daily["time"].values)
    week = np.asarray((dates - pd.to_timedelta(dates.day_of_week, unit="D")).asi8)
    n_weeks = len(np.unique(week))
    assert n_weeks == 30
    matrix, _ = expected_matrix(daily)
    expected = np.stack(
        [np.nanmean(matrix[:, week == monday], axis=1) for monday in np.unique(week)], axis=1
    )
    ax = heatmap(daily)
    try:
        shown = only_mesh(ax).get_array()
        assert shown.shape == (matrix.shape[0], n_weeks)
        np.testing.assert_allclose(shown.filled(np.nan), expected, rtol=1e-12)
        labels = [label.get_text() for label in ax.get_xticklabels()]
        assert labels[0] == "2024-03-01"  # the partial first week, by its first date
        assert (pd.DatetimeIndex(labels[1:]).day_of_week == 0).all()  # then Mondays
        assert "200 days in 30 weekly cells" in one_line(ax.get_title(loc="left"))
        assert ax.get_xlabel() == "week starting on (local calendar date)"
        label = one_line(only_mesh(ax).colorbar.ax.get_ylabel())
        assert "[kWh/d, mean over the days with data]" in label
        # the dead DC input's days 2-6 lie in the first two weeks: outlined there
        assert "1APCS4 DC2" in [text.get_text() for text in ax.texts]
        red = matplotlib.colors.to_rgba("#d62728")
        outlines = [
            patch
            for patch in ax.patches
            if not patch.get_fill() and patch.get_edgecolor() == pytest.approx(red)
        ]
        assert [(patch.get_x(), patch.get_width()) for patch in outlines] == [(0, 2)]
    finally:
        plt.close(ax.figure)
    ax = heatmap(daily, period="day")
    try:
        assert only_mesh(ax).get_array().shape == matrix.shape
    finally:
        plt.close(ax.figure)
    ax = heatmap(plant(8, 120))
    try:
        assert only_mesh(ax).get_array().shape[1] == 120  # up to 120 days: daily cells
    finally:
        plt.close(ax.figure)
    with pytest.raises(ValueError, match="valid names: 'auto', 'day', 'week'"):
        heatmap(daily, period="month")


def test_relative_weekly_cells_average_the_compared_days() -> None:
    daily = plant(8, 14)  # two weeks and a bit: forced weekly
    ax = heatmap(daily, relative=True, period="week")
    try:
        shown = only_mesh(ax).get_array().filled(np.nan)
        matrix, ids = expected_matrix(daily)
        percent = 100 * matrix / np.nanmedian(matrix, axis=0)
        np.testing.assert_allclose(shown[:, 0], np.nanmean(percent[:, :3], axis=1), rtol=1e-12)
        assert shown[ids.index("1A2BAT2")] == pytest.approx(70, abs=6)
    finally:
        plt.close(ax.figure)


def test_importing_bessx_does_not_import_matplotlib() -> None:
    code = (
        "import sys, bessx, bessx.plot, bessx.outliers, bessx.tables; "
        "sys.exit('matplotlib' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
