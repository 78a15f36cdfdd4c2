"""Where each power and state-of-charge column of the exports sits in the plant's arrays.

:class:`ArrayLayout` places the DC input power columns on ``(inverter, dc_input)`` and the
enclosures' SOC columns on ``(inverter, dc_input, slot)`` as :func:`bessx.open_exports`
does, and gives the results' coordinates. The map builds one from a file's columns for its
battery health partials (``bessx.onepass.per_file``); the reduce builds the history's and
checks each file's against it (``bessx.onepass.reduce``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.onepass.summary import HealthSummary
from bessx.topology import Topology


@dataclass(frozen=True)
class ArrayLayout:
    """Where each power and SOC column of the exports sits in the plant's arrays."""

    inverters: list[str]
    enclosure_id: np.ndarray  # (inverter, dc_input, slot)
    n_enclosures: np.ndarray  # (inverter, dc_input)
    #: positions already looked up: the files of a history share their columns
    _found: dict[tuple[str, tuple[Any, ...]], np.ndarray] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, topo: Topology, inverters: list[str]) -> ArrayLayout:
        enclosure_id, n_enclosures = topo.arrays(inverters)
        return cls(inverters, enclosure_id, n_enclosures)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.enclosure_id.shape

    @property
    def dc_inputs(self) -> range:
        """The DC input numbers of the arrays: 1 to the topology's largest."""
        return range(1, self.shape[1] + 1)

    def dc_positions(self, keys: Sequence[tuple[str, int]]) -> np.ndarray:
        """Flat (inverter, dc_input) position of each power column."""
        memo = ("dc", tuple(keys))
        if memo not in self._found:
            index = pd.MultiIndex.from_product([self.inverters, list(self.dc_inputs)])
            self._found[memo] = index.get_indexer(pd.MultiIndex.from_tuples(list(keys)))
        return self._found[memo]

    def slot_positions(self, soc_ids: Sequence[str]) -> np.ndarray:
        """Flat (inverter, dc_input, slot) position of each SOC column (-1: not in topology)."""
        memo = ("soc", tuple(soc_ids))
        if memo not in self._found:
            flat = self.enclosure_id.ravel()
            used = np.flatnonzero(flat != "")
            found = pd.Index(flat[used]).get_indexer(list(soc_ids))
            self._found[memo] = np.where(found >= 0, used[found], -1)
        return self._found[memo]

    def holds(self, health: HealthSummary | None) -> bool:
        """Whether a file's health parts were computed on this layout."""
        return (
            health is not None
            and health.inverters == self.inverters
            and np.array_equal(health.enclosure_id, self.enclosure_id)
        )

    def dc_input_of(self, soc_ids: Sequence[str]) -> np.ndarray:
        positions = self.slot_positions(soc_ids)
        n_dc, n_slots = self.shape[1], self.shape[2]
        return np.where(positions >= 0, positions // n_slots % n_dc + 1, 0)

    def coords(self) -> dict[str, Any]:
        return {
            schema.INVERTER: xr.Variable(
                schema.INVERTER,
                np.array(self.inverters, dtype=str),
                schema.COORD_ATTRS[schema.INVERTER],
            ),
            schema.DC_INPUT: xr.Variable(
                schema.DC_INPUT, np.array(self.dc_inputs), schema.COORD_ATTRS[schema.DC_INPUT]
            ),
            schema.ENCLOSURE: xr.Variable(
                schema.ENCLOSURE,
                np.arange(1, self.shape[2] + 1),
                schema.COORD_ATTRS[schema.ENCLOSURE],
            ),
            "enclosure_id": xr.Variable(
                (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
                self.enclosure_id,
                schema.COORD_ATTRS["enclosure_id"],
            ),
            "n_enclosures": xr.Variable(
                (schema.INVERTER, schema.DC_INPUT),
                self.n_enclosures,
                schema.COORD_ATTRS["n_enclosures"],
            ),
        }
