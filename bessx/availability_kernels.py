r"""Numpy kernels of the availability: per-sample states and their per-day held sums.

They work on blocks of samples with time on axis 0 and the plant's DC inputs flat on
axis 1, and know nothing of labels: :mod:`bessx.availability` runs them on a Dataset's
blocks of whole local days, :mod:`bessx.onepass` on each export as it is read. They import
numpy alone.

Each sample :math:`i` of DC input :math:`j` gets a *rate* per quantity of
:data:`QUANTITIES` (:func:`sample_rates`): 1 or 0 for the four times, a power [kW] for the
two energies. A day's quantity is the sum over its samples of the rate times the
sample's hold (:func:`day_sums`): seconds for the times, hours for the energies. The sums
are taken sample after sample, in time order, so a day's sum over its first samples plus
its last sample (:func:`sample_terms`) is the sum over the whole day, bit for bit: the one
pass adds each export's last sample once the next export gives its hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, NamedTuple

import numpy as np

__all__ = [
    "ENERGY_QUANTITIES",
    "QUANTITIES",
    "PlannedOutage",
    "day_sums",
    "planned_mask",
    "sample_rates",
    "sample_terms",
]

#: The per-day quantities, in output order: held seconds [s] of the dispatched, unavailable,
#: data-outage, planned and observed samples, then the lost and delivered energy [kWh].
QUANTITIES: Final = (
    "dispatched",  # the fleet moves, outside planned outages
    "unavailable",  # dispatched and the DC input is dead
    "data_outage",  # dispatched and the DC input's sample is missing or implausible
    "planned",  # in a planned outage of the DC input's inverter
    "observed",  # some DC input of the plant has a plausible sample (the fleet is seen)
    "lost",  # fleet median power per enclosure x enclosures, while unavailable [kWh]
    "delivered",  # |DC input power| while dispatched with data [kWh]
)
#: Positions of the energies in :data:`QUANTITIES` (weighted by hours, not seconds).
ENERGY_QUANTITIES: Final = (5, 6)
_N: Final = len(QUANTITIES)
_SECONDS_PER_HOUR: Final = 3600.0


class PlannedOutage(NamedTuple):
    """A planned outage: excluded from the dispatched time, reported apart."""

    start_ns: int  # first instant [ns since the epoch, UTC], included
    end_ns: int  # last instant [ns since the epoch, UTC], excluded
    inverters: tuple[str, ...] | None  # the inverters out; None: the whole plant


def planned_mask(
    time_ns: np.ndarray, inverter_of: np.ndarray, outages: Sequence[PlannedOutage]
) -> np.ndarray:
    """Where each sample of each DC input lies in a planned outage ``(n, m)``.

    Parameters
    ----------
    time_ns : numpy.ndarray
        int64 ``(n,)`` sample times [ns since the epoch, UTC].
    inverter_of : numpy.ndarray
        str ``(m,)`` the inverter of each DC input column.
    outages
        The planned outages (:class:`PlannedOutage`).

    Examples
    --------
    >>> outage = PlannedOutage(10, 30, ("B",))
    >>> planned_mask(np.arange(4) * 10, np.array(["A", "B"]), [outage]).astype(int)
    array([[0, 0],
           [0, 1],
           [0, 1],
           [0, 0]])
    """
    mask = np.zeros((len(time_ns), len(inverter_of)), dtype=bool)
    for start, end, inverters in outages:
        first, last = np.searchsorted(time_ns, [start, end], side="left")
        rows = slice(int(first), int(last))
        if inverters is None:
            mask[rows] = True
        else:
            mask[rows, np.isin(inverter_of, inverters)] = True
    return mask


def _row_median(values: np.ndarray) -> np.ndarray:
    """Median of each row's finite values (NaN where none): one sort, NaN last."""
    ordered = np.sort(values, axis=1)
    count = np.count_nonzero(np.isfinite(values), axis=1)
    rows = np.arange(len(ordered))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.maximum(count // 2, 0) - (count == 0)]
    return np.where(count > 0, (low + high) / 2.0, np.nan)


def sample_rates(
    plausible: np.ndarray,
    dead: np.ndarray,
    moving: np.ndarray,
    planned: np.ndarray,
    enclosures: np.ndarray,
) -> np.ndarray:
    r"""The rate of each quantity of :data:`QUANTITIES` at each sample ``(7, n, m)``.

    Parameters
    ----------
    plausible : numpy.ndarray
        DC input power [kW] ``(n, m)``, NaN where missing or implausible.
    dead : numpy.ndarray
        Boolean ``(n, m)``: the sample carries the ``dead`` flag (:mod:`bessx.quality`).
    moving : numpy.ndarray
        Boolean ``(n,)``: the fleet moves (``|median plausible P| > moving_kw``).
    planned : numpy.ndarray
        Boolean ``(n, m)``: the sample lies in a planned outage of its DC input.
    enclosures : numpy.ndarray
        ``(m,)`` enclosures of each DC input; a DC input without one has every rate 0.

    Returns
    -------
    numpy.ndarray
        float64 ``(7, n, m)``: 1.0 or 0.0 for dispatched, unavailable, data outage,
        planned and observed; the lost power :math:`n_j\,|\tilde p_i|` [kW] while unavailable, where
        :math:`\tilde p_i` is the median over the DC inputs with a plausible sample, not
        dead, of their power per enclosure :math:`P_{ij}/n_j`; and the delivered power
        :math:`|P_{ij}|` [kW] while dispatched with data.

    Examples
    --------
    Three DC inputs of two enclosures each; the third is dead, then its sample is missing:

    >>> power = np.array([[500.0, 520.0, 0.0], [500.0, 540.0, np.nan]])
    >>> dead = np.array([[False, False, True], [False, False, False]])
    >>> rates = sample_rates(power, dead, np.ones(2, bool), np.zeros((2, 3), bool),
    ...                      np.array([2, 2, 2]))
    >>> rates[:5, :, 2]  # dispatched, unavailable, data outage, planned, observed
    array([[1., 1.],
           [1., 0.],
           [0., 1.],
           [0., 0.],
           [1., 1.]])
    >>> rates[5, 0, 2], rates[6, 0]  # lost: 2 x median(250, 260) [kW]; delivered
    (np.float64(510.0), array([500., 520.,   0.]))
    """
    n, m = plausible.shape
    exists = np.asarray(enclosures) > 0
    present = np.isfinite(plausible)
    rates = np.zeros((_N, n, m))
    dispatched = moving[:, np.newaxis] & ~planned & exists
    unavailable = dispatched & dead
    rates[0][dispatched] = 1.0
    rates[1][unavailable] = 1.0
    rates[2][dispatched & ~present] = 1.0
    rates[3][planned & exists] = 1.0
    rates[4][present.any(axis=1)[:, np.newaxis] & exists] = 1.0
    delivered = dispatched & present
    np.abs(plausible, out=rates[6], where=delivered)
    rows = np.flatnonzero(unavailable.any(axis=1))
    if len(rows):
        count = np.where(exists, enclosures, 1).astype(np.float64)
        alive = present[rows] & ~dead[rows] & exists
        per_enclosure = np.where(alive, plausible[rows] / count, np.nan)
        lost = np.abs(_row_median(per_enclosure))[:, np.newaxis] * count
        rates[5][rows] = np.where(unavailable[rows], np.nan_to_num(lost), 0.0)
    return rates


def _weights(hold_seconds: np.ndarray) -> np.ndarray:
    """``(7, n)`` what each quantity's rate is multiplied by: seconds, or hours."""
    weights = np.repeat(np.asarray(hold_seconds, dtype=np.float64)[np.newaxis], _N, axis=0)
    weights[list(ENERGY_QUANTITIES)] /= _SECONDS_PER_HOUR
    return weights


def day_sums(
    rates: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray, n_days: int
) -> np.ndarray:
    """The per-day sums of rate x hold ``(7, day, m)``; 0 on days without samples.

    Each day is summed sample after sample, in time order (:func:`numpy.add.reduce` along
    the rows of a C-contiguous block adds row after row), so the sum over a day's first
    samples continued by :func:`sample_terms` is the sum over the whole day, bit for bit.

    Examples
    --------
    >>> rates = np.ones((7, 3, 1))
    >>> sums = day_sums(rates, np.array([60.0, 60.0, 3600.0]), np.array([0, 0, 2]), 3)
    >>> sums[0, :, 0], sums[-1, :, 0]  # seconds; hours
    (array([ 120.,    0., 3600.]), array([0.03333333, 0.        , 1.        ]))
    """
    _, n, m = rates.shape
    sums = np.zeros((_N, n_days, m))
    if n == 0:
        return sums
    weighted = rates * _weights(hold_seconds)[:, :, np.newaxis]
    # (sample, quantity x DC input, plus a zero column): contiguous along the rows, never
    # a single column (which numpy would sum pairwise)
    flat = np.zeros((n, _N * m + 1))
    flat[:, : _N * m] = weighted.transpose(1, 0, 2).reshape(n, _N * m)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))
    ends = np.append(starts[1:], n)
    for start, end in zip(starts, ends, strict=True):
        day = int(day_index[start])
        sums[:, day] = np.add.reduce(flat[start:end], axis=0)[: _N * m].reshape(_N, m)
    return sums


def sample_terms(rates: np.ndarray, hold_seconds: float) -> np.ndarray:
    """What one more sample (``rates`` ``(7, m)``, held ``hold_seconds``) adds to its day's
    sums ``(7, m)``: adding it to the sums of the day's samples before it gives
    :func:`day_sums` over the whole day, bit for bit."""
    weights = _weights(np.array([hold_seconds]))[:, 0]
    return rates * weights[:, np.newaxis]
