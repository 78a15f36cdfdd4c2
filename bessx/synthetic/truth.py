"""The synthetic batteries' true health, and the files that record it next to the exports.

:func:`health_truth` draws, from the seed and the health faults, what never changes: per DC
input the commissioning capacity of its enclosures, their fade rate and one-way efficiencies;
per enclosure the offset of its SOC reading. ``_daily_truth`` takes from one simulated day
what the analysis estimates from it: the SOC spread of each DC input and the mean SOC offset
of each enclosure from its siblings. ``_write_health_truth`` writes both as
:data:`HEALTH_TRUTH_FILES`, so tests can score :func:`bessx.health` against them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from bessx.synthetic.constants import (
    CAPACITY_SPREAD,
    COMMISSIONING_DATE,
    CONVERSION_EFFICIENCY,
    ENCLOSURE_CAPACITY_KWH,
    FAST_FADE_PCT_PER_YEAR,
    HEALTHY_FADE_PCT_PER_YEAR,
    HEALTHY_ROUND_TRIP,
    LOSSY_ROUND_TRIP,
    SOC_OFFSET_PCT,
    SOC_STEP_PCT,
)
from bessx.synthetic.faults import Fault, _fault_slot
from bessx.synthetic.layout import _ExportLayout, _layout
from bessx.synthetic.schedule import _as_date, _rng

#: The battery-health truths :func:`write_plant` writes next to the exports.
HEALTH_TRUTH_FILES: Final = (
    "health_truth.json",
    "health_truth_daily.csv",
    "health_truth_enclosures.csv",
)


@dataclass(frozen=True)
class HealthTruth:
    r"""The synthetic batteries' true health, per DC input (and per enclosure for offsets).

    Arrays run over the DC inputs in topology order (inverter by inverter, DC input 1 then 2)
    or, for ``soc_offset``, over the enclosures in topology order.

    Attributes
    ----------
    inverters, dc_inputs
        Inverter name and DC input number of each DC input.
    n_enclosures
        Number of enclosures on each DC input.
    enclosure_capacity
        Capacity of each of the DC input's enclosures at :data:`COMMISSIONING_DATE` [kWh]
        (the energy stored between 0 and 100 % SOC).
    fade_pct_per_year
        Linear fade rate [% of the commissioning capacity per year].
    charge_efficiency, discharge_efficiency
        One-way DC-side efficiencies [1]: charging with :math:`|P|` stores
        :math:`\eta_{ch}|P|`; discharging with :math:`P` draws :math:`P / \eta_{dis}`.
    enclosure_ids, soc_offset
        Each enclosure and the constant offset of its SOC reading [percentage points].
    """

    inverters: tuple[str, ...]
    dc_inputs: np.ndarray
    n_enclosures: np.ndarray
    enclosure_capacity: np.ndarray
    fade_pct_per_year: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    enclosure_ids: tuple[str, ...]
    soc_offset: np.ndarray

    @property
    def round_trip_efficiency(self) -> np.ndarray:
        """DC-side round-trip efficiency [1]: charge times discharge efficiency."""
        return self.charge_efficiency * self.discharge_efficiency

    def capacity_factor(self, date: str | dt.date | pd.Timestamp) -> np.ndarray:
        """Capacity on ``date`` relative to commissioning [1], per DC input."""
        years = (_as_date(date) - COMMISSIONING_DATE).days / 365.25
        return 1.0 - self.fade_pct_per_year / 100.0 * years

    def usable_capacity(self, date: str | dt.date | pd.Timestamp) -> np.ndarray:
        r"""Usable capacity on ``date`` [kWh] per DC input: the energy delivered at the DC
        input by discharging all its enclosures from 100 % to 0 %,
        :math:`n\,C\,\eta_{dis}`."""
        capacity = self.enclosure_capacity * self.capacity_factor(date)
        return self.n_enclosures * capacity * self.discharge_efficiency

    def to_dict(self, start: str | dt.date | pd.Timestamp) -> dict[str, object]:
        """JSON-ready record, with the usable capacity on ``start``."""
        usable = self.usable_capacity(start)
        return {
            "commissioning_date": COMMISSIONING_DATE.isoformat(),
            "soc_step_pct": SOC_STEP_PCT,
            "conversion_efficiency": CONVERSION_EFFICIENCY,
            "dc_inputs": [
                {
                    "inverter": inverter,
                    "dc_input": int(self.dc_inputs[i]),
                    "n_enclosures": int(self.n_enclosures[i]),
                    "enclosure_capacity_kwh": float(self.enclosure_capacity[i]),
                    "fade_pct_per_year": float(self.fade_pct_per_year[i]),
                    "charge_efficiency": float(self.charge_efficiency[i]),
                    "discharge_efficiency": float(self.discharge_efficiency[i]),
                    "round_trip_efficiency": float(self.round_trip_efficiency[i]),
                    "usable_capacity_kwh_at_start": float(usable[i]),
                }
                for i, inverter in enumerate(self.inverters)
            ],
            "soc_offsets": [
                {"enclosure_id": enclosure_id, "offset_pct": float(offset)}
                for enclosure_id, offset in zip(self.enclosure_ids, self.soc_offset, strict=True)
                if offset != 0.0
            ],
        }


def health_truth(
    topology: pd.DataFrame, *, seed: int = 0, faults: Iterable[Fault] = ()
) -> HealthTruth:
    """The true capacity, fade, efficiencies and SOC offsets of the synthetic plant.

    Parameters
    ----------
    topology
        Enclosure map as returned by :func:`plant_topology`.
    seed
        Random seed of the plant.
    faults
        The plant's faults; ``fast_fade``, ``lossy_dc_input`` and ``soc_offset`` change the
        truth (see ``bessx.synthetic.faults``).

    Returns
    -------
    HealthTruth
        Per DC input: commissioning capacity of each enclosure (1,400 kWh times 0.98-1.02),
        fade rate (1-3 %/year, 12 %/year for ``fast_fade``), one-way efficiencies (the square
        root of a round trip of 0.94-0.96, 0.88 for ``lossy_dc_input``); per enclosure:
        the offset of its SOC reading (the fault's ``size``, 4 percentage points by default,
        for ``soc_offset``; else 0).

    Examples
    --------
    >>> from bessx.synthetic import plant_topology
    >>> truth = health_truth(plant_topology(1))
    >>> truth.inverters, truth.n_enclosures.tolist()
    (('1APCS1', '1APCS1'), [3, 3])
    >>> bool(((truth.round_trip_efficiency > 0.94) & (truth.round_trip_efficiency < 0.96)).all())
    True
    """
    layout = _layout(topology)
    rng = _rng(seed, 5)
    n_dc = layout.n_dc
    capacity = ENCLOSURE_CAPACITY_KWH * rng.uniform(*CAPACITY_SPREAD, n_dc)
    fade = rng.uniform(*HEALTHY_FADE_PCT_PER_YEAR, n_dc)
    round_trip = rng.uniform(*HEALTHY_ROUND_TRIP, n_dc)
    offset = np.zeros(len(layout.enclosure_ids))
    for fault in faults:
        if fault.kind == "fast_fade":
            fade[_fault_slot(layout, fault)] = FAST_FADE_PCT_PER_YEAR
        elif fault.kind == "lossy_dc_input":
            round_trip[_fault_slot(layout, fault)] = LOSSY_ROUND_TRIP
        elif fault.kind == "soc_offset":
            size = SOC_OFFSET_PCT if fault.size is None else fault.size
            offset[layout.enclosure_ids.index(fault.enclosure_id)] = size
    one_way = np.sqrt(round_trip)
    slots = np.arange(n_dc)
    return HealthTruth(
        inverters=tuple(layout.inverters[slot // 2] for slot in slots),
        dc_inputs=slots % 2 + 1,
        n_enclosures=np.bincount(layout.enclosure_dc, minlength=n_dc),
        enclosure_capacity=capacity,
        fade_pct_per_year=fade,
        charge_efficiency=one_way,
        discharge_efficiency=one_way.copy(),
        enclosure_ids=layout.enclosure_ids,
        soc_offset=offset,
    )


def _daily_truth(layout: _ExportLayout, soc_reading: np.ndarray) -> dict[str, np.ndarray]:
    """The day's true SOC spread per DC input and SOC offset per enclosure [%].

    Computed from the SOC readings before quantisation, as :func:`bessx.health` defines them:
    the day's maximum over samples of the spread (max - min) among a DC input's enclosures,
    and each enclosure's mean over the day of its SOC minus the mean SOC of its siblings.
    """
    n_dc = layout.n_dc
    order = np.argsort(layout.enclosure_dc, kind="stable")
    slots = layout.enclosure_dc[order]
    readings = soc_reading[order]
    present, starts, counts = np.unique(slots, return_index=True, return_counts=True)
    spread = np.full(n_dc, np.nan)
    spread[present] = (
        np.maximum.reduceat(readings, starts, axis=0)
        - np.minimum.reduceat(readings, starts, axis=0)
    ).max(axis=1)
    totals = np.add.reduceat(readings, starts, axis=0)
    n_of = np.zeros(n_dc, dtype=np.intp)
    n_of[present] = counts
    total_of = np.zeros((n_dc, readings.shape[1]))
    total_of[present] = totals
    n_enclosure = n_of[layout.enclosure_dc]
    with np.errstate(invalid="ignore", divide="ignore"):
        siblings = (total_of[layout.enclosure_dc] - soc_reading) / (n_enclosure - 1)[:, None]
    offset = np.where(n_enclosure > 1, (soc_reading - siblings).mean(axis=1), np.nan)
    return {"soc_spread": spread, "soc_offset": offset}


def _write_health_truth(
    target: Path,
    truth: HealthTruth,
    dates: Sequence[dt.date],
    spreads: np.ndarray,
    offsets: np.ndarray,
) -> None:
    """``health_truth.json`` (constants) and the daily truths, two CSV files."""
    record = truth.to_dict(dates[0])
    (target / "health_truth.json").write_text(json.dumps(record, indent=2) + "\n")
    n_dc = len(truth.inverters)
    iso = np.array([day.isoformat() for day in dates])
    usable = np.array([truth.usable_capacity(day) for day in dates])
    pd.DataFrame(
        {
            "date": np.repeat(iso, n_dc),
            "inverter": np.tile(truth.inverters, len(dates)),
            "dc_input": np.tile(truth.dc_inputs, len(dates)),
            "usable_capacity_kwh": usable.ravel(),
            "soc_spread_pct": spreads.ravel(),
        }
    ).to_csv(target / "health_truth_daily.csv", index=False, float_format="%.6f")
    n_enc = len(truth.enclosure_ids)
    pd.DataFrame(
        {
            "date": np.repeat(iso, n_enc),
            "enclosure_id": np.tile(truth.enclosure_ids, len(dates)),
            "soc_offset_pct": offsets.ravel(),
        }
    ).to_csv(target / "health_truth_enclosures.csv", index=False, float_format="%.6f")
