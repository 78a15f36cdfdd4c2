"""Plots of daily enclosure energy (matplotlib is imported only when a plot is drawn)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, TypedDict

import numpy as np
import pandas as pd
import xarray as xr

from bessx.outliers import DEFAULT_IDLE_FRACTION, KINDS, compare_with_fleet
from bessx.outliers import outliers as find_outliers
from bessx.tables import (
    DEFAULT_MIN_COVERAGE,
    check_daily,
    enclosure_layout,
    enclosure_matrix,
    iso_dates,
)

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.colors import Colormap, Normalize
    from matplotlib.figure import Figure, SubFigure
    from matplotlib.text import Text

__all__ = ["MAX_DAILY_COLUMNS", "PERIODS", "RELATIVE_SPAN", "heatmap"]

PLOT_VARIABLES = ("charged", "discharged", "coverage")
#: Column widths of :func:`heatmap`: ``"auto"`` is days up to :data:`MAX_DAILY_COLUMNS`
#: days, weeks beyond.
PERIODS = ("auto", "day", "week")
#: More days than this are drawn as weekly cells by ``period="auto"``: beyond, a day is
#: a column of a few pixels at most and the eye cannot follow a row.
MAX_DAILY_COLUMNS = 120
#: The relative heatmap spans 100 % ± this many percent [%]; beyond, the extreme colours.
RELATIVE_SPAN = 25.0
RELATIVE_CMAP = "RdBu"
#: Colours of the relative heatmap beyond its span: ≈0 (a dead DC input) is near black.
RELATIVE_UNDER, RELATIVE_OVER = "#1a0008", "#08183a"

#: How each kind of finding is drawn: colour, marker and legend label.
KIND_STYLE = {
    "dead_dc_input": ("#d62728", "<", "dead DC input"),
    "weak_dc_input": ("#ff7f0e", "<", "weak DC input"),
    "weak_enclosure": ("#ff7f0e", "<", "weak enclosure"),
    "low_coverage": ("#303030", "<", "low coverage"),
}


class _PatchStyle(TypedDict):
    facecolor: str
    hatch: str
    edgecolor: str


NO_DATA_STYLE: _PatchStyle = {"facecolor": "#d9d9d9", "hatch": "////", "edgecolor": "#9a9a9a"}
#: Hatch of a cell that holds a partial day (coverage below :data:`DEFAULT_MIN_COVERAGE`):
#: the other diagonal than the missing cells', so that the two never look alike.
PARTIAL_HATCH = "\\\\\\\\"
#: Hatch colours of partial cells: dark on light cells (and on grey), light on dark ones.
PARTIAL_DARK, PARTIAL_LIGHT = "#1a1a1a", "#ffffff"
#: Height of one enclosure row when the figure is sized for the plot [inch].
ROW_HEIGHT = 0.046
#: Height of a new figure without its rows (title, dates, legend) and its bounds [inch].
FIXED_HEIGHT, MIN_HEIGHT, MAX_HEIGHT = 2.9, 4.5, 40.0
#: Values beyond this multiple of the 99th percentile get the "over" colour.
OVER_FACTOR = 1.25


def heatmap(
    daily: xr.Dataset,
    var: str = "discharged",
    *,
    ax: Axes | None = None,
    outliers: pd.DataFrame | None = None,
    relative: bool = False,
    period: str = "auto",
    cmap: str | None = None,
) -> Axes:
    """Draw one variable of the daily Dataset as an enclosure × day (or week) heatmap.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.daily_energy`. May be dask-backed; ``var`` is loaded.
    var
        ``"discharged"`` or ``"charged"`` [kWh], or ``"coverage"`` [1].
    ax
        Axes to draw on; by default a new figure with constrained layout, sized for the
        number of enclosures and columns (4.5 in tall for a few inverters, about 18.5 in
        for the 342 enclosures of the full plant, at most 40 in). The legend is a figure
        legend below everything else: give ``ax`` of a figure with
        ``layout="constrained"`` so that room is made for it.
    outliers
        Findings of :func:`bessx.outliers.outliers` to mark; by default they are computed
        with the default parameters (by ``var``, or by ``"discharged"`` when ``var`` is
        ``"coverage"``). Pass an empty DataFrame to mark nothing.
    relative
        Draw each enclosure-day as a percentage of that day's fleet median energy per
        enclosure [%] (the comparison :func:`bessx.outliers.outliers` makes), on a
        diverging colormap centred on 100 %, so that days with one or two cycles look
        alike and a DC input a few percent short shows on every day. Enclosure-days with
        too little data (coverage below 0.95) and idle days, which are not compared, are
        drawn as "not compared". Not for ``var="coverage"``.
    period
        Width of a column: ``"day"``, ``"week"`` (Monday to Sunday, local dates) or
        ``"auto"`` (days up to :data:`MAX_DAILY_COLUMNS` days, weeks beyond, so that a
        year of 342 enclosures stays readable). A weekly cell is the mean over the days
        of the week that have a value: the mean energy per day with data [kWh/d], the
        mean percentage of the fleet over the compared days [%], or the mean coverage
        [1]; a week without any such day is drawn as missing.
    cmap
        A colormap name; by default ``"viridis"`` (sequential, its lowest colour differs
        from the grey of missing cells) and, for ``relative=True``, ``"RdBu"``
        (diverging: red below the fleet, blue above).

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap's axes. Rows are the existing enclosures in plant order (inverter, DC
        input, slot), top to bottom, with one labelled tick per inverter and thin white
        lines between inverters (thicker between blocks); columns are days or weeks.
        Missing cells are hatched grey, not coloured. A cell that holds a partial day
        (coverage above 0 and below 0.95, e.g. a one-hour export) is hatched the other way
        over its colour (a weekly cell: when one of its days is partial), in the absolute
        and in the relative view, where such a day is not compared and so grey; the
        coverage view is not hatched, as it shows the coverage itself. Absolute values far
        above the rest (beyond 1.25 × the 99th percentile) get the colormap's "over"
        colour, relative values beyond 100 ± 25 % the extreme colours (≈0 %, a dead DC
        input, is near black). Findings are marked right of the heatmap (a triangle and
        the enclosure or DC input name), their flagged period outlined and the inverter's
        tick label coloured. The legend, below everything else, lists only what is drawn:
        the missing-cell entry appears only when a cell is missing, the partial-day entry
        only when a cell is hatched as partial, a kind of finding only when one is marked.
        The title is wrapped to the width of the axes, the colour bar's label to the
        length of the bar, so that neither runs into another text or out of the figure.

    Raises
    ------
    ValueError
        An unknown ``var`` or ``period``, or ``relative=True`` with ``var="coverage"``.

    Notes
    -----
    The mesh is a :class:`~matplotlib.collections.QuadMesh` whose array is the
    (enclosure, column) matrix with NaN masked; row ``i`` spans ``y`` from ``i`` to
    ``i + 1`` and column ``j`` spans ``x`` from ``j`` to ``j + 1``. A partial cell is
    covered by a :class:`~matplotlib.patches.Rectangle` with gid ``"bessx-partial-day"``
    (one per run of adjacent partial cells of a column with the same hatch colour).
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if var not in PLOT_VARIABLES:
        raise ValueError(
            f"var={var!r} cannot be drawn; valid names: "
            + ", ".join(repr(name) for name in PLOT_VARIABLES)
        )
    if period not in PERIODS:
        raise ValueError(
            f"period={period!r} is not a column width; valid names: "
            + ", ".join(repr(name) for name in PERIODS)
        )
    check_daily(daily, (var, "coverage") if relative else (var,))
    layout = enclosure_layout(daily)
    if relative and var == "coverage":
        raise ValueError("relative=True compares energies: use var='charged' or 'discharged'")
    hatch_partial = var != "coverage" and "coverage" in daily.data_vars
    names = [var, "coverage"] if hatch_partial else [var]
    loaded = daily[names].reset_coords(drop=True).compute()
    matrix = enclosure_matrix(loaded, var, layout).T
    attrs = daily[var].attrs
    long_name = str(attrs.get("long_name", var))
    units = str(attrs.get("units", "1" if var == "coverage" else "kWh"))
    dates = iso_dates(daily["time"].values)
    weekly = period == "week" or (period == "auto" and len(dates) > MAX_DAILY_COLUMNS)
    if relative:
        matrix = _relative_to_fleet(matrix, loaded, layout)
        label = f"{long_name}\n[% of the day's fleet median per enclosure]"
    elif weekly and var != "coverage":
        label = f"{long_name}\n[{units}/d, mean over the days with data]"
    else:
        label = f"{long_name} [{units}]"
    column_of_day, column_labels = _columns(dates, weekly)
    partial_day = np.zeros(matrix.shape, dtype=bool)  # (enclosure, day): some data, not enough
    if hatch_partial:
        coverage = enclosure_matrix(loaded, "coverage", layout).T
        partial_day = np.isfinite(coverage) & (coverage > 0) & (coverage < DEFAULT_MIN_COVERAGE)
    partial = _mean_by_column(partial_day.astype(float), column_of_day, len(column_labels)) > 0
    matrix = _mean_by_column(matrix, column_of_day, len(column_labels))
    n_rows, n_columns = matrix.shape
    if outliers is None:
        outliers = find_outliers(daily, by="discharged" if var == "coverage" else var)

    if ax is None:
        width = float(np.clip(3.8 + 0.2 * n_columns, 7.5, 20.0))
        height = float(np.clip(FIXED_HEIGHT + ROW_HEIGHT * n_rows, MIN_HEIGHT, MAX_HEIGHT))
        figure = plt.figure(figsize=(width, height), layout="constrained")
        ax = figure.add_subplot()
    # the root figure: a SubFigure has no size of its own
    figure = ax.figure.figure

    finite = matrix[np.isfinite(matrix)]
    if relative:
        norm = Normalize(100 - RELATIVE_SPAN, 100 + RELATIVE_SPAN)
        colormap = colormaps[cmap or RELATIVE_CMAP].with_extremes(
            under=RELATIVE_UNDER, over=RELATIVE_OVER
        )
        below = finite.size and finite.min() < norm.vmin
        above = finite.size and finite.max() > norm.vmax
        extend = {(1, 1): "both", (1, 0): "min", (0, 1): "max"}.get(
            (int(bool(below)), int(bool(above))), "neither"
        )
    else:
        if var == "coverage" or not finite.size:
            vmax = 1.0
        else:
            vmax = float(min(finite.max(), OVER_FACTOR * np.percentile(finite, 99)))
            vmax = vmax if vmax > 0 else 1.0
        norm = Normalize(0.0, vmax)
        colormap = colormaps[cmap or "viridis"].with_extremes(over="#f781bf")
        extend = "max" if finite.size and finite.max() > vmax else "neither"

    ax.add_patch(Rectangle((0, 0), n_columns, n_rows, linewidth=0, zorder=0.5, **NO_DATA_STYLE))
    mesh = ax.pcolormesh(
        np.arange(n_columns + 1),
        np.arange(n_rows + 1),
        np.ma.masked_invalid(matrix),
        cmap=colormap,
        norm=norm,
        zorder=1,
    )
    ax.set_xlim(0, n_columns)
    ax.set_ylim(n_rows, 0)
    _hatch_partial_cells(ax, matrix, partial, colormap, norm)

    inverters = layout["inverter"].to_numpy()
    starts = np.flatnonzero(np.r_[True, inverters[1:] != inverters[:-1]])
    ends = np.r_[starts[1:], n_rows]
    blocks = np.array([name[:2] for name in inverters[starts]])
    new_block = np.r_[False, blocks[1:] != blocks[:-1]]
    # dark dividers on the diverging map, whose middle is white
    divider = "#404040" if relative else "white"
    ax.hlines(starts[1:][~new_block[1:]], 0, n_columns, colors=divider, linewidth=0.3, zorder=2)
    ax.hlines(starts[1:][new_block[1:]], 0, n_columns, colors=divider, linewidth=1.4, zorder=2)
    ax.set_yticks((starts + ends) / 2, inverters[starts])
    ax.tick_params(axis="y", length=0)
    row_points = 72 * ax.get_position().height * figure.get_figheight() / max(n_rows, 1)
    label_size = float(np.clip(0.85 * row_points * np.min(ends - starts), 3.5, 8.0))
    ax.tick_params(axis="y", labelsize=label_size)

    max_labels = max(2, int(figure.get_figwidth() * ax.get_position().width * 1.6))
    step = max(1, math.ceil(n_columns / max_labels))
    shown = np.arange(0, n_columns, step)
    ax.set_xticks(
        shown + 0.5, column_labels[shown], rotation=45, ha="right", rotation_mode="anchor"
    )
    ax.set_xticks(np.arange(n_columns) + 0.5, minor=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("week starting on (local calendar date)" if weekly else "local calendar date")
    ax.set_ylabel("enclosures by inverter (plant order)")

    colorbar = figure.colorbar(
        mesh,
        ax=ax,
        extend=extend,
        shrink=float(min(1.0, 5.0 / figure.get_figheight())),
        aspect=25,
        pad=0.02,
        anchor=(0.0, 1.0),
    )
    if relative:
        ticks = np.arange(100 - RELATIVE_SPAN, 100 + RELATIVE_SPAN + 1, 5)
        colorbar.set_ticks(list(ticks), labels=[f"{tick:.0f} %" for tick in ticks])

    legend_handles: list[Artist] = []
    if not np.isfinite(matrix).all():
        missing = "not compared (no data, low coverage, idle day)" if relative else "no data (NaN)"
        legend_handles.append(Patch(label=missing, **NO_DATA_STYLE))
    if partial.any():
        threshold = f"coverage below {100 * DEFAULT_MIN_COVERAGE:.0f} %"
        legend_handles.append(
            Patch(
                label=f"week with a partial day ({threshold})"
                if weekly
                else f"partial day ({threshold})" + (", not compared" if relative else ""),
                facecolor=NO_DATA_STYLE["facecolor"] if relative else "white",
                hatch=PARTIAL_HATCH,
                edgecolor=PARTIAL_DARK,
            )
        )
    marked = _mark_findings(ax, layout, outliers, dates, column_of_day, n_columns, row_points)
    for kind in KINDS:
        if kind in marked:
            colour, marker, kind_label = KIND_STYLE[kind]
            legend_handles.append(
                Line2D([], [], color=colour, marker=marker, linestyle="none", label=kind_label)
            )
    if legend_handles:
        _legend_below(ax.figure, legend_handles)
    period_text = f"{dates[0]} to {dates[-1]}" if len(dates) else "no days"
    cells = f"{n_columns} weekly cells (Monday to Sunday)" if weekly else "daily cells"
    allocation = daily.attrs.get("allocation")
    what = f"{long_name[:1].upper()}{long_name[1:]}"
    if relative:
        what += " relative to the fleet: % of the day's median enclosure"
        what += ", weekly mean of the compared days" if weekly else ""
    elif weekly:
        what += ", weekly cells: mean per day with data" if var != "coverage" else ", weekly mean"
    else:
        what += ", per day"
    title = f"{what}\n{period_text}: {len(dates)} days in {cells}, {n_rows} enclosures"
    title += f", allocation '{allocation}'" if allocation else ""
    _fit_title_and_label(ax, ax.set_title("", loc="left", fontsize=10), title, colorbar, label)
    return ax


def _hatch_partial_cells(
    ax: Axes, matrix: np.ndarray, partial: np.ndarray, colormap: Colormap, norm: Normalize
) -> None:
    """Hatch the partial cells, one patch per run of a column's rows with one hatch colour.

    A partial cell with a value keeps its colour under the hatch (dark hatch on a light
    colour, light on a dark one); one without a value is grey, as missing cells are, with
    the dark hatch.
    """
    from matplotlib.patches import Rectangle

    if not partial.any():
        return
    rgba = colormap(norm(np.where(np.isfinite(matrix), matrix, 0.0)))
    luminance = rgba[..., :3] @ np.array([0.2126, 0.7152, 0.0722])
    # 0: not partial, 1: partial without a value, 2: on a light colour, 3: on a dark one
    style = np.where(
        ~partial, 0, np.where(~np.isfinite(matrix), 1, np.where(luminance >= 0.5, 2, 3))
    )
    looks = {
        1: (NO_DATA_STYLE["facecolor"], PARTIAL_DARK),
        2: ("none", PARTIAL_DARK),
        3: ("none", PARTIAL_LIGHT),
    }
    padded = np.pad(style, ((1, 1), (0, 0)))
    for column in np.flatnonzero(partial.any(axis=0)):
        starts = np.flatnonzero(padded[1:-1, column] != padded[:-2, column])
        ends = np.r_[starts[1:], style.shape[0]]
        for start, end in zip(starts, ends, strict=True):
            kind = int(style[start, column])
            if kind == 0:
                continue
            facecolor, hatch_colour = looks[kind]
            ax.add_patch(
                Rectangle(
                    (float(column), float(start)),
                    1,
                    end - start,
                    facecolor=facecolor,
                    edgecolor=hatch_colour,
                    hatch=PARTIAL_HATCH,
                    linewidth=0,
                    zorder=1.5,
                    gid="bessx-partial-day",
                )
            )


def _legend_below(figure: Figure | SubFigure, handles: list[Artist]) -> None:
    """A figure legend below the axes, in as many columns as the figure's width holds."""
    for columns in range(len(handles), 0, -1):
        legend = figure.legend(
            handles=handles,
            loc="outside lower left",
            ncols=columns,
            fontsize=8,
            frameon=False,
            handletextpad=0.5,
            columnspacing=1.5,
        )
        if columns == 1 or legend.get_window_extent().width <= 0.95 * figure.bbox.width:
            return
        legend.remove()


def _fit_title_and_label(
    ax: Axes, title_text: Text, title: str, colorbar: Colorbar, label: str
) -> None:
    """Set the title and the colour bar's label, each wrapped at spaces to fit its room.

    The title's lines are at most as wide as the axes, so that it stays off the colour bar
    (whose top tick label and extension stick out above the axes) and inside the figure;
    the label's lines are at most as long as the bar, so that it does not run past the bar's
    ends into the title, the legend or out of the figure. The room is measured after the
    figure's layout has run (without drawing); as the wrapped texts change the layout a
    little, this is repeated until the wrapping no longer changes.
    """
    figure = ax.figure.figure
    engine = figure.get_layout_engine()
    label_text = colorbar.ax.yaxis.label
    wrapped = ("", "")
    title_text.set_text("")
    colorbar.set_label("")
    for _ in range(4):
        if engine is not None:
            engine.execute(figure)
        width = ax.get_window_extent().width
        length = colorbar.ax.get_window_extent().height
        fitted = (
            _wrap(title_text, title, width=width),
            _wrap(label_text, label, height=length),
        )
        title_text.set_text(fitted[0])
        colorbar.set_label(fitted[1])
        if fitted == wrapped:
            return
        wrapped = fitted


def _wrap(text: Text, content: str, *, width: float = np.inf, height: float = np.inf) -> str:
    """``content`` with its lines broken at spaces so that each line's extent fits.

    Each candidate line is measured as ``text`` draws it, in display units (pixels): at
    most ``width`` wide and ``height`` tall (the length of a vertical text). A single word
    that does not fit keeps a line of its own.
    """
    lines: list[str] = []
    for paragraph in content.split("\n"):
        words = paragraph.split(" ")
        line = words[0]
        for word in words[1:]:
            text.set_text(f"{line} {word}")
            extent = text.get_window_extent()
            if extent.width <= width and extent.height <= height:
                line = f"{line} {word}"
            else:
                lines.append(line)
                line = word
        lines.append(line)
    return "\n".join(lines)


def _columns(dates: np.ndarray, weekly: bool) -> tuple[np.ndarray, np.ndarray]:
    """The column of each day and the column labels (the date, or the week's first date)."""
    if not weekly or not len(dates):
        return np.arange(len(dates)), np.asarray(dates, dtype=object)
    days = pd.DatetimeIndex(dates)
    mondays = (days - pd.to_timedelta(days.day_of_week, unit="D")).asi8
    _, first_day, column_of_day = np.unique(mondays, return_index=True, return_inverse=True)
    # a partial first week is labelled by its first date, not a Monday before the period
    return column_of_day, np.asarray(dates, dtype=object)[first_day]


def _mean_by_column(matrix: np.ndarray, column_of_day: np.ndarray, n_columns: int) -> np.ndarray:
    """Mean of the finite values of each (row, column) cell; NaN where there is none."""
    if n_columns == matrix.shape[1]:
        return matrix
    finite = np.isfinite(matrix)
    sums = np.zeros((matrix.shape[0], n_columns))
    counts = np.zeros((matrix.shape[0], n_columns))
    np.add.at(sums.T, column_of_day, np.where(finite, matrix, 0.0).T)
    np.add.at(counts.T, column_of_day, finite.T)
    return np.divide(sums, counts, out=np.full_like(sums, np.nan), where=counts > 0)


def _relative_to_fleet(matrix: np.ndarray, loaded: xr.Dataset, layout: pd.DataFrame) -> np.ndarray:
    """Energy as a percentage of the day's fleet median, as :func:`outliers` compares it."""
    coverage = enclosure_matrix(loaded, "coverage", layout).T
    covered = np.nan_to_num(coverage, nan=0.0) >= DEFAULT_MIN_COVERAGE
    comparison = compare_with_fleet(
        matrix.T,
        covered.T,
        layout["group"].to_numpy(),
        threshold=0.5,
        z_min=0.0,
        dead_level=0.0,
        idle_fraction=DEFAULT_IDLE_FRACTION,
    )
    return 100 * (1 - comparison.shortfall.T)


def _mark_findings(
    ax: Axes,
    layout: pd.DataFrame,
    findings: pd.DataFrame,
    dates: np.ndarray,
    column_of_day: np.ndarray,
    n_columns: int,
    row_points: float,
) -> set[str]:
    """Mark the rows of ``findings`` on the heatmap; return the kinds that were drawn."""
    from matplotlib.patches import Rectangle
    from matplotlib.transforms import blended_transform_factory, offset_copy

    if findings is None or len(findings) == 0:
        return set()
    row_of = pd.Series(np.arange(len(layout)), index=layout["enclosure_id"].to_numpy())
    if "enclosures" in findings.columns:  # a DC input finding marks each of its enclosures
        findings = findings.assign(enclosure_id=findings["enclosures"].str.split(", "))
        findings = findings.explode("enclosure_id", ignore_index=True)
    findings = findings[findings["enclosure_id"].isin(row_of.index)]
    if findings.empty:
        return set()
    rows = row_of[findings["enclosure_id"].to_numpy()].to_numpy()
    column_of = pd.Series(column_of_day, index=dates)
    first = column_of.reindex(findings["first_date"].to_numpy()).fillna(0).to_numpy(int)
    last = column_of.reindex(findings["last_date"].to_numpy()).fillna(n_columns - 1).to_numpy(int)
    kinds = findings["kind"].to_numpy()
    edge = blended_transform_factory(ax.transAxes, ax.transData)
    beside = offset_copy(edge, fig=ax.figure.figure, x=4, units="points")
    further = offset_copy(edge, fig=ax.figure.figure, x=10, units="points")

    for kind in KINDS:
        chosen = kinds == kind
        if not chosen.any():
            continue
        colour, marker, _ = KIND_STYLE[kind]
        ax.plot(
            np.ones(chosen.sum()),
            rows[chosen] + 0.5,
            linestyle="none",
            marker=marker,
            markersize=float(np.clip(row_points * 1.2, 3.0, 6.0)),
            color=colour,
            transform=beside,
            clip_on=False,
            gid=f"bessx-outliers-{kind}",
            zorder=4,
        )
    # One outline and one label per run of adjacent rows with the same finding and period.
    key = pd.DataFrame(
        {
            "row": rows,
            "kind": kinds,
            "first": first,
            "last": last,
            "inverter": findings["inverter"].to_numpy(),
            "dc_input": findings["dc_input"].to_numpy(),
            "scope": findings.get("scope", pd.Series("enclosure", index=findings.index))
            .astype(str)
            .to_numpy(),
            "enclosure_id": findings["enclosure_id"].to_numpy(),
        }
    ).sort_values("row", kind="stable")
    same = key[["kind", "first", "last", "inverter", "dc_input"]].ne(
        key[["kind", "first", "last", "inverter", "dc_input"]].shift()
    )
    run = (same.any(axis=1) | key["row"].diff().ne(1)).cumsum()
    runs = key.groupby(run, sort=False).agg(
        top=("row", "min"),
        bottom=("row", "max"),
        kind=("kind", "first"),
        first=("first", "first"),
        last=("last", "first"),
        inverter=("inverter", "first"),
        dc_input=("dc_input", "first"),
        scope=("scope", "first"),
        first_id=("enclosure_id", "first"),
        count=("row", "size"),
    )
    labels = np.where(
        (runs["scope"] == "dc_input") & (runs["count"] > 1),
        runs["inverter"] + " DC" + runs["dc_input"].astype(str),
        np.where(
            runs["count"] > 1,
            runs["first_id"] + " +" + (runs["count"] - 1).astype(str),
            runs["first_id"],
        ),
    )
    font_points = 7.5
    # Keep the outline off the rows it marks, so that their colours stay visible.
    margin = max(0.4, 1.5 / max(row_points, 1e-9))
    centres = (runs["top"] + runs["bottom"] + 1).to_numpy() / 2
    placed = _spread(centres, font_points * 1.15 / max(row_points, 1e-9))
    for (_, run_row), label, y in zip(runs.iterrows(), labels, placed, strict=True):
        colour = KIND_STYLE[run_row["kind"]][0]
        ax.add_patch(
            Rectangle(
                (run_row["first"], run_row["top"] - margin),
                run_row["last"] - run_row["first"] + 1,
                run_row["bottom"] - run_row["top"] + 1 + 2 * margin,
                fill=False,
                edgecolor=colour,
                linewidth=1.0,
                zorder=3,
                clip_on=False,
            )
        )
        ax.text(
            1.0,
            y,
            label,
            transform=further,
            color=colour,
            fontsize=font_points,
            va="center",
            ha="left",
            clip_on=False,
        )
    severity = runs["kind"].map({kind: rank for rank, kind in enumerate(KINDS)})
    worst = severity.groupby(runs["inverter"]).min()
    for tick_label in ax.get_yticklabels():
        if tick_label.get_text() in worst.index:
            tick_label.set_color(KIND_STYLE[KINDS[worst[tick_label.get_text()]]][0])
            tick_label.set_fontweight("bold")
    return set(kinds)


def _spread(centres: np.ndarray, gap: float) -> np.ndarray:
    """Move sorted label positions apart so that neighbours are at least ``gap`` apart."""
    placed = np.asarray(centres, dtype=float).copy()
    for i in range(1, len(placed)):
        placed[i] = max(placed[i], placed[i - 1] + gap)
    return placed
