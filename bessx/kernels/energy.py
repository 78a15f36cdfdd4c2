"""The energy's numpy kernels: power and SOC sums per day, the shares of a DC input's
energy among its enclosures (the :data:`ALLOCATIONS` registry).

The method is described in ``docs/methodology.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import numpy as np

from bessx.kernels.days import day_segments, held_sums, pair_counts, scatter_days, segment_sums
from bessx.kernels.plausibility import Limits, masked

__all__ = [
    "ALLOCATIONS",
    "Allocation",
    "allocate",
    "daily_energy_block",
    "daily_power_sums",
    "daily_soc_throughput",
    "equal_shares",
    "soc_shares",
]


_SECONDS_PER_HOUR = 3600.0


def daily_power_sums(
    power: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray
) -> np.ndarray:
    r"""Per-day positive energy, negative energy and valid seconds of a block of power.

    Parameters
    ----------
    power : numpy.ndarray
        Power [kW], shape ``(n, ...)`` with time on axis 0; NaN marks a missing sample.
    hold_seconds : numpy.ndarray
        How long each sample holds [s], shape ``(n,)``, all positive.
    day_index : numpy.ndarray
        Day of each sample, shape ``(n,)``: integers, non-decreasing, at least 0, counted
        from the first row of the output.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(3, day_index[-1] + 1, ...)``: the energy of the positive part of
        the power [kWh], the energy of the negative part as a non-negative number [kWh],
        and the valid seconds [s] (the hold seconds of the finite samples). Energies are
        NaN on days without a finite sample; everything is NaN on days without a sample.

    Notes
    -----
    One pass over the block per quantity: ``fmax(P, 0)``, ``fmin(P, 0)`` (both drop NaN)
    and ``isfinite(P)`` are formed in the input dtype and summed per day against the hold
    durations, :math:`\sum_{i \in d} \Delta t_i \max(P_i, 0)` etc., with products and
    sums in float64.

    Examples
    --------
    Two hourly samples of day 0 (plus a missing one), none on day 1, one on day 2:

    >>> power = np.array([[10.0], [-20.0], [np.nan], [5.0]], dtype=np.float32)
    >>> sums = daily_power_sums(power, np.full(4, 3600.0), np.array([0, 0, 0, 2]))
    >>> sums[0, :, 0], sums[1, :, 0]  # discharged, charged [kWh]
    (array([10., nan,  5.]), array([20., nan,  0.]))
    >>> sums[2, :, 0] / 3600  # valid hours
    array([ 2., nan,  1.])
    """
    day_index = np.asarray(day_index)
    n = power.shape[0]
    n_days = int(day_index[-1]) + 1 if n else 0
    if n == 0:
        return np.full((3, n_days, *power.shape[1:]), np.nan)

    flat = power.reshape(n, -1)
    hold_seconds = np.asarray(hold_seconds, dtype=np.float64)
    hold_hours = hold_seconds / _SECONDS_PER_HOUR
    segments = day_segments(day_index)

    # The energy of each sample P * dt in float64, then its positive and negative parts:
    # dt > 0, so max(P * dt, 0) = max(P, 0) * dt exactly (fmax and fmin drop NaN).
    weighted = np.multiply(flat, hold_hours[:, np.newaxis], dtype=np.float64)
    discharged = segment_sums(np.fmax(weighted, 0.0), segments)
    charged = 0.0 - segment_sums(np.fmin(weighted, 0.0, out=weighted), segments)
    valid_seconds = held_sums(np.isfinite(flat), segments, hold_seconds)

    no_valid_sample = valid_seconds <= 0.0
    discharged[no_valid_sample] = np.nan
    charged[no_valid_sample] = np.nan
    sums = scatter_days(np.stack([discharged, charged, valid_seconds]), segments.days, n_days)
    return sums.reshape(3, n_days, *power.shape[1:])


def daily_soc_throughput(soc: np.ndarray, day_index: np.ndarray) -> np.ndarray:
    r"""Per-day downward and upward state-of-charge swing of a block of samples.

    Parameters
    ----------
    soc : numpy.ndarray
        State of charge [%], shape ``(n, ...)`` with time on axis 0; NaN marks a missing
        sample.
    day_index : numpy.ndarray
        Day of each sample, shape ``(n,)``, as for :func:`daily_power_sums`.

    Returns
    -------
    numpy.ndarray
        float64, shape ``(3, day_index[-1] + 1, ...)``: the discharge swing
        :math:`\sum \max(-\Delta, 0)` [%], the charge swing
        :math:`\sum \max(\Delta, 0)` [%] and the number of finite differences, where
        :math:`\Delta` runs over the differences of consecutive samples of the same day
        (NaN differences ignored). Everything is NaN on days without a sample.

    Examples
    --------
    >>> soc = np.array([50.0, 40.0, np.nan, 45.0, 30.0, 35.0], dtype=np.float32)
    >>> daily_soc_throughput(soc, np.array([0, 0, 0, 0, 1, 1]))
    array([[10.,  0.],
           [ 0.,  5.],
           [ 1.,  1.]])
    """
    day_index = np.asarray(day_index)
    n = soc.shape[0]
    n_days = int(day_index[-1]) + 1 if n else 0
    if n == 0:
        return np.full((3, n_days, *soc.shape[1:]), np.nan)

    flat = soc.reshape(n, -1)
    segments = day_segments(day_index)

    # Difference i pairs samples i and i + 1 and belongs to sample i's day; it is dropped
    # (NaN) when the pair straddles midnight, and for the last sample (no successor).
    delta = np.empty_like(flat, dtype=np.result_type(flat.dtype, np.float32))
    np.subtract(flat[1:], flat[:-1], out=delta[:-1])
    delta[-1] = np.nan
    delta[np.flatnonzero(day_index[1:] != day_index[:-1])] = np.nan

    finite_pairs = pair_counts(np.isfinite(delta), segments)
    upward = segment_sums(np.fmax(delta, 0), segments)
    np.fmin(delta, 0, out=delta)
    downward = 0.0 - segment_sums(delta, segments)

    sums = scatter_days(np.stack([downward, upward, finite_pairs]), segments.days, n_days)
    return sums.reshape(3, n_days, *soc.shape[1:])


def equal_shares(used: np.ndarray) -> np.ndarray:
    """Each used slot's share of its DC input: ``1 / n_used``; NaN on unused slots.

    Parameters
    ----------
    used : numpy.ndarray
        Boolean ``(..., enclosure)``: slots that hold an enclosure.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``used``.

    Examples
    --------
    >>> equal_shares(np.array([True, True, False]))
    array([0.5, 0.5, nan])
    """
    n_used = used.sum(axis=-1, keepdims=True)
    return np.divide(1.0, n_used, out=np.full(used.shape, np.nan), where=used & (n_used > 0))


def soc_shares(swings: np.ndarray, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Discharge and charge shares in proportion to each enclosure's daily SOC swing.

    Parameters
    ----------
    swings : numpy.ndarray
        ``(3, day, ..., enclosure)`` from :func:`daily_soc_throughput`: downward swing,
        upward swing, number of finite SOC differences.
    used : numpy.ndarray
        Boolean ``(..., enclosure)``: slots that hold an enclosure.

    Returns
    -------
    discharge_shares, charge_shares : numpy.ndarray
        float64 ``(day, ..., enclosure)``, summing to 1 over the used slots of a DC input,
        NaN on unused slots (and on days without samples). A DC input-day falls back to
        :func:`equal_shares` in a direction where one of its enclosures has no finite SOC
        difference (SOC missing) or no swing in that direction (SOC flat: stuck, or the
        whole DC input idle), so a stuck signal never takes an enclosure's energy away.

    Examples
    --------
    >>> swings = np.array([[[3.0, 1.0]], [[0.0, 0.0]], [[5.0, 5.0]]])
    >>> discharge, charge = soc_shares(swings, np.array([True, True]))
    >>> discharge, charge
    (array([[0.75, 0.25]]), array([[0.5, 0.5]]))

    The second enclosure's SOC is stuck: no downward swing while the first one's moves.

    >>> soc_shares(np.array([[[3.0, 0.0]], [[2.0, 1.0]], [[5.0, 5.0]]]), np.array([True, True]))
    (array([[0.5, 0.5]]), array([[0.66666667, 0.33333333]]))
    """
    equal = equal_shares(used)
    # An enclosure without a single SOC difference that day says nothing about its share.
    blind = np.any((swings[2] == 0) & used, axis=-1, keepdims=True)

    def shares(swing: np.ndarray) -> np.ndarray:
        swing = np.where(used, swing, 0.0)
        total = swing.sum(axis=-1, keepdims=True)
        flat = np.any((swing == 0) & used, axis=-1, keepdims=True)
        proportional = swing / np.where(total > 0, total, 1.0)
        return np.where(used, np.where(blind | flat, equal, proportional), np.nan)

    return shares(swings[0]), shares(swings[1])


class Allocation(NamedTuple):
    """A way to share a DC input's daily energy among its enclosures."""

    #: Whether :attr:`shares` needs the enclosures' SOC swings.
    needs_soc: bool
    #: ``(swings or None, used) -> (discharge_shares, charge_shares)``, broadcasting
    #: against ``(day, inverter, dc_input, enclosure)``.
    shares: Callable[[np.ndarray | None, np.ndarray], tuple[np.ndarray, np.ndarray]]
    description: str


def _equal(swings: np.ndarray | None, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    shares = equal_shares(used)[np.newaxis]
    return shares, shares


def _soc(swings: np.ndarray | None, used: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if swings is None:
        raise ValueError("allocation 'soc' needs the SOC swings")
    return soc_shares(swings, used)


#: Registry of allocations by name.
ALLOCATIONS: Mapping[str, Allocation] = {
    "equal": Allocation(False, _equal, "evenly among the enclosures of the DC input"),
    "soc": Allocation(True, _soc, "in proportion to each enclosure's daily SOC swing"),
}


def daily_energy_block(
    power: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    hold_seconds: np.ndarray,
    soc: np.ndarray | None = None,
    *,
    allocation: Allocation,
    limits: Limits,
    exclude: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> np.ndarray:
    """Daily discharged, charged energy and coverage per enclosure for a block of days.

    The kernel :func:`bessx.daily_energy` runs on each day-aligned block
    (:func:`bessx.dayblocks.map_day_blocks`).

    ``power`` is (time, inverter, dc_input) [kW]; ``day_index`` (counted from the block's
    first output day) and ``hold_seconds`` are per sample, ``day_seconds`` (length of each
    output day [s]) per day of the block; ``used`` and ``soc`` carry the enclosure axis last.
    Implausible samples (:mod:`bessx.kernels.plausibility`) and those ``exclude(power, day_index)``
    marks are treated as missing. Returns float64 ``(3, day, inverter, dc_input, enclosure)``.
    """
    power = masked(power, "dc_power", limits)
    if exclude is not None:
        power = np.where(exclude(power, day_index), np.nan, power)
    if soc is not None:
        soc = masked(soc, "soc", limits)
    sums = daily_power_sums(power, hold_seconds, day_index)
    # no SOC: swings stay None, and an allocation that needs them raises
    swings = (
        daily_soc_throughput(soc, day_index) if allocation.needs_soc and soc is not None else None
    )
    return allocate(sums, day_seconds, allocation.shares(swings, used), used)


def allocate(
    sums: np.ndarray,
    day_seconds: np.ndarray,
    shares: tuple[np.ndarray, np.ndarray],
    used: np.ndarray,
) -> np.ndarray:
    """A DC input's daily energy shared among its enclosures, and each enclosure's coverage.

    Parameters
    ----------
    sums : numpy.ndarray
        ``(3, day, ...)`` as :func:`daily_power_sums` returns: discharged and charged energy
        [kWh] (NaN on days without a valid sample) and valid seconds [s] (NaN on days
        without a sample).
    day_seconds : numpy.ndarray
        Length of each day [s], ``(day,)``.
    shares : tuple of numpy.ndarray
        Discharge and charge shares ``(day, ..., enclosure)``, from an :class:`Allocation`.
    used : numpy.ndarray
        Boolean ``(..., enclosure)``: slots that hold an enclosure.

    Returns
    -------
    numpy.ndarray
        float64 ``(3, day, ..., enclosure)``: discharged and charged energy [kWh] and
        coverage (the share of the day with a valid sample, 0 to 1), NaN on unused slots.
        The daily energy and the one pass both end here.

    Examples
    --------
    >>> sums = np.array([[[6.0]], [[2.0]], [[43200.0]]])  # one day, one DC input
    >>> halves = np.array([[[0.5, 0.5]]])
    >>> allocate(sums, np.array([86400.0]), (halves, halves), np.array([[True, True]]))
    array([[[[3. , 3. ]]],
    <BLANKLINE>
    <BLANKLINE>
           [[[1. , 1. ]]],
    <BLANKLINE>
    <BLANKLINE>
           [[[0.5, 0.5]]]])
    """
    discharge_shares, charge_shares = shares
    n_days = sums.shape[1]
    lengths = np.asarray(day_seconds, dtype=np.float64).reshape((n_days,) + (1,) * (sums.ndim - 2))
    # a date without any sample (valid seconds NaN) is not covered at all
    coverage = np.clip(np.nan_to_num(sums[2], nan=0.0) / lengths, 0.0, 1.0)

    out = np.empty((3, *sums.shape[1:], used.shape[-1]))
    np.multiply(sums[0][..., np.newaxis], discharge_shares, out=out[0])
    np.multiply(sums[1][..., np.newaxis], charge_shares, out=out[1])
    np.multiply(coverage[..., np.newaxis], np.where(used, 1.0, np.nan), out=out[2])
    return out
