"""Plots of daily enclosure energy (matplotlib is imported only when a plot is drawn)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from bessx.outliers import (
    DEFAULT_IDLE_FRACTION,
    DEFAULT_MIN_COVERAGE,
    KINDS,
    compare_with_fleet,
)
from bessx.outliers import outliers as find_outliers
from bessx.tables import check_daily, enclosure_layout, enclosure_matrix, iso_dates

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["heatmap"]

PLOT_VARIABLES = ("charged", "discharged", "coverage")

#: How each kind of finding is drawn: colour, marker and legend label.
KIND_STYLE = {
    "dead_dc_input": ("#d62728", "<", "dead DC input"),
    "weak_dc_input": ("#ff7f0e", "<", "weak DC input"),
    "weak_enclosure": ("#ff7f0e", "<", "weak enclosure"),
    "low_coverage": ("#303030", "<", "low coverage"),
}
NO_DATA_STYLE = {"facecolor": "#d9d9d9", "hatch": "////", "edgecolor": "#9a9a9a"}
#: Height of one enclosure row when the figure is sized for the plot [inch].
ROW_HEIGHT = 0.046
#: Values beyond this multiple of the 99th percentile get the "over" colour.
OVER_FACTOR = 1.25


def heatmap(
    daily: xr.Dataset,
    var: str = "discharged",
    *,
    ax: Axes | None = None,
    outliers: pd.DataFrame | None = None,
    relative: bool = False,
    cmap: str = "viridis",
) -> Axes:
    """Draw one variable of the daily Dataset as an enclosure × day heatmap.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.daily_energy`. May be dask-backed; ``var`` is loaded.
    var
        ``"discharged"`` or ``"charged"`` [kWh], or ``"coverage"`` [1].
    ax
        Axes to draw on; by default a new figure, sized for the number of enclosures and
        days (about 17 in tall for the 342 enclosures of the full plant).
    outliers
        Findings of :func:`bessx.outliers.outliers` to mark; by default they are computed
        with the default parameters (by ``var``, or by ``"discharged"`` when ``var`` is
        ``"coverage"``). Pass an empty DataFrame to mark nothing.
    relative
        Draw each enclosure's energy as a percentage of the fleet median of its day [%]
        (the comparison :func:`bessx.outliers.outliers` makes), so that days with one or
        two cycles look alike and a weak enclosure stands out. Enclosure-days with too
        little data and idle days, which are not compared, are drawn as missing. Not for
        ``var="coverage"``.
    cmap
        A sequential colormap name; its lowest colour must differ from the grey used for
        missing days (true for the default, viridis: 0 kWh is dark purple).

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap's axes. Rows are the existing enclosures in plant order (inverter, DC
        input, slot), top to bottom, with one labelled tick per inverter and thin white
        lines between inverters (thicker between blocks); columns are the days. Days
        without data are hatched grey, not coloured; values far above the rest (beyond
        1.25 × the 99th percentile) get the colormap's "over" colour. Findings are marked
        right of the heatmap (a triangle and the enclosure or DC input name), their
        flagged period outlined and the inverter's tick label coloured.

    Notes
    -----
    The mesh is a :class:`~matplotlib.collections.QuadMesh` whose array is the
    (enclosure, day) matrix with NaN masked; row ``i`` spans ``y`` from ``i`` to
    ``i + 1`` and day ``j`` spans ``x`` from ``j`` to ``j + 1``.
    """
    import matplotlib.pyplot as plt
    from matplotlib import colormaps
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    if var not in PLOT_VARIABLES:
        raise ValueError(
            f"var={var!r} cannot be drawn; valid names: "
            + ", ".join(repr(name) for name in PLOT_VARIABLES)
        )
    check_daily(daily, (var,))
    layout = enclosure_layout(daily)
    if relative and var == "coverage":
        raise ValueError("relative=True compares energies: use var='charged' or 'discharged'")
    loaded = daily[[var, "coverage"] if relative else [var]].reset_coords(drop=True).compute()
    matrix = enclosure_matrix(loaded, var, layout).T
    attrs = daily[var].attrs
    long_name = str(attrs.get("long_name", var))
    units = str(attrs.get("units", "1" if var == "coverage" else "kWh"))
    label = f"{long_name} [{units}]"
    if relative:
        matrix = _relative_to_fleet(matrix, loaded, layout)
        label = f"{long_name}\n[% of the fleet median of the day]"
    n_rows, n_days = matrix.shape
    dates = iso_dates(daily["time"].values)
    if outliers is None:
        outliers = find_outliers(daily, by="discharged" if var == "coverage" else var)

    if ax is None:
        width = float(np.clip(3.8 + 0.2 * n_days, 7.5, 20.0))
        height = float(np.clip(2.4 + ROW_HEIGHT * n_rows, 4.0, 40.0))
        figure = plt.figure(figsize=(width, height), layout="constrained")
        ax = figure.add_subplot()
    figure = ax.figure

    finite = matrix[np.isfinite(matrix)]
    if var == "coverage":
        vmin, vmax = 0.0, 1.0
    elif finite.size:
        vmin = 0.0
        vmax = float(min(finite.max(), OVER_FACTOR * np.percentile(finite, 99)))
        vmax = vmax if vmax > 0 else 1.0
    else:
        vmin, vmax = 0.0, 1.0
    colormap = colormaps[cmap].with_extremes(over="#f781bf")
    extend = "max" if finite.size and finite.max() > vmax else "neither"

    ax.add_patch(Rectangle((0, 0), n_days, n_rows, linewidth=0, zorder=0.5, **NO_DATA_STYLE))
    mesh = ax.pcolormesh(
        np.arange(n_days + 1),
        np.arange(n_rows + 1),
        np.ma.masked_invalid(matrix),
        cmap=colormap,
        vmin=vmin,
        vmax=vmax,
        zorder=1,
    )
    ax.set_xlim(0, n_days)
    ax.set_ylim(n_rows, 0)

    inverters = layout["inverter"].to_numpy()
    starts = np.flatnonzero(np.r_[True, inverters[1:] != inverters[:-1]])
    ends = np.r_[starts[1:], n_rows]
    blocks = np.array([name[:2] for name in inverters[starts]])
    new_block = np.r_[False, blocks[1:] != blocks[:-1]]
    ax.hlines(starts[1:][~new_block[1:]], 0, n_days, colors="white", linewidth=0.5, zorder=2)
    ax.hlines(starts[1:][new_block[1:]], 0, n_days, colors="white", linewidth=1.6, zorder=2)
    ax.set_yticks((starts + ends) / 2, inverters[starts])
    ax.tick_params(axis="y", length=0)
    row_points = 72 * ax.get_position().height * figure.get_figheight() / max(n_rows, 1)
    label_size = float(np.clip(0.85 * row_points * np.min(ends - starts), 3.5, 8.0))
    ax.tick_params(axis="y", labelsize=label_size)

    max_labels = max(2, int(figure.get_figwidth() * ax.get_position().width * 1.6))
    step = max(1, math.ceil(n_days / max_labels))
    shown = np.arange(0, n_days, step)
    ax.set_xticks(shown + 0.5, dates[shown], rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xticks(np.arange(n_days) + 0.5, minor=True)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel("local calendar date")
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
    colorbar.set_label(label)

    legend_handles = [Patch(label="no data (NaN)", **NO_DATA_STYLE)]
    marked = _mark_findings(ax, layout, outliers, dates, n_days, row_points)
    for kind in KINDS:
        if kind in marked:
            colour, marker, kind_label = KIND_STYLE[kind]
            legend_handles.append(
                Line2D([], [], color=colour, marker=marker, linestyle="none", label=kind_label)
            )
    colorbar.ax.legend(
        handles=legend_handles,
        loc="upper left",
        bbox_to_anchor=(0.0, -0.04),
        fontsize=8,
        frameon=False,
        borderaxespad=0.0,
        handletextpad=0.5,
    )
    period = f"{dates[0]} to {dates[-1]}" if n_days else "no days"
    allocation = daily.attrs.get("allocation")
    ax.set_title(
        f"{long_name[:1].upper()}{long_name[1:]}, per day"
        + (", relative to the fleet" if relative else "")
        + f"\n{period}: {n_days} days, "
        f"{n_rows} enclosures" + (f", allocation '{allocation}'" if allocation else ""),
        loc="left",
        fontsize=10,
    )
    return ax


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
    n_days: int,
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
    day_of = pd.Series(np.arange(len(dates)), index=dates)
    first = day_of.reindex(findings["first_date"].to_numpy()).fillna(0).to_numpy(int)
    last = day_of.reindex(findings["last_date"].to_numpy()).fillna(n_days - 1).to_numpy(int)
    kinds = findings["kind"].to_numpy()
    edge = blended_transform_factory(ax.transAxes, ax.transData)
    beside = offset_copy(edge, fig=ax.figure, x=4, units="points")
    further = offset_copy(edge, fig=ax.figure, x=10, units="points")

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
