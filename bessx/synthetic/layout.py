"""Names and layout of the synthetic plant: inverters, DC inputs, enclosures, file columns.

Up to 72 inverters ``{block}{side}PCS{n}`` (block 1-4, side A/B, n 1-9). By a fixed pattern,
27 of the 72 (inverter positions 0, 3 and 5 of every 8) have 6 battery enclosures and the
others 4. Enclosures ``{block}{side}{n}BAT{k}``; BAT1..BAT(m/2) sit on DC input 1, the rest on
DC input 2 (m = 4 or 6). :func:`plant_topology` gives this map as a table.

``_layout`` derives from a topology, once, what building a day needs: the DC input slot of
each enclosure (``2 * inverter + dc_input - 1``) and the column names of an export file in
segments (plant, block sides, inverters, enclosures), each segment's float columns followed
by its status words.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from bessx.errors import ConfigError
from bessx.schema import (
    DC_INPUTS,
    DC_POWER_PATTERN,
    ENCLOSURE_ID_PATTERN,
    INVERTER_PATTERN,
    PLANT_COLUMNS,
    SOC_PATTERN,
)
from bessx.synthetic.constants import MAX_INVERTERS

_SIX_ENCLOSURE_POSITIONS: Final = (0, 3, 5)  # of every 8 inverters: 27 of 72
_BLOCKS: Final = (1, 2, 3, 4)
_SIDES: Final = ("A", "B")
_INVERTERS_PER_SIDE: Final = 9

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


def _check_inverter_count(n: int) -> None:
    if not 1 <= int(n) <= MAX_INVERTERS:
        raise ConfigError(f"inverters must be between 1 and {MAX_INVERTERS}, got {n}")


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
class _ExportLayout:
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


def _layout(topology: pd.DataFrame) -> _ExportLayout:
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
def _cached_layout(rows: tuple[tuple[str, int, str], ...]) -> _ExportLayout:
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
    return _ExportLayout(
        inverters=inverters,
        groups=groups,
        enclosure_ids=enclosure_ids,
        enclosure_dc=enclosure_dc,
        float_columns=float_columns,
        int_columns=int_columns,
    )
