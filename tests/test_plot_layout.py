"""Layout of bessx.plot.heatmap from a few inverters to 400 rows, and the partial-day hatch.

Figures are drawn as ``bessx run`` writes them (Agg, :data:`bessx.figures.HEATMAP_DPI`,
``period="auto"``) and their text boxes are measured: none may overlap another, none may
leave the figure.
"""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pandas as pd
import pytest
import xarray as xr

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from bessx.figures import HEATMAP_DPI
from bessx.plot import NO_DATA_STYLE, PARTIAL_HATCH, heatmap
from bessx.synthetic import plant_topology
from bessx.testing import make_daily

DIMS = ("time", "inverter", "dc_input", "enclosure")
#: Days of the small plant: day 4 has one hour of data, day 7 none for WR03.
ONE_HOUR_DAY, NO_DATA_DAY = 3, 6


def hand_plant(n_inverters: int, n_days: int = 10, seed: int = 1) -> xr.Dataset:
    """A plant written by hand: inverters ``WR01``.. with 2 DC inputs of 2 enclosures each.

    Europe/Berlin, 60 s samples. Day 4 is a one-hour export (coverage 1/24 ≈ 0.04, energy
    1/24 of a day), WR03 has no data on day 7, WR02 DC input 1 has coverage 0.95 (complete
    enough) on day 2 and 0.94 (partial) on day 3.
    """
    rng = np.random.default_rng(seed)
    inverters = [
        f"WR{number:0{2 if n_inverters < 100 else 3}d}" for number in range(1, 1 + n_inverters)
    ]
    discharged = 410.0 * (1 + 0.03 * rng.standard_normal((n_days, n_inverters, 2, 2)))
    coverage = np.ones_like(discharged)
    discharged[ONE_HOUR_DAY] /= 24
    coverage[ONE_HOUR_DAY] = 1 / 24
    discharged[NO_DATA_DAY, 2] = np.nan
    coverage[NO_DATA_DAY, 2] = 0.0
    coverage[1, 1, 0] = 0.95
    coverage[2, 1, 0] = 0.94
    ids = [
        [[f"{name}-DC{dc_input}-B{slot}" for slot in (1, 2)] for dc_input in (1, 2)]
        for name in inverters
    ]
    energy = {"units": "kWh", "cell_methods": "time: sum"}
    return xr.Dataset(
        {
            "discharged": (
                DIMS,
                discharged,
                {**energy, "long_name": "energy discharged from the enclosure"},
            ),
            "charged": (
                DIMS,
                1.08 * discharged,
                {**energy, "long_name": "energy charged into the enclosure"},
            ),
            "coverage": (DIMS, coverage, {"units": "1", "long_name": "coverage"}),
        },
        coords={
            "time": pd.date_range("2024-06-03", periods=n_days, freq="D").values,
            "inverter": inverters,
            "dc_input": [1, 2],
            "enclosure": [1, 2],
            "enclosure_id": (DIMS[1:], np.array(ids)),
        },
        attrs={"timezone": "Europe/Berlin", "allocation": "soc", "interval_seconds": 60.0},
    )


def synthetic_plant(n_days: int = 30, seed: int = 7) -> xr.Dataset:
    """The synthetic plant's topology (72 inverters, 342 enclosures), a partial day 10.

    Also a DC input dead on days 2-4 and one without data on day 3, as findings and
    missing cells that the legend lists.
    """
    topology = plant_topology(72)
    slots = topology.groupby("inverter", sort=False)["dc_input"].value_counts().unstack()
    assert (slots[1] == slots[2]).all()
    rng = np.random.default_rng(seed)
    discharged = 2800 * (1 + 0.04 * rng.standard_normal((n_days, 72, 2, 3)))
    discharged[9] *= 0.3
    coverage = np.ones_like(discharged)
    coverage[9] = 0.3
    discharged[1:4, 3, 1] = 0.0
    discharged[2, 5, 0] = np.nan
    coverage[2, 5, 0] = 0.0
    daily = make_daily(discharged, slots[1].to_numpy(), coverage=coverage)
    assert int((daily["enclosure_id"] != "").sum()) == len(topology) == 342
    return daily


PLANTS = {
    "4 inverters": lambda: hand_plant(4),
    "synthetic, 72 inverters": synthetic_plant,
    "400 rows": lambda: hand_plant(100, n_days=20),
    "synthetic, 200 days in weeks": lambda: synthetic_plant(200),
}


def left_title(ax) -> Text:
    title = ax.get_title(loc="left")
    (text,) = (
        child
        for child in ax.get_children()
        if isinstance(child, Text) and child.get_text() == title
    )
    return text


def legends(figure) -> list:
    """The figure's legends and those of its axes (e.g. one on the colour bar)."""
    on_axes = [axes.get_legend() for axes in figure.axes]
    return [*figure.legends, *(legend for legend in on_axes if legend is not None)]


def text_boxes(ax, renderer) -> dict[str, list[Bbox]]:
    """The figure's text boxes (and the colour bar's) by group, in display pixels."""
    figure = ax.figure
    (colorbar_axes,) = (other for other in figure.axes if other is not ax)
    colorbar = ax.collections[0].colorbar

    def extents(artists) -> list[Bbox]:
        return [
            artist.get_window_extent(renderer)
            for artist in artists
            if artist.get_visible() and (not isinstance(artist, Text) or artist.get_text())
        ]

    return {
        "title": extents([left_title(ax)]),
        "x label": extents([ax.xaxis.label]),
        "y label": extents([ax.yaxis.label]),
        "finding labels": extents(ax.texts),
        "colour bar label": extents([colorbar_axes.yaxis.label]),
        "colour bar ticks": extents(
            label
            for location, label in zip(
                colorbar_axes.yaxis.get_majorticklocs(),
                colorbar_axes.yaxis.get_majorticklabels(),
                strict=True,
            )
            if min(colorbar_axes.get_ylim()) <= location <= max(colorbar_axes.get_ylim())
        ),
        "legend": extents(legends(figure)),
        # what the texts must keep off: the heatmap and the colour bar (with its extensions)
        "heatmap": [ax.get_window_extent(renderer)],
        "colour bar": [colorbar.outline.get_window_extent(renderer)],
    }


#: Groups that may touch: a bar and its own ticks and label; findings sit on the heatmap.
MAY_TOUCH = {
    frozenset({"colour bar", "colour bar ticks"}),
    frozenset({"colour bar", "colour bar label"}),
    frozenset({"heatmap", "finding labels"}),
}


def draw(daily: xr.Dataset, relative: bool):
    ax = heatmap(daily, "discharged", relative=relative)
    figure = ax.figure
    figure.set_dpi(HEATMAP_DPI)
    figure.canvas.draw()
    return ax, figure.canvas.get_renderer()


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
@pytest.mark.parametrize("name", list(PLANTS))
def test_no_text_overlaps_another_or_leaves_the_figure(name: str, relative: bool) -> None:
    ax, renderer = draw(PLANTS[name](), relative)
    try:
        boxes = text_boxes(ax, renderer)
        assert boxes["legend"] and boxes["colour bar label"] and boxes["colour bar ticks"]
        figure_box = ax.figure.bbox
        for group, group_boxes in boxes.items():
            for box in group_boxes:
                assert figure_box.x0 <= box.x0 and box.x1 <= figure_box.x1, group
                assert figure_box.y0 <= box.y0 and box.y1 <= figure_box.y1, group
        for first, second in itertools.combinations(boxes, 2):
            if frozenset({first, second}) in MAY_TOUCH:
                continue
            for one, other in itertools.product(boxes[first], boxes[second]):
                assert not one.overlaps(other), f"{first} overlaps {second}"
        # the colour bar's label lies beside the bar, along its length
        (label,) = boxes["colour bar label"]
        (bar,) = boxes["colour bar"]
        assert label.x0 > bar.x1
        assert ax.figure.get_figheight() <= 40.0
    finally:
        plt.close(ax.figure)


def partial_cells(ax) -> set[tuple[int, int]]:
    """(row, column) cells under the partial-day hatch."""
    cells = set()
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_hatch() == PARTIAL_HATCH:
            column, row = int(patch.get_x()), int(patch.get_y())
            for step in range(int(patch.get_height())):
                cells.add((row + step, column))
    return cells


def legend_entries(figure) -> dict[str, str | None]:
    """Legend texts and the hatch of their handles."""
    entries = {}
    for legend in legends(figure):
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            entries[text.get_text()] = getattr(handle, "get_hatch", lambda: None)()
    return entries


@pytest.mark.parametrize("relative", [False, True], ids=["absolute", "relative"])
def test_partial_days_are_hatched_in_both_maps(relative: bool) -> None:
    daily = hand_plant(4)
    ax = heatmap(daily, relative=relative)
    try:
        # rows: WR01 DC1 B1, B2, DC2 B1, B2, WR02 ..., 4 per inverter
        one_hour = {(row, ONE_HOUR_DAY) for row in range(16)}
        wr02_dc1_day3 = {(4, 2), (5, 2)}  # coverage 0.94; 0.95 on day 2 is complete
        assert partial_cells(ax) == one_hour | wr02_dc1_day3
        entries = legend_entries(ax.figure)
        partial_label = "partial day (coverage below 95 %)" + (", not compared" if relative else "")
        assert entries[partial_label] == PARTIAL_HATCH
        missing = "not compared (no data, low coverage, idle day)" if relative else "no data (NaN)"
        assert entries[missing] == NO_DATA_STYLE["hatch"]
        shown = ax.collections[0].get_array()
        # the no-data day stays masked and un-hatched as partial; the one-hour day keeps its value
        assert np.ma.getmaskarray(shown)[8:12, NO_DATA_DAY].all()
        assert not any(column == NO_DATA_DAY for _, column in partial_cells(ax))
        if relative:  # a partial day is not compared: grey under the hatch
            assert np.ma.getmaskarray(shown)[:, ONE_HOUR_DAY].all()
        else:
            expected = daily["discharged"].isel(time=ONE_HOUR_DAY).values.reshape(-1)
            np.testing.assert_array_equal(shown[:, ONE_HOUR_DAY], expected)
    finally:
        plt.close(ax.figure)
    complete = daily.assign(coverage=daily["coverage"].where(daily["coverage"] == 0, 1.0))
    for ax in (heatmap(complete, relative=relative), heatmap(daily, var="coverage")):
        try:  # nothing partial; the coverage view shows the coverage itself
            assert partial_cells(ax) == set()
            assert not any(text.startswith("partial") for text in legend_entries(ax.figure))
        finally:
            plt.close(ax.figure)


def test_a_week_with_a_partial_day_is_hatched() -> None:
    daily = hand_plant(4, n_days=14)  # 2024-06-03 is a Monday: two weeks
    ax = heatmap(daily, period="week")
    try:
        assert partial_cells(ax) == {(row, 0) for row in range(16)}
        assert "week with a partial day (coverage below 95 %)" in legend_entries(ax.figure)
    finally:
        plt.close(ax.figure)
