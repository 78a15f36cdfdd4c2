"""The plant of ``bessx demo``: faults a week can show, and where a run's results show them.

The demo writes a week of the synthetic plant (:data:`DEMO_FAULTS`) and analyses it. Each
fault it injects is one that a week of data can show, sized to stand out of the spread that
the healthy plant has by itself:

* ``fast_fade`` is left out: 12 % per year is 0.2 % of capacity in a week, far inside the
  estimate's scatter, and a trend needs at least two windows of days.
* ``soc_offset`` reads :data:`DEMO_SOC_OFFSET_PCT` high instead of 4 points. An enclosure's
  SOC sits naturally a few points from its siblings' (the enclosures start the day at
  different SOC and move with slightly different gains): on the 72-inverter demo plant the
  natural offsets reach 4.4 points, more than a 4-point fault. (A reading pushed past 100 %
  holds at 100 %.)
* The dead DC input (about 100 % short), the weak enclosure (70 % of its peers' energy, its
  DC input 10-15 % short where healthy ones lie within 4 %), the lossy DC input (round trip
  0.88 where healthy ones lie within 0.94-0.96) and the data faults stand out as they are.

:func:`injected_faults_section` renders the demo's part of ``summary.md``: each injected
fault, where the results show it (:func:`find_injected`), and the days of one cycle, which
are the dispatch and not a fault.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from bessx import schema
from bessx.document import Section, Table, Text, date_ranges, to_markdown
from bessx.synthetic.faults import FAULT_KINDS, Fault
from bessx.synthetic.schedule import day_cycles
from bessx.synthetic.write import SyntheticPlant, write_plant

if TYPE_CHECKING:
    import xarray as xr

    from bessx.results import Results

__all__ = [
    "DEMO_FAULTS",
    "DEMO_SOC_OFFSET_PCT",
    "Evidence",
    "find_injected",
    "injected_faults_section",
    "write_demo_plant",
]

#: The faults ``bessx demo`` injects: every kind but ``fast_fade``, which a week cannot show.
DEMO_FAULTS: Final = tuple(kind for kind in FAULT_KINDS if kind != "fast_fade")
#: How far the demo's ``soc_offset`` enclosure reads its SOC high [percentage points].
DEMO_SOC_OFFSET_PCT: Final = 12.0


def write_demo_plant(
    folder: str | Path,
    start: str | dt.date | pd.Timestamp,
    days: int,
    *,
    inverters: int,
    seed: int = 0,
) -> SyntheticPlant:
    """Write the plant of ``bessx demo``: :func:`bessx.synthetic.write_plant` with its faults.

    Parameters
    ----------
    folder
        Destination folder, created if missing.
    start
        First local calendar date.
    days
        Number of consecutive days, at least 1.
    inverters
        Number of inverters, 1 to 72.
    seed
        Random seed.

    Returns
    -------
    bessx.synthetic.SyntheticPlant
        What was written; its ``faults`` are those of :data:`DEMO_FAULTS`, the SOC offset
        :data:`DEMO_SOC_OFFSET_PCT`.
    """
    return write_plant(
        folder,
        start,
        days,
        inverters=inverters,
        seed=seed,
        faults=DEMO_FAULTS,
        soc_offset_pct=DEMO_SOC_OFFSET_PCT,
    )


@dataclass(frozen=True)
class Evidence:
    """Where a run's results show one injected fault.

    Attributes
    ----------
    fault
        The injected fault.
    found
        True when the results show it at its place, False when they do not, None for what
        bessx does not analyse (the plant meter's NaN rows).
    where
        The output and the numbers that show it (or why not), in words.
    """

    fault: Fault
    found: bool | None
    where: str


def _dc(fault: Fault) -> str:
    return f"{fault.inverter} DC{fault.dc_input}"


def _at_dc_input(frame: pd.DataFrame, fault: Fault) -> pd.DataFrame:
    rows = (frame["inverter"] == fault.inverter) & (frame["dc_input"] == fault.dc_input)
    return frame[rows.to_numpy()]


def _quality_rows(results: Results, fault: Fault, flag: str) -> pd.DataFrame:
    """The DC-input rows (not the enclosures') of ``flag`` on the fault's dates."""
    quality = results.quality
    dates = pd.DatetimeIndex(quality["date"]).strftime("%Y-%m-%d")
    rows = (quality["flag"] == flag).to_numpy() & dates.isin(fault.dates)
    return quality[rows & (quality["enclosure_id"] == "").to_numpy()]


def _outlier(results: Results, fault: Fault, kinds: Sequence[str]) -> Evidence:
    found = _at_dc_input(results.outliers, fault)
    found = found[found["kind"].isin(kinds).to_numpy()]
    if found.empty:
        return Evidence(fault, False, f"not among the outliers at {_dc(fault)}")
    row = found.iloc[0]
    return Evidence(
        fault,
        True,
        f"Outliers: `{row['kind']}` of {row['enclosures']} ({_dc(fault)}), "
        f"{row['median_shortfall_pct']:.1f} % short on {row['days_flagged']} of "
        f"{row['days_valid']} days",
    )


def _dead(results: Results, fault: Fault) -> Evidence:
    evidence = _outlier(results, fault, ("dead_dc_input",))
    flagged = _at_dc_input(_quality_rows(results, fault, "dead"), fault)
    if evidence.found and not flagged.empty:
        days = date_ranges(flagged["date"])
        return Evidence(fault, True, f"{evidence.where}; Data quality: `dead` on {days}")
    return evidence


def _mean_over_windows(health: xr.Dataset, name: str) -> pd.Series:
    """``name`` per enclosure (by ``enclosure_id``), the mean over the windows."""
    values = health[name].mean(schema.WINDOW)
    ids = health["enclosure_id"].broadcast_like(values).values.ravel()
    series = pd.Series(values.values.ravel(), index=ids)
    return series[(series.index != "") & series.notna().to_numpy()]


def _weak(results: Results, fault: Fault) -> Evidence:
    evidence = _outlier(results, fault, ("weak_dc_input", "weak_enclosure"))
    if results.health is None:
        return evidence
    swing = _mean_over_windows(results.health, "soc_swing_ratio")
    if swing.empty or swing.idxmin() != fault.enclosure_id:
        return Evidence(fault, False, f"{evidence.where}; not the smallest SOC swing")
    where = (
        f"{evidence.where}; Battery health: smallest SOC swing, {fault.enclosure_id} at "
        f"{swing.min():.2f} × its siblings' (next smallest {swing.nsmallest(2).iloc[-1]:.2f})"
    )
    return Evidence(fault, bool(evidence.found), where)


def _gap(results: Results, fault: Fault) -> Evidence:
    """A DC input's NaN stretch: its own ``gap`` row, beyond what its day's other inputs lack."""
    gaps = _quality_rows(results, fault, "gap")
    mine = _at_dc_input(gaps, fault)
    here = int(mine["samples"].sum())
    n_dc = _dc_input_count(results)
    others = np.zeros(max(n_dc - 1, 1))  # the other DC inputs' gaps that day, 0 if none
    other_samples = gaps.drop(mine.index)["samples"].to_numpy()
    others[: other_samples.size] = other_samples[: others.size]
    if here == 0 or here <= np.median(others):
        return Evidence(fault, False, f"no `gap` of its own at {_dc(fault)} on {fault.dates[0]}")
    hours = _sample_hours(results, here)
    return Evidence(
        fault,
        True,
        f"Coverage, worst DC input-days: {_dc(fault)} on {fault.dates[0]}, {hours:.2f} h "
        f"missing; Data quality: `gap` of {here} samples",
    )


def _dc_input_count(results: Results) -> int:
    """The plant's DC inputs: inverters × DC inputs per inverter."""
    return results.daily.sizes[schema.INVERTER] * results.daily.sizes[schema.DC_INPUT]


def _sample_hours(results: Results, samples: float) -> float:
    """``samples`` sampling intervals in hours [h]."""
    return samples * float(results.daily.attrs["interval_seconds"]) / 3600.0


def _missing_rows(results: Results, fault: Fault) -> Evidence:
    gaps = _quality_rows(results, fault, "gap")
    n_dc = _dc_input_count(results)
    if len(gaps) < n_dc:
        return Evidence(fault, False, f"not a plant-wide gap on {fault.dates[0]}")
    hours = _sample_hours(results, float(gaps["samples"].min()))
    return Evidence(
        fault,
        True,
        f"Coverage, plant-wide gaps: {fault.dates[0]}, {hours:.2f} h missing in all "
        f"{n_dc} DC inputs",
    )


def _duplicate(results: Results, fault: Fault) -> Evidence:
    dropped = _quality_rows(results, fault, "duplicates_dropped")
    if dropped.empty:
        return Evidence(fault, False, f"no duplicate row dropped on {fault.dates[0]}")
    return Evidence(
        fault,
        True,
        f"Data quality: `duplicates_dropped`, {int(dropped['samples'].max())} row on "
        f"{fault.dates[0]}; Problems found while reading",
    )


def _per_dc_input(health: xr.Dataset, name: str) -> pd.Series:
    values = health[name]
    if schema.WINDOW in values.dims:
        values = values.median(schema.WINDOW)
    return values.to_series().dropna()


def _lossy(results: Results, fault: Fault) -> Evidence:
    if results.health is None:
        return Evidence(fault, False, "no battery health in this run")
    efficiency = _per_dc_input(results.health, "round_trip_efficiency")
    if efficiency.empty or efficiency.idxmin() != (fault.inverter, fault.dc_input):
        return Evidence(fault, False, f"{_dc(fault)} is not the lowest round-trip efficiency")
    return Evidence(
        fault,
        True,
        f"Battery health: lowest round-trip efficiency, {efficiency.min():.3f} "
        f"(next lowest {efficiency.nsmallest(2).iloc[-1]:.3f}, plant median "
        f"{efficiency.median():.3f})",
    )


def _fade(results: Results, fault: Fault) -> Evidence:
    if results.health is None:
        return Evidence(fault, False, "no battery health in this run")
    trend = _per_dc_input(results.health, "capacity_trend")
    if trend.empty or trend.idxmin() != (fault.inverter, fault.dc_input):
        return Evidence(fault, False, "not the fastest fade (a trend needs two windows)")
    return Evidence(
        fault, True, f"Battery health: fastest fade, {trend.min():+.1f} %/year at {_dc(fault)}"
    )


def _soc_offset(results: Results, fault: Fault) -> Evidence:
    from bessx.health.report import _STEADY_SWING

    if results.health is None:
        return Evidence(fault, False, "no battery health in this run")
    offset = _mean_over_windows(results.health, "soc_offset")
    swing = _mean_over_windows(results.health, "soc_swing_ratio")
    steady = offset[(swing.reindex(offset.index) - 1.0).abs().to_numpy() <= _STEADY_SWING].abs()
    name = str(fault.enclosure_id)
    # on a DC input of two, the pair's offsets are equal and opposite: the sign says which
    # one reads high, so the injected one is found when it ties for the largest, reading high
    largest = steady.max() if not steady.empty else np.nan
    if name not in steady.index or not steady[name] >= largest - 1e-9 or offset[name] <= 0:
        return Evidence(fault, False, "not the largest SOC offset with a normal swing")
    on_input = [
        str(enclosure)
        for enclosure in results.health["enclosure_id"]
        .sel({schema.INVERTER: fault.inverter, schema.DC_INPUT: fault.dc_input})
        .values
        if enclosure
    ]
    others = steady.drop(on_input, errors="ignore")
    pair = (
        f", its sibling's {offset[next(e for e in on_input if e != name)]:+.1f}"
        if len(on_input) == 2
        else ""
    )
    return Evidence(
        fault,
        True,
        f"Battery health: largest SOC offset with a normal swing, {offset[name]:+.1f} "
        f"percentage points from its siblings' mean{pair} (largest on any other DC input "
        f"{others.max():.1f})",
    )


def _not_analysed(results: Results, fault: Fault) -> Evidence:
    return Evidence(
        fault,
        None,
        "not analysed: the results come from the DC inputs and the SOC; the plant meter's "
        "columns enter only the conversion efficiency, which leaves their NaN rows out",
    )


def find_injected(faults: Sequence[Fault], results: Results) -> tuple[Evidence, ...]:
    """Where a run's results show each injected fault.

    Parameters
    ----------
    faults
        The injected faults (``faults`` of a :class:`bessx.synthetic.SyntheticPlant`).
    results
        The run on the plant's exports (:func:`bessx.pipeline.run`).

    Returns
    -------
    tuple of Evidence
        One per fault, in order. A fault is found when the results point at its place: the
        dead and the weak DC input among the outliers (the weak enclosure also with the
        smallest SOC swing), the NaN stretch as its DC input's own gap, the missing rows as
        a plant-wide gap, the duplicate row as a dropped duplicate on its day, the lossy DC
        input with the lowest round-trip efficiency, the fast fade with the fastest
        capacity trend, the SOC offset as the largest SOC offset with a normal swing.
    """
    found = []
    for fault in faults:
        if fault.kind == "nan_stretch":
            check = _gap if fault.inverter is not None else _not_analysed
        else:
            check = _CHECKS[fault.kind]
        found.append(check(results, fault))
    return tuple(found)


_CHECKS: Final = {
    "dead_dc_input": _dead,
    "weak_enclosure": _weak,
    "missing_rows": _missing_rows,
    "duplicate_row": _duplicate,
    "fast_fade": _fade,
    "lossy_dc_input": _lossy,
    "soc_offset": _soc_offset,
}


def _place(fault: Fault) -> str:
    if fault.enclosure_id:
        return f"{fault.enclosure_id} ({_dc(fault)})"
    return _dc(fault) if fault.inverter is not None else "plant"


def _mwh(per_day: pd.Series) -> str:
    low, high = f"{per_day.min():,.0f}", f"{per_day.max():,.0f}"
    return f"about {low}" if low == high else f"{low} to {high}"


def _cycles_text(plant: SyntheticPlant, daily: xr.Dataset) -> str:
    cycles = {day: day_cycles(day, seed=plant.seed) for day in plant.dates}
    one = [day for day, count in cycles.items() if count == 1]
    if not one:
        return "Every day of the demo plant runs two cycles."
    if len(one) == len(cycles):
        return "Every day of the demo plant runs one cycle."
    discharged = daily["discharged"].sum([schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE])
    dates = pd.DatetimeIndex(daily[schema.TIME].values).strftime("%Y-%m-%d")
    per_day = pd.Series(discharged.values / 1000.0, index=dates)
    singles = per_day.reindex(one).dropna()
    doubles = per_day.reindex([day for day in cycles if cycles[day] == 2]).dropna()
    energy = ""
    if not singles.empty and not doubles.empty:
        energy = (
            f": the plant discharged {_mwh(singles)} MWh on each, against {_mwh(doubles)} MWh "
            "on a day of two"
        )
    return (
        f"{date_ranges(one)}: days of one cycle, the dispatch and not a fault{energy}. "
        "The outliers compare each enclosure with the fleet of the same day, so these days "
        "flag nothing."
    )


def injected_faults_section(plant: SyntheticPlant, results: Results) -> str:
    """The "Injected faults (demo plant)" section of the demo's ``summary.md`` (Markdown).

    Parameters
    ----------
    plant
        The demo plant (:func:`write_demo_plant`).
    results
        The run on its exports.

    Returns
    -------
    str
        A table of the injected faults (kind, place, days, where the results show it, by
        :func:`find_injected`) and a paragraph on the days of one cycle.
    """
    rows = []
    marks = {True: "", False: "**not found**: ", None: ""}
    for evidence in find_injected(plant.faults, results):
        fault = evidence.fault
        rows.append(
            (
                f"`{fault.kind}`",
                _place(fault),
                date_ranges(fault.dates),
                fault.detail,
                marks[evidence.found] + evidence.where,
            )
        )
    section = Section(
        "injected",
        "Injected faults (demo plant)",
        (
            Text(
                "The demo plant is synthetic: these faults were injected (`faults.json` next "
                "to the exports), and the sections below show each one where the last column "
                "says."
            ),
            Table(("fault", "where", "days", "injected", "shown in"), tuple(rows), "injected"),
            Text(_cycles_text(plant, results.daily)),
        ),
    )
    return to_markdown(section)
