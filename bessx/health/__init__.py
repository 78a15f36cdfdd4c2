r"""Battery health from operational data: usable capacity and its fade, round-trip efficiency,
equivalent full cycles, SOC spread and per-enclosure SOC offsets.

Three layers, as everywhere in bessx:

* numpy kernels (:mod:`bessx.kernels.health`): :func:`daily_health_partials` reduces a
  block of whole local days of samples to small per-day partial sums (discharge segments'
  energy and SOC drop, daily energies, daily SOC spread, first and last SOC of the day,
  ...); :func:`~bessx.kernels.health.theil_sen` fits a robust slope with Sen's confidence interval;
* :func:`daily_health` runs the kernel on dask chunks that hold whole local days (one task
  per block, like :func:`bessx.daily_energy`) and gives the per-day partials, lazily;
  :func:`bessx.health_from_exports` makes the same partials from the exports, reading each
  file once (:mod:`bessx.onepass`). :func:`health_from_daily` sums the partials over
  windows of whole days and forms the estimates; :func:`health` is both steps;
* the ``Dataset.bess`` accessor forwards to :func:`health`.

Power is metered per DC input, not per enclosure, and the enclosures of a DC input share its
DC bus: capacity and efficiency are identified per DC input only. Per enclosure the data
identify how its SOC reading sits and swings relative to its siblings. The method is
described in ``docs/methodology.md`` (section "Battery health").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr
from dask.base import is_dask_collection

from bessx import schema
from bessx.dayblocks import day_plan, map_day_blocks, used_slots
from bessx.health.report import health_section, summary_section, to_frame
from bessx.kernels.health import DISCHARGE_THRESHOLD_KW, PARTIALS, daily_health_partials, theil_sen
from bessx.kernels.plausibility import DEFAULT_DC_POWER_LIMIT_KW, Limits

if TYPE_CHECKING:
    pass

__all__ = [
    "HEALTH_ATTRS",
    "PARTIALS",
    "ROUND_TRIP_FLAGS",
    "ROUND_TRIP_TOLERANCE",
    "daily_health",
    "daily_health_partials",
    "health",
    "health_from_daily",
    "health_section",
    "summary_section",
    "theil_sen",
    "to_frame",
]

_DAYS_PER_YEAR: Final = 365.25
_NS_PER_SECOND: Final = 1_000_000_000
#: The leading dimension of the per-day partials, with the names of
#: :data:`~bessx.kernels.health.PARTIALS`.
QUANTITY: Final = "quantity"
WINDOW: Final = schema.WINDOW
DIRECTION: Final = schema.DIRECTION

#: How far a window's round-trip efficiency may exceed 1 [1], and a day's discharged energy
#: what its charged energy and stored energy allow (relative, and in percentage points of
#: SOC), before the window's round trip is unknown: SOC readings and meters are accurate to
#: about 1 %, and a round trip above 1 + this cannot come from a real battery.
ROUND_TRIP_TOLERANCE: Final = 0.02
#: Why a window's round-trip efficiency is unknown (``round_trip_flag``), by flag value.
ROUND_TRIP_FLAGS: Final = (
    "ok",
    "no_complete_day",
    "no_usable_capacity",
    "no_charge",
    "round_trip_above_one",
    "round_trip_negative",
    "discharge_beyond_charge_and_soc",
)

#: CF attributes of the outputs of :func:`health`.
HEALTH_ATTRS: Final[dict[str, dict[str, Any]]] = {
    "usable_capacity": {
        "units": "kWh",
        "long_name": "usable capacity of the DC input: energy discharged at the DC input per "
        "100 percentage points of decrease of its enclosures' mean SOC",
        "cell_methods": "window: sum (ratio of sums over discharge segments)",
    },
    "round_trip_efficiency": {
        "units": "1",
        "long_name": "DC-side round-trip efficiency, corrected for the change of stored energy",
        "cell_methods": "window: sum (ratio of sums over complete days)",
    },
    "round_trip_flag": {
        "long_name": "why round_trip_efficiency is unknown (0: it is known)",
        "flag_values": np.arange(len(ROUND_TRIP_FLAGS), dtype=np.int8),
        "flag_meanings": " ".join(ROUND_TRIP_FLAGS),
        "comment": f"tolerance {ROUND_TRIP_TOLERANCE}: see the Notes of bessx.health",
    },
    "equivalent_full_cycles": {
        "units": "1",
        "long_name": "equivalent full cycles: energy discharged / usable capacity",
        "cell_methods": "window: sum",
    },
    "soc_spread": {
        "units": "%",
        "long_name": "daily maximum spread (max - min) of SOC among the DC input's enclosures",
        "cell_methods": "time: maximum within days window: mean over days",
    },
    "segments": {
        "units": "1",
        "long_name": "number of discharge segments used for the usable capacity",
        "cell_methods": "window: sum",
    },
    "capacity_trend": {
        "units": "% a-1",
        "long_name": "Theil-Sen slope of usable capacity relative to its first window "
        "(negative: fading), percent per year",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "capacity_trend_low": {
        "units": "% a-1",
        "long_name": "lower bound of the 95 % confidence interval of capacity_trend",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "capacity_trend_high": {
        "units": "% a-1",
        "long_name": "upper bound of the 95 % confidence interval of capacity_trend",
        "cell_methods": "window: median (of pairwise slopes)",
    },
    "conversion_efficiency": {
        "units": "1",
        "long_name": "plant conversion efficiency between the summed DC inputs and the plant "
        "meter (discharge: AC/DC, charge: DC/AC)",
        "cell_methods": "window: sum (ratio of sums over complete days)",
    },
    "soc_offset": {
        "units": "%",
        "long_name": "enclosure SOC minus the mean SOC of its siblings on the DC input",
        "cell_methods": "time: mean within days window: mean over days",
    },
    "soc_swing_ratio": {
        "units": "1",
        "long_name": "enclosure's downward SOC swing relative to the mean of its siblings'",
        "cell_methods": "window: sum (ratio of sums)",
    },
}


# ---------------------------------------------------------------------------------------
# samples -> per-day partials
# ---------------------------------------------------------------------------------------
def plant_threshold(used: np.ndarray) -> float:
    """The plant meter is active above this [kW]: the idle noise of all its DC inputs.

    ``used`` is the boolean ``(inverter, dc_input, enclosure)`` map of the slots that hold
    an enclosure; every DC input with an enclosure adds
    :data:`~bessx.kernels.health.DISCHARGE_THRESHOLD_KW`.
    """
    return DISCHARGE_THRESHOLD_KW * float(np.count_nonzero(np.asarray(used).any(axis=-1)))


def check_min_swing(min_swing: float) -> float:
    """``min_swing`` as a float, or a ValueError saying what it must be."""
    if not 0 < min_swing <= 100:
        raise ValueError(f"min_swing must be in (0, 100] percentage points, not {min_swing!r}")
    return float(min_swing)


def _partials_block(
    power: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    hold_seconds: np.ndarray,
    joined: np.ndarray,
    plant: np.ndarray,
    soc: np.ndarray,
    **options: Any,
) -> np.ndarray:
    """:func:`daily_health_partials` in the argument order of the day-block driver."""
    return daily_health_partials(
        power, soc, plant, hold_seconds, joined, day_index, day_seconds, used, **options
    )


def partials_array(
    partials: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    *,
    min_swing: float,
    max_gap: float,
    limits: Limits,
    has_plant: bool,
) -> xr.DataArray:
    """The DataArray :func:`daily_health` returns, from its kernel output.

    ``partials`` is numpy or dask ``(quantity, day, inverter, dc_input, enclosure)``,
    ``dates`` the local dates, ``coords`` the plant's coordinates without time, ``attrs``
    those of the source (with ``timezone`` and ``interval_seconds``).
    """
    history = schema.add_history(
        attrs.get("history"),
        f"bessx.daily_health(min_swing={min_swing!r}, max_gap={max_gap!r}, "
        f"dc_power_limit_kw={limits.dc_power_limit_kw!r})",
        call=True,
    )
    return xr.DataArray(
        partials,
        dims=(QUANTITY, schema.DAY, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
        coords={
            **coords,
            QUANTITY: xr.Variable(QUANTITY, list(PARTIALS)),
            schema.DAY: xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS)),
        },
        name="health_partials",
        attrs={
            "long_name": "per-day partial sums of the battery health (see quantity)",
            "timezone": attrs["timezone"],
            "interval_seconds": float(attrs["interval_seconds"]),
            "min_swing": min_swing,
            "max_gap": max_gap,
            "dc_power_limit_kw": limits.dc_power_limit_kw,
            "plant_power": int(has_plant),
            "Conventions": schema.CF_CONVENTIONS,
            "history": history,
        },
    )


def daily_health(
    ds: xr.Dataset,
    *,
    min_swing: float = 20.0,
    max_gap: float = 3.0,
    dc_power_limit_kw: float = DEFAULT_DC_POWER_LIMIT_KW,
) -> xr.DataArray:
    """Per-day partial sums of the battery health, per DC input and enclosure slot.

    The first step of :func:`health` (the second is :func:`health_from_daily`); the
    arguments are as there.

    Returns
    -------
    xarray.DataArray
        ``(quantity, time, inverter, dc_input, enclosure)``: the quantities of
        :data:`~bessx.kernels.health.PARTIALS` per local date (``time``), DC-input and plant
        quantities repeated along ``enclosure``; days without samples are NaN. The
        attributes say how they were made (``timezone``, ``interval_seconds``,
        ``min_swing``, ``max_gap``, ``dc_power_limit_kw``, and ``plant_power``: 1 when a
        plant meter variable was read). Lazy when ``ds`` is dask-backed.
    """
    min_swing = check_min_swing(min_swing)
    limits = Limits(dc_power_limit_kw)
    for name in ("dc_power", "soc"):
        if name not in ds.data_vars:
            raise ValueError(f"health needs a {name!r} variable")
    plan = day_plan(ds, max_gap)
    time_ns = pd.DatetimeIndex(ds.indexes[schema.TIME]).as_unit("ns").asi8
    joined = np.append(np.diff(time_ns) / _NS_PER_SECOND <= max_gap * plan.interval, False)
    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    soc = ds["soc"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    has_plant = "plant_power" in ds.data_vars
    plant = ds["plant_power"].data if has_plant else np.full(len(time_ns), np.nan)
    threshold = plant_threshold(np.asarray(plan.used))
    partials = map_day_blocks(
        _partials_block,
        power,
        soc.data,
        plan,
        (plan.hold_seconds, joined, plant),
        n_quantities=len(PARTIALS),
        name="bessx-health-partials",
        token=(min_swing, threshold, limits),
        min_swing=min_swing,
        plant_threshold=threshold,
        limits=limits,
    )
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    return partials_array(
        partials,
        plan.dates,
        coords,
        {**ds.attrs, "interval_seconds": plan.interval},
        min_swing=min_swing,
        max_gap=float(max_gap),
        limits=limits,
        has_plant=has_plant,
    )


# ---------------------------------------------------------------------------------------
# per-day partials -> window estimates
# ---------------------------------------------------------------------------------------
def window_length_days(window: str | pd.Timedelta) -> int:
    """The length of a health window in days, checked: ``"30D"`` gives 30.

    Raises :class:`ValueError` unless ``window`` (a :class:`pandas.Timedelta` or its text)
    is a whole number of days, at least one. The one pass and the guarantees check their
    ``window`` with it before anything is read.
    """
    try:
        length = pd.Timedelta(window)
    except ValueError as error:
        raise ValueError(f"window must be a whole number of days such as '30D': {error}") from None
    days = length / pd.Timedelta(days=1)
    if not (days >= 1 and days == int(days)):
        raise ValueError(f"window must be a whole number of days such as '30D', not {window!r}")
    return int(days)


def _relative_trend(usable: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Theil-Sen trend [%/year] of ``usable`` (..., window) relative to its first finite
    window; returns (..., 3): slope, low, high."""
    finite = np.isfinite(usable)
    first = np.argmax(finite, axis=-1)
    reference = np.take_along_axis(usable, first[..., np.newaxis], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = 100.0 * usable / reference
    return np.stack(theil_sen(years, relative), axis=-1)


def health_from_daily(daily: xr.DataArray, *, window: str | pd.Timedelta = "30D") -> xr.Dataset:
    """Battery health per window from the per-day partials (the second step of :func:`health`).

    Parameters
    ----------
    daily : xarray.DataArray
        Per-day partials from :func:`daily_health` or from the one pass over the exports
        (:func:`bessx.health_from_exports`); numpy- or dask-backed.
    window : str or pandas.Timedelta
        As for :func:`health`.

    Returns
    -------
    xarray.Dataset
        As :func:`health` returns; lazy when ``daily`` is.
    """
    window_days = window_length_days(window)
    dates = daily[schema.DAY].values
    coords = {
        name: coord
        for name, coord in daily.coords.items()
        if schema.DAY not in coord.dims and QUANTITY not in coord.dims
    }
    used = used_slots(daily, "health")
    has_plant = bool(daily.attrs.get("plant_power", 1))
    lazy = is_dask_collection(daily.data)
    values = _closed_soc_change(daily.reset_coords(drop=True).drop_vars(schema.DAY))
    n_days = len(dates)
    n_windows = -(-n_days // window_days)
    values = values.pad({schema.DAY: (0, n_windows * window_days - n_days)})
    if lazy:
        values = values.chunk({schema.DAY: -1})
    windowed = values.coarsen({schema.DAY: window_days}).construct({schema.DAY: (WINDOW, "day")})
    result = _estimates(windowed, used, has_plant)

    starts = dates[::window_days]
    days_in = np.minimum(window_days, n_days - np.arange(n_windows) * window_days)
    years = (np.arange(n_windows) * window_days + days_in / 2.0) / _DAYS_PER_YEAR
    trend = xr.apply_ufunc(
        _relative_trend,
        result["usable_capacity"].chunk({WINDOW: -1}) if lazy else result["usable_capacity"],
        kwargs={"years": years},
        input_core_dims=[[WINDOW]],
        output_core_dims=[["bound"]],
        dask="parallelized",
        output_dtypes=[np.float64],
        dask_gufunc_kwargs={"output_sizes": {"bound": 3}},
    )
    for position, trend_name in enumerate(
        ("capacity_trend", "capacity_trend_low", "capacity_trend_high")
    ):
        result[trend_name] = trend.isel(bound=position, drop=True)

    for output, variable in result.data_vars.items():
        variable.attrs = dict(HEALTH_ATTRS[str(output)])
    result = result.assign_coords(coords)
    result = result.assign_coords(
        {
            WINDOW: xr.Variable(
                WINDOW,
                starts,
                attrs={
                    "long_name": "local start date of the window",
                    "comment": f"windows of {window_days} local days; the last may be shorter",
                },
            ),
            "window_days": xr.Variable(WINDOW, days_in, attrs={"units": "d"}),
        }
    )
    if has_plant:
        result = result.assign_coords({DIRECTION: ["discharge", "charge"]})

    min_swing, max_gap = daily.attrs["min_swing"], daily.attrs["max_gap"]
    history = schema.add_history(
        daily.attrs.get("history"),
        f"bessx.health(window='{window_days}D', min_swing={min_swing!r}, max_gap={max_gap!r})",
        call=True,
    )
    result.attrs = {
        "timezone": daily.attrs["timezone"],
        "interval_seconds": daily.attrs["interval_seconds"],
        "window_days": window_days,
        "min_swing": min_swing,
        "max_gap": max_gap,
        "Conventions": schema.CF_CONVENTIONS,
        "history": history,
    }
    return result


def health(
    ds: xr.Dataset,
    *,
    window: str | pd.Timedelta = "30D",
    min_swing: float = 20.0,
    max_gap: float = 3.0,
    dc_power_limit_kw: float = DEFAULT_DC_POWER_LIMIT_KW,
) -> xr.Dataset:
    r"""Battery health per DC input and window: usable capacity, fade, efficiency, cycles.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports`: ``dc_power`` (time, inverter,
        dc_input) [kW], positive when discharging; ``soc`` (time, inverter, dc_input,
        enclosure) [%]; optionally ``plant_power`` (time) [kW]; ``time`` in UTC, strictly
        increasing; the ``enclosure_id`` (or ``n_enclosures``) coordinate; attrs
        ``timezone`` and ``interval_seconds`` (inferred as the median step when missing).
        numpy- or dask-backed.
    window : str or pandas.Timedelta
        Window length, a whole number of days (``"30D"``). Windows start at local midnight
        of the first date and follow each other; the last one may be shorter.
    min_swing : float
        Smallest decrease of the mean SOC [percentage points] of a discharge segment used
        for the usable capacity (0 < ``min_swing`` <= 100).
    max_gap : float
        Longest step [nominal intervals, >= 1] across which a sample holds, as for
        :func:`bessx.daily_energy`; a discharge segment across a longer gap is not used
        and a day with one is not complete.
    dc_power_limit_kw : float
        Largest plausible ``|dc_power|`` of one DC input [kW], as for
        :func:`bessx.daily_energy`.

    Returns
    -------
    xarray.Dataset
        Dims ``window`` (local start date of each window), ``inverter``, ``dc_input``,
        ``enclosure``, ``direction`` (``"discharge"``, ``"charge"``), with

        - ``usable_capacity`` (window, inverter, dc_input) [kWh],
        - ``round_trip_efficiency`` (window, inverter, dc_input) [1],
        - ``round_trip_flag`` (window, inverter, dc_input), int8: why the round trip is
          unknown (CF ``flag_values``/``flag_meanings`` :data:`ROUND_TRIP_FLAGS`; 0: known),
        - ``equivalent_full_cycles`` (window, inverter, dc_input) [1],
        - ``soc_spread`` (window, inverter, dc_input) [%],
        - ``segments`` (window, inverter, dc_input) [1], the discharge segments used,
        - ``capacity_trend``, ``capacity_trend_low``, ``capacity_trend_high`` (inverter,
          dc_input) [% per year],
        - ``conversion_efficiency`` (window, direction) [1] (when ``plant_power`` exists),
        - ``soc_offset`` (window, inverter, dc_input, enclosure) [%],
        - ``soc_swing_ratio`` (window, inverter, dc_input, enclosure) [1],

        each with CF ``units``, ``long_name`` and ``cell_methods``. Lazy when ``ds`` is
        dask-backed: one task per block of whole days reads the samples once. This is
        :func:`health_from_daily` of :func:`daily_health`; :func:`bessx.health_from_exports`
        gives the same from the exports, reading each file once.

    Raises
    ------
    ValueError
        For a window that is not a whole number of days, ``min_swing`` outside (0, 100],
        ``max_gap < 1``, missing ``dc_power``/``soc`` variables or ``timezone`` attribute,
        or times that do not strictly increase.

    Notes
    -----
    Implausible samples (:mod:`bessx.kernels.plausibility`: non-finite values, DC powers beyond
    ``dc_power_limit_kw``, SOC outside 0-100 %) are missing, as in
    :func:`bessx.daily_energy`.
    Power is metered per DC input and its enclosures share the DC bus, so capacity and
    efficiency are per DC input; :math:`\bar s` is the mean SOC of its enclosures.

    *Usable capacity.* A discharge segment :math:`k` is a run of samples with
    :math:`P > 5` kW within one local day; its energy
    :math:`E_k = \sum_{i=a}^{b} P_i \Delta t_i` and its drop
    :math:`\delta_k = \bar s_a - \bar s_{b+1}` (the SOC of a sample precedes its energy).
    Segments with :math:`\delta_k \ge` ``min_swing``, no gap and a successor sample on
    the same day (a segment running to midnight is not used) give

    .. math:: U_w = 100 \, \frac{\sum_k E_k}{\sum_k \delta_k}.

    *Round-trip efficiency.* Over the complete days :math:`d` of the window (every sample
    valid, no gap), with the mean-SOC change :math:`\Delta \bar s_d` from the day's first
    sample to the next day's first, where the energy of the day's last sample ends (a day
    followed by a gap, or the last of the data, closes at its own last sample if that
    sample idles, :math:`|P| \le 5` kW, and is left out otherwise),

    .. math:: \eta_w = \frac{\sum_d E^{dis}_d + U_w \sum_d \Delta \bar s_d / 100}
                            {\sum_d E^{ch}_d}.

    It is unknown (NaN), ``round_trip_flag`` naming why (:data:`ROUND_TRIP_FLAGS`), when
    :math:`\eta_w > 1 + \tau` or :math:`\eta_w < 0`, with the tolerance
    :math:`\tau` = :data:`ROUND_TRIP_TOLERANCE`, or when a complete day discharged more
    than its charge and the energy stored at its start allow,
    :math:`E^{dis}_d > (1 + \tau) E^{ch}_d + U_w (\bar s_{d,0} + 100 \tau) / 100`
    (then the equivalent full cycles are unknown too).

    *Equivalent full cycles* :math:`\sum_d E^{dis}_d / U_w` over all days of the window.
    *SOC spread*: the mean over the window's days of the day's maximum of
    :math:`\max_e s_e - \min_e s_e`. *Capacity trend*: :func:`~bessx.kernels.health.theil_sen` of
    :math:`100\, U_w / U_{w_0}` against the windows' mid-times in years.
    *Conversion efficiency* over days complete at the plant meter and at every DC input
    with data, and over the samples where the plant meter is active (:math:`|P_{AC}|`
    above 5 kW per DC input): :math:`E^{dis}_{AC} / \sum E^{dis}_{DC}` and
    :math:`\sum E^{ch}_{DC} / E^{ch}_{AC}`. *SOC offset* of enclosure :math:`e`: the
    window's mean of the daily mean of :math:`s_e - \mathrm{mean}_{j \ne e} s_j`; its
    *swing ratio*: its summed downward SOC swing over the mean of its siblings'.

    Examples
    --------
    One DC input with two enclosures, hourly samples. Each day charges 950 kWh at the DC
    input (mean SOC 10 → 60 %), then discharges 855 kWh over three hours (60 → 10 %):
    usable capacity 100 × 855 kWh / 50 % = 1,710 kWh, round trip 855 / 950 = 0.9, and the
    two days discharge 1,710 kWh, one equivalent full cycle.

    >>> import pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2024-03-01", periods=48, freq="1h", tz="Australia/Sydney")
    >>> power = np.zeros((48, 1, 1))
    >>> soc = np.full((48, 1, 1, 2), 10.0)
    >>> for day in (0, 24):
    ...     power[day + 8 : day + 10] = -475.0  # charge 2 h x 475 kW
    ...     power[day + 17 : day + 20] = 285.0  # discharge 3 h x 285 kW
    ...     soc[day + 9] = 35.0
    ...     soc[day + 10 : day + 18] = 60.0
    ...     soc[day + 18], soc[day + 19] = 60.0 - 50.0 / 3, 60.0 - 100.0 / 3
    >>> ds = make_dataset(time, power, soc, n_enclosures=2, interval_seconds=3600.0)
    >>> result = health(ds, window="2D")
    >>> result["usable_capacity"].values.ravel()
    array([1710.])
    >>> result["round_trip_efficiency"].values.round(4).ravel()
    array([0.9])
    >>> result["equivalent_full_cycles"].values.ravel()
    array([1.])
    """
    window_days = window_length_days(window)  # checked before anything else
    daily = daily_health(
        ds, min_swing=min_swing, max_gap=max_gap, dc_power_limit_kw=dc_power_limit_kw
    )
    return health_from_daily(daily, window=f"{window_days}D")


def _closed_soc_change(values: xr.DataArray) -> xr.DataArray:
    """``values`` with each day's ``soc_change`` taken where its held energy ends.

    The energy of a day's last sample holds until the next sample, the next day's first:
    the SOC change that closes the day's energy balance runs to that sample's SOC. A day
    whose last sample is followed by a gap (or is the last of the data) keeps the change to
    its own last sample when that sample idles, which misses at most idle noise; it has no
    closing change (NaN) otherwise.
    """
    soc_first = values.sel({QUANTITY: "soc_first"}, drop=True)
    closing = values.sel({QUANTITY: "closing"}, drop=True)
    to_next = soc_first.shift({schema.DAY: -1}) - soc_first
    own = values.sel({QUANTITY: "soc_change"}, drop=True).where(closing == 0)
    closed = xr.where(closing == 1, to_next, own)
    return xr.where(values[QUANTITY] == "soc_change", closed, values).transpose(*values.dims)


def _positive(values: xr.DataArray) -> xr.DataArray:
    """``values`` where positive, NaN elsewhere: a denominator that never divides by 0."""
    return values.where(values > 0)


def _estimates(windowed: xr.DataArray, used: xr.DataArray, has_plant: bool) -> xr.Dataset:
    """Window estimates from the partials (quantity, window, day, inverter, dc_input, enc)."""

    def part(name: str, per_enclosure: bool = False) -> xr.DataArray:
        values = windowed.sel(quantity=name, drop=True)
        return values if per_enclosure else values.isel({schema.ENCLOSURE: 0}, drop=True)

    def total(values: xr.DataArray) -> xr.DataArray:
        return values.sum("day", min_count=1)

    segment_energy = total(part("segment_energy"))
    segment_drop = total(part("segment_drop"))
    usable = 100.0 * segment_energy / segment_drop.where(segment_drop > 0)

    complete = part("complete") == 1
    discharged = part("discharged")
    charged = part("charged")
    soc_change = part("soc_change")  # closed where the day's held energy ends
    balanced = complete & soc_change.notnull()
    complete_charged = total(charged.where(balanced))
    stored_change = usable * total(soc_change.where(balanced)) / 100.0
    round_trip = (total(discharged.where(balanced)) + stored_change) / complete_charged.where(
        complete_charged > 0
    )
    # a complete day cannot discharge more than it charged plus what was stored at its start
    allowed = (1.0 + ROUND_TRIP_TOLERANCE) * charged + usable * (
        part("soc_first") + 100.0 * ROUND_TRIP_TOLERANCE
    ) / 100.0
    beyond = (discharged.where(complete) > allowed).any("day")
    flag = xr.zeros_like(round_trip, dtype=np.int8)
    for name, condition in (
        ("no_charge", ~(complete_charged > 0)),
        ("no_usable_capacity", usable.isnull()),
        ("no_complete_day", ~balanced.any("day")),
        ("round_trip_above_one", round_trip > 1.0 + ROUND_TRIP_TOLERANCE),
        ("round_trip_negative", round_trip < 0.0),
        ("discharge_beyond_charge_and_soc", beyond),
    ):  # the last that holds names why
        flag = flag.where(~condition, np.int8(ROUND_TRIP_FLAGS.index(name)))
    round_trip = round_trip.where(flag == 0)
    cycles = (total(discharged) / usable.where(usable > 0)).where(~beyond)
    spread = part("soc_spread").mean("day")

    offset = part("soc_offset", per_enclosure=True).mean("day").where(used)
    swing = total(part("soc_swing", per_enclosure=True)).where(used)
    n_used = used.sum(schema.ENCLOSURE)
    siblings = (swing.sum(schema.ENCLOSURE) - swing) / (n_used - 1)
    swing_ratio = swing / siblings.where((n_used > 1) & (siblings > 0))

    result = xr.Dataset(
        {
            "usable_capacity": usable,
            "round_trip_efficiency": round_trip,
            "round_trip_flag": flag,
            "equivalent_full_cycles": cycles,
            "soc_spread": spread,
            "segments": total(part("segments")),
            "soc_offset": offset,
            "soc_swing_ratio": swing_ratio,
        }
    )
    if has_plant:
        dc_with_data = discharged.notnull()
        day_ok = (part("plant_complete").isel({schema.INVERTER: 0, schema.DC_INPUT: 0}) == 1) & (
            complete | ~dc_with_data
        ).all((schema.INVERTER, schema.DC_INPUT))
        plant_discharged = part("plant_discharged").isel({schema.INVERTER: 0, schema.DC_INPUT: 0})
        plant_charged = part("plant_charged").isel({schema.INVERTER: 0, schema.DC_INPUT: 0})
        dc_discharged = part("active_discharged").sum((schema.INVERTER, schema.DC_INPUT))
        dc_charged = part("active_charged").sum((schema.INVERTER, schema.DC_INPUT))
        conversion = xr.concat(
            [
                total(plant_discharged.where(day_ok))
                / _positive(total(dc_discharged.where(day_ok))),
                total(dc_charged.where(day_ok)) / _positive(total(plant_charged.where(day_ok))),
            ],
            dim=DIRECTION,
        )
        result["conversion_efficiency"] = conversion.drop_vars(
            [name for name in conversion.coords if name != DIRECTION], errors="ignore"
        )
    return result.transpose(WINDOW, ...)
