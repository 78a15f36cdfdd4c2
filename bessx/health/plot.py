"""Plot of battery health: usable capacity over time (matplotlib is imported when drawing)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["capacity_trend"]

_HIGHLIGHT = "#d62728"
_OTHERS = "#9a9a9a"
#: Beyond this many other DC inputs, their range and median are drawn instead of lines.
_MAX_OTHER_LINES = 20


def capacity_trend(health: xr.Dataset, *, ax: Axes | None = None) -> Axes:
    """Usable capacity of every DC input over time, relative to its first window.

    Parameters
    ----------
    health
        The output of :func:`bessx.health` (loaded here).
    ax
        Axes to draw on; by default a new 10 x 5.5 in figure.

    Returns
    -------
    matplotlib.axes.Axes
        With fewer than two windows holding a usable capacity there is no trend: the axes
        say so, with the usable capacities of the one window, and draw nothing else.
        Otherwise grey lines: each DC input's usable capacity [% of its first window] at the
        middle of each window (for more than 20 DC inputs, their range and median). The fastest-
        fading DC input (most negative ``capacity_trend``) is drawn in red with its Theil-Sen
        line and the band between the lines of the 95 % interval's slopes (through the same
        median intercept). The title gives its trend and usable capacity in the first and last
        window.
    """
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    loaded = health[
        ["usable_capacity", "capacity_trend", "capacity_trend_low", "capacity_trend_high"]
    ].compute()
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 5.5), layout="constrained")
    usable = loaded["usable_capacity"].stack(dc=(schema.INVERTER, schema.DC_INPUT))
    usable = usable.transpose("dc", "window")
    starts = pd.DatetimeIndex(loaded["window"].values)
    days = (
        loaded["window_days"].values
        if "window_days" in loaded.coords
        else np.full(len(starts), int(health.attrs.get("window_days", 30)))
    )
    middles = starts + pd.to_timedelta(days / 2.0, unit="D")
    values = usable.values
    finite = np.isfinite(values)
    if finite.any(axis=0).sum() < 2:  # no trend to draw: say so rather than show empty axes
        length = int(health.attrs.get("window_days", days[0] if len(days) else 0))
        total = int(np.sum(days))
        return _too_short(ax, values[finite], int(finite.any(axis=0).sum()), length, total)
    first = np.take_along_axis(values, np.argmax(finite, axis=1)[:, None], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = 100.0 * values / first

    trend = loaded["capacity_trend"].stack(dc=(schema.INVERTER, schema.DC_INPUT))
    fastest = int(np.nanargmin(trend.values)) if np.isfinite(trend.values).any() else None
    others = [row for row in range(relative.shape[0]) if row != fastest and finite[row].any()]
    if len(others) > _MAX_OTHER_LINES:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # windows without any estimate
            low_band = np.nanmin(relative[others], axis=0)
            high_band = np.nanmax(relative[others], axis=0)
            median = np.nanmedian(relative[others], axis=0)
        ax.fill_between(
            middles,
            low_band,
            high_band,
            color=_OTHERS,
            alpha=0.3,
            linewidth=0,
            label=f"other {len(others)} DC inputs: range",
        )
        ax.plot(middles, median, color=_OTHERS, linewidth=1.5, label="... and median")
    else:
        for row in others:
            ax.plot(middles, relative[row], color=_OTHERS, linewidth=0.8, alpha=0.7)
        ax.plot([], [], color=_OTHERS, linewidth=0.8, label="other DC inputs")

    title = "Usable capacity per DC input"
    if fastest is not None:
        inverter, dc_input = usable["dc"].values[fastest]
        label = f"{inverter} DC input {int(dc_input)}"
        years = np.asarray((middles - middles[0]) / pd.Timedelta(days=365.25), dtype=float)
        slope = float(trend.values[fastest])
        low = float(loaded["capacity_trend_low"].sel(inverter=inverter, dc_input=dc_input))
        high = float(loaded["capacity_trend_high"].sel(inverter=inverter, dc_input=dc_input))
        points = finite[fastest]
        intercept = float(np.median(relative[fastest, points] - slope * years[points]))
        span = np.linspace(years[0], years[-1], 50)
        times = middles[0] + pd.to_timedelta(span * 365.25, unit="D")
        ax.fill_between(
            times,
            intercept + low * span,
            intercept + high * span,
            color=_HIGHLIGHT,
            alpha=0.15,
            linewidth=0,
            label=f"95 % interval {low:+.1f} to {high:+.1f} %/year",
        )
        ax.plot(
            middles,
            relative[fastest],
            color=_HIGHLIGHT,
            linewidth=0,
            marker="o",
            markersize=6,
            label=f"{label} (fastest fade)",
            zorder=3,
        )
        ax.plot(
            times,
            intercept + slope * span,
            color="#7f0f10",
            linewidth=1.2,
            linestyle="--",
            label=f"Theil-Sen trend {slope:+.1f} %/year",
            zorder=4,
        )
        kwh = values[fastest, points]
        title += f": fastest fade {label}, {slope:+.1f} %/year ({kwh[0]:,.0f} → {kwh[-1]:,.0f} kWh)"
    ax.set_title(title, fontsize=11)
    ax.set_ylabel("usable capacity [% of first window]")
    ax.set_xlabel("window middle (local date)")
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.grid(True, color="#e0e0e0", linewidth=0.6)
    ax.legend(loc="lower left", fontsize=9, frameon=False)
    return ax


def _too_short(ax: Axes, capacities: np.ndarray, windows: int, length: int, total: int) -> Axes:
    """Axes that say why there is no capacity trend, with what the history (``total``
    days) does give and how to set shorter windows."""
    lines = [
        f"The history ({total} days) holds {windows} window(s) of {length} days with a "
        "usable capacity:",
    ]
    if total >= 2:
        half = f"{total // 2}D"
        lines += [
            f"a capacity trend needs at least two: a longer history, or windows of {half}:",
            f'bessx run --health-window {half}, [health] window = "{half}" in the site file,',
            f'or bessx.health(ds, window="{half}").',
        ]
    else:
        lines.append("a capacity trend needs at least two: a longer history.")
    if len(capacities):
        low, median, high = np.percentile(capacities, [0, 50, 100])
        lines.append(
            f"Usable capacity per DC input: median {median:,.0f} kWh, "
            f"range {low:,.0f} to {high:,.0f} kWh ({len(capacities)} DC inputs)."
        )
    ax.text(0.5, 0.5, "\n".join(lines), transform=ax.transAxes, ha="center", va="center")
    ax.set_title("Usable capacity per DC input: no trend yet", fontsize=11)
    ax.set_axis_off()
    return ax
