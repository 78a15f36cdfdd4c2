"""Data-quality flags: what is wrong with the samples, counted per local day.

Every sample of DC input power and of enclosure state of charge is checked against the
named checks of time-series QA (pvanalytics' stale values and completeness, OpenOA's
range and unresponsive flags) and counted per local day, DC input and flag; SOC flags are
counted per enclosure. The flags, kept as data in :data:`FLAGS`:

================== ======== ===============================================================
flag               applies  a sample is flagged when
================== ======== ===============================================================
``non_finite``     P, SOC   it is +inf or -inf (implausible: excluded; a NaN is a ``gap``)
``out_of_range``   P, SOC   ``|P| > dc_power_limit_kw`` or SOC outside 0-100 % (implausible:
                            excluded)
``stuck``          P, SOC   it repeats one value for at least ``stuck_minutes`` while the
                            fleet moves (P: ``|P| > dead_kw``; SOC: its DC input's
                            ``|P| > moving_kw``)
``dead``           P        ``|P| <= dead_kw`` for at least ``dead_minutes`` while the
                            fleet moves
``sign_anomaly``   P        its sign is opposite to the fleet's for at least
                            ``sign_minutes`` while both move (``|P| > moving_kw``)
``duplicates_dropped`` P    a repeated row at its timestamp was dropped by the reader
``gap``            P, SOC   a nominal interval of the day is not covered by a received
                            sample (missing rows and NaN values)
================== ======== ===============================================================

The fleet moves when the median DC input power over all DC inputs, ``|median P|``, exceeds
``moving_kw``: an idle plant (every DC input near 0) is never dead, stuck or anomalous.
Runs are counted within a local day, so the flags of a day never depend on how the
history is split into files or chunks.

Only implausible samples (:mod:`bessx.kernels.plausibility`) are excluded from the energy by
default; :func:`bessx.daily_energy` excludes the samples of other power flags only when
asked (``exclude=("stuck", ...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.kernels.plausibility import Limits, _all_plausible, implausible, masked
from bessx.thresholds import EXCLUDABLE, QualitySettings

__all__ = [
    "EXCLUDABLE",
    "FLAGS",
    "Flag",
    "QualitySettings",
    "fleet_moves",
    "long_runs",
    "power_sample_flags",
    "quality",
    "quality_table",
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
_FLAG_DIM = "flag"
_SOC_FLAG_DIM = "soc_flag"


_DEFAULTS = QualitySettings()
_LIMITS = Limits()


# ---------------------------------------------------------------------------------------
# numpy kernels: time on axis 0
# ---------------------------------------------------------------------------------------
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
    if _all_plausible(values, variable, limits):
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
    return _soc_flags(soc, flowing[..., np.newaxis], day_index, interval_seconds, settings, limits)


def _soc_flags(
    soc: np.ndarray,
    flowing: np.ndarray,
    day_index: np.ndarray,
    interval_seconds: float,
    settings: QualitySettings,
    limits: Limits,
) -> np.ndarray:
    """:func:`soc_sample_flags` given ``flowing``: whether the DC input of each SOC sample
    carries more than ``moving_kw`` (boolean, broadcastable to ``soc``)."""
    n = soc.shape[0]
    flags, good = _implausible_flags(soc, "soc", limits)
    frozen = (np.isfinite(good) & flowing).reshape(n, -1)
    stuck_samples = settings.samples(settings.stuck_minutes, interval_seconds)
    stuck = _stuck(good.reshape(n, -1), frozen, day_index, stuck_samples)
    _set(flags, "stuck", stuck.reshape(soc.shape))
    return flags


def _count_per_day(flags: np.ndarray, names: Sequence[str], day_index: np.ndarray) -> np.ndarray:
    """Samples per day carrying each flag: int64 ``(flag, day, ...)``.

    Only the flags and columns that occur are summed: on healthy data, next to nothing.
    """
    from bessx.energy import _segments

    segments = _segments(day_index)
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
    from bessx.energy import held_per_day

    n, n_days = received.shape[0], len(day_seconds)
    covered = held_per_day(received.reshape(n, -1), hold_seconds, day_index, n_days)
    lengths = np.asarray(day_seconds, dtype=np.float64)[:, np.newaxis]
    missing = np.round(np.maximum(lengths - covered, 0.0) / interval_seconds)
    return missing.reshape(n_days, *received.shape[1:])


def _quality_block(
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

    The power flags come first (in :data:`POWER_FLAGS` order, the same for every slot),
    then the SOC flags (:data:`SOC_FLAGS`, per slot; 0 without SOC).
    """
    n_days = len(day_seconds)
    power_flags = power_sample_flags(power, day_index, interval_seconds, settings, limits)
    power_counts = _count_per_day(power_flags, POWER_FLAGS[:5], day_index)
    from bessx.energy import _segments

    dropped = np.zeros(n_days)
    segments = _segments(day_index)
    dropped[segments.days] = np.add.reduceat(duplicates, segments.starts, dtype=np.int64)
    dropped = np.broadcast_to(dropped.reshape(n_days, 1, 1), (n_days, *power.shape[1:]))
    gaps = _gap_intervals(~np.isnan(power), hold_seconds, day_index, day_seconds, interval_seconds)
    power_counts = np.concatenate([power_counts, dropped[np.newaxis], gaps[np.newaxis]])

    n_slots = used.shape[-1]
    out = np.zeros((len(POWER_FLAGS) + len(SOC_FLAGS), n_days, *power.shape[1:], n_slots))
    out[: len(POWER_FLAGS)] = power_counts[..., np.newaxis]
    if soc is not None:
        soc_flags = soc_sample_flags(soc, power, day_index, interval_seconds, settings, limits)
        soc_counts = _count_per_day(soc_flags, SOC_FLAGS[:-1], day_index)
        soc_gaps = _gap_intervals(
            ~np.isnan(soc), hold_seconds, day_index, day_seconds, interval_seconds
        )
        out[len(POWER_FLAGS) :] = np.concatenate([soc_counts, soc_gaps[np.newaxis]])
        out[len(POWER_FLAGS) :, :, ~used] = 0.0
    return out


# ---------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------
def _bitmask(counts: xr.DataArray, dim: str) -> xr.DataArray:
    """Combine per-flag counts into one CF flag variable (bit set where a count > 0)."""
    masks = xr.DataArray([FLAGS[name].mask for name in counts[dim].values], dims=dim)
    combined = ((counts > 0) * masks).sum(dim).astype(np.uint8)
    names = list(counts[dim].values)
    return combined.assign_attrs(
        flag_masks=np.array([FLAGS[name].mask for name in names], dtype=np.uint8),
        flag_meanings=" ".join(names),
    )


def quality(
    ds: xr.Dataset,
    *,
    settings: QualitySettings | None = None,
    dc_power_limit_kw: float | None = None,
    max_gap: float = 3.0,
) -> xr.Dataset:
    """Data-quality flags per local day: samples counted per DC input (and enclosure) and flag.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports` (``dc_power``; ``soc`` for the
        enclosure flags; the ``duplicates_dropped`` coordinate when present), numpy- or
        dask-backed, with attrs ``timezone`` and ``interval_seconds``.
    settings : bessx.QualitySettings, optional
        Flag thresholds; by default :class:`~bessx.QualitySettings`'s.
    dc_power_limit_kw : float, optional
        Largest plausible ``|dc_power|`` [kW] (default
        :data:`bessx.thresholds.DEFAULT_DC_POWER_LIMIT_KW`).
    max_gap : float
        Longest step [nominal intervals] a sample holds across, as in
        :func:`bessx.daily_energy` (for ``gap``).

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (local dates, as :func:`bessx.daily_energy`), ``inverter``,
        ``dc_input``, ``flag`` (and ``enclosure``, ``soc_flag`` with SOC):
        ``samples`` (time, inverter, dc_input, flag) and ``soc_samples`` (time, inverter,
        dc_input, enclosure, soc_flag): flagged samples [1] (for ``gap``: nominal
        intervals without a received sample); ``flags`` and ``soc_flags``: the CF flag
        variables (a bit per flag with a count, ``flag_masks``/``flag_meanings``). Lazy
        when ``ds`` is dask-backed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2023-05-01", periods=48, freq="30min", tz="Australia/Sydney")
    >>> dc_power = np.full((48, 3, 2), 800.0)
    >>> dc_power[:, 2, 1] = 0.0  # a dead DC input
    >>> dc_power[5, 0, 0] = np.inf
    >>> q = quality(make_dataset(time, dc_power, interval_seconds=1800.0))
    >>> q["samples"].sel(flag="non_finite").sum().item()
    1
    >>> q["samples"].sel(flag="dead").isel(time=0).values
    array([[ 0,  0],
           [ 0,  0],
           [ 0, 48]], dtype=int32)
    >>> q["flags"].attrs["flag_meanings"].split()[:3]
    ['non_finite', 'out_of_range', 'stuck']
    """
    from bessx.energy import day_plan, map_day_blocks

    settings = settings or QualitySettings()
    limits = Limits() if dc_power_limit_kw is None else Limits(dc_power_limit_kw)
    if "dc_power" not in ds.data_vars:
        raise ValueError("quality needs a 'dc_power' variable")
    plan = day_plan(ds, max_gap)
    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    has_soc = "soc" in ds.data_vars
    soc = None
    if has_soc:
        order = (schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
        soc = ds["soc"].transpose(*order).data
    if "duplicates_dropped" in ds.coords:
        duplicates = np.asarray(ds.coords["duplicates_dropped"].values, dtype=np.int64)
    else:
        duplicates = np.zeros(len(plan.hold_seconds), dtype=np.int64)
    options = {"interval_seconds": plan.interval, "settings": settings, "limits": limits}
    counts = map_day_blocks(
        _quality_block,
        power,
        soc,
        plan,
        (plan.hold_seconds, duplicates),
        n_quantities=len(POWER_FLAGS) + len(SOC_FLAGS),
        name="bessx-quality",
        whole_plant=True,
        token=(settings, limits),
        **options,
    )
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    return flags_dataset(counts, plan.dates, coords, ds.attrs, settings, limits, has_soc=has_soc)


def flags_dataset(
    counts: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    settings: QualitySettings,
    limits: Limits,
    *,
    has_soc: bool,
) -> xr.Dataset:
    """The Dataset :func:`quality` returns, from its ``(flag, day, ...)`` kernel output."""
    counts = counts.astype(np.int32)
    dims = (schema.DAY, schema.INVERTER, schema.DC_INPUT)
    coords = dict(coords)
    coords[schema.DAY] = xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS))
    coords[_FLAG_DIM] = xr.Variable(_FLAG_DIM, list(POWER_FLAGS), {"long_name": "quality flag"})
    power_counts = xr.Variable((_FLAG_DIM, *dims), counts[: len(POWER_FLAGS), ..., 0]).transpose(
        *dims, _FLAG_DIM
    )
    data_vars: dict[str, xr.Variable] = {"samples": power_counts}
    if has_soc:
        coords[_SOC_FLAG_DIM] = xr.Variable(
            _SOC_FLAG_DIM, list(SOC_FLAGS), {"long_name": "quality flag of the SOC"}
        )
        data_vars["soc_samples"] = xr.Variable(
            (_SOC_FLAG_DIM, *dims, schema.ENCLOSURE), counts[len(POWER_FLAGS) :]
        ).transpose(*dims, schema.ENCLOSURE, _SOC_FLAG_DIM)
    result = xr.Dataset(data_vars, coords, attrs=dict(attrs))
    result["samples"].attrs.update(
        units="1",
        long_name="DC input power samples flagged (gap: nominal intervals missing)",
        cell_methods="time: sum",
    )
    result["flags"] = _bitmask(result["samples"], _FLAG_DIM).assign_attrs(
        long_name="data-quality flags of the DC input power"
    )
    if has_soc:
        result["soc_samples"].attrs.update(
            units="1",
            long_name="enclosure SOC samples flagged (gap: nominal intervals missing)",
            cell_methods="time: sum",
        )
        result["soc_flags"] = _bitmask(result["soc_samples"], _SOC_FLAG_DIM).assign_attrs(
            long_name="data-quality flags of the enclosure state of charge"
        )
    result.attrs.update(
        dc_power_limit_kw=limits.dc_power_limit_kw,
        **{f"quality_{item.name}": getattr(settings, item.name) for item in fields(settings)},
    )
    return result


_DETAILS: Mapping[str, Callable[[int, float], str]] = {
    "non_finite": lambda n, minutes: f"{n} infinite sample(s), excluded",
    "out_of_range": lambda n, minutes: f"{n} sample(s) beyond the physical limits, excluded",
    "stuck": lambda n, minutes: f"one value repeated for {minutes:.0f} min while the fleet moved",
    "dead": lambda n, minutes: f"about 0 kW for {minutes:.0f} min while the fleet moved",
    "sign_anomaly": lambda n, minutes: f"opposite to the fleet for {minutes:.0f} min",
    "duplicates_dropped": lambda n, minutes: f"{n} repeated row(s) dropped",
    "gap": lambda n, minutes: f"{minutes:.0f} min without a received sample",
}


def quality_table(flags: xr.Dataset) -> pd.DataFrame:
    """One row per flagged (local date, DC input or enclosure, flag), for ``quality.csv``.

    Parameters
    ----------
    flags : xarray.Dataset
        The result of :func:`quality` (computed or lazy; it is computed here).

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime64), ``inverter``, ``dc_input``, ``enclosure_id`` (empty
        for a DC input's flags), ``flag``, ``samples`` and ``detail``; sorted by date, DC
        input, enclosure and flag (in :data:`FLAGS` order).
    """
    interval = float(flags.attrs.get("interval_seconds", 0.0)) / 60.0
    columns = ["date", "inverter", "dc_input", "enclosure_id", "flag", "samples", "detail"]
    frames = []
    for variable, dim in (("samples", _FLAG_DIM), ("soc_samples", _SOC_FLAG_DIM)):
        if variable not in flags:
            continue
        counts = flags[variable].load()
        index = np.nonzero(counts.values > 0)
        if not len(index[0]):
            continue
        values = counts.values[index]
        frame = pd.DataFrame(
            {
                "date": counts[schema.DAY].values[index[0]],
                "inverter": counts[schema.INVERTER].values[index[1]],
                "dc_input": counts[schema.DC_INPUT].values[index[2]],
                "enclosure_id": (
                    flags["enclosure_id"].values[index[1], index[2], index[3]]
                    if variable == "soc_samples"
                    else ""
                ),
                "flag": counts[dim].values[index[-1]],
                "samples": values,
            }
        )
        frame["detail"] = [
            _DETAILS[flag](int(n), n * interval)
            for flag, n in zip(frame["flag"], frame["samples"], strict=True)
        ]
        frames.append(frame)
    if not frames:
        return pd.DataFrame({name: [] for name in columns}).astype(
            {"date": "datetime64[ns]", "dc_input": int, "samples": int}
        )
    table = pd.concat(frames, ignore_index=True)
    plant_order = {name: i for i, name in enumerate(flags[schema.INVERTER].values)}
    table["inverter_order"] = table["inverter"].map(plant_order)
    table["flag_order"] = table["flag"].map({name: i for i, name in enumerate(FLAGS)})
    keys = ["date", "inverter_order", "dc_input", "enclosure_id", "flag_order"]
    return table.sort_values(keys, kind="stable")[columns].reset_index(drop=True)
