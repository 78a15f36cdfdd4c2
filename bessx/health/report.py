"""Battery health as tables and text: the ``health.csv`` rows and the summary's section."""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.document import Items, Section, Text

__all__ = ["health_section", "summary_section", "to_frame"]

#: An enclosure swings normally when its SOC swing is within this of its siblings' (ratio).
_STEADY_SWING: Final = 0.1


def to_frame(health: xr.Dataset) -> pd.DataFrame:
    """One row per window and DC input: the DC-input estimates of :func:`health`.

    Parameters
    ----------
    health : xarray.Dataset
        The output of :func:`health` (computed or lazy; it is computed here).

    Returns
    -------
    pandas.DataFrame
        Columns ``window`` (start date), ``inverter``, ``dc_input``, ``usable_capacity_kwh``,
        ``round_trip_efficiency``, ``round_trip_flag`` (why it is unknown, by name: ``ok``
        when it is known), ``equivalent_full_cycles``, ``soc_spread_pct``,
        ``segments``, ``capacity_trend_pct_per_year`` and its ``_low``/``_high`` bounds;
        DC inputs without enclosures are left out.
    """
    names = {
        "usable_capacity": "usable_capacity_kwh",
        "round_trip_efficiency": "round_trip_efficiency",
        "equivalent_full_cycles": "equivalent_full_cycles",
        "soc_spread": "soc_spread_pct",
        "segments": "segments",
        "capacity_trend": "capacity_trend_pct_per_year",
        "capacity_trend_low": "capacity_trend_low_pct_per_year",
        "capacity_trend_high": "capacity_trend_high_pct_per_year",
    }
    flagged = "round_trip_flag" in health
    subset = health[[*names, *(["round_trip_flag"] if flagged else [])]]
    subset = subset.reset_coords(drop=True).compute()
    frame = subset.to_dataframe().rename(columns=names).reset_index()
    order = ["window", schema.INVERTER, schema.DC_INPUT, *names.values()]
    if flagged:  # the flag's meaning, next to the value it explains
        meanings = np.array(health["round_trip_flag"].attrs["flag_meanings"].split())
        frame["round_trip_flag"] = meanings[frame["round_trip_flag"].to_numpy()]
        order.insert(order.index("round_trip_efficiency") + 1, "round_trip_flag")
    frame = frame[order]
    if "n_enclosures" in health.coords:
        n_enclosures = health["n_enclosures"].to_series()
        keys = pd.MultiIndex.from_frame(frame[[schema.INVERTER, schema.DC_INPUT]])
        frame = frame[n_enclosures.reindex(keys).to_numpy() > 0]
    frame["window"] = pd.DatetimeIndex(frame["window"]).strftime("%Y-%m-%d")
    return frame.reset_index(drop=True)


def _dc_label(inverter: object, dc_input: object) -> str:
    return f"{inverter} DC{int(dc_input)}"  # type: ignore[call-overload]


#: Flags of ``round_trip_flag`` that mark a balance no battery gives (not merely no data).
_IMPOSSIBLE: Final = (
    "round_trip_above_one",
    "round_trip_negative",
    "discharge_beyond_charge_and_soc",
)


def _impossible_balances(result: xr.Dataset) -> list[str]:
    """Summary lines for the windows whose round trip was refused as impossible."""
    if "round_trip_flag" not in result:
        return []
    flag = result["round_trip_flag"]
    meanings = flag.attrs["flag_meanings"].split()
    lines = []
    for name in _IMPOSSIBLE:
        hits = (flag == meanings.index(name)).stack(dc=(schema.INVERTER, schema.DC_INPUT))
        windows = hits.sum(schema.WINDOW)
        if int(windows.sum()):
            which = ", ".join(
                f"{_dc_label(*key)} ({int(count)})"
                for key, count in zip(windows["dc"].values, windows.values, strict=True)
                if count
            )
            lines.append(
                f"**Round trip refused** (`{name}`, no estimate; windows per DC input): {which}."
            )
    return lines


def summary_section(health: xr.Dataset) -> str:
    """A "Battery health" section (markdown) for the run summary: :func:`health_section`.

    Parameters
    ----------
    health : xarray.Dataset
        The output of :func:`health` (it is computed here).

    Returns
    -------
    str
        Markdown, ending with a newline.
    """
    from bessx.document import to_markdown

    return to_markdown(health_section(health)) + "\n"


def health_section(health: xr.Dataset) -> Section:
    """The "Battery health" section of the run summary and of ``report.html``.

    Parameters
    ----------
    health : xarray.Dataset
        The output of :func:`health` (it is computed here).

    Returns
    -------
    bessx.document.Section
        The fastest-fading DC input (trend and its 95 % interval, first and last
        usable capacity), the least efficient one (round-trip efficiency against the plant
        median) and the largest SOC spread (its enclosures' offsets), each with its evidence.
    """
    result = health.compute()
    intro = (
        "Per DC input (power is metered per DC input; its enclosures share the DC bus). "
        f"Windows of {result.attrs.get('window_days', '?')} days; details in `health.csv`."
    )
    lines: list[str] = []
    trend = result["capacity_trend"].stack(dc=(schema.INVERTER, schema.DC_INPUT))
    if trend.notnull().any():
        fastest = trend.idxmin("dc").item()
        inverter, dc_input = fastest
        low = float(result["capacity_trend_low"].sel(inverter=inverter, dc_input=dc_input))
        high = float(result["capacity_trend_high"].sel(inverter=inverter, dc_input=dc_input))
        usable = (
            result["usable_capacity"]
            .sel(inverter=inverter, dc_input=dc_input)
            .dropna(schema.WINDOW)
        )
        median = float(trend.median())
        lines.append(
            f"**Fastest fade**: {_dc_label(inverter, dc_input)}, "
            f"{float(trend.sel(dc=fastest)):+.1f} %/year (95 % interval {low:+.1f} to "
            f"{high:+.1f}; plant median {median:+.1f} %/year); usable capacity "
            f"{float(usable[0]):,.0f} kWh in the first window, {float(usable[-1]):,.0f} kWh "
            "in the last."
        )
    else:
        lines.append("**Fastest fade**: no trend (it needs two windows with a usable capacity).")
    efficiency = (
        result["round_trip_efficiency"]
        .median(schema.WINDOW)
        .stack(dc=(schema.INVERTER, schema.DC_INPUT))
    )
    if efficiency.notnull().any():
        worst = efficiency.idxmin("dc").item()
        lines.append(
            f"**Lowest round-trip efficiency**: {_dc_label(*worst)}, "
            f"{float(efficiency.sel(dc=worst)):.3f} (median over windows; plant median "
            f"{float(efficiency.median()):.3f})."
        )
    else:
        lines.append("**Lowest round-trip efficiency**: no complete days.")
    lines.extend(_impossible_balances(result))
    spread = result["soc_spread"].mean(schema.WINDOW).stack(dc=(schema.INVERTER, schema.DC_INPUT))
    if spread.notnull().any():
        widest = spread.idxmax("dc").item()
        offsets = (
            result["soc_offset"]
            .mean(schema.WINDOW)
            .sel(inverter=widest[0], dc_input=widest[1])
            .values
        )
        ids = result["enclosure_id"].sel(inverter=widest[0], dc_input=widest[1]).values
        evidence = ", ".join(
            f"{name} {offset:+.1f}"
            for name, offset in zip(ids, offsets, strict=True)
            if name and np.isfinite(offset)
        )
        lines.append(
            f"**Largest SOC spread**: {_dc_label(*widest)}, {float(spread.sel(dc=widest)):.1f} "
            f"percentage points (plant median {float(spread.median()):.1f}); SOC offsets from "
            f"the siblings [percentage points]: {evidence}."
        )
    else:
        lines.append("**Largest SOC spread**: no DC input with two enclosures and SOC data.")
    offset = result["soc_offset"].mean(schema.WINDOW)
    swing = result["soc_swing_ratio"].mean(schema.WINDOW)
    # an offset with a normal swing sits in the reading (calibration), not in the energy
    steady = abs(offset).where(abs(swing - 1.0) <= _STEADY_SWING)
    if steady.notnull().any():
        stacked = steady.stack(slot=(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE))
        furthest = stacked.idxmax("slot").item()
        where = dict(
            zip((schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE), furthest, strict=True)
        )
        name = result["enclosure_id"].sel(where).item()
        lines.append(
            f"**Largest SOC offset with a normal swing**: {name}"
            f" ({_dc_label(furthest[0], furthest[1])}), "
            f"{float(offset.sel(where)):+.1f} percentage points from its siblings' mean, swing "
            f"{float(swing.sel(where)):.2f} × theirs: a steady offset, in the SOC reading or a "
            f"lasting imbalance (the plant's median |offset| is {float(abs(offset).median()):.1f})."
        )
    ratio = result["soc_swing_ratio"].mean(schema.WINDOW)
    if ratio.notnull().any():
        stacked = ratio.stack(slot=(schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE))
        smallest = stacked.idxmin("slot").item()
        where = dict(
            zip((schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE), smallest, strict=True)
        )
        lines.append(
            f"**Smallest SOC swing**: {result['enclosure_id'].sel(where).item()} "
            f"({_dc_label(smallest[0], smallest[1])}), {float(ratio.sel(where)):.2f} × its "
            "siblings' (a weak enclosure, or one that takes a smaller share of the DC input)."
        )
    if "conversion_efficiency" in result:
        conversion = result["conversion_efficiency"].median(schema.WINDOW)
        lines.append(
            f"Plant conversion efficiency (DC inputs to plant meter): discharge "
            f"{float(conversion.sel(direction='discharge')):.3f}, charge "
            f"{float(conversion.sel(direction='charge')):.3f}."
        )
    return Section("health", "Battery health", (Text(intro), Items(tuple(lines))))
