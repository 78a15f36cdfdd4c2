"""The data-quality flags' numpy kernels: the flag registry and the per-sample flags.

Time on axis 0; the xarray layer (:mod:`bessx.quality`) counts them per local day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np

from bessx.kernels.days import day_segments, held_per_day
from bessx.kernels.plausibility import Limits, all_plausible, implausible, masked
from bessx.thresholds import QualitySettings

__all__ = [
    "FLAGS",
    "Flag",
    "flag_counts_block",
    "flag_counts_per_day",
    "fleet_moves",
    "long_runs",
    "power_sample_flags",
    "soc_flags_given_flow",
    "soc_sample_flags",
]


class Flag(NamedTuple):
    """One data-quality flag."""

    #: bit of the flag in the ``flags`` variables (``flag_masks``)
    mask: int
    #: whether it applies to DC input power, to enclosure SOC
    power: bool
    soc: bool
    description: str


#: The data-quality flags by name, in bit order.
FLAGS: Mapping[str, Flag] = {
    "non_finite": Flag(1, True, True, "+inf or -inf (excluded)"),
    "out_of_range": Flag(2, True, True, "beyond the physical limits (excluded)"),
    "stuck": Flag(4, True, True, "one value repeated while the fleet moves"),
    "dead": Flag(8, True, False, "about 0 kW while the fleet moves"),
    "sign_anomaly": Flag(16, True, False, "opposite sign to the fleet while both move"),
    "duplicates_dropped": Flag(32, True, False, "repeated rows dropped by the reader"),
    "gap": Flag(64, True, True, "nominal intervals without a received sample (rows or NaN)"),
}
POWER_FLAGS = tuple(name for name, flag in FLAGS.items() if flag.power)
SOC_FLAGS = tuple(name for name, flag in FLAGS.items() if flag.soc)


_DEFAULTS = QualitySettings()
_LIMITS = Limits()


def long_runs(
    mask: np.ndarray,
    day_index: np.ndarray,
    min_length: int,
    breaks: np.ndarray | None = None,
) -> np.ndarray:
    """Where ``mask`` is True in a run of at least ``min_length`` samples within one day.

    Parameters
    ----------
    mask : numpy.ndarray
        Boolean ``(n, m)``, time on axis 0.
    day_index : numpy.ndarray
        Non-decreasing day of each sample ``(n,)``: runs end at midnight.
    min_length : int
        Shortest run that counts [samples].
    breaks : numpy.ndarray, optional
        Boolean ``(n, m)``: a run also ends before a sample where this is True (e.g. where
        the value changes).

    Returns
    -------
    numpy.ndarray
        Boolean ``(n, m)``.

    Examples
    --------
    >>> mask = np.array([1, 1, 1, 0, 1, 1, 1, 1], dtype=bool)[:, np.newaxis]
    >>> long_runs(mask, np.array([0, 0, 0, 0, 0, 0, 1, 1]), 2)[:, 0]
    array([ True,  True,  True, False,  True,  True,  True,  True])
    >>> long_runs(mask, np.array([0, 0, 0, 0, 0, 0, 1, 1]), 3)[:, 0]
    array([ True,  True,  True, False, False, False, False, False])
    """
    n, m = mask.shape
    result = np.zeros((n, m), dtype=bool)
    if n < min_length:
        return result
    # Measure only the columns that can hold a long run (usually a few): a run of
    # ``min_length`` needs the mask at both ends of it.
    lag = min_length - 1
    columns = np.flatnonzero((mask[lag:] & mask[: n - lag]).any(axis=0))
    if not len(columns):
        return result
    inside = mask[:, columns]
    continues = inside[1:] & inside[:-1]
    continues &= (day_index[1:] == day_index[:-1])[:, np.newaxis]
    if breaks is not None:
        continues &= ~breaks[1:, columns]
    starts = inside.copy()
    starts[1:] &= ~continues
    # Number the runs column after column, then measure each with one bincount.
    run_id = np.cumsum(starts.T.ravel())
    inside = inside.T.ravel()
    lengths = np.bincount(run_id[inside], minlength=int(run_id[-1]) + 1)
    long = inside & (lengths[run_id] >= min_length)
    result[:, columns] = long.reshape(len(columns), n).T
    return result


def _fleet_power(plausible_power: np.ndarray) -> np.ndarray:
    """Median DC input power of each sample over all DC inputs [kW]; NaN where none.

    Sorting puts NaN last, so the median of row ``i`` sits in the middle of its ``k_i``
    finite values (one sort; :func:`numpy.nanmedian` is several times slower here).
    """
    ordered = np.sort(plausible_power, axis=1)
    count = np.isfinite(plausible_power).sum(axis=1)
    rows = np.arange(len(ordered))
    low = ordered[rows, np.maximum(count - 1, 0) // 2]
    high = ordered[rows, np.maximum(count, 1) // 2 - (count == 0)]
    return np.where(count > 0, (low + high) / 2.0, np.nan)


def _fleet_direction(
    plausible_power: np.ndarray, above: np.ndarray, below: np.ndarray, moving_kw: float
) -> tuple[np.ndarray, np.ndarray]:
    """Where the fleet's median power exceeds ``moving_kw`` (discharging), and where it is
    below ``-moving_kw`` (charging): the same as comparing :func:`_fleet_power`, without
    sorting.

    ``above`` and ``below`` mark the samples above ``moving_kw`` and below ``-moving_kw``.
    Of a row's ``k`` finite values the median is the mean of the values of ranks
    ``(k - 1) // 2`` and ``k // 2`` (ascending). Both exceed ``moving_kw`` when at least
    ``k - (k - 1) // 2`` values do, neither does when fewer than ``k - k // 2`` do, and a
    mean of two floats lies between them; only rows between the two counts (an even ``k``
    split exactly in half) need the median itself.
    """
    count = np.count_nonzero(np.isfinite(plausible_power), axis=1)
    half_low, half_high = (count - 1) // 2, count // 2
    n_above = np.count_nonzero(above, axis=1)
    n_below = np.count_nonzero(below, axis=1)
    up = (n_above >= count - half_low) & (count > 0)
    down = (n_below > half_high) & (count > 0)
    unsure = ((n_above >= count - half_high) & ~up) | ((n_below > half_low) & ~down)
    unsure &= count > 0
    if unsure.any():
        rows = np.flatnonzero(unsure)
        fleet = _fleet_power(plausible_power[rows])
        up[rows] = fleet > moving_kw
        down[rows] = fleet < -moving_kw
    return up, down


def fleet_moves(plausible_power: np.ndarray, moving_kw: float) -> np.ndarray:
    """Where the fleet moves: ``|median plausible DC input power| > moving_kw`` ``(n,)``.

    ``plausible_power`` is ``(n, m)`` [kW] with NaN where missing or implausible; the test
    is the one of the ``stuck``, ``dead`` and ``sign_anomaly`` flags
    (:func:`power_sample_flags`), so a dead sample always lies where the fleet moves.
    """
    with np.errstate(invalid="ignore"):
        above, below = plausible_power > moving_kw, plausible_power < -moving_kw
    up, down = _fleet_direction(plausible_power, above, below, moving_kw)
    return up | down


def _set(flags: np.ndarray, name: str, where: np.ndarray) -> None:
    """Set the bit of flag ``name`` in ``flags`` where ``where`` is True (in place)."""
    np.bitwise_or(flags, np.uint8(FLAGS[name].mask), out=flags, where=where)


def _implausible_flags(
    values: np.ndarray, variable: str, limits: Limits
) -> tuple[np.ndarray, np.ndarray]:
    """The bits of the plausibility rules' flags, and the values with those samples NaN."""
    flags = np.zeros(values.shape, dtype=np.uint8)
    if all_plausible(values, variable, limits):
        return flags, values
    for name in ("non_finite", "out_of_range"):
        _set(flags, name, implausible(values, variable, limits, flag=name))
    if not flags.any():
        return flags, values
    return flags, np.where(flags != 0, np.nan, values)


def _stuck(
    values: np.ndarray, mask: np.ndarray, day_index: np.ndarray, min_length: int
) -> np.ndarray:
    """Where ``mask`` holds one repeated value of ``values`` for ``min_length`` samples.

    A column can only hold such a run where a value equals the one ``min_length - 1``
    samples later: the value changes are found on those columns alone.
    """
    n = values.shape[0]
    lag = min_length - 1
    result = np.zeros(mask.shape, dtype=bool)
    if n < min_length:
        return result
    same = values[lag:] == values[: n - lag]
    same &= mask[lag:]
    same &= mask[: n - lag]
    columns = np.flatnonzero(same.any(axis=0))
    if len(columns):
        subset = values[:, columns]
        result[:, columns] = long_runs(mask[:, columns], day_index, min_length, _repeats(subset))
    return result


def _repeats(values: np.ndarray) -> np.ndarray:
    """True where a sample differs from the one before (the first sample starts a run)."""
    changes = np.ones(values.shape, dtype=bool)
    changes[1:] = values[1:] != values[:-1]
    return changes


def power_sample_flags(
    power: np.ndarray,
    day_index: np.ndarray,
    interval_seconds: float,
    settings: QualitySettings = _DEFAULTS,
    limits: Limits = _LIMITS,
) -> np.ndarray:
    """The flags of each DC input power sample, as a bit mask (see :data:`FLAGS`).

    Parameters
    ----------
    power : numpy.ndarray
        DC input power [kW] ``(n, ...)``, time on axis 0, every DC input of the plant on
        the other axes (the fleet is their median). NaN marks a missing sample.
    day_index : numpy.ndarray
        Non-decreasing local day of each sample ``(n,)``.
    interval_seconds : float
        Nominal sampling interval [s], to turn minutes into samples.
    settings, limits
        Flag thresholds and plausibility limits.

    Returns
    -------
    numpy.ndarray
        uint8, the shape of ``power``: the bits of ``non_finite``, ``out_of_range``,
        ``stuck``, ``dead`` and ``sign_anomaly`` (``gap`` and ``duplicates_dropped`` are
        counted per day, not per sample).

    Examples
    --------
    Three DC inputs discharge 500 kW for an hour of 6-minute samples; the second repeats
    one value, the third is dead, and one sample of the first is infinite:

    >>> power = np.tile([[500.0, 480.0, 0.0]], (10, 1))
    >>> power[:, 0] += np.arange(10)
    >>> power[3, 0] = np.inf
    >>> flags = power_sample_flags(power, np.zeros(10, dtype=int), 360.0)
    >>> flags[:, 0]
    array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0], dtype=uint8)
    >>> np.unique(flags[:, 1]) == FLAGS["stuck"].mask, np.unique(flags[:, 2]) == FLAGS["dead"].mask
    (array([ True]), array([ True]))
    """
    n = power.shape[0]
    flat = power.reshape(n, -1)
    flags, good = _implausible_flags(flat, "dc_power", limits)
    with np.errstate(invalid="ignore"):
        above, below = good > settings.moving_kw, good < -settings.moving_kw
        up, down = _fleet_direction(good, above, below, settings.moving_kw)
        moving = (up | down)[:, np.newaxis]
        quiet = (good <= settings.dead_kw) & (good >= -settings.dead_kw)
        dead = moving & quiet
        opposite = (up[:, np.newaxis] & below) | (down[:, np.newaxis] & above)
        frozen = moving & ~quiet & ~np.isnan(good)

    def runs(mask: np.ndarray, minutes: float, breaks: np.ndarray | None = None) -> np.ndarray:
        return long_runs(mask, day_index, settings.samples(minutes, interval_seconds), breaks)

    stuck_samples = settings.samples(settings.stuck_minutes, interval_seconds)
    _set(flags, "dead", runs(dead, settings.dead_minutes))
    _set(flags, "sign_anomaly", runs(opposite, settings.sign_minutes))
    _set(flags, "stuck", _stuck(good, frozen, day_index, stuck_samples))
    return flags.reshape(power.shape)


def soc_sample_flags(
    soc: np.ndarray,
    power: np.ndarray,
    day_index: np.ndarray,
    interval_seconds: float,
    settings: QualitySettings = _DEFAULTS,
    limits: Limits = _LIMITS,
) -> np.ndarray:
    """The flags of each enclosure SOC sample, as a bit mask (see :data:`FLAGS`).

    Parameters
    ----------
    soc : numpy.ndarray
        State of charge [%] ``(n, ..., enclosure)``; NaN marks a missing sample.
    power : numpy.ndarray
        The power of each enclosure's DC input [kW] ``(n, ...)``.
    day_index, interval_seconds, settings, limits
        As for :func:`power_sample_flags`.

    Returns
    -------
    numpy.ndarray
        uint8, the shape of ``soc``: the bits of ``non_finite``, ``out_of_range`` and
        ``stuck`` (one SOC value held for ``stuck_minutes`` while its DC input carries
        more than ``moving_kw``).
    """
    with np.errstate(invalid="ignore"):
        flowing = np.abs(masked(power, "dc_power", limits)) > settings.moving_kw
    return soc_flags_given_flow(
        soc, flowing[..., np.newaxis], day_index, interval_seconds, settings, limits
    )


def soc_flags_given_flow(
    soc: np.ndarray,
    flowing: np.ndarray,
    day_index: np.ndarray,
    interval_seconds: float,
    settings: QualitySettings,
    limits: Limits,
) -> np.ndarray:
    """:func:`soc_sample_flags` given ``flowing`` instead of the DC input power.

    Parameters
    ----------
    soc : numpy.ndarray
        State of charge [%] ``(n, ..., enclosure)``; NaN marks a missing sample.
    flowing : numpy.ndarray
        Boolean, broadcastable to ``soc``: whether the DC input of each SOC sample carries
        more than ``settings.moving_kw`` [kW] (the one pass has it at hand already).
    day_index, interval_seconds, settings, limits
        As for :func:`power_sample_flags`.

    Returns
    -------
    numpy.ndarray
        uint8, the shape of ``soc``, as :func:`soc_sample_flags` returns.
    """
    n = soc.shape[0]
    flags, good = _implausible_flags(soc, "soc", limits)
    frozen = (np.isfinite(good) & flowing).reshape(n, -1)
    stuck_samples = settings.samples(settings.stuck_minutes, interval_seconds)
    stuck = _stuck(good.reshape(n, -1), frozen, day_index, stuck_samples)
    _set(flags, "stuck", stuck.reshape(soc.shape))
    return flags


def flag_counts_per_day(
    flags: np.ndarray, names: Sequence[str], day_index: np.ndarray
) -> np.ndarray:
    """Samples per day carrying each flag: int64 ``(flag, day, ...)``.

    ``flags`` is the uint8 bit mask of each sample ``(n, ...)`` (see :data:`FLAGS`),
    ``names`` the flags to count, ``day_index`` the non-decreasing day of each sample
    (from 0; the last sample's day is the last day counted). Only the flags and columns
    that occur are summed: on healthy data, next to nothing.
    """

    segments = day_segments(day_index)
    n_days = int(day_index[-1]) + 1
    flat = flags.reshape(flags.shape[0], -1)
    counts = np.zeros((len(names), n_days, flat.shape[1]), dtype=np.int64)
    present = np.bitwise_or.reduce(flat, axis=0)
    for position, name in enumerate(names):
        columns = np.flatnonzero(present & FLAGS[name].mask)
        if len(columns):
            hits = (flat[:, columns] & FLAGS[name].mask) != 0
            daily = np.add.reduceat(hits, segments.starts, axis=0, dtype=np.int64)
            counts[position][np.ix_(segments.days, columns)] = daily
    return counts.reshape(len(names), n_days, *flags.shape[1:])


def _gap_intervals(
    received: np.ndarray,
    hold_seconds: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    interval_seconds: float,
) -> np.ndarray:
    """Nominal intervals of each day not covered by a received sample ``(day, ...)``.

    ``round((L_d - sum of the hold seconds of the received samples of day d) / interval)``.
    """

    n, n_days = received.shape[0], len(day_seconds)
    covered = held_per_day(received.reshape(n, -1), hold_seconds, day_index, n_days)
    lengths = np.asarray(day_seconds, dtype=np.float64)[:, np.newaxis]
    missing = np.round(np.maximum(lengths - covered, 0.0) / interval_seconds)
    return missing.reshape(n_days, *received.shape[1:])


def flag_counts_block(
    power: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    hold_seconds: np.ndarray,
    duplicates: np.ndarray,
    soc: np.ndarray | None = None,
    *,
    interval_seconds: float,
    settings: QualitySettings,
    limits: Limits,
) -> np.ndarray:
    """Flag counts of a block of whole days: float64 ``(flag, day, inverter, dc_input, slot)``.

    The kernel :func:`bessx.quality` counts its flags with, on each day-aligned block
    (:func:`bessx.dayblocks.map_day_blocks`). ``power`` is the DC input power [kW]
    ``(time, inverter, dc_input)``, ``soc`` the SOC [%] ``(time, inverter, dc_input,
    slot)``; ``day_index`` (from the block's first day), ``hold_seconds`` [s] and
    ``duplicates`` (rows dropped as repeated timestamps) are per sample, ``day_seconds``
    (length of each day [s]) per day, ``used`` (boolean ``(inverter, dc_input, slot)``)
    marks the slots that hold an enclosure. The power flags come first (in
    :data:`POWER_FLAGS` order, the same for every slot), then the SOC flags
    (:data:`SOC_FLAGS`, per slot; 0 without SOC).
    """
    n_days = len(day_seconds)
    power_flags = power_sample_flags(power, day_index, interval_seconds, settings, limits)
    power_counts = flag_counts_per_day(power_flags, POWER_FLAGS[:5], day_index)

    dropped = np.zeros(n_days)
    segments = day_segments(day_index)
    dropped[segments.days] = np.add.reduceat(duplicates, segments.starts, dtype=np.int64)
    dropped = np.broadcast_to(dropped.reshape(n_days, 1, 1), (n_days, *power.shape[1:]))
    gaps = _gap_intervals(~np.isnan(power), hold_seconds, day_index, day_seconds, interval_seconds)
    power_counts = np.concatenate([power_counts, dropped[np.newaxis], gaps[np.newaxis]])

    n_slots = used.shape[-1]
    out = np.zeros((len(POWER_FLAGS) + len(SOC_FLAGS), n_days, *power.shape[1:], n_slots))
    out[: len(POWER_FLAGS)] = power_counts[..., np.newaxis]
    if soc is not None:
        soc_flags = soc_sample_flags(soc, power, day_index, interval_seconds, settings, limits)
        soc_counts = flag_counts_per_day(soc_flags, SOC_FLAGS[:-1], day_index)
        soc_gaps = _gap_intervals(
            ~np.isnan(soc), hold_seconds, day_index, day_seconds, interval_seconds
        )
        out[len(POWER_FLAGS) :] = np.concatenate([soc_counts, soc_gaps[np.newaxis]])
        out[len(POWER_FLAGS) :, :, ~used] = 0.0
    return out
