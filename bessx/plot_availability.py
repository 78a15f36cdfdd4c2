"""Plot of the availability: DC inputs x local days (matplotlib is imported when drawing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["availability_heatmap"]

#: Cells that are not an availability: nothing dispatched (idle, or all of it planned), and
#: no data while dispatched (or no sample at all that day).
_IDLE: Final = "#f2f2f2"
_NO_DATA: Final = "#4d4d4d"
#: Beyond this many DC inputs, the row labels name every n-th one.
_MAX_ROW_LABELS: Final = 60
#: The colour classes of the availability [1]: finer near 1, where contracts sit.
_BOUNDS: Final = (0.0, 0.5, 0.8, 0.9, 0.95, 0.97, 0.99, 0.999, 1.0 + 1e-9)


def availability_heatmap(per_day: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Time-based availability of every DC input and local day, missing data apart.

    Parameters
    ----------
    per_day
        The output of :func:`bessx.availability` (loaded here).
    ax
        Axes to draw on; by default a new figure sized to the plant.

    Returns
    -------
    matplotlib.axes.Axes
        One row per DC input with enclosures, one column per local day: the availability
        in classes from 0 (red) to 1 (green), finer near 1, with a colour bar; light grey
        where nothing was dispatched (idle, or a planned outage), dark grey where nothing
        is known (no sample that day, or every dispatched sample missing); a dot where part
        of the dispatched time had no data (the availability is that of the rest).
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    loaded = per_day[
        ["availability", "dispatched_time", "data_outage_time", "observed_time"]
    ].load()
    stacked = loaded.stack(dc=(schema.INVERTER, schema.DC_INPUT)).transpose("dc", schema.DAY)
    keep = stacked["dispatched_time"].notnull().any(schema.DAY).values
    stacked = stacked.isel(dc=np.flatnonzero(keep))
    values = stacked["availability"].values
    dispatched = np.nan_to_num(stacked["dispatched_time"].values)
    outage = np.nan_to_num(stacked["data_outage_time"].values)
    observed = np.nan_to_num(stacked["observed_time"].values)
    unknown = (observed <= 0) | ((dispatched > 0) & (outage >= dispatched))
    idle = ~unknown & (dispatched <= 0)
    partly = ~unknown & ~idle & (outage > 0)

    n_rows, n_days = values.shape
    if ax is None:
        height = min(3.0 + 0.18 * n_rows, 30.0)
        width = min(max(8.0, 3.0 + 0.2 * n_days), 30.0)
        _, ax = plt.subplots(figsize=(width, height), layout="constrained")
    background = np.where(unknown, 1.0, np.where(idle, 0.0, np.nan))
    ax.imshow(
        background,
        cmap=ListedColormap([_IDLE, _NO_DATA]),
        vmin=0.0,
        vmax=1.0,
        aspect="auto",
        interpolation="nearest",
    )
    classes = plt.get_cmap("RdYlGn", len(_BOUNDS) - 1)
    image = ax.imshow(
        np.where(unknown | idle, np.nan, values),
        cmap=classes,
        norm=BoundaryNorm(_BOUNDS, classes.N),
        aspect="auto",
        interpolation="nearest",
    )
    rows, columns = np.nonzero(partly)
    ax.scatter(columns, rows, s=6, c="black", marker="o", linewidths=0)
    labels = [f"{inverter} DC{int(dc)}" for inverter, dc in stacked["dc"].values]
    step = max(1, -(-n_rows // _MAX_ROW_LABELS))
    ax.set_yticks(np.arange(0, n_rows, step), labels[::step], fontsize=7)
    dates = pd.DatetimeIndex(stacked[schema.DAY].values)
    day_step = max(1, -(-n_days // 31))
    ax.set_xticks(
        np.arange(0, n_days, day_step),
        dates[::day_step].strftime("%Y-%m-%d"),
        rotation=90,
        fontsize=7,
    )
    ax.set_xlabel("local day")
    ax.set_ylabel("DC input")
    ax.set_title(
        "Availability per DC input and local day: 1 - unavailable / (dispatched - data outage)",
        fontsize=9,
    )
    colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.01)
    colorbar.set_ticks(
        (*_BOUNDS[:-1], 1.0), labels=[*(f"{bound:g}" for bound in _BOUNDS[:-1]), "1"]
    )
    colorbar.set_label("availability [1]")
    ax.figure.legend(
        handles=[
            Patch(facecolor=_IDLE, edgecolor="#999999", label="nothing dispatched"),
            Patch(facecolor=_NO_DATA, label="no data"),
            Line2D(
                [],
                [],
                marker="o",
                color="black",
                linestyle="",
                markersize=3,
                label="part of the dispatched time without data",
            ),
        ],
        loc="outside lower center",
        ncols=3,
        fontsize=8,
        frameon=False,
    )
    return ax
