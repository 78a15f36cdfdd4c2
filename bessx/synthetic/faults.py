"""The faults injected into the synthetic plant: their kinds, records and places.

With ``faults=True`` (the default of ``write_plant`` and :func:`plan_faults`) all eight
kinds below are injected (a collection of names injects only those), at places chosen
deterministically from the seed among the existing inverters and days. Each one is returned
as a :class:`Fault` and written to ``faults.json``.

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
    4 percentage points high all the time (``soc_offset_pct`` of :func:`plan_faults`; the
    record's ``size``).

The three health faults affect every day and draw from their own random stream, so adding
them leaves the places of the others unchanged.

Row-level faults fall between 06:00 and 20:00 local time (never in the repeated DST hour).
Single-day faults are put on different days when there are enough days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from bessx.errors import ConfigError
from bessx.synthetic.constants import (
    FAST_FADE_PCT_PER_YEAR,
    LOSSY_ROUND_TRIP,
    SAMPLE_SECONDS,
    SOC_OFFSET_PCT,
    WEAK_FRACTION,
)
from bessx.synthetic.layout import _ExportLayout, _layout
from bessx.synthetic.schedule import (
    _as_date,
    _local_naive,
    _rng,
    _utc_sample_times,
    _wall_clock_hours,
)

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
#: The faults that change the batteries' health (capacity, efficiency, SOC reading).
HEALTH_FAULT_KINDS: Final = ("fast_fade", "lossy_dc_input", "soc_offset")

_DEAD_DAYS: Final = 3
_DEAD_NOISE_KW: Final = 0.3
_NAN_STRETCH_ROWS: Final = 100
_PLANT_NAN_ROWS: Final = 4
_MISSING_ROWS: Final = 50
_FAULT_HOURS: Final = (6.0, 20.0)
_DEAD_ALARM_WORD: Final = 256


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
    size
        How far the SOC of a ``soc_offset`` fault reads high [percentage points]; None for
        the other kinds, whose sizes are the constants of ``bessx.synthetic``.
    """

    kind: str
    inverter: str | None
    dc_input: int | None
    enclosure_id: str | None
    dates: tuple[str, ...]
    detail: str
    start: str | None = None
    end: str | None = None
    size: float | None = None


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
    soc_offset_pct: float = SOC_OFFSET_PCT,
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
    soc_offset_pct
        How far the ``soc_offset`` fault's enclosure reads its SOC high [percentage points].

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
    >>> from bessx.synthetic import plant_topology
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
                f"{soc_offset_pct:g} percentage points high",
                size=float(soc_offset_pct),
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


def _fault_slot(layout: _ExportLayout, fault: Fault) -> int:
    """DC input slot of a fault that names its inverter and DC input."""
    if fault.inverter is None or fault.dc_input is None:
        raise ConfigError(f"fault {fault.kind!r} needs an inverter and a DC input")
    return layout.dc_slot(fault.inverter, fault.dc_input)


def _fault_rows(fault: Fault, local: pd.DatetimeIndex) -> slice:
    if fault.start is None or fault.end is None:
        raise ConfigError(f"fault {fault.kind!r} on {fault.dates} needs start and end times")
    first = np.flatnonzero(local == pd.Timestamp(fault.start))
    last = np.flatnonzero(local == pd.Timestamp(fault.end))
    if first.size == 0 or last.size == 0:
        raise ConfigError(f"fault {fault.kind!r}: {fault.start}..{fault.end} is not on the day")
    return slice(int(first[0]), int(last[-1]) + 1)
