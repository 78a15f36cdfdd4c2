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
    "dense_day_sums",
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
    """Median of each row's finite values (NaN where none).

    NaN sorts last, so the median of a row of ``k`` finite values is the mean of its
    values of ranks ``(k - 1) // 2`` and ``k // 2``; rows are partitioned at those ranks,
    together for the rows that share ``k`` (usually all).
    """
    count = np.count_nonzero(np.isfinite(values), axis=1)
    median = np.full(len(values), np.nan)
    for k in np.unique(count[count > 0]):
        rows = np.flatnonzero(count == k)
        ranks = sorted({(int(k) - 1) // 2, int(k) // 2})
        parted = np.partition(values[rows], ranks, axis=1)
        median[rows] = (parted[:, (k - 1) // 2] + parted[:, k // 2]) / 2.0
    return median


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
        lost = _lost_power(plausible[rows], present[rows], dead[rows], enclosures)
        rates[5][rows] = np.where(unavailable[rows], lost, 0.0)
    return rates


def _lost_power(
    plausible: np.ndarray, present: np.ndarray, dead: np.ndarray, enclosures: np.ndarray
) -> np.ndarray:
    """``n_j |median_k P_k / n_k|`` over the live DC inputs ``k`` of each row [kW] ``(r, m)``
    (0 where no DC input is alive)."""
    exists = np.asarray(enclosures) > 0
    count = np.where(exists, enclosures, 1).astype(np.float64)
    alive = present & ~dead & exists
    per_enclosure = np.where(alive, plausible / count, np.nan)
    return np.nan_to_num(np.abs(_row_median(per_enclosure))[:, np.newaxis] * count)


def _weights(hold_seconds: np.ndarray) -> np.ndarray:
    """``(7, n)`` what each quantity's rate is multiplied by: seconds, or hours."""
    weights = np.repeat(np.asarray(hold_seconds, dtype=np.float64)[np.newaxis], _N, axis=0)
    weights[list(ENERGY_QUANTITIES)] /= _SECONDS_PER_HOUR
    return weights


def _runs(day_index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each run of equal days in a non-decreasing ``day_index``."""
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))
    return starts, np.append(starts[1:], len(day_index))


def _sequential_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The sum of ``values`` ``(n, k)`` over each run of rows, row after row ``(run, k)``.

    :func:`numpy.add.reduce` along the rows of a C-contiguous block of at least two
    columns adds row after row (a single contiguous column would be summed pairwise), so a
    run's sum over its first rows plus its last row is its sum, bit for bit.
    """
    n, k = values.shape
    block = values
    if k < 2 or values.dtype != np.float64 or not values.flags.c_contiguous:
        block = np.zeros((n, max(k, 2)))
        block[:, :k] = values
    runs = zip(starts, ends, strict=True)
    return np.stack([np.add.reduce(block[start:end], axis=0)[:k] for start, end in runs])


def day_sums(
    plausible: np.ndarray,
    dead: np.ndarray,
    moving: np.ndarray,
    planned: np.ndarray,
    enclosures: np.ndarray,
    hold_seconds: np.ndarray,
    day_index: np.ndarray,
    n_days: int,
) -> np.ndarray:
    """The per-day sums of :func:`sample_rates` x hold ``(7, day, m)``; 0 on days without
    samples.

    The arguments are those of :func:`sample_rates`, then each sample's hold [s], its day
    (non-decreasing, from 0) and the number of days. The times are sums of held seconds
    [s], the energies of power x held hours [kWh]. The same sums as :func:`dense_day_sums`
    of :func:`sample_rates`, bit for bit, without forming the ``(7, n, m)`` rates: a time
    shared by every DC input (the fleet moves, the fleet is seen) is summed once, a sparse
    one (dead, no data, planned) only on the DC inputs where it occurs, and only the
    delivered energy on every DC input. Each day is summed sample after sample, in time
    order, so the sum over a day's first samples plus :func:`sample_terms` of its last is
    the sum over the whole day, bit for bit.

    Examples
    --------
    Two DC inputs of two enclosures, three hourly samples of one day; the second is dead
    for the first two:

    >>> power = np.array([[500.0, 0.0], [500.0, 0.0], [500.0, 400.0]])
    >>> dead = power == 0.0
    >>> sums = day_sums(power, dead, np.ones(3, bool), np.zeros((3, 2), bool),
    ...                 np.array([2, 2]), np.full(3, 3600.0), np.zeros(3, int), 1)
    >>> sums[:2, 0] / 3600  # dispatched, unavailable [h]
    array([[3., 3.],
           [0., 2.]])
    >>> sums[5:, 0]  # lost, delivered [kWh]
    array([[   0., 1000.],
           [1500.,  400.]])
    """
    n, m = plausible.shape
    sums = np.zeros((_N, n_days, m))
    if n == 0:
        return sums
    starts, ends = _runs(day_index)
    days = np.asarray(day_index)[starts]
    hold = np.asarray(hold_seconds, dtype=np.float64)
    hours = _weights(hold)[ENERGY_QUANTITIES[0]]
    exists = np.asarray(enclosures) > 0
    moving = np.asarray(moving, dtype=bool)

    def place(quantity: int, columns: np.ndarray | None, values: np.ndarray) -> None:
        """Sum ``values`` ``(n, k)`` per day onto ``columns`` (None: every DC input)."""
        totals = _sequential_sums(values, starts, ends)
        if columns is None:
            sums[quantity, days] = totals
        else:
            sums[quantity, days[:, np.newaxis], columns] = totals

    def held(quantity: int, mask: np.ndarray, columns: np.ndarray) -> None:
        """Hold seconds where ``mask`` ``(n, len(columns))`` holds, on ``columns``."""
        keep = mask.any(axis=0)
        if keep.any():
            place(quantity, columns[keep], np.where(mask[:, keep], hold[:, np.newaxis], 0.0))

    def shared(quantity: int, rows: np.ndarray, columns: np.ndarray) -> None:
        if len(columns):
            once = _sequential_sums(np.where(rows, hold, 0.0)[:, np.newaxis], starts, ends)
            sums[quantity, days[:, np.newaxis], columns] = once

    # the DC inputs with a planned outage, a dead or a missing sample: the only ones whose
    # times can differ from the fleet's
    planned_columns = np.flatnonzero(planned.any(axis=0) & exists)
    dead_columns = np.flatnonzero(dead.any(axis=0) & exists)
    missing = np.isnan(plausible)
    missing_columns = np.flatnonzero(missing.any(axis=0) & exists)
    plain = exists.copy()
    plain[planned_columns] = False

    def dispatched(columns: np.ndarray) -> np.ndarray:
        mask = np.repeat(moving[:, np.newaxis], len(columns), axis=1)
        planned_here = np.isin(columns, planned_columns)
        if planned_here.any():
            mask[:, planned_here] &= ~planned[:, columns[planned_here]]
        return mask

    shared(0, moving, np.flatnonzero(plain))
    held(0, dispatched(planned_columns), planned_columns)
    unavailable = dispatched(dead_columns) & dead[:, dead_columns]
    held(1, unavailable, dead_columns)
    held(2, dispatched(missing_columns) & missing[:, missing_columns], missing_columns)
    held(3, planned[:, planned_columns], planned_columns)
    observed = np.count_nonzero(missing, axis=1) < m
    shared(4, observed, np.flatnonzero(exists))
    rows = np.flatnonzero(unavailable.any(axis=1))
    if len(rows):
        keep = np.flatnonzero(unavailable.any(axis=0))
        columns = dead_columns[keep]
        rates = _lost_power(plausible[rows], ~missing[rows], dead[rows], enclosures)[:, columns]
        lost = np.zeros((n, len(columns)))
        lost[rows] = np.where(unavailable[np.ix_(rows, keep)], rates, 0.0)
        place(5, columns, lost * hours[:, np.newaxis])
    # delivered: |P| x held hours while the fleet moves (x 0 elsewhere), then 0 where the
    # sample is missing or in a planned outage, and on DC inputs without enclosures
    energy = np.multiply(np.abs(plausible), np.where(moving, hours, 0.0)[:, np.newaxis])
    if len(missing_columns) or len(planned_columns) or not exists.all():
        energy[missing] = 0.0
        if len(planned_columns):
            energy[:, planned_columns] *= ~planned[:, planned_columns]
        energy[:, ~exists] = 0.0
    place(6, None, energy)
    return sums


def dense_day_sums(
    rates: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray, n_days: int
) -> np.ndarray:
    """The per-day sums of ``rates`` ``(7, n, m)`` x hold ``(7, day, m)``, the obvious way:
    the reference :func:`day_sums` is tested against (it forms every rate).

    Examples
    --------
    >>> rates = np.ones((7, 3, 1))
    >>> sums = dense_day_sums(rates, np.array([60.0, 60.0, 3600.0]), np.array([0, 0, 2]), 3)
    >>> sums[0, :, 0], sums[-1, :, 0]  # seconds; hours
    (array([ 120.,    0., 3600.]), array([0.03333333, 0.        , 1.        ]))
    """
    _, n, m = rates.shape
    sums = np.zeros((_N, n_days, m))
    if n == 0:
        return sums
    weighted = rates * _weights(hold_seconds)[:, :, np.newaxis]
    starts, ends = _runs(day_index)
    flat = weighted.transpose(1, 0, 2).reshape(n, _N * m)
    totals = _sequential_sums(flat, starts, ends)
    sums[:, np.asarray(day_index)[starts]] = totals.reshape(len(starts), _N, m).transpose(1, 0, 2)
    return sums


def sample_terms(rates: np.ndarray, hold_seconds: float) -> np.ndarray:
    """What one more sample (``rates`` ``(7, m)``, held ``hold_seconds``) adds to its day's
    sums ``(7, m)``: adding it to the sums of the day's samples before it gives
    :func:`day_sums` over the whole day, bit for bit."""
    weights = _weights(np.array([hold_seconds]))[:, 0]
    return rates * weights[:, np.newaxis]
