"""The numbers that make the synthetic plant: its size, power, capacity, efficiencies and faults.

Every other module of ``bessx.synthetic`` takes its nominal values from here, so that the plant
can be read off one page; each is importable from ``bessx.synthetic`` too. How they combine is
told where they are used: the dispatch in ``schedule``, the physics of a day in ``days``, the
batteries' health in ``truth`` and the faults in ``faults``.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

#: The synthetic plant's IANA timezone: its exports hold naive local times of this zone, and
#: every analysis of them passes it (``timezone=TIMEZONE``, ``--timezone``).
TIMEZONE: Final = "Australia/Sydney"
#: Time between two samples of an export [s].
SAMPLE_SECONDS: Final = 36
#: Inverters of the full plant.
MAX_INVERTERS: Final = 72
#: Power of a healthy enclosure at full power [kW].
ENCLOSURE_POWER_KW: Final = 585.0
#: Nominal capacity of an enclosure [kWh], the energy stored between 0 and 100 % SOC.
ENCLOSURE_CAPACITY_KWH: Final = 1400.0
#: Fraction of its capacity the dispatcher moves an enclosure by in each half cycle.
CYCLE_SOC_SWING: Final = 0.78
#: Nominal DC-side round-trip efficiency the dispatcher plans with.
ROUND_TRIP_EFFICIENCY: Final = 0.95
#: Plant AC power over DC power when discharging (DC over AC when charging).
CONVERSION_EFFICIENCY: Final = 0.985
#: Energy of the ``weak_enclosure`` fault's enclosure relative to a healthy one.
WEAK_FRACTION: Final = 0.7
#: Capacities fade linearly from this date: capacity(d) = capacity_0 (1 - r (d - d0) / 365.25 d).
COMMISSIONING_DATE: Final = dt.date(2022, 7, 1)
#: Fade rate r of a healthy DC input [% of its commissioning capacity per year], drawn uniformly.
HEALTHY_FADE_PCT_PER_YEAR: Final = (1.0, 3.0)
#: Fade rate of the ``fast_fade`` fault's DC input [% per year].
FAST_FADE_PCT_PER_YEAR: Final = 12.0
#: DC-side round-trip efficiency of a healthy DC input, drawn uniformly; split evenly into
#: one-way charge and discharge efficiencies (each the square root).
HEALTHY_ROUND_TRIP: Final = (0.94, 0.96)
#: DC-side round-trip efficiency of the ``lossy_dc_input`` fault's DC input.
LOSSY_ROUND_TRIP: Final = 0.88
#: Commissioning capacity of an enclosure relative to ENCLOSURE_CAPACITY_KWH, per DC input.
CAPACITY_SPREAD: Final = (0.98, 1.02)
#: How far the ``soc_offset`` fault's enclosure reads its SOC high [percentage points].
SOC_OFFSET_PCT: Final = 4.0
#: Resolution of the SOC readings [%].
SOC_STEP_PCT: Final = 0.1
