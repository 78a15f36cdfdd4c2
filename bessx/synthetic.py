r"""A synthetic battery plant written in the SCADA export format.

The real exports are private, so tests, benchmarks and the walkthrough run on this stand-in.
:func:`write_plant` writes one wide parquet file per local calendar day, exactly as
``docs/export-format.md`` describes the real ones: a ``Timestamp`` index of naive local
plant times (``Australia/Sydney``) every 36 s from local midnight to the next local midnight
(2,300 rows on the spring DST day, 2,500 on the autumn one, 2,400 otherwise), about 2,800
columns of float32-like float64 and int64 values, and a trailing all-null ``Unnamed: N``
column.

Plant model
-----------
* **Topology.** Up to 72 inverters ``{block}{side}PCS{n}`` (block 1-4, side A/B, n 1-9).
  By a fixed pattern, 27 of the 72 (inverter positions 0, 3 and 5 of every 8) have 6
  battery enclosures and the others 4. Enclosures ``{block}{side}{n}BAT{k}``; BAT1..BAT(m/2)
  sit on DC input 1, the rest on DC input 2 (m = 4 or 6).
* **Dispatch.** Each day carries one or two full cycles (chosen per day from the seed).
  One cycle: charge from about 09:30, discharge from about 17:00 local time. Two cycles:
  charge from about 03:00, discharge from about 06:30, charge from about 10:30, discharge
  from about 17:00. Within a window the power follows 5-minute dispatch levels between 70 %
  and 100 % of full power; between windows the plant idles (power about 0 with noise).
  Windows start after 03:00 wall-clock time, so DST changes never cut one.
* **Power.** A healthy enclosure moves about ±585 kW at full power, so a DC input carries
  about 1,170 kW (2 enclosures) or 1,755 kW (3 enclosures) and the full plant about
  ±200 MW. Positive power discharges the battery. Every enclosure has a fixed gain
  (±3 %, times ±1 % per DC input) and a small daily one (0.5 %); the DC-input power is the
  sum of its enclosures' power plus measurement noise (standard deviation 2 kW while
  operating, 0.8 kW idle). The plant active power is the sum of the DC inputs with 1.5 %
  conversion losses (AC = 0.985 DC when discharging, DC / 0.985 when charging) plus
  20 kW noise; the external setpoint is the healthy plant's target, rounded to 10 kW.
* **State of charge.** An enclosure's capacity (the energy stored between 0 and 100 % SOC)
  is the same for all enclosures of a DC input: 1,400 kWh times 0.98-1.02 at
  ``COMMISSIONING_DATE`` (2022-07-01), fading linearly by 1-3 % of that per year (drawn per
  DC input; constant within a day). Each DC input has one-way DC-side efficiencies
  :math:`\eta_{ch} = \eta_{dis} = \sqrt{\eta_{rt}}` with a round trip :math:`\eta_{rt}`
  of 0.94-0.96. Discharging an enclosure with power :math:`P > 0` draws
  :math:`P / \eta_{dis}` from storage, charging with :math:`|P|` stores
  :math:`\eta_{ch} |P|`, and the SOC [%] is 100 times the stored energy over the capacity,
  sample and hold (the SOC of a sample includes the energy of all earlier samples of the
  day), from a fixed per-enclosure base of 7-11 %. The dispatcher charges an enclosure by
  its gain times 78 % of its present capacity and discharges the same, so every day ends
  where it started and SOC stays within about 7-94 %: power scales with the capacity
  (``capacity / 1400 kWh``), discharge power with :math:`\eta_{dis} / \sqrt{0.95}`,
  charge power with :math:`\sqrt{0.95} / \eta_{ch}`. The usable capacity of a DC input
  with :math:`n` enclosures of capacity :math:`C`, the energy it delivers at the DC input
  from 100 % to 0 % mean SOC, is :math:`n C \eta_{dis}`. SOC readings are quantised to
  0.1 %. The plant SOC is the mean enclosure SOC reading. :func:`health_truth` returns
  these truths and :func:`write_plant` writes them next to the exports.
* **Other signals.** Temperatures, cell voltages, state of health, auxiliary power and
  status words per enclosure, inverter, block side and plant fill the columns the analysis
  does not use. They vary slowly and are quantised, so that a full-plant day compresses to
  roughly 10 MB like a real one.
* Every value is computed in float32 and stored as float64 (e.g. 381.533325); status
  signals are int64.

Faults
------
With ``faults=True`` all eight kinds below are injected (a collection of names injects only
those), at places chosen deterministically from the seed among the existing inverters and
days. Each one is returned as a :class:`Fault` and written to ``faults.json``.

``"dead_dc_input"``
    One DC input delivers nothing on up to 3 consecutive days: its power is measurement
    noise only (|P| < 1 kW) and its enclosures' SOC sits flat at an integer. Its inverter
    reports alarm word 256 on those days.
``"weak_enclosure"``
    One enclosure (on another DC input, on another inverter when there is one) delivers
    70 % of a healthy enclosure's energy every day: its DC input's power is lower by that
    amount, its SOC swing is 70 % of its peers', its state of health reads about 70 %.
``"nan_stretch"``
    One DC input's power (not the dead one, not the weak enclosure's when avoidable) is NaN
    for 1 h (100 samples) on one day; on the same day the three plant-level columns are NaN
    on 4 scattered rows. These are two records of kind ``"nan_stretch"``, the plant-level
    one with ``inverter=None``.
``"missing_rows"``
    On one day, 50 consecutive rows (30 min) are absent from the file.
``"duplicate_row"``
    On one day, one row appears twice in a row: same timestamp, same values.

``"fast_fade"``
    One DC input (not the dead or the weak one) fades by 12 % per year.
``"lossy_dc_input"``
    Another DC input has a DC round-trip efficiency of 0.88.
``"soc_offset"``
    One enclosure (not on the dead, fast-fading or lossy DC input) reads its SOC
    4 percentage points high all the time.

The three health faults affect every day and draw from their own random stream, so adding
them leaves the places of the others unchanged.

Row-level faults fall between 06:00 and 20:00 local time (never in the repeated DST hour).
Single-day faults are put on different days when there are enough days.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bessx.errors import ConfigError
from bessx.schema import (
    DC_INPUTS,
    DC_POWER_PATTERN,
    DEFAULT_TIMEZONE,
    ENCLOSURE_ID_PATTERN,
    INVERTER_PATTERN,
    PLANT_COLUMNS,
    SOC_PATTERN,
    TIMESTAMP_COLUMN,
)

__all__ = [
    "FAULT_KINDS",
    "HEALTH_FAULT_KINDS",
    "HEALTH_TRUTH_FILES",
    "Fault",
    "HealthTruth",
    "SyntheticPlant",
    "day_frame",
    "health_truth",
    "inverter_names",
    "plan_faults",
    "plant_topology",
    "write_plant",
]

#: Names of the faults :func:`write_plant` can inject, in the order they are planned.
FAULT_KINDS: Final = (
    "dead_dc_input",
    "weak_enclosure",
    "nan_stretch",
    "missing_rows",
    "duplicate_row",
    "fast_fade",
    "lossy_dc_input",
    "soc_offset",
)
#: The battery-health truths :func:`write_plant` writes next to the exports.
HEALTH_TRUTH_FILES: Final = (
    "health_truth.json",
    "health_truth_daily.csv",
    "health_truth_enclosures.csv",
)
#: The faults that change the batteries' health (capacity, efficiency, SOC reading).
HEALTH_FAULT_KINDS: Final = ("fast_fade", "lossy_dc_input", "soc_offset")
TIMESTAMP_LAYOUTS: Final = ("index", "column")

SAMPLE_SECONDS: Final = 36
MAX_INVERTERS: Final = 72
ENCLOSURE_POWER_KW: Final = 585.0
ENCLOSURE_CAPACITY_KWH: Final = 1400.0
CYCLE_SOC_SWING: Final = 0.78
ROUND_TRIP_EFFICIENCY: Final = 0.95
CONVERSION_EFFICIENCY: Final = 0.985
WEAK_FRACTION: Final = 0.7
#: Capacities fade linearly from this date: capacity(d) = capacity_0 (1 - r (d - d0) / 365.25 d).
COMMISSIONING_DATE: Final = dt.date(2022, 7, 1)
#: Fade rate r of a healthy DC input [% of its commissioning capacity per year], drawn uniformly.
HEALTHY_FADE_PCT_PER_YEAR: Final = (1.0, 3.0)
FAST_FADE_PCT_PER_YEAR: Final = 12.0
#: DC-side round-trip efficiency of a healthy DC input, drawn uniformly; split evenly into
#: one-way charge and discharge efficiencies (each the square root).
HEALTHY_ROUND_TRIP: Final = (0.94, 0.96)
LOSSY_ROUND_TRIP: Final = 0.88
#: Commissioning capacity of an enclosure relative to ENCLOSURE_CAPACITY_KWH, per DC input.
CAPACITY_SPREAD: Final = (0.98, 1.02)
SOC_OFFSET_PCT: Final = 4.0
SOC_STEP_PCT: Final = 0.1

_SIX_ENCLOSURE_POSITIONS: Final = (0, 3, 5)  # of every 8 inverters: 27 of 72
_BLOCKS: Final = (1, 2, 3, 4)
_SIDES: Final = ("A", "B")
_INVERTERS_PER_SIDE: Final = 9

_HOURS_PER_SAMPLE: Final = SAMPLE_SECONDS / 3600.0
_SLOTS_PER_HOUR: Final = 12  # 5-minute dispatch intervals
_STAGE_EFFICIENCY: Final = float(np.sqrt(ROUND_TRIP_EFFICIENCY))
# (sign, nominal start hour [h, local wall clock]); negative = charging
_CYCLE_WINDOWS: Final = {
    1: ((-1, 9.5), (1, 17.0)),
    2: ((-1, 3.0), (1, 6.5), (-1, 10.5), (1, 17.0)),
}
_TWO_CYCLE_PROBABILITY: Final = 0.35
_MIN_WINDOW_GAP_H: Final = 0.5

_DEAD_DAYS: Final = 3
_DEAD_NOISE_KW: Final = 0.3
_NAN_STRETCH_ROWS: Final = 100
_PLANT_NAN_ROWS: Final = 4
_MISSING_ROWS: Final = 50
_FAULT_HOURS: Final = (6.0, 20.0)
_DEAD_ALARM_WORD: Final = 256

# Columns nobody analyses. The names are invented but shaped like the real ones
# ("<signal> (<units>) [<device>]").
_PLANT_EXTRA_FLOATS: Final = (
    "Grid frequency (Hz) [POC]",
    "Ambient temperature (°C) [Weather station]",
)
_PLANT_EXTRA_INTS: Final = (
    "Operating mode [BESS]",
    "Available inverters [BESS]",
    "Active alarms [BESS]",
    "Control mode [BESS]",
)
_GROUP_FLOATS: Final = (
    "Transformer oil temperature (°C) [MV Transformer {group}]",
    "Transformer winding temperature (°C) [MV Transformer {group}]",
    "Auxiliary power (kW) [Auxiliary {group}]",
    "HVAC supply air temperature (°C) [HVAC {group}]",
)
_GROUP_INTS: Final = (
    "Circuit breaker status [MV Switchgear {group}]",
    "HVAC state [HVAC {group}]",
)
_INVERTER_EXTRA_FLOATS: Final = ("IGBT temperature (°C) [Battery Inverter {inverter}]",)
_INVERTER_INTS: Final = (
    "Operating state [Battery Inverter {inverter}]",
    "Alarm word [Battery Inverter {inverter}]",
)
_ENCLOSURE_EXTRA_FLOATS: Final = (
    "Cell max temperature (°C) [Battery system {enclosure_id}]",
    "Cell min temperature (°C) [Battery system {enclosure_id}]",
    "Cell max voltage (V) [Battery system {enclosure_id}]",
    "Cell min voltage (V) [Battery system {enclosure_id}]",
    "Rack voltage (V) [Battery system {enclosure_id}]",
    "State of health (%) [Battery system {enclosure_id}]",
)
_CELLS_PER_RACK: Final = 240


def _template(pattern: re.Pattern[str]) -> str:
    """Turn a simple anchored column regex of :mod:`bessx.schema` into a format string."""
    text = pattern.pattern.removeprefix("^").removesuffix("$")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", text)
    return re.sub(r"\\(.)", r"\1", text)


_DC_POWER_NAME: Final = _template(DC_POWER_PATTERN)
_SOC_NAME: Final = _template(SOC_PATTERN)
_INVERTER_NAME: Final = _template(INVERTER_PATTERN)
_ENCLOSURE_NAME: Final = _template(ENCLOSURE_ID_PATTERN)
_PLANT_COLUMN: Final = {variable: column for column, variable in PLANT_COLUMNS.items()}


# Records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """One injected fault.

    Attributes
    ----------
    kind
        One of :data:`FAULT_KINDS`.
    inverter
        Affected inverter (e.g. ``"1APCS1"``), or None for plant-wide faults.
    dc_input
        Affected DC input (1 or 2), or None.
    enclosure_id
        Affected enclosure (e.g. ``"1A1BAT3"``), or None.
    dates
        Local calendar dates the fault affects, ISO format (``"2022-10-03"``).
    detail
        Human-readable description.
    start, end
        First and last affected sample (inclusive), naive local time in ISO format, for
        faults that affect some rows of one day; None for whole-day faults.
    """

    kind: str
    inverter: str | None
    dc_input: int | None
    enclosure_id: str | None
    dates: tuple[str, ...]
    detail: str
    start: str | None = None
    end: str | None = None


@dataclass(frozen=True)
class SyntheticPlant:
    """What :func:`write_plant` wrote.

    Attributes
    ----------
    folder
        The folder holding the exports, ``topology.csv`` and ``faults.json``.
    files
        The parquet exports written, sorted by name (= by date).
    topology
        One row per enclosure: ``inverter``, ``dc_input``, ``enclosure_id``.
    faults
        The injected faults.
    dates
        The local calendar dates written, ISO format.
    seed
        The random seed used.
    """

    folder: Path
    files: list[Path]
    topology: pd.DataFrame
    faults: tuple[Fault, ...]
    dates: tuple[str, ...] = ()
    seed: int = 0


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


# Topology --------------------------------------------------------------------------------
def inverter_names(n: int = MAX_INVERTERS) -> list[str]:
    """Names of the plant's first ``n`` inverters.

    Parameters
    ----------
    n
        Number of inverters, 1 to 72.

    Returns
    -------
    list of str
        ``1APCS1, ..., 1APCS9, 1BPCS1, ..., 4BPCS9``, truncated to ``n``.

    Examples
    --------
    >>> inverter_names(3)
    ['1APCS1', '1APCS2', '1APCS3']
    >>> inverter_names()[9]
    '1BPCS1'
    """
    _check_inverter_count(n)
    names = [
        _INVERTER_NAME.format(block=block, side=side, n=number)
        for block in _BLOCKS
        for side in _SIDES
        for number in range(1, _INVERTERS_PER_SIDE + 1)
    ]
    return names[:n]


def plant_topology(inverters: int = MAX_INVERTERS) -> pd.DataFrame:
    """Inverter / DC input / enclosure map of the synthetic plant.

    Parameters
    ----------
    inverters
        Number of inverters, 1 to 72 (the first ones of :func:`inverter_names`).

    Returns
    -------
    pandas.DataFrame
        One row per enclosure with columns ``inverter`` (str), ``dc_input`` (1 or 2) and
        ``enclosure_id`` (str). Inverters at positions 0, 3 and 5 of every 8 have 6
        enclosures (27 of 72), the others 4; the first half of an inverter's enclosures
        sit on DC input 1.

    Examples
    --------
    >>> plant_topology(2).groupby("inverter").size().to_dict()
    {'1APCS1': 6, '1APCS2': 4}
    >>> len(plant_topology())
    342
    """
    rows: list[tuple[str, int, str]] = []
    for position, inverter in enumerate(inverter_names(inverters)):
        parts = INVERTER_PATTERN.fullmatch(inverter)
        assert parts is not None
        count = 6 if position % 8 in _SIX_ENCLOSURE_POSITIONS else 4
        for k in range(1, count + 1):
            enclosure_id = _ENCLOSURE_NAME.format(**parts.groupdict(), k=k)
            rows.append((inverter, 1 if k <= count // 2 else 2, enclosure_id))
    topology = pd.DataFrame(rows, columns=["inverter", "dc_input", "enclosure_id"])
    return topology.astype({"dc_input": np.int64})


@dataclass(frozen=True)
class _Layout:
    """Index arrays and column names derived once from a topology."""

    inverters: tuple[str, ...]
    groups: tuple[str, ...]
    enclosure_ids: tuple[str, ...]
    enclosure_dc: np.ndarray  # DC input slot (2 * inverter + dc_input - 1) per enclosure
    float_columns: tuple[tuple[str, ...], ...]  # per segment
    int_columns: tuple[tuple[str, ...], ...]  # per segment (the last one has none)

    @property
    def n_dc(self) -> int:
        return 2 * len(self.inverters)

    @property
    def n_float(self) -> int:
        return sum(len(columns) for columns in self.float_columns)

    @property
    def n_int(self) -> int:
        return sum(len(columns) for columns in self.int_columns)

    def dc_slot(self, inverter: str, dc_input: int) -> int:
        return 2 * self.inverters.index(inverter) + int(dc_input) - 1


def _layout(topology: pd.DataFrame) -> _Layout:
    missing = {"inverter", "dc_input", "enclosure_id"} - set(topology.columns)
    if missing:
        raise ConfigError(f"topology lacks the columns {sorted(missing)}")
    key = tuple(
        zip(
            topology["inverter"].astype(str),
            topology["dc_input"].astype(int),
            topology["enclosure_id"].astype(str),
            strict=True,
        )
    )
    return _cached_layout(key)


@functools.lru_cache(maxsize=8)
def _cached_layout(rows: tuple[tuple[str, int, str], ...]) -> _Layout:
    inverters = tuple(dict.fromkeys(inverter for inverter, _, _ in rows))
    position = {inverter: i for i, inverter in enumerate(inverters)}
    group_of = []
    for inverter in inverters:
        parts = INVERTER_PATTERN.fullmatch(inverter)
        if parts is None:
            raise ConfigError(f"inverter name {inverter!r} does not look like '1APCS1'")
        group_of.append(parts["block"] + parts["side"])
    groups = tuple(dict.fromkeys(group_of))
    bad_inputs = {dc_input for _, dc_input, _ in rows} - set(DC_INPUTS)
    if bad_inputs:
        raise ConfigError(f"dc_input must be one of {DC_INPUTS}, got {sorted(bad_inputs)}")
    enclosure_ids = tuple(enclosure_id for _, _, enclosure_id in rows)
    enclosure_dc = np.array(
        [2 * position[inverter] + dc_input - 1 for inverter, dc_input, _ in rows], dtype=np.intp
    )
    enclosure_dc.flags.writeable = False  # the layout is cached and shared

    dc_and_temperature = [
        name
        for inverter in inverters
        for name in (
            *(_DC_POWER_NAME.format(dc_input=d, inverter=inverter) for d in DC_INPUTS),
            *(pattern.format(inverter=inverter) for pattern in _INVERTER_EXTRA_FLOATS),
        )
    ]
    enclosure_floats = [
        name
        for enclosure_id in enclosure_ids
        for name in (
            _SOC_NAME.format(enclosure_id=enclosure_id),
            *(pattern.format(enclosure_id=enclosure_id) for pattern in _ENCLOSURE_EXTRA_FLOATS),
        )
    ]
    float_columns = (
        (
            _PLANT_COLUMN["plant_soc"],
            _PLANT_COLUMN["plant_power"],
            _PLANT_COLUMN["setpoint"],
            *_PLANT_EXTRA_FLOATS,
        ),
        tuple(pattern.format(group=g) for g in groups for pattern in _GROUP_FLOATS),
        tuple(dc_and_temperature),
        tuple(enclosure_floats),
    )
    int_columns = (
        _PLANT_EXTRA_INTS,
        tuple(pattern.format(group=g) for g in groups for pattern in _GROUP_INTS),
        tuple(pattern.format(inverter=i) for i in inverters for pattern in _INVERTER_INTS),
        (),
    )
    for name in dc_and_temperature[:: 2 + len(_INVERTER_EXTRA_FLOATS)]:
        assert DC_POWER_PATTERN.fullmatch(name), name
    assert SOC_PATTERN.fullmatch(enclosure_floats[0]), enclosure_floats[0]
    return _Layout(
        inverters=inverters,
        groups=groups,
        enclosure_ids=enclosure_ids,
        enclosure_dc=enclosure_dc,
        float_columns=float_columns,
        int_columns=int_columns,
    )


# Time ------------------------------------------------------------------------------------
def _as_date(value: str | dt.date | pd.Timestamp) -> dt.date:
    return pd.Timestamp(value).date()


def _utc_sample_times(day: dt.date) -> np.ndarray:
    """Sample times [ns since epoch, UTC] from local midnight to the next, exclusive."""
    first = pd.Timestamp(day).tz_localize(DEFAULT_TIMEZONE).as_unit("ns").value
    stop = pd.Timestamp(day + dt.timedelta(days=1)).tz_localize(DEFAULT_TIMEZONE)
    return np.arange(first, stop.as_unit("ns").value, SAMPLE_SECONDS * 1_000_000_000)


def _local_naive(utc_ns: np.ndarray) -> pd.DatetimeIndex:
    utc = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")
    return utc.tz_convert(DEFAULT_TIMEZONE).tz_localize(None).as_unit("ns")


def _wall_clock_hours(day: dt.date, local: pd.DatetimeIndex) -> np.ndarray:
    """Local wall-clock time of day [h]; the repeated autumn hour maps onto itself."""
    midnight = pd.Timestamp(day).as_unit("ns").value
    return (local.asi8 - midnight) / 3.6e12


# Dispatch --------------------------------------------------------------------------------
def _rng(seed: int, stream: int, day: dt.date | None = None) -> np.random.Generator:
    key = [int(seed), stream] if day is None else [int(seed), stream, day.toordinal()]
    return np.random.default_rng(key)


def _dispatch(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Power of a healthy enclosure as a fraction of full power (+ discharging).

    Each window moves the energy of one half cycle (charge: ``CYCLE_SOC_SWING`` of the
    capacity divided by the charge efficiency; discharge: times the discharge efficiency),
    following random 5-minute levels of 70-100 % of full power, rescaled so that the
    sample-and-hold energy of the window is exact.
    """
    profile = np.zeros(hours.shape, dtype=np.float64)
    cycles = 2 if rng.random() < _TWO_CYCLE_PROBABILITY else 1
    swing_kwh = CYCLE_SOC_SWING * ENCLOSURE_CAPACITY_KWH
    earliest = 0.0
    for sign, nominal_start in _CYCLE_WINDOWS[cycles]:
        energy_kwh = swing_kwh / _STAGE_EFFICIENCY if sign < 0 else swing_kwh * _STAGE_EFFICIENCY
        levels = rng.uniform(0.7, 1.0, size=6 * _SLOTS_PER_HOUR)
        levels[rng.integers(2, 12)] = 1.0
        slot_energy = np.cumsum(levels) * ENCLOSURE_POWER_KW / _SLOTS_PER_HOUR
        n_slots = int(np.searchsorted(slot_energy, energy_kwh)) + 1
        start = max(nominal_start + rng.integers(0, 10) / _SLOTS_PER_HOUR, earliest)
        end = start + n_slots / _SLOTS_PER_HOUR
        inside = (hours >= start) & (hours < end)
        slot = np.floor((hours[inside] - start) * _SLOTS_PER_HOUR).astype(np.intp)
        window = levels[slot]
        scale = energy_kwh / (window.sum() * ENCLOSURE_POWER_KW * _HOURS_PER_SAMPLE)
        profile[inside] = sign * scale * window
        earliest = end + _MIN_WINDOW_GAP_H
    return profile


def _smooth(values: np.ndarray, samples: int) -> np.ndarray:
    """Trailing moving average over ``samples`` samples (a cheap thermal lag)."""
    total = np.cumsum(np.concatenate([np.zeros(samples), values]))
    return (total[samples:] - total[:-samples]) / samples


def _quantise(values: np.ndarray, step: float) -> np.ndarray:
    step32 = np.float32(step)
    return (np.round(np.asarray(values, dtype=np.float32) / step32) * step32).astype(np.float32)


# One day ---------------------------------------------------------------------------------
def _fault_rows(fault: Fault, local: pd.DatetimeIndex) -> slice:
    if fault.start is None or fault.end is None:
        raise ConfigError(f"fault {fault.kind!r} on {fault.dates} needs start and end times")
    first = np.flatnonzero(local == pd.Timestamp(fault.start))
    last = np.flatnonzero(local == pd.Timestamp(fault.end))
    if first.size == 0 or last.size == 0:
        raise ConfigError(f"fault {fault.kind!r}: {fault.start}..{fault.end} is not on the day")
    return slice(int(first[0]), int(last[-1]) + 1)


def day_frame(
    date: str | dt.date | pd.Timestamp,
    *,
    topology: pd.DataFrame | None = None,
    seed: int = 0,
    faults: Iterable[Fault] = (),
    timestamps: Literal["index", "column"] = "index",
    tz_aware: bool = False,
) -> pd.DataFrame:
    """One local calendar day of the synthetic plant, as its export file holds it.

    Parameters
    ----------
    date
        Local calendar date of the plant (``Australia/Sydney``).
    topology
        Enclosure map as returned by :func:`plant_topology` (default: the full plant).
    seed
        Random seed; the same seed, date and topology give the same frame.
    faults
        Fault records to apply (e.g. ``write_plant(...).faults`` or :func:`plan_faults`);
        those whose ``dates`` do not include ``date`` are ignored. Row-level faults
        (``nan_stretch``, ``missing_rows``, ``duplicate_row``) need ``start`` and ``end``.
    timestamps
        ``"index"``: a ``DatetimeIndex`` named ``Timestamp`` (the real layout);
        ``"column"``: an ordinary ``Timestamp`` column and a ``RangeIndex``.
    tz_aware
        Timestamps in ``Australia/Sydney`` (tz-aware) instead of naive local times.

    Returns
    -------
    pandas.DataFrame
        One row per 36-s sample from local midnight to the next (2,400 rows; 2,300 on the
        spring DST day, 2,500 on the autumn one, in chronological order), minus missing
        rows, plus duplicated ones. Powers [kW] and SOC [%] as float64 holding float32
        values; status words as int64; a last all-NaN column ``Unnamed: N`` where ``N``
        is the number of data columns (its position if ``Timestamp`` counts as column 0,
        as in the CSV the real files came from).

    Examples
    --------
    >>> frame = day_frame("2022-10-02", topology=plant_topology(2))
    >>> frame.shape
    (2300, 96)
    >>> frame.index.name, str(frame.index.dtype)
    ('Timestamp', 'datetime64[ns]')
    """
    frame, _ = _day_frame_and_truth(
        date, topology=topology, seed=seed, faults=faults, timestamps=timestamps, tz_aware=tz_aware
    )
    return frame


def _day_frame_and_truth(
    date: str | dt.date | pd.Timestamp,
    *,
    topology: pd.DataFrame | None = None,
    seed: int = 0,
    faults: Iterable[Fault] = (),
    timestamps: Literal["index", "column"] = "index",
    tz_aware: bool = False,
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """:func:`day_frame` and the day's truths of :func:`_daily_truth`."""
    if timestamps not in TIMESTAMP_LAYOUTS:
        raise ConfigError(f"timestamps must be one of {TIMESTAMP_LAYOUTS}, got {timestamps!r}")
    day = _as_date(date)
    iso_day = day.isoformat()
    topology = plant_topology() if topology is None else topology
    layout = _layout(topology)
    todays = [fault for fault in faults if iso_day in fault.dates]
    unknown = {fault.kind for fault in todays} - set(FAULT_KINDS)
    if unknown:
        raise ConfigError(f"unknown fault kinds {sorted(unknown)}; valid: {list(FAULT_KINDS)}")

    utc_ns = _utc_sample_times(day)
    local = _local_naive(utc_ns)
    hours = _wall_clock_hours(day, local)
    n_rows = utc_ns.size
    n_enc = len(layout.enclosure_ids)
    n_inv = len(layout.inverters)
    n_groups = len(layout.groups)

    fixed = _rng(seed, 0)
    fixed_gain = (
        fixed.uniform(0.97, 1.03, n_enc)
        * fixed.uniform(0.99, 1.01, layout.n_dc)[layout.enclosure_dc]
    )
    soc_base = fixed.uniform(7.0, 11.0, n_enc)
    health = fixed.uniform(96.0, 99.5, n_enc)
    cell_offset = fixed.uniform(-0.01, 0.01, n_enc)
    temperature_offset = fixed.uniform(-1.5, 1.5, n_enc)
    igbt_offset = fixed.uniform(-2.0, 2.0, n_inv)
    group_offset = fixed.uniform(-1.0, 1.0, n_groups)

    daily = _rng(seed, 1, day)
    profile = _dispatch(hours, daily)
    gain = fixed_gain * (1.0 + 0.005 * daily.standard_normal(n_enc))
    ambient = 16.0 + 7.0 * np.sin(2 * np.pi * (hours - 9.0) / 24.0) + daily.normal(0, 2)

    dead_dc: list[int] = []
    dead_inverters: list[int] = []
    soc_flat = np.zeros(n_enc, dtype=bool)
    for fault in todays:
        if fault.kind == "dead_dc_input":
            slot = _fault_slot(layout, fault)
            on_input = layout.enclosure_dc == slot
            gain[on_input] = 0.0
            soc_flat |= on_input
            dead_dc.append(slot)
            dead_inverters.append(slot // 2)
        elif fault.kind == "weak_enclosure":
            weak = layout.enclosure_ids.index(fault.enclosure_id)
            gain[weak] *= WEAK_FRACTION
            health[weak] = WEAK_FRACTION * 100.0 + fixed.uniform(0.0, 2.0)

    noise = _rng(seed, 2, day)
    operating = np.abs(profile) > 0.01
    activity = _smooth(np.abs(profile), 100)

    floats = np.empty((layout.n_float + 1, n_rows), dtype=np.float32)  # + Unnamed
    plant_rows, group_rows, inverter_rows, enclosure_rows = np.split(
        floats, np.cumsum([len(columns) for columns in layout.float_columns])[:-1]
    )
    inverter_rows = inverter_rows.reshape(n_inv, -1, n_rows)
    enclosure_rows = enclosure_rows[:-1].reshape(n_enc, -1, n_rows)

    # Enclosure power [kW]: the dispatcher moves each enclosure by its gain times
    # CYCLE_SOC_SWING of its present capacity and balances every day, so power scales with
    # the capacity, discharge power with the discharge efficiency and charge power with the
    # inverse of the charge efficiency (both relative to the nominal ones).
    truth = health_truth(topology, seed=seed, faults=todays)
    on_dc = layout.enclosure_dc
    capacity_kwh = (truth.enclosure_capacity * truth.capacity_factor(day))[on_dc]
    charge_eff = truth.charge_efficiency[on_dc]
    discharge_eff = truth.discharge_efficiency[on_dc]
    capacity_ratio = capacity_kwh / ENCLOSURE_CAPACITY_KWH
    scale = np.where(
        profile > 0,
        (capacity_ratio * discharge_eff / _STAGE_EFFICIENCY)[:, np.newaxis],
        (capacity_ratio * _STAGE_EFFICIENCY / charge_eff)[:, np.newaxis],
    )
    enclosure_power = scale * np.outer(gain * ENCLOSURE_POWER_KW, profile)

    # DC inputs [kW]: the sum of their enclosures' power plus measurement noise.
    members = np.zeros((layout.n_dc, n_enc))
    members[on_dc, np.arange(n_enc)] = 1.0
    noise_kw = np.where(operating, 2.0, 0.8).astype(np.float32)
    dc_power = (members @ enclosure_power).astype(np.float32)
    dc_power += noise.standard_normal(dc_power.shape, dtype=np.float32) * noise_kw
    for slot in dead_dc:
        quiet = noise.standard_normal(n_rows, dtype=np.float32) * np.float32(_DEAD_NOISE_KW)
        dc_power[slot] = np.clip(quiet, -0.9, 0.9)
    inverter_rows[:, :2] = dc_power.reshape(n_inv, 2, n_rows)
    inverter_rows[:, 2] = _quantise(
        np.add.outer(igbt_offset, 30.0 + 0.4 * ambient + 28.0 * _smooth(np.abs(profile), 20)),
        0.5,
    )

    # Enclosures: SOC [%] and slow, quantised companions.
    # Discharging with P draws P / eta_dis from storage, charging with |P| stores eta_ch |P|;
    # a sample's SOC includes the energy of all earlier samples of the day (sample and hold).
    drawn_kwh = (
        np.where(
            enclosure_power > 0,
            enclosure_power / discharge_eff[:, np.newaxis],
            enclosure_power * charge_eff[:, np.newaxis],
        )
        * _HOURS_PER_SAMPLE
    )
    drawn_before = np.cumsum(drawn_kwh, axis=1)
    drawn_before[:, 1:] = drawn_before[:, :-1].copy()
    drawn_before[:, 0] = 0.0
    soc = soc_base[:, np.newaxis] - 100.0 * drawn_before / capacity_kwh[:, np.newaxis]
    soc[soc_flat] = np.round(soc_base[soc_flat])[:, None]
    soc_reading = soc + truth.soc_offset[:, np.newaxis]
    soc32 = _quantise(soc_reading, SOC_STEP_PCT)
    enclosure_rows[:, 0] = soc32
    cell_temperature = np.add.outer(temperature_offset, 22.0 + 0.3 * ambient + 9.0 * activity)
    enclosure_rows[:, 1] = _quantise(cell_temperature + 1.5, 0.5)
    enclosure_rows[:, 2] = _quantise(cell_temperature - 1.5, 0.5)
    direction = np.float32(0.03) * np.sign(profile).astype(np.float32)
    cell_voltage = (np.float32(3.22) + np.float32(0.0013) * soc32) + cell_offset[:, None].astype(
        np.float32
    )
    enclosure_rows[:, 3] = _quantise(cell_voltage - direction + np.float32(0.01), 0.005)
    enclosure_rows[:, 4] = _quantise(cell_voltage - direction - np.float32(0.01), 0.005)
    enclosure_rows[:, 5] = _quantise(cell_voltage * _CELLS_PER_RACK, 0.5)
    enclosure_rows[:, 6] = _quantise(health, 0.1)[:, None]
    floats[-1] = np.nan

    # Plant [kW, %]: AC = DC after conversion losses; setpoint = healthy target.
    dc_total = dc_power.sum(axis=0, dtype=np.float64)
    ac_power = np.where(
        dc_total >= 0, dc_total * CONVERSION_EFFICIENCY, dc_total / CONVERSION_EFFICIENCY
    )
    full_plant_kw = n_enc * ENCLOSURE_POWER_KW * CONVERSION_EFFICIENCY
    plant_rows[0] = soc32.mean(axis=0, dtype=np.float64)
    plant_rows[1] = ac_power + 20.0 * noise.standard_normal(n_rows)
    plant_rows[2] = np.round(profile * full_plant_kw / 10.0) * 10.0
    plant_rows[3] = _quantise(50.0 + 0.03 * np.sin(hours * 7.1) + 0.01 * np.sin(hours * 23.0), 0.01)
    plant_rows[4] = _quantise(ambient, 0.5)
    group_rows.reshape(n_groups, -1, n_rows)[:] = _quantise(
        np.stack(
            [
                np.add.outer(group_offset, 35.0 + 0.5 * ambient + 15.0 * _smooth(activity, 300)),
                np.add.outer(group_offset, 45.0 + 0.5 * ambient + 25.0 * _smooth(activity, 150)),
                np.add.outer(group_offset * 3.0, 40.0 + 30.0 * activity),
                np.add.outer(group_offset * 0.5, 18.0 + 2.0 * activity),
            ],
            axis=1,
        ),
        0.5,
    )

    state = np.where(profile > 0.01, 2, np.where(profile < -0.01, 1, 0)).astype(np.int64)
    ints = np.empty((layout.n_int, n_rows), dtype=np.int64)
    plant_ints, group_ints, inverter_ints, _ = np.split(
        ints, np.cumsum([len(columns) for columns in layout.int_columns])[:-1]
    )
    plant_ints[0] = state
    plant_ints[1] = n_inv - len(set(dead_inverters))
    plant_ints[2] = len(set(dead_inverters))
    plant_ints[3] = 2
    group_ints = group_ints.reshape(n_groups, -1, n_rows)
    group_ints[:, 0] = 1
    group_ints[:, 1] = (activity > 0.3).astype(np.int64)
    inverter_ints = inverter_ints.reshape(n_inv, -1, n_rows)
    inverter_ints[:, 0] = state
    inverter_ints[:, 1] = 0
    for inverter in dead_inverters:
        inverter_ints[inverter, 1] = _DEAD_ALARM_WORD

    keep = np.arange(n_rows)
    plant_nan = slice(0, 3)
    for fault in todays:
        if fault.kind == "nan_stretch":
            rows = _fault_rows(fault, local)
            if fault.inverter is None:
                picks = _rng(seed, 3, day).choice(
                    np.arange(rows.start, rows.stop), _PLANT_NAN_ROWS, replace=False
                )
                floats[plant_nan, picks] = np.nan
            else:
                slot = _fault_slot(layout, fault)
                inverter_rows[slot // 2, slot % 2, rows] = np.nan
        elif fault.kind == "missing_rows":
            rows = _fault_rows(fault, local)
            keep = keep[(keep < rows.start) | (keep >= rows.stop)]
    for fault in todays:
        if fault.kind == "duplicate_row":
            row = _fault_rows(fault, local).start
            keep = np.insert(keep, np.searchsorted(keep, row, side="right"), row)

    if keep.size != n_rows:
        floats = floats[:, keep]
        ints = ints[:, keep]
        utc_ns = utc_ns[keep]
        local = local[keep]
    frame = _assemble(layout, floats, ints, utc_ns, local, timestamps, tz_aware)
    return frame, _daily_truth(layout, soc_reading)


def _daily_truth(layout: _Layout, soc_reading: np.ndarray) -> dict[str, np.ndarray]:
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


def _assemble(
    layout: _Layout,
    floats: np.ndarray,
    ints: np.ndarray,
    utc_ns: np.ndarray,
    local: pd.DatetimeIndex,
    timestamps: str,
    tz_aware: bool,
) -> pd.DataFrame:
    """Wide frame from (column, row) blocks, without copying column by column."""
    if tz_aware:
        utc = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")
        index = utc.tz_convert(DEFAULT_TIMEZONE).rename(TIMESTAMP_COLUMN)
    else:
        index = local.rename(TIMESTAMP_COLUMN)
    floats64 = floats.astype(np.float64)
    n_columns = layout.n_float + layout.n_int + 1  # Unnamed counts itself
    float_names = [*layout.float_columns]
    float_names[-1] = (*float_names[-1], f"Unnamed: {n_columns}")
    pieces = []
    float_start = int_start = 0
    for float_names_part, int_names_part in zip(float_names, layout.int_columns, strict=True):
        float_stop = float_start + len(float_names_part)
        pieces.append(
            pd.DataFrame(
                floats64[float_start:float_stop].T,
                index=index,
                columns=list(float_names_part),
                copy=False,
            )
        )
        float_start = float_stop
        if int_names_part:
            int_stop = int_start + len(int_names_part)
            pieces.append(
                pd.DataFrame(
                    ints[int_start:int_stop].T,
                    index=index,
                    columns=list(int_names_part),
                    copy=False,
                )
            )
            int_start = int_stop
    frame = pd.concat(pieces, axis=1)
    if timestamps == "column":
        frame = frame.reset_index()
    return frame


# Faults ----------------------------------------------------------------------------------
def _fault_kinds(faults: bool | str | Collection[str]) -> tuple[str, ...]:
    if faults is True:
        return FAULT_KINDS
    if faults is False:
        return ()
    names = {faults} if isinstance(faults, str) else set(faults)
    unknown = names - set(FAULT_KINDS)
    if unknown:
        raise ConfigError(
            f"unknown fault names {sorted(unknown)}; valid names: {', '.join(FAULT_KINDS)}"
        )
    return tuple(kind for kind in FAULT_KINDS if kind in names)


def _iso_local(local: pd.DatetimeIndex, row: int) -> str:
    return local[row].isoformat()


def plan_faults(
    topology: pd.DataFrame,
    dates: Sequence[str | dt.date | pd.Timestamp],
    *,
    seed: int = 0,
    faults: bool | str | Collection[str] = True,
) -> tuple[Fault, ...]:
    """Choose where the faults go, deterministically from the seed.

    Parameters
    ----------
    topology
        Enclosure map as returned by :func:`plant_topology`.
    dates
        Local calendar dates of the plant, in order.
    seed
        Random seed.
    faults
        True for every kind of :data:`FAULT_KINDS`, False for none, or a collection of
        kind names.

    Returns
    -------
    tuple of Fault
        The planned faults, in the order of :data:`FAULT_KINDS` (``nan_stretch`` gives a
        DC-input record and a plant-level record).

    Raises
    ------
    bessx.errors.ConfigError
        For an unknown fault name (a :class:`ValueError`).

    Examples
    --------
    >>> [f.kind for f in plan_faults(plant_topology(4), ["2022-10-01"], faults={"missing_rows"})]
    ['missing_rows']
    """
    kinds = _fault_kinds(faults)
    days = [_as_date(day) for day in dates]
    if not kinds or not days:
        return ()
    layout = _layout(topology)
    rng = _rng(seed, 4)
    n_days = len(days)
    iso = [day.isoformat() for day in days]
    single_days = rng.permutation(n_days)
    # Every kind draws the same way whether or not the others are requested.
    dead_length = min(_DEAD_DAYS, n_days)
    dead_first = int(rng.integers(0, n_days - dead_length + 1))
    powered = np.unique(layout.enclosure_dc)
    dead_slot = int(rng.choice(powered))
    weak_order = rng.permutation(len(layout.enclosure_ids))
    nan_order = rng.permutation(layout.n_dc)
    row_draws = rng.random(4)

    taken: dict[dt.date, list[tuple[int, int]]] = {}

    def rows_between(day: dt.date, draw: float, length: int) -> tuple[int, int, pd.DatetimeIndex]:
        """``length`` rows between 06:00 and 20:00 that overlap no earlier row fault."""
        local = _local_naive(_utc_sample_times(day))
        hours = _wall_clock_hours(day, local)
        usable = (hours >= _FAULT_HOURS[0]) & (hours < _FAULT_HOURS[1])
        for first, last in taken.get(day, []):
            usable[max(first - length - 1, 0) : last + 2] = False
        allowed = np.flatnonzero(usable)
        allowed = allowed[allowed + length - 1 < hours.size]
        first = int(allowed[int(draw * allowed.size)])
        taken.setdefault(day, []).append((first, first + length - 1))
        return first, first + length - 1, local

    def dc_name(slot: int) -> tuple[str, int]:
        return layout.inverters[slot // 2], slot % 2 + 1

    planned: list[Fault] = []
    if "dead_dc_input" in kinds:
        inverter, dc_input = dc_name(dead_slot)
        dead_dates = tuple(iso[dead_first : dead_first + dead_length])
        planned.append(
            Fault(
                "dead_dc_input",
                inverter,
                dc_input,
                None,
                dead_dates,
                f"DC input {dc_input} of {inverter} delivers nothing (|P| < 1 kW noise, "
                f"enclosure SOC flat at an integer) on {len(dead_dates)} day(s)",
            )
        )
    avoid_slot = dead_slot if "dead_dc_input" in kinds else -1
    weak_slot = -1
    if "weak_enclosure" in kinds:
        candidates = [e for e in weak_order if layout.enclosure_dc[e] != avoid_slot]
        other_inverter = [e for e in candidates if layout.enclosure_dc[e] // 2 != avoid_slot // 2]
        weak = int((other_inverter or candidates or list(weak_order))[0])
        weak_slot = int(layout.enclosure_dc[weak])
        inverter, dc_input = dc_name(weak_slot)
        planned.append(
            Fault(
                "weak_enclosure",
                inverter,
                dc_input,
                layout.enclosure_ids[weak],
                tuple(iso),
                f"enclosure {layout.enclosure_ids[weak]} delivers {WEAK_FRACTION:.0%} of a "
                f"healthy enclosure's energy every day (SOC swing {WEAK_FRACTION:.0%} of peers)",
            )
        )
    if "nan_stretch" in kinds:
        day_index = int(single_days[0 % n_days])
        day = days[day_index]
        first, last, local = rows_between(day, row_draws[0], _NAN_STRETCH_ROWS)
        candidates = [int(s) for s in nan_order if s not in (avoid_slot, weak_slot)]
        slot = (candidates or [int(s) for s in nan_order if s != avoid_slot] or [0])[0]
        inverter, dc_input = dc_name(slot)
        planned.append(
            Fault(
                "nan_stretch",
                inverter,
                dc_input,
                None,
                (iso[day_index],),
                f"DC input {dc_input} of {inverter} is NaN for {_NAN_STRETCH_ROWS} samples "
                f"({_NAN_STRETCH_ROWS * SAMPLE_SECONDS / 60:.0f} min)",
                _iso_local(local, first),
                _iso_local(local, last),
            )
        )
        first, last, local = rows_between(day, row_draws[1], _NAN_STRETCH_ROWS)
        planned.append(
            Fault(
                "nan_stretch",
                None,
                None,
                None,
                (iso[day_index],),
                f"the plant-level columns are NaN on {_PLANT_NAN_ROWS} scattered rows "
                "between start and end",
                _iso_local(local, first),
                _iso_local(local, last),
            )
        )
    if "missing_rows" in kinds:
        day_index = int(single_days[1 % n_days])
        first, last, local = rows_between(days[day_index], row_draws[2], _MISSING_ROWS)
        planned.append(
            Fault(
                "missing_rows",
                None,
                None,
                None,
                (iso[day_index],),
                f"{_MISSING_ROWS} consecutive rows "
                f"({_MISSING_ROWS * SAMPLE_SECONDS / 60:.0f} min) are absent from the file",
                _iso_local(local, first),
                _iso_local(local, last),
            )
        )
    health_rng = _rng(seed, 6)
    health_slots = [int(slot) for slot in health_rng.permutation(powered)]
    health_enclosures = [int(e) for e in health_rng.permutation(len(layout.enclosure_ids))]
    taken_slots = {avoid_slot, weak_slot}

    def health_slot() -> int:
        free = [slot for slot in health_slots if slot not in taken_slots]
        slot = (free or health_slots)[0]
        taken_slots.add(slot)
        return slot

    health_faults: list[Fault] = []
    if "fast_fade" in kinds:
        inverter, dc_input = dc_name(health_slot())
        health_faults.append(
            Fault(
                "fast_fade",
                inverter,
                dc_input,
                None,
                tuple(iso),
                f"DC input {dc_input} of {inverter} loses {FAST_FADE_PCT_PER_YEAR:g} % of its "
                "capacity per year",
            )
        )
    if "lossy_dc_input" in kinds:
        inverter, dc_input = dc_name(health_slot())
        health_faults.append(
            Fault(
                "lossy_dc_input",
                inverter,
                dc_input,
                None,
                tuple(iso),
                f"DC input {dc_input} of {inverter} has a DC round-trip efficiency of "
                f"{LOSSY_ROUND_TRIP:.0%}",
            )
        )
    if "soc_offset" in kinds:
        avoid = {avoid_slot} | {_fault_slot(layout, fault) for fault in health_faults}
        candidates = [e for e in health_enclosures if layout.enclosure_dc[e] not in avoid]
        enclosure = (candidates or health_enclosures)[0]
        inverter, dc_input = dc_name(int(layout.enclosure_dc[enclosure]))
        health_faults.append(
            Fault(
                "soc_offset",
                inverter,
                dc_input,
                layout.enclosure_ids[enclosure],
                tuple(iso),
                f"the SOC of enclosure {layout.enclosure_ids[enclosure]} reads "
                f"{SOC_OFFSET_PCT:g} percentage points high",
            )
        )
    if "duplicate_row" in kinds:
        day_index = int(single_days[2 % n_days])
        first, _, local = rows_between(days[day_index], row_draws[3], 1)
        planned.append(
            Fault(
                "duplicate_row",
                None,
                None,
                None,
                (iso[day_index],),
                "one row appears twice in a row (same timestamp, same values)",
                _iso_local(local, first),
                _iso_local(local, first),
            )
        )
    return (*planned, *health_faults)


def _fault_slot(layout: _Layout, fault: Fault) -> int:
    """DC input slot of a fault that names its inverter and DC input."""
    if fault.inverter is None or fault.dc_input is None:
        raise ConfigError(f"fault {fault.kind!r} needs an inverter and a DC input")
    return layout.dc_slot(fault.inverter, fault.dc_input)


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
        truth (see the module docstring).

    Returns
    -------
    HealthTruth
        Per DC input: commissioning capacity of each enclosure (1,400 kWh times 0.98-1.02),
        fade rate (1-3 %/year, 12 %/year for ``fast_fade``), one-way efficiencies (the square
        root of a round trip of 0.94-0.96, 0.88 for ``lossy_dc_input``); per enclosure:
        the offset of its SOC reading (4 percentage points for ``soc_offset``, else 0).

    Examples
    --------
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
            offset[layout.enclosure_ids.index(fault.enclosure_id)] = SOC_OFFSET_PCT
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


# Writing ---------------------------------------------------------------------------------
def _check_inverter_count(n: int) -> None:
    if not 1 <= int(n) <= MAX_INVERTERS:
        raise ConfigError(f"inverters must be between 1 and {MAX_INVERTERS}, got {n}")


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


def write_plant(
    folder: str | Path,
    start: str | dt.date | pd.Timestamp = "2022-10-01",
    days: int = 7,
    *,
    inverters: int = MAX_INVERTERS,
    seed: int = 0,
    faults: bool | str | Collection[str] = True,
    timestamps: Literal["index", "column"] = "index",
    tz_aware: bool = False,
) -> SyntheticPlant:
    """Write a synthetic plant's exports, one parquet file per local calendar day.

    Parameters
    ----------
    folder
        Destination folder, created if missing. Existing files of the same names are
        overwritten.
    start
        First local calendar date (``Australia/Sydney``).
    days
        Number of consecutive days, at least 1.
    inverters
        Number of inverters, 1 to 72 (72: the full plant, about 2,800 columns and
        ±200 MW).
    seed
        Random seed; the same arguments give byte-identical files.
    faults
        True (all of :data:`FAULT_KINDS`), False (a healthy plant), or a collection of
        fault names to inject only those (see the module docstring).
    timestamps
        ``"index"`` (the real layout: a ``DatetimeIndex`` named ``Timestamp``) or
        ``"column"`` (an ordinary ``Timestamp`` column).
    tz_aware
        Store tz-aware ``Australia/Sydney`` timestamps instead of naive local times.

    Returns
    -------
    SyntheticPlant
        Folder, files, topology and the injected faults. ``topology.csv``,
        ``faults.json`` and the battery-health truths are written next to the exports:
        ``health_truth.json`` (per DC input: commissioning capacity, fade rate, efficiencies,
        usable capacity on the first day; the SOC offsets; see :func:`health_truth`),
        ``health_truth_daily.csv`` (per date and DC input: usable capacity [kWh], SOC spread
        [%]) and ``health_truth_enclosures.csv`` (per date and enclosure: mean SOC offset
        from its siblings [%]), as :func:`bessx.health` defines them.

    Raises
    ------
    bessx.errors.ConfigError
        For an unknown fault name or an out-of-range argument (a :class:`ValueError`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plant = write_plant(folder, "2022-10-01", days=2, inverters=2)
    ...     [path.name for path in plant.files]
    ['20221001.parquet', '20221002.parquet']
    """
    _check_inverter_count(inverters)
    if int(days) < 1:
        raise ConfigError(f"days must be at least 1, got {days}")
    if timestamps not in TIMESTAMP_LAYOUTS:
        raise ConfigError(f"timestamps must be one of {TIMESTAMP_LAYOUTS}, got {timestamps!r}")
    kinds = _fault_kinds(faults)
    first = _as_date(start)
    dates = [first + dt.timedelta(days=offset) for offset in range(int(days))]
    topology = plant_topology(inverters)
    planned = plan_faults(topology, dates, seed=seed, faults=kinds)

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    files = []
    truth = health_truth(topology, seed=seed, faults=planned)
    spreads, offsets = [], []
    for day in dates:
        frame, daily_truth = _day_frame_and_truth(
            day,
            topology=topology,
            seed=seed,
            faults=planned,
            timestamps=timestamps,
            tz_aware=tz_aware,
        )
        path = target / f"{day:%Y%m%d}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=timestamps == "index")
        pq.write_table(table, path)
        files.append(path)
        spreads.append(daily_truth["soc_spread"])
        offsets.append(daily_truth["soc_offset"])

    topology.to_csv(target / "topology.csv", index=False)
    record = {
        "generator": "bessx.synthetic.write_plant",
        "start": first.isoformat(),
        "days": int(days),
        "inverters": int(inverters),
        "seed": int(seed),
        "timezone": DEFAULT_TIMEZONE,
        "sample_seconds": SAMPLE_SECONDS,
        "faults": [asdict(fault) for fault in planned],
    }
    (target / "faults.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write_health_truth(target, truth, dates, np.array(spreads), np.array(offsets))
    return SyntheticPlant(
        folder=target,
        files=sorted(files),
        topology=topology,
        faults=planned,
        dates=tuple(day.isoformat() for day in dates),
        seed=int(seed),
    )
