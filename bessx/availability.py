r"""Availability per DC input, inverter and plant, per local day and calendar month.

Three layers, as everywhere in bessx:

* numpy kernels (:mod:`bessx.kernels.availability`): the state of every sample of every DC
  input (dispatched, unavailable, data outage, planned, observed) and the power lost and
  delivered, summed per local day against the samples' holds;
* :func:`availability` runs them on blocks of whole local days of a Dataset (with the
  ``dead`` flag of :mod:`bessx.quality`) and gives the per-day times and energies per DC
  input with the ratios; :func:`bessx.onepass.from_exports` gives the same from the exports,
  reading each file once, bit for bit. :func:`aggregate` sums them over the DC inputs of an
  inverter or of the plant and over calendar months, :func:`to_frame` makes
  ``availability.csv``;
* the ``Dataset.bess`` accessor forwards to :func:`availability`.

The method, its boundary and what it cannot see are in ``docs/methodology.md``
(section "Availability").
"""

from __future__ import annotations

import datetime as _datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.kernels.availability import QUANTITIES, PlannedOutage, day_sums, planned_mask
from bessx.kernels.flags import FLAGS, fleet_moves, power_sample_flags
from bessx.kernels.plausibility import Limits, masked
from bessx.quality import QualitySettings

__all__ = [
    "AVAILABILITY_ATTRS",
    "PERIODS",
    "SCOPES",
    "PlannedOutage",
    "PlannedOutageError",
    "aggregate",
    "availability",
    "availability_dataset",
    "check_inverters",
    "planned_outages",
    "to_frame",
]

_SECONDS_PER_HOUR: Final = 3600.0
#: The scopes :func:`aggregate` sums over.
SCOPES: Final = ("dc_input", "inverter", "plant")
#: The periods :func:`aggregate` sums over: local days or calendar months.
PERIODS: Final = ("day", "month")
#: Output variable of each quantity of :data:`~bessx.kernels.availability.QUANTITIES`.
_VARIABLES: Final = {
    "dispatched": "dispatched_time",
    "unavailable": "unavailable_time",
    "data_outage": "data_outage_time",
    "planned": "planned_time",
    "observed": "observed_time",
    "lost": "lost_energy",
    "delivered": "delivered_energy",
}
_TIMES: Final = tuple(_VARIABLES[name] for name in QUANTITIES[:5])
_ENERGIES: Final = tuple(_VARIABLES[name] for name in QUANTITIES[5:])

#: CF attributes of the outputs of :func:`availability`.
AVAILABILITY_ATTRS: Final = {
    "dispatched_time": {
        "units": "h",
        "long_name": "time the fleet moves (|median DC input power| > moving_kw), outside "
        "planned outages",
        "cell_methods": "time: sum",
    },
    "unavailable_time": {
        "units": "h",
        "long_name": "dispatched time with the DC input dead (quality flag 'dead')",
        "cell_methods": "time: sum",
    },
    "data_outage_time": {
        "units": "h",
        "long_name": "dispatched time with the DC input's sample missing or implausible "
        "(unknown, not unavailable)",
        "cell_methods": "time: sum",
    },
    "planned_time": {
        "units": "h",
        "long_name": "time in a planned outage of the DC input's inverter",
        "cell_methods": "time: sum",
    },
    "observed_time": {
        "units": "h",
        "long_name": "time with a plausible sample of at least one DC input of the plant",
        "cell_methods": "time: sum",
    },
    "lost_energy": {
        "units": "kWh",
        "long_name": "energy the DC input would have moved while unavailable: its "
        "enclosures times the fleet's median power per enclosure",
        "cell_methods": "time: sum",
    },
    "delivered_energy": {
        "units": "kWh",
        "long_name": "energy through the DC input (|P|, both directions) while dispatched",
        "cell_methods": "time: sum",
    },
    "availability": {
        "units": "1",
        "long_name": "time-based availability: 1 - unavailable / (dispatched - data outage)",
        "cell_methods": "time: sum (ratio of sums)",
    },
    "energy_availability": {
        "units": "1",
        "long_name": "energy-based availability: 1 - lost / (lost + delivered)",
        "cell_methods": "time: sum (ratio of sums)",
    },
}


# ---------------------------------------------------------------------------------------
# planned outages
# ---------------------------------------------------------------------------------------
class PlannedOutageError(ValueError):
    """A planned outage that is not of the expected shape, or names an unknown inverter."""


def check_inverters(outages: Sequence[PlannedOutage], inverters: Iterable[Any]) -> None:
    """Raise :class:`PlannedOutageError` for an outage naming an inverter not in
    ``inverters`` (counted from 1, as in :func:`planned_outages`)."""
    known = {str(name) for name in inverters}
    for number, outage in enumerate(outages, start=1):
        unknown = [name for name in outage.inverters or () if name not in known]
        if unknown:
            raise PlannedOutageError(
                f"planned outage {number} names unknown inverter(s) {', '.join(unknown)}"
            )


def _instant(value: Any, timezone: str, what: str) -> int:
    """An instant [ns, UTC] from a datetime or ISO string; naive ones are plant-local."""
    if isinstance(value, _datetime.date) and not isinstance(value, _datetime.datetime):
        value = _datetime.datetime.combine(value, _datetime.time())
    if not isinstance(value, str | _datetime.datetime):
        raise PlannedOutageError(f"{what} must be a date-time, not {value!r}")
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise PlannedOutageError(f"{what} must be a date-time, not {value!r}") from None
    if pd.isna(stamp):
        raise PlannedOutageError(f"{what} must be a date-time, not {value!r}")
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def planned_outages(
    entries: Iterable[Any], timezone: str, inverters: Sequence[str] | None = None
) -> tuple[PlannedOutage, ...]:
    """Planned outages from ``(start, end, inverters or "all")`` entries, checked.

    Parameters
    ----------
    entries
        Each a sequence ``(start, end, inverters)`` or a mapping with those keys: ``start``
        and ``end`` date-times (ISO strings or :class:`datetime.datetime`; without an
        offset they are the plant's local time), ``inverters`` a list of inverter names or
        ``"all"``. :class:`PlannedOutage` entries are taken as they are.
    timezone
        The plant's IANA timezone, for local date-times.
    inverters
        The plant's inverters: an outage naming another is refused. None: not checked.

    Returns
    -------
    tuple of PlannedOutage

    Raises
    ------
    PlannedOutageError
        An entry that is not of this shape, ends before it starts, or names an unknown
        inverter; the message says which entry (counted from 1).

    Examples
    --------
    >>> outage, = planned_outages([("2024-03-01T08:00", "2024-03-01T12:00", ["1APCS1"])],
    ...                           "Australia/Sydney")
    >>> pd.Timestamp(outage.start_ns), outage.inverters
    (Timestamp('2024-02-29 21:00:00'), ('1APCS1',))
    >>> planned_outages([("2024-03-02", "2024-03-01", "all")], "UTC")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bessx.availability.PlannedOutageError: planned outage 1 ends before it starts ...
    """
    outages = []
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, PlannedOutage):
            outages.append(entry)
            continue
        if isinstance(entry, Mapping):
            entry = (entry.get("start"), entry.get("end"), entry.get("inverters", "all"))
        if not isinstance(entry, Sequence) or isinstance(entry, str) or len(entry) != 3:
            raise PlannedOutageError(
                f'planned outage {number} must be [start, end, inverters or "all"], not {entry!r}'
            )
        start, end, names = entry
        start_ns = _instant(start, timezone, f"planned outage {number}'s start")
        end_ns = _instant(end, timezone, f"planned outage {number}'s end")
        if end_ns <= start_ns:
            raise PlannedOutageError(
                f"planned outage {number} ends before it starts ({end} < {start})"
                if end_ns < start_ns
                else f"planned outage {number} lasts no time ({start} to {end})"
            )
        if names == "all":
            chosen = None
        elif (
            isinstance(names, Sequence)
            and not isinstance(names, str)
            and names
            and all(isinstance(name, str) for name in names)
        ):
            chosen = tuple(dict.fromkeys(names))
        else:
            raise PlannedOutageError(
                f"planned outage {number}'s inverters must be a list of inverter names "
                f'or "all", not {names!r}'
            )
        outages.append(PlannedOutage(start_ns, end_ns, chosen))
    if inverters is not None:
        check_inverters(outages, inverters)
    return tuple(outages)


# ---------------------------------------------------------------------------------------
# samples -> per-day sums
# ---------------------------------------------------------------------------------------
def _availability_block(
    power: np.ndarray,
    day_index: np.ndarray,
    day_seconds: np.ndarray,
    used: np.ndarray,
    hold_seconds: np.ndarray,
    time_ns: np.ndarray,
    *,
    interval_seconds: float,
    settings: QualitySettings,
    limits: Limits,
    outages: tuple[PlannedOutage, ...],
    inverters: np.ndarray,
) -> np.ndarray:
    """Per-day sums of a block of whole days ``(7, day, inverter, dc_input, slot)``."""
    n, n_inv, n_dc = power.shape
    flat = power.reshape(n, n_inv * n_dc)
    flags = power_sample_flags(flat, day_index, interval_seconds, settings, limits)
    plausible = masked(flat, "dc_power", limits)
    inverter_of = np.repeat(np.asarray(inverters), n_dc)
    sums = day_sums(
        plausible,
        (flags & FLAGS["dead"].mask) != 0,
        fleet_moves(plausible, settings.moving_kw),
        planned_mask(np.asarray(time_ns, dtype=np.int64), inverter_of, outages),
        np.asarray(used).sum(axis=-1).ravel(),
        hold_seconds,
        day_index,
        len(day_seconds),
    )
    shape = (len(QUANTITIES), len(day_seconds), n_inv, n_dc, used.shape[-1])
    return np.broadcast_to(sums.reshape(*shape[:-1], 1), shape).copy()


def availability(
    ds: xr.Dataset,
    *,
    planned: Iterable[Any] = (),
    settings: QualitySettings | None = None,
    dc_power_limit_kw: float | None = None,
    max_gap: float = 3.0,
) -> xr.Dataset:
    r"""Availability per DC input and local day: dispatched, unavailable and outage hours.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports`: ``dc_power`` (time, inverter,
        dc_input) [kW], the ``enclosure_id`` (or ``n_enclosures``) coordinate, attrs
        ``timezone`` and ``interval_seconds``. numpy- or dask-backed.
    planned : iterable
        Planned outages, ``(start, end, inverters or "all")`` each (see
        :func:`planned_outages`; local date-times are the plant's).
    settings : QualitySettings, optional
        The thresholds of the quality flags: ``moving_kw`` (when the fleet moves) and
        ``dead_kw``, ``dead_minutes`` (the ``dead`` flag).
    dc_power_limit_kw : float, optional
        Largest plausible ``|dc_power|`` [kW], as for :func:`bessx.daily_energy`.
    max_gap : float
        Longest step [nominal intervals] a sample holds across, as for
        :func:`bessx.daily_energy`.

    Returns
    -------
    xarray.Dataset
        Dims (time, inverter, dc_input), ``time`` the local dates: ``dispatched_time``,
        ``unavailable_time``, ``data_outage_time``, ``planned_time``, ``observed_time``
        [h], ``lost_energy``, ``delivered_energy`` [kWh], ``availability`` and
        ``energy_availability`` [1], with CF attributes (:data:`AVAILABILITY_ATTRS`). A DC
        input without enclosures is NaN throughout. Lazy when ``ds`` is dask-backed.

    Notes
    -----
    Sample :math:`i` holds :math:`\Delta t_i` (as in :func:`bessx.daily_energy`). The fleet
    moves at :math:`i` when :math:`|\operatorname{median}_j P_{ij}| >` ``moving_kw`` over
    the DC inputs with a plausible sample. Outside planned outages that time is
    *dispatched* for every DC input :math:`j`; of it, the samples where :math:`j` carries
    the ``dead`` flag (:math:`|P_{ij}| \le` ``dead_kw`` for ``dead_minutes``) are
    *unavailable*, those where its sample is missing or implausible are a *data outage*
    (not known to be unavailable). Per DC input, inverter or plant and period,

    .. math::

        A = 1 - \frac{\sum U}{\sum D - \sum O}, \qquad
        A_E = 1 - \frac{\sum L}{\sum L + \sum E},

    with :math:`L_j = \sum_{i \in U_j} n_j |\tilde p_i| \Delta t_i`, :math:`\tilde p_i` the
    median power per enclosure of the DC inputs alive at :math:`i`, :math:`n_j` the
    enclosures of :math:`j`, and :math:`E_j = \sum_{i \in D_j, P_{ij}\,\mathrm{known}}
    |P_{ij}| \Delta t_i`. NaN where nothing was dispatched with data: an idle or unseen
    day is unknown, never available.

    Examples
    --------
    Four DC inputs of two enclosures discharge 400 kW for 6 h of 30-minute samples; the
    last is dead for the first 2 h and has no data for the next hour:

    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2024-05-01 10:00", periods=12, freq="30min", tz="UTC")
    >>> power = np.full((12, 2, 2), 400.0)
    >>> power[:4, 1, 1] = 0.0
    >>> power[4:6, 1, 1] = np.nan
    >>> result = availability(make_dataset(time, power, interval_seconds=1800.0,
    ...                                    timezone="UTC"))
    >>> one = result.isel(time=0).sel(inverter=result.inverter[1], dc_input=2)
    >>> [float(one[name]) for name in ("dispatched_time", "unavailable_time",
    ...                                "data_outage_time")]
    [6.0, 2.0, 1.0]
    >>> float(one["availability"]), float(one["lost_energy"]), float(one["energy_availability"])
    (0.6, 800.0, 0.6)
    """
    from bessx.dayblocks import day_plan, map_day_blocks

    settings = settings or QualitySettings()
    limits = Limits() if dc_power_limit_kw is None else Limits(dc_power_limit_kw)
    if "dc_power" not in ds.data_vars:
        raise ValueError("availability needs a 'dc_power' variable")
    inverters = np.asarray(ds[schema.INVERTER].values).astype(str)
    outages = planned_outages(planned, ds.attrs.get("timezone", "UTC"), list(inverters))
    plan = day_plan(ds, max_gap)
    time_ns = pd.DatetimeIndex(ds.indexes[schema.TIME]).as_unit("ns").asi8
    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    sums = map_day_blocks(
        _availability_block,
        power,
        None,
        plan,
        (plan.hold_seconds, time_ns),
        n_quantities=len(QUANTITIES),
        name="bessx-availability",
        whole_plant=True,
        token=(settings, limits, outages, tuple(inverters), plan.interval),
        interval_seconds=plan.interval,
        settings=settings,
        limits=limits,
        outages=outages,
        inverters=inverters,
    )
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    attrs = {**ds.attrs, "interval_seconds": plan.interval}
    return availability_dataset(
        sums[..., 0], plan.dates, coords, attrs, settings, limits, outages, max_gap=max_gap
    )


def _ratios(result: xr.Dataset) -> xr.Dataset:
    """``availability`` and ``energy_availability`` from the summed times and energies."""
    known = result["dispatched_time"] - result["data_outage_time"]
    with np.errstate(invalid="ignore", divide="ignore"):
        time_based = 1.0 - result["unavailable_time"] / known.where(known > 0)
        moved = result["lost_energy"] + result["delivered_energy"]
        energy_based = 1.0 - result["lost_energy"] / moved.where(moved > 0)
    result = result.assign(availability=time_based, energy_availability=energy_based)
    for name in ("availability", "energy_availability"):
        result[name].attrs = dict(AVAILABILITY_ATTRS[name])
    return result


def availability_dataset(
    sums: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    settings: QualitySettings,
    limits: Limits,
    outages: Sequence[PlannedOutage],
    *,
    max_gap: float,
) -> xr.Dataset:
    """The Dataset :func:`availability` returns, from its ``(7, day, inverter, dc_input)``
    kernel output (numpy or dask; the one pass gives the same sums)."""
    dims = (schema.DAY, schema.INVERTER, schema.DC_INPUT)
    coords = dict(coords)
    coords[schema.DAY] = xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS))
    data_vars = {}
    for position, quantity in enumerate(QUANTITIES):
        name = _VARIABLES[quantity]
        values = xr.Variable(dims, sums[position])
        data_vars[name] = values / _SECONDS_PER_HOUR if name in _TIMES else values
    result = xr.Dataset(data_vars, coords=coords)
    if "enclosure_id" in result.coords:
        exists = (result.coords["enclosure_id"] != "").any(schema.ENCLOSURE)
    elif "n_enclosures" in result.coords:
        exists = result.coords["n_enclosures"] > 0
    else:
        raise ValueError("availability needs an 'enclosure_id' or 'n_enclosures' coordinate")
    for name in data_vars:
        result[name] = result[name].where(exists)
        result[name].attrs = dict(AVAILABILITY_ATTRS[name])
    result = _ratios(result)
    result.attrs = {
        "timezone": attrs["timezone"],
        "interval_seconds": float(attrs["interval_seconds"]),
        "max_gap": float(max_gap),
        "dc_power_limit_kw": limits.dc_power_limit_kw,
        "quality_moving_kw": settings.moving_kw,
        "quality_dead_kw": settings.dead_kw,
        "quality_dead_minutes": settings.dead_minutes,
        "planned_outages": len(outages),
        "Conventions": schema.CF_CONVENTIONS,
    }
    return result


# ---------------------------------------------------------------------------------------
# aggregation and the table
# ---------------------------------------------------------------------------------------
def aggregate(per_day: xr.Dataset, *, scope: str = "plant", period: str = "month") -> xr.Dataset:
    """Times and energies summed over a scope and a period, with their ratios.

    Parameters
    ----------
    per_day : xarray.Dataset
        The result of :func:`availability`.
    scope : {"dc_input", "inverter", "plant"}
        Sum over nothing, over each inverter's DC inputs, or over every DC input.
    period : {"day", "month"}
        Local days as they are, or calendar months (local time; labelled by their first
        day).

    Returns
    -------
    xarray.Dataset
        The variables of :func:`availability`, the ratios recomputed from the sums (a
        ratio of sums, never a mean of ratios); dims ``time`` and, for the smaller scopes,
        ``inverter`` (and ``dc_input``). ``days`` counts the local days of each period and
        ``days_observed`` those with data (``observed_time > 0``).

    Examples
    --------
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2024-05-31", periods=96, freq="30min", tz="UTC")
    >>> power = np.full((96, 1, 2), 300.0)
    >>> power[:48, 0, 1] = 0.0  # dead all of 31 May
    >>> per_day = availability(make_dataset(time, power, interval_seconds=1800.0,
    ...                                     timezone="UTC"))
    >>> monthly = aggregate(per_day, scope="plant", period="month")
    >>> monthly["availability"].values, monthly["days"].values
    (array([0.5, 1. ]), array([1, 1]))
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; choose one of {', '.join(map(repr, SCOPES))}")
    if period not in PERIODS:
        raise ValueError(
            f"unknown period {period!r}; choose one of {', '.join(map(repr, PERIODS))}"
        )
    names = [*_TIMES, *_ENERGIES]
    values = per_day[names]
    observed_day = per_day["observed_time"].max((schema.INVERTER, schema.DC_INPUT)).fillna(0.0) > 0
    dims = {
        "dc_input": (),
        "inverter": (schema.DC_INPUT,),
        "plant": (schema.INVERTER, schema.DC_INPUT),
    }
    if dims[scope]:
        values = values.sum(dims[scope], min_count=1)
    days = xr.ones_like(observed_day, dtype=np.int64)
    observed = observed_day.astype(np.int64)
    if period == "month":
        months = pd.DatetimeIndex(per_day[schema.DAY].values).to_period("M").to_timestamp()
        label = xr.DataArray(months.values, dims=schema.DAY, name=schema.DAY)
        values = values.groupby(label).sum(min_count=1)
        days = days.groupby(label).sum()
        observed = observed.groupby(label).sum()
    result = values.assign(days=days, days_observed=observed)
    for name in names:
        result[name].attrs = dict(AVAILABILITY_ATTRS[name])
    result["days"].attrs = {"units": "d", "long_name": "local days in the period"}
    result["days_observed"].attrs = {
        "units": "d",
        "long_name": "local days of the period with a plausible sample",
    }
    result = _ratios(result)
    result.attrs = {**per_day.attrs, "scope": scope, "period": period}
    return result


_TABLE_COLUMNS: Final = {
    "dispatched_time": "dispatched_h",
    "unavailable_time": "unavailable_h",
    "data_outage_time": "data_outage_h",
    "planned_time": "planned_h",
}


def to_frame(per_day: xr.Dataset) -> pd.DataFrame:
    """``availability.csv``: one row per local day and DC input, inverter and the plant,
    then one per month and inverter and for the plant.

    Parameters
    ----------
    per_day : xarray.Dataset
        The result of :func:`availability` (loaded here).

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (``YYYY-MM-DD``, or ``YYYY-MM`` for a month), ``inverter``
        (empty for the plant), ``dc_input`` (empty for an inverter or the plant),
        ``dispatched_h``, ``unavailable_h``, ``data_outage_h``, ``planned_h`` (hours,
        rounded to 0.001 h), ``availability`` and ``energy_availability`` ([1], to 6
        decimals, empty where unknown). DC inputs without enclosures are left out.
    """
    per_day = per_day.load()
    frames = []
    for period, date_format in (("day", "%Y-%m-%d"), ("month", "%Y-%m")):
        scopes = SCOPES if period == "day" else SCOPES[1:]
        for scope in scopes:
            summed = aggregate(per_day, scope=scope, period=period)
            names = [*_TABLE_COLUMNS, "availability", "energy_availability"]
            frame = summed[names].to_dataframe().reset_index()
            if scope == "dc_input":
                frame = frame[frame["dispatched_time"].notna()]
                frame["dc_input"] = frame["dc_input"].astype(int).astype(str)
            else:
                frame["dc_input"] = ""
            if scope == "plant":
                frame["inverter"] = ""
            frame["date"] = pd.DatetimeIndex(frame[schema.DAY]).strftime(date_format)
            frame["order"] = SCOPES.index(scope)
            frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    columns = ["date", "inverter", "dc_input", *_TABLE_COLUMNS.values()]
    table = table.rename(columns=_TABLE_COLUMNS)
    for column in _TABLE_COLUMNS.values():
        table[column] = table[column].round(3)
    for column in ("availability", "energy_availability"):
        table[column] = table[column].round(6)
    inverter_order = {name: i for i, name in enumerate(per_day[schema.INVERTER].values)}
    table["inverter_order"] = table["inverter"].map(inverter_order).fillna(-1)
    table["month"] = table["date"].str.len() == 7
    table = table.sort_values(
        ["month", "date", "order", "inverter_order", "dc_input"], kind="stable"
    )
    return table[[*columns, "availability", "energy_availability"]].reset_index(drop=True)
