"""A synthetic battery plant written in the SCADA export format.

The real exports are private, so tests, benchmarks and the walkthrough run on this stand-in.
:func:`write_plant` writes one wide parquet file per local calendar day, exactly as
``docs/export-format.md`` describes the real ones: a ``Timestamp`` index of naive local
plant times (``Australia/Sydney``) every 36 s from local midnight to the next local midnight
(2,300 rows on the spring DST day, 2,500 on the autumn one, 2,400 otherwise), about 2,800
columns of float32-like float64 and int64 values, and a trailing all-null ``Unnamed: N``
column.

Each module has one job and tells its part of the plant model; in reading order:

``constants``
    The numbers that make the plant: size, power, capacity, efficiencies, fault sizes.
``layout``
    Inverter and enclosure names, the topology (:func:`plant_topology`) and the column
    layout of a file.
``schedule``
    Sample times, random streams and the dispatch of a day.
``faults``
    The fault kinds (:data:`FAULT_KINDS`), their records (:class:`Fault`) and where they go
    (:func:`plan_faults`).
``truth``
    The batteries' true health (:func:`health_truth`) and the files that record it.
``days``
    The physics of one day, as its export file holds it (:func:`day_frame`).
``write``
    A whole plant written to a folder (:func:`write_plant`).
``demo``
    The plant of ``bessx demo`` (:func:`~bessx.synthetic.demo.write_demo_plant`) and where a
    run's results show its faults (:func:`~bessx.synthetic.demo.injected_faults_section`).

Everything public is imported here: ``from bessx.synthetic import write_plant``.
"""

from __future__ import annotations

from typing import Final

from bessx.synthetic import constants as _constants
from bessx.synthetic import faults as _faults
from bessx.synthetic.constants import (
    CAPACITY_SPREAD,
    CONVERSION_EFFICIENCY,
    CYCLE_SOC_SWING,
    ENCLOSURE_CAPACITY_KWH,
    ENCLOSURE_POWER_KW,
    FAST_FADE_PCT_PER_YEAR,
    HEALTHY_FADE_PCT_PER_YEAR,
    HEALTHY_ROUND_TRIP,
    LOSSY_ROUND_TRIP,
    MAX_INVERTERS,
    ROUND_TRIP_EFFICIENCY,
    SAMPLE_SECONDS,
    SOC_OFFSET_PCT,
    SOC_STEP_PCT,
    TIMEZONE,
    WEAK_FRACTION,
)
from bessx.synthetic.days import TIMESTAMP_LAYOUTS, day_frame
from bessx.synthetic.faults import HEALTH_FAULT_KINDS, Fault, plan_faults
from bessx.synthetic.layout import inverter_names, plant_topology
from bessx.synthetic.schedule import day_cycles
from bessx.synthetic.truth import HEALTH_TRUTH_FILES, HealthTruth, health_truth
from bessx.synthetic.write import SyntheticPlant, write_plant

# The reference documents these two as bessx.synthetic.X, and Sphinx reads the doc comment
# of a constant only in the module it documents it from: hence these copies.
#: Names of the faults :func:`write_plant` can inject, in the order they are planned.
FAULT_KINDS: Final = _faults.FAULT_KINDS
#: Capacities fade linearly from this date: capacity(d) = capacity_0 (1 - r (d - d0) / 365.25 d).
COMMISSIONING_DATE: Final = _constants.COMMISSIONING_DATE

__all__ = [
    "CAPACITY_SPREAD",
    "COMMISSIONING_DATE",
    "CONVERSION_EFFICIENCY",
    "CYCLE_SOC_SWING",
    "ENCLOSURE_CAPACITY_KWH",
    "ENCLOSURE_POWER_KW",
    "FAST_FADE_PCT_PER_YEAR",
    "FAULT_KINDS",
    "HEALTHY_FADE_PCT_PER_YEAR",
    "HEALTHY_ROUND_TRIP",
    "HEALTH_FAULT_KINDS",
    "HEALTH_TRUTH_FILES",
    "LOSSY_ROUND_TRIP",
    "MAX_INVERTERS",
    "ROUND_TRIP_EFFICIENCY",
    "SAMPLE_SECONDS",
    "SOC_OFFSET_PCT",
    "SOC_STEP_PCT",
    "TIMESTAMP_LAYOUTS",
    "TIMEZONE",
    "WEAK_FRACTION",
    "Fault",
    "HealthTruth",
    "SyntheticPlant",
    "day_cycles",
    "day_frame",
    "health_truth",
    "inverter_names",
    "plan_faults",
    "plant_topology",
    "write_plant",
]
