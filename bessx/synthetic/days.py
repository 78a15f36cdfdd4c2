r"""One local day of the synthetic plant, as its export file holds it: the physics of a day.

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

:func:`day_frame` builds the day; ``_day_frame_and_truth`` also returns the truths of the day
that :mod:`bessx.synthetic.truth` writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Final, Literal

import numpy as np
import pandas as pd

from bessx.errors import ConfigError
from bessx.schema import TIMESTAMP_COLUMN
from bessx.synthetic.constants import (
    CONVERSION_EFFICIENCY,
    ENCLOSURE_CAPACITY_KWH,
    ENCLOSURE_POWER_KW,
    SOC_STEP_PCT,
    TIMEZONE,
    WEAK_FRACTION,
)
from bessx.synthetic.faults import (
    _DEAD_ALARM_WORD,
    _DEAD_NOISE_KW,
    _PLANT_NAN_ROWS,
    FAULT_KINDS,
    Fault,
    _fault_rows,
    _fault_slot,
)
from bessx.synthetic.layout import _ExportLayout, _layout, plant_topology
from bessx.synthetic.schedule import (
    _HOURS_PER_SAMPLE,
    _STAGE_EFFICIENCY,
    _as_date,
    _dispatch,
    _local_naive,
    _rng,
    _utc_sample_times,
    _wall_clock_hours,
)
from bessx.synthetic.truth import _daily_truth, health_truth

TIMESTAMP_LAYOUTS: Final = ("index", "column")
_CELLS_PER_RACK: Final = 240


def _smooth(values: np.ndarray, samples: int) -> np.ndarray:
    """Trailing moving average over ``samples`` samples (a cheap thermal lag)."""
    total = np.cumsum(np.concatenate([np.zeros(samples), values]))
    return (total[samples:] - total[:-samples]) / samples


def _quantise(values: np.ndarray, step: float) -> np.ndarray:
    step32 = np.float32(step)
    return (np.round(np.asarray(values, dtype=np.float32) / step32) * step32).astype(np.float32)


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
    # a reading offset high holds at 100 %, as a battery management system reports it
    soc_reading = np.minimum(soc + truth.soc_offset[:, np.newaxis], 100.0)
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


def _assemble(
    layout: _ExportLayout,
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
        index = utc.tz_convert(TIMEZONE).rename(TIMESTAMP_COLUMN)
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
