"""The availability's part of the one pass: each export's per-day sums, then the join.

The map (:func:`summarise_availability`) turns the samples of one export into the per-day
sums of :func:`bessx.kernels.availability.day_sums` over every sample but the last, the
rates of the last sample and the enclosures each DC input column was counted with; the
reduce (:func:`join_availability`) places them on the history's days and DC inputs and adds
each last sample with the hold the next file gives it. The ``dead`` flag and the fleet's
movement come from the samples of one local day, so a history whose every day lies in one
file gives the sums of :func:`bessx.availability` of its Dataset, bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from bessx.kernels.availability import (
    QUANTITIES,
    PlannedOutage,
    day_sums,
    planned_mask,
    sample_rates,
    sample_terms,
)
from bessx.kernels.flags import FLAGS, fleet_moves
from bessx.onepass.layout import ArrayLayout
from bessx.onepass.summary import Summary

__all__ = ["enclosures_per_column", "join_availability", "summarise_availability"]


def enclosures_per_column(
    dc_keys: Sequence[tuple[str, int]],
    soc_positions: np.ndarray,
    topology: tuple[tuple[str, int, str, int], ...] | None,
) -> np.ndarray:
    """The enclosures of each DC input power column ``(column,)``: from the topology given,
    else the SOC columns the file names on it (``soc_positions``: the power column of each
    SOC column, -1 for none)."""
    if topology is not None:
        counts = pd.Series([(inverter, dc_input) for inverter, dc_input, _, _ in topology])
        found = counts.value_counts()
        return np.array([int(found.get(key, 0)) for key in dc_keys], dtype=np.int64)
    positions = np.asarray(soc_positions)
    return np.bincount(positions[positions >= 0], minlength=len(dc_keys)).astype(np.int64)


def summarise_availability(
    plausible: np.ndarray,
    power_flags: np.ndarray,
    time_ns: np.ndarray,
    holds: np.ndarray,
    day_index: np.ndarray,
    dc_keys: Sequence[tuple[str, int]],
    enclosures: np.ndarray,
    outages: Sequence[PlannedOutage],
    moving_kw: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One export's per-day sums over every sample but the last ``(7, day, column)`` and
    its last sample's rates ``(7, column)`` (:func:`bessx.kernels.availability.sample_rates`)."""
    n, n_days = len(day_index), int(day_index[-1]) + 1
    inverter_of = np.array([inverter for inverter, _ in dc_keys], dtype=str)
    states = (
        plausible,
        (power_flags & FLAGS["dead"].mask) != 0,
        fleet_moves(plausible, moving_kw),
        planned_mask(time_ns, inverter_of, outages),
    )
    head = slice(0, n - 1)
    power, dead, moving, planned = (state[head] for state in states)
    sums = day_sums(power, dead, moving, planned, enclosures, holds[head], day_index[head], n_days)
    power, dead, moving, planned = (state[n - 1 :] for state in states)
    last = sample_rates(power, dead, moving, planned, enclosures)
    return sums, np.ascontiguousarray(last[:, 0])


def join_availability(
    summaries: Sequence[Summary],
    layout: ArrayLayout,
    n_days: int,
    rows_of: Callable[[Summary], np.ndarray],
    last_hold: Callable[[int], float],
    not_one_pass: Callable[[str], Exception],
) -> np.ndarray:
    """The history's per-day sums ``(7, day, inverter, dc_input)``: every file's sums on the
    history's days, each last sample added with its hold (``last_hold(index)``).

    A file whose DC input columns miss one of the layout's DC inputs with enclosures, or
    count another number of enclosures on one, cannot be joined exactly: the error
    ``not_one_pass(reason)`` is raised.
    """
    n_inv, n_dc, _ = layout.shape
    enclosures = layout.n_enclosures.ravel()
    with_enclosures = np.flatnonzero(enclosures > 0)
    sums = np.zeros((len(QUANTITIES), n_days, n_inv * n_dc))
    for index, summary in enumerate(summaries):
        parts = summary.daily
        if parts is None or parts.availability is None or parts.last_availability is None:
            raise ValueError(f"{summary.path}: summarised without the availability")
        columns = layout.dc_positions(summary.dc_keys)
        if not np.isin(with_enclosures, columns).all():
            raise not_one_pass(f"{summary.path}: a DC input with enclosures has no power column")
        if parts.enclosures is None or not np.array_equal(parts.enclosures, enclosures[columns]):
            raise not_one_pass(f"{summary.path}: DC inputs counted with other enclosures")
        rows = rows_of(summary)
        day_rows, dc_columns = np.ix_(rows, columns)
        sums[:, day_rows, dc_columns] = parts.availability
        sums[:, rows[-1], columns] += sample_terms(parts.last_availability, last_hold(index))
    return sums.reshape(len(QUANTITIES), n_days, n_inv, n_dc)
