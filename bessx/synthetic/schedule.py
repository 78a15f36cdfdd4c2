"""When the synthetic plant takes its samples, and what its dispatcher asks of it.

* **Sample times.** One sample every ``SAMPLE_SECONDS`` (36 s) from local midnight
  (``Australia/Sydney``) to the next local midnight: 2,400 a day, 2,300 on the spring DST day,
  2,500 on the autumn one. They are made in UTC and shown as naive local times; the
  wall-clock hour of a sample places it in the dispatch windows.
* **Dispatch.** Each day carries one or two full cycles (chosen per day from the seed).
  One cycle: charge from about 09:30, discharge from about 17:00 local time. Two cycles:
  charge from about 03:00, discharge from about 06:30, charge from about 10:30, discharge
  from about 17:00. Within a window the power follows 5-minute dispatch levels between 70 %
  and 100 % of full power; between windows the plant idles (power about 0 with noise).
  Windows start after 03:00 wall-clock time, so DST changes never cut one.

Random numbers come from ``_rng(seed, stream, day)``, one independent stream for each use
(and each day, where it changes daily), so that what one part draws never moves another:
0 the enclosures' fixed properties, 1 a day's dispatch, gains and weather, 2 a day's
measurement noise, 3 a day's plant-level NaN rows, 4 where the faults go, 5 the batteries'
health, 6 which DC inputs and enclosure the health faults hit.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pandas as pd

from bessx.synthetic.constants import (
    CYCLE_SOC_SWING,
    ENCLOSURE_CAPACITY_KWH,
    ENCLOSURE_POWER_KW,
    ROUND_TRIP_EFFICIENCY,
    SAMPLE_SECONDS,
    TIMEZONE,
)

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


def _as_date(value: str | dt.date | pd.Timestamp) -> dt.date:
    return pd.Timestamp(value).date()


def _utc_sample_times(day: dt.date) -> np.ndarray:
    """Sample times [ns since epoch, UTC] from local midnight to the next, exclusive."""
    first = pd.Timestamp(day).tz_localize(TIMEZONE).as_unit("ns").value
    stop = pd.Timestamp(day + dt.timedelta(days=1)).tz_localize(TIMEZONE)
    return np.arange(first, stop.as_unit("ns").value, SAMPLE_SECONDS * 1_000_000_000)


def _local_naive(utc_ns: np.ndarray) -> pd.DatetimeIndex:
    utc = pd.DatetimeIndex(utc_ns.astype("datetime64[ns]")).tz_localize("UTC")
    return utc.tz_convert(TIMEZONE).tz_localize(None).as_unit("ns")


def _wall_clock_hours(day: dt.date, local: pd.DatetimeIndex) -> np.ndarray:
    """Local wall-clock time of day [h]; the repeated autumn hour maps onto itself."""
    midnight = pd.Timestamp(day).as_unit("ns").value
    return (local.asi8 - midnight) / 3.6e12


# Dispatch --------------------------------------------------------------------------------
def _rng(seed: int, stream: int, day: dt.date | None = None) -> np.random.Generator:
    key = [int(seed), stream] if day is None else [int(seed), stream, day.toordinal()]
    return np.random.default_rng(key)


def _draw_cycles(rng: np.random.Generator) -> int:
    """A day's number of full cycles, 1 or 2: the first draw of its dispatch stream."""
    return 2 if rng.random() < _TWO_CYCLE_PROBABILITY else 1


def day_cycles(date: str | dt.date | pd.Timestamp, *, seed: int = 0) -> int:
    """The number of full cycles (1 or 2) the synthetic plant runs on a local day.

    Parameters
    ----------
    date
        Local calendar date.
    seed
        Random seed of the plant.

    Returns
    -------
    int
        1 or 2, as the dispatch of :func:`bessx.synthetic.write_plant` draws it for that day:
        a day of one cycle moves about half the energy of a day of two.

    Examples
    --------
    >>> [day_cycles(f"2022-10-0{day}") for day in range(1, 8)]
    [2, 2, 2, 2, 2, 1, 1]
    """
    return _draw_cycles(_rng(seed, 1, _as_date(date)))


def _dispatch(hours: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Power of a healthy enclosure as a fraction of full power (+ discharging).

    Each window moves the energy of one half cycle (charge: ``CYCLE_SOC_SWING`` of the
    capacity divided by the charge efficiency; discharge: times the discharge efficiency),
    following random 5-minute levels of 70-100 % of full power, rescaled so that the
    sample-and-hold energy of the window is exact.
    """
    profile = np.zeros(hours.shape, dtype=np.float64)
    cycles = _draw_cycles(rng)
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
