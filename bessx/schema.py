"""Names, units and column patterns of bessx data, kept as data.

Everything that knows how the plant's SCADA exports name their columns, and how the
resulting :class:`xarray.Dataset` names its dimensions and variables, lives here, so that
the reader, the energy functions and the archive agree by construction.

The Dataset returned by :func:`bessx.open_exports` has

====================  =======================================  =========
variable              dimensions                               units
====================  =======================================  =========
``dc_power``          (time, inverter, dc_input)               kW
``soc``               (time, inverter, dc_input, enclosure)    %
``plant_power``       (time,)                                  kW
``plant_soc``         (time,)                                  %
``setpoint``          (time,)                                  kW
====================  =======================================  =========

and the coordinates ``time`` (UTC, ``datetime64[ns]``), ``inverter`` (names such as
``"1APCS1"``), ``dc_input`` (1, 2, or up to the topology's largest DC input number),
``enclosure`` (slot 1..3 on its DC input),
``enclosure_id`` (inverter, dc_input, enclosure; e.g. ``"1A1BAT3"``, ``""`` for an unused
slot) and ``n_enclosures`` (inverter, dc_input).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

# Dimensions -----------------------------------------------------------------------------
TIME: Final = "time"
INVERTER: Final = "inverter"
DC_INPUT: Final = "dc_input"
ENCLOSURE: Final = "enclosure"
DAY: Final = "time"  # daily outputs keep the name ``time`` (local calendar dates)
WINDOW: Final = "window"  # battery health: windows of whole local days
DIRECTION: Final = "direction"  # battery health: "discharge", "charge"

#: The DC inputs of the reference plant's inverters (and of an inferred topology); a site
#: topology may give more (any whole number from 1 to :data:`MAX_DC_INPUTS`).
DC_INPUTS: Final = (1, 2)
#: The most DC inputs one inverter may have in a site topology.
MAX_DC_INPUTS: Final = 16

# Sign convention of the exports: positive power discharges the battery.
CF_CONVENTIONS: Final = "CF-1.10"


def add_history(previous: str | None, entry: str, *, call: bool = False) -> str:
    """The CF ``history`` attribute ``previous`` with a line for ``entry`` added at its end.

    Every line of a bessx history starts with the UTC time of now to the second. The line of
    a call of a bessx function (``call=True``) names the version that made it::

        2024-05-01T12:00:00Z: bessx.health(window='30D', min_swing=20.0, max_gap=3.0) [bessx 0.4.0]

    and the readers' and the writer's notes follow the time with a space::

        2024-05-01T12:00:00Z bessx.open_exports: read 3 export file(s)

    Parameters
    ----------
    previous : str or None
        The source's ``history``; None or ``""`` when it has none (``entry`` is then the
        first line).
    entry : str
        What made the new data: the call with its arguments, or a note.
    call : bool
        Whether ``entry`` is a call (``<time>: <entry> [bessx <version>]``) rather than a
        note (``<time> <entry>``).

    Returns
    -------
    str
        The new ``history``, one line per step, oldest first.

    Examples
    --------
    >>> add_history("2024-05-01T12:00:00Z bessx.open_exports: read 3 export file(s)",
    ...             "bessx.daily_energy()", call=True).splitlines()[0]
    '2024-05-01T12:00:00Z bessx.open_exports: read 3 export file(s)'
    """
    stamp = f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}"
    if call:
        from bessx import __version__

        line = f"{stamp}: {entry} [bessx {__version__}]"
    else:
        line = f"{stamp} {entry}"
    return f"{previous}\n{line}" if previous else line


# Export columns -------------------------------------------------------------------------
TIMESTAMP_COLUMN: Final = "Timestamp"

#: ``BESS1 DC Input Power (kW) [Battery Inverter 1APCS1]``
DC_POWER_PATTERN: Final = re.compile(
    r"^BESS(?P<dc_input>\d+) DC Input Power \(kW\) \[Battery Inverter (?P<inverter>\w+)\]$"
)
#: ``System state of charge (%) [Battery system 1A1BAT3]``
SOC_PATTERN: Final = re.compile(
    r"^System state of charge \(%\) \[Battery system (?P<enclosure_id>\w+)\]$"
)
#: Battery system ``1A1BAT3`` belongs to inverter ``1APCS1`` and is its third enclosure.
ENCLOSURE_ID_PATTERN: Final = re.compile(r"^(?P<block>\d+)(?P<side>[A-Z])(?P<n>\d+)BAT(?P<k>\d+)$")
INVERTER_PATTERN: Final = re.compile(r"^(?P<block>\d+)(?P<side>[A-Z])PCS(?P<n>\d+)$")

#: Plant-level columns -> Dataset variable.
PLANT_COLUMNS: Final = {
    "BESS active power (kW) [BESS]": "plant_power",
    "BESS SOC (%) [BESS]": "plant_soc",
    "External active power setpoint (kW) [BESS]": "setpoint",
}

# Variables ------------------------------------------------------------------------------
VARIABLES: Final = ("dc_power", "soc", "plant_power", "plant_soc", "setpoint")

VARIABLE_DIMS: Final = {
    "dc_power": (TIME, INVERTER, DC_INPUT),
    "soc": (TIME, INVERTER, DC_INPUT, ENCLOSURE),
    "plant_power": (TIME,),
    "plant_soc": (TIME,),
    "setpoint": (TIME,),
}

VARIABLE_ATTRS: Final = {
    "dc_power": {"units": "kW", "long_name": "DC input power (positive: discharging)"},
    "soc": {"units": "%", "long_name": "battery enclosure state of charge"},
    "plant_power": {"units": "kW", "long_name": "plant active power (positive: discharging)"},
    "plant_soc": {"units": "%", "long_name": "plant state of charge"},
    "setpoint": {"units": "kW", "long_name": "external active power setpoint"},
}

COORD_ATTRS: Final = {
    TIME: {"long_name": "sample time", "standard_name": "time"},
    INVERTER: {"long_name": "battery inverter"},
    DC_INPUT: {"long_name": "DC input of the inverter", "units": "1"},
    ENCLOSURE: {"long_name": "enclosure slot on the DC input", "units": "1"},
    "enclosure_id": {"long_name": "battery enclosure (battery system) name"},
    "n_enclosures": {"long_name": "number of enclosures on the DC input", "units": "1"},
}

#: Daily energy outputs of :func:`bessx.daily_energy`.
DAILY_ATTRS: Final = {
    "charged": {
        "units": "kWh",
        "long_name": "energy charged into the enclosure",
        "cell_methods": "time: sum",
    },
    "discharged": {
        "units": "kWh",
        "long_name": "energy discharged from the enclosure",
        "cell_methods": "time: sum",
    },
    "coverage": {
        "units": "1",
        "long_name": "fraction of the local day covered by valid samples",
        "cell_methods": "time: mean",
    },
}
DAILY_TIME_ATTRS: Final = {
    "standard_name": "time",
    "axis": "T",
    "long_name": "local calendar date of the plant",
    "comment": "midnight of the date in the plant's timezone (attribute 'timezone')",
}
