r"""Guarantees of a warranty or LTSA: each measured KPI against the contract, with a verdict.

:func:`guarantee_table` checks the ``[guarantees]`` of a site file
(:class:`bessx.config.GuaranteeTable`) against what a run measured, one row per period,
metric and scope (``guarantees.csv``):

================================ =================== ==========================================
metric                           period, scope       measured [low, high]
================================ =================== ==========================================
``availability``                 month, plant        time-based availability
                                                     (:func:`bessx.availability`), between all
                                                     of the data outage unavailable and none
``round_trip_efficiency``        window, DC input    DC round trip of :func:`bessx.health`;
                                 and plant           the plant's is the mean of its DC inputs'
                                                     weighted by their charged energy
``capacity_retention``           window, DC input    usable capacity over the first window's,
                                                     within the bootstrap interval of
                                                     :func:`usable_capacity_interval`
``cycles_per_year``              warranty year,      equivalent full cycles per year (the
                                 DC input and plant  year's windows, scaled to 365.25 days)
================================ =================== ==========================================

The verdict is ``pass`` when the whole interval meets the guarantee, ``fail`` when none of
it does and ``unknown`` otherwise: the interval straddles the guarantee, nothing was
measured, a month has a day without data, or a round trip above 1 (not physical). A metric
without an interval (round trip, cycles) has ``low`` and ``high`` equal to the measurement.
The numpy kernels are in :mod:`bessx.kernels.guarantees`. Every KPI is measured at the DC
inputs, not at the plant's point of connection (see ``docs/methodology.md``).
"""

from __future__ import annotations

import datetime as _datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.kernels.guarantees import BOOTSTRAP_RESAMPLES, CONFIDENCE, ratio_interval, verdicts

if TYPE_CHECKING:
    from bessx.config import GuaranteeTable

__all__ = ["COLUMNS", "METRICS", "guarantee_table", "usable_capacity_interval"]

#: The metrics a contract may guarantee, in the order of the table.
METRICS: Final = ("availability", "round_trip_efficiency", "capacity_retention", "cycles_per_year")
#: The columns of ``guarantees.csv``.
COLUMNS: Final = ("period", "metric", "scope", "guaranteed", "measured", "low", "high", "verdict")
_DAYS_PER_YEAR: Final = 365.25


def usable_capacity_interval(
    partials: xr.DataArray,
    *,
    window: str | pd.Timedelta = "30D",
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> xr.Dataset:
    r"""A bootstrap interval of the usable capacity per window and DC input.

    Parameters
    ----------
    partials : xarray.DataArray
        The battery health's per-day partials (:func:`bessx.health.daily_health` or the one
        pass's); loaded here.
    window : str or pandas.Timedelta
        The windows of :func:`bessx.health.health_from_daily` (whole days from the first date).
    resamples, confidence, seed
        As for :func:`bessx.kernels.guarantees.ratio_interval`.

    Returns
    -------
    xarray.Dataset
        ``usable_capacity_low`` and ``usable_capacity_high`` (window, inverter, dc_input)
        [kWh]: the bounds of the ``confidence`` interval of
        :math:`U_w = 100 \sum_k E_k / \sum_k \delta_k` when the window's days (each with its
        qualifying discharge segments) are drawn with replacement; NaN with fewer than two
        days with a segment. The same data and seed give the same bounds.
    """
    from bessx.health import window_length_days

    window_days = window_length_days(window)
    values = partials.isel({schema.ENCLOSURE: 0}, drop=True).load()
    energy = values.sel(quantity="segment_energy", drop=True).values
    drop = values.sel(quantity="segment_drop", drop=True).values
    n_days = energy.shape[0]
    n_windows = -(-n_days // window_days)
    low = np.full((n_windows, *energy.shape[1:]), np.nan)
    high = low.copy()
    for number in range(n_windows):
        days = slice(number * window_days, (number + 1) * window_days)
        bounds = ratio_interval(
            energy[days],
            drop[days],
            scale=100.0,
            resamples=resamples,
            confidence=confidence,
            seed=seed + number,
        )
        low[number], high[number] = bounds[..., 0], bounds[..., 1]
    dims = (schema.WINDOW, schema.INVERTER, schema.DC_INPUT)
    coords = {
        schema.WINDOW: partials[schema.DAY].values[::window_days],
        schema.INVERTER: partials[schema.INVERTER].values,
        schema.DC_INPUT: partials[schema.DC_INPUT].values,
    }
    text = f"{100 * confidence:g} % bootstrap interval (days resampled, {resamples} resamples)"
    return xr.Dataset(
        {
            "usable_capacity_low": (dims, low, _bound_attrs("lower", text)),
            "usable_capacity_high": (dims, high, _bound_attrs("upper", text)),
        },
        coords=coords,
    )


def _bound_attrs(which: str, text: str) -> dict[str, str]:
    return {
        "units": "kWh",
        "long_name": f"{which} bound of the {text} of usable_capacity",
        "cell_methods": "window: sum (ratio of sums over discharge segments)",
    }


def _checked(guarantees: GuaranteeTable | Mapping[str, Any]) -> GuaranteeTable:
    from bessx.config import GuaranteeTable

    if isinstance(guarantees, GuaranteeTable):
        return guarantees
    return GuaranteeTable(**dict(guarantees))


def _rows(
    period: Any, metric: str, scope: Any, guaranteed: Any, measured: Any, low: Any, high: Any
) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "period": np.asarray(period, dtype=object),
            "metric": metric,
            "scope": np.asarray(scope, dtype=object),
            "guaranteed": np.asarray(guaranteed, dtype=np.float64),
            "measured": np.asarray(measured, dtype=np.float64),
            "low": np.asarray(low, dtype=np.float64),
            "high": np.asarray(high, dtype=np.float64),
        }
    )
    return frame


def _dc_scopes(data: xr.DataArray) -> np.ndarray:
    inverters = data[schema.INVERTER].values.astype(str)
    dc_inputs = data[schema.DC_INPUT].values
    return np.array([f"{inverter} DC{int(dc)}" for inverter in inverters for dc in dc_inputs])


def _availability_rows(per_day: xr.Dataset, guaranteed: float) -> pd.DataFrame:
    from bessx.availability import aggregate

    monthly = aggregate(per_day, scope="plant", period="month")
    dispatched = monthly["dispatched_time"].values
    unavailable = monthly["unavailable_time"].values
    outage = monthly["data_outage_time"].values
    with np.errstate(invalid="ignore", divide="ignore"):
        known = dispatched > 0
        low = np.where(known, 1.0 - (unavailable + outage) / np.where(known, dispatched, 1), np.nan)
        high = np.where(known, 1.0 - unavailable / np.where(known, dispatched, 1), np.nan)
    measured = monthly["availability"].values
    complete = monthly["days_observed"].values == monthly["days"].values
    rows = _rows(
        pd.DatetimeIndex(monthly[schema.DAY].values).strftime("%Y-%m"),
        "availability",
        "plant",
        guaranteed,
        measured,
        np.where(complete, low, np.nan),
        np.where(complete, high, np.nan),
    )
    # a month with a day without data: unknown, whatever the days with data say
    rows["low_shown"], rows["high_shown"] = low, high
    return rows


def _window_periods(health: xr.Dataset) -> np.ndarray:
    return np.asarray(pd.DatetimeIndex(health[schema.WINDOW].values).strftime("%Y-%m-%d"))


def _exists(health: xr.Dataset) -> np.ndarray:
    if "n_enclosures" in health.coords:
        return np.asarray(health["n_enclosures"].values).ravel() > 0
    return np.ones(health.sizes[schema.INVERTER] * health.sizes[schema.DC_INPUT], dtype=bool)


def _per_dc_input(
    health: xr.Dataset, metric: str, guaranteed: Any, measured: np.ndarray, low: Any, high: Any
) -> pd.DataFrame:
    """Rows (window, DC input) of ``measured`` ``(window, inverter, dc_input)``."""
    n_windows = measured.shape[0]
    exists = _exists(health)
    scopes = _dc_scopes(health["usable_capacity"])
    flat = measured.reshape(n_windows, -1)[:, exists]

    def spread(values: Any) -> np.ndarray:
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), measured.shape)
        return values.reshape(n_windows, -1)[:, exists].ravel()

    periods = np.repeat(_window_periods(health), int(exists.sum()))
    return _rows(
        periods,
        metric,
        np.tile(scopes[exists], n_windows),
        spread(guaranteed),
        flat.ravel(),
        spread(low),
        spread(high),
    )


def _round_trip_rows(
    health: xr.Dataset, guaranteed: float, daily: xr.Dataset | None
) -> pd.DataFrame:
    efficiency = np.asarray(health["round_trip_efficiency"].values, dtype=np.float64)
    physical = np.where(efficiency > 1.0, np.nan, efficiency)  # above 1: not physical
    frames = [
        _per_dc_input(health, "round_trip_efficiency", guaranteed, efficiency, physical, physical)
    ]
    if daily is not None:
        window_days = int(health.attrs.get("window_days", 30))
        charged = daily["charged"].sum(schema.ENCLOSURE, min_count=1).values
        n_windows = efficiency.shape[0]
        weights = np.zeros_like(efficiency)
        for number in range(n_windows):
            days = slice(number * window_days, (number + 1) * window_days)
            weights[number] = np.nansum(charged[days], axis=0)
        usable = np.isfinite(physical) & (weights > 0)
        total = np.where(usable, weights, 0.0).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            plant = np.where(usable, physical * weights, 0.0).sum(axis=(1, 2)) / total
        plant = np.where(total > 0, plant, np.nan)
        frames.append(
            _rows(
                _window_periods(health),
                "round_trip_efficiency",
                "plant",
                guaranteed,
                plant,
                plant,
                plant,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _window_years(health: xr.Dataset, reference: _datetime.date) -> np.ndarray:
    """Years from ``reference`` to the middle of each window."""
    starts = pd.DatetimeIndex(health[schema.WINDOW].values)
    days = np.asarray(health["window_days"].values, dtype=np.float64)
    middle = (starts - pd.Timestamp(reference)) / pd.Timedelta(days=1) + days / 2.0
    return np.asarray(middle, dtype=np.float64) / _DAYS_PER_YEAR


def _retention_rows(
    health: xr.Dataset,
    curve: tuple[tuple[float, float], ...],
    reference: _datetime.date,
    interval: xr.Dataset | None,
) -> pd.DataFrame:
    usable = np.asarray(health["usable_capacity"].values, dtype=np.float64)
    finite = np.isfinite(usable)
    first = np.argmax(finite, axis=0)
    baseline = np.take_along_axis(usable, first[np.newaxis], axis=0)
    if interval is None:
        low = high = np.full_like(usable, np.nan)
    else:
        low = np.asarray(interval["usable_capacity_low"].values, dtype=np.float64)
        high = np.asarray(interval["usable_capacity_high"].values, dtype=np.float64)
    years = _window_years(health, reference)
    points = np.array(curve)
    guaranteed = np.interp(years, points[:, 0], points[:, 1])
    guaranteed = np.where(years > points[-1, 0], np.nan, guaranteed)  # beyond the curve
    with np.errstate(invalid="ignore", divide="ignore"):
        measured, low, high = usable / baseline, low / baseline, high / baseline
    return _per_dc_input(
        health, "capacity_retention", guaranteed[:, np.newaxis, np.newaxis], measured, low, high
    )


def _cycle_rows(health: xr.Dataset, budget: float, reference: _datetime.date) -> pd.DataFrame:
    cycles = np.asarray(health["equivalent_full_cycles"].values, dtype=np.float64)
    usable = np.asarray(health["usable_capacity"].values, dtype=np.float64)
    days = np.asarray(health["window_days"].values, dtype=np.float64)
    starts = pd.DatetimeIndex(health[schema.WINDOW].values)
    reference_day = pd.Timestamp(reference)
    year = np.floor(((starts - reference_day) / pd.Timedelta(days=1)) / _DAYS_PER_YEAR)
    exists = _exists(health)
    scopes = _dc_scopes(health["usable_capacity"])[exists]
    frames = []
    for number in np.unique(year):
        rows = year == number
        first = reference_day + pd.Timedelta(days=number * _DAYS_PER_YEAR)
        period = f"{first:%Y-%m-%d}/{first + pd.Timedelta(days=_DAYS_PER_YEAR):%Y-%m-%d}"
        span = days[rows].sum()
        per_input = cycles[rows].reshape(int(rows.sum()), -1)[:, exists]
        capacity = usable[rows].reshape(int(rows.sum()), -1)[:, exists]
        seen = np.isfinite(per_input).any(axis=0)
        measured = np.where(seen, np.nansum(per_input, axis=0), np.nan) * _DAYS_PER_YEAR / span
        both = np.isfinite(per_input) & np.isfinite(capacity)
        energy = np.where(both, per_input * capacity, 0.0).sum(axis=1)
        total = np.where(both, capacity, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            plant_windows = np.where(total > 0, energy / total, np.nan)
        plant = (
            np.nansum(plant_windows) * _DAYS_PER_YEAR / span
            if np.isfinite(plant_windows).any()
            else np.nan
        )
        frames.append(
            _rows(
                [period] * (len(scopes) + 1),
                "cycles_per_year",
                [*scopes, "plant"],
                budget,
                [*measured, plant],
                [*measured, plant],
                [*measured, plant],
            )
        )
    return pd.concat(frames, ignore_index=True)


def guarantee_table(
    guarantees: GuaranteeTable | Mapping[str, Any],
    *,
    availability: xr.Dataset | None = None,
    health: xr.Dataset | None = None,
    daily: xr.Dataset | None = None,
    capacity_interval: xr.Dataset | None = None,
) -> pd.DataFrame:
    """``guarantees.csv``: every guaranteed metric against its measurement, with a verdict.

    Parameters
    ----------
    guarantees
        The ``[guarantees]`` table (:class:`bessx.config.GuaranteeTable`, or a mapping of
        its keys, checked as in a site file).
    availability
        :func:`bessx.availability` of the history, for an ``availability`` guarantee.
    health
        :func:`bessx.health` of the history, for the round trip, the capacity retention
        and the cycles.
    daily
        :func:`bessx.daily_energy`, to weight the plant's round trip by charged energy.
    capacity_interval
        :func:`usable_capacity_interval` of the health's windows, for the retention's
        interval (without it the retention's verdict is unknown).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: ``period`` (``YYYY-MM`` for a month, the window's start
        date, or a warranty year ``start/end``), ``metric``, ``scope`` (``plant``, or a DC
        input such as ``1APCS1 DC1``), ``guaranteed``, ``measured``, ``low``, ``high`` and
        ``verdict`` (``pass``, ``fail`` or ``unknown``). A metric guaranteed without the
        result it needs has no row.

    Raises
    ------
    bessx.ConfigError
        A guarantee that is not valid (as for a site file).

    Examples
    --------
    >>> from bessx.testing import make_dataset
    >>> from bessx.availability import availability
    >>> time = pd.date_range("2024-05-01", periods=24 * 31, freq="1h", tz="UTC")
    >>> power = np.full((len(time), 5, 2), 500.0)
    >>> power[:24, 0, 0] = 0.0  # one DC input of ten dead for a day
    >>> per_day = availability(make_dataset(time, power, interval_seconds=3600.0,
    ...                                     timezone="UTC"))
    >>> table = guarantee_table({"availability": 0.99}, availability=per_day)
    >>> table[["period", "measured", "verdict"]].round(5).to_dict("records")
    [{'period': '2024-05', 'measured': 0.99677, 'verdict': 'pass'}]
    >>> guarantee_table({"availability": 0.997}, availability=per_day)["verdict"].tolist()
    ['fail']
    """
    table = _checked(guarantees)
    reference = table.reference_date
    if reference is None:
        for source, dim in ((availability, schema.DAY), (health, schema.WINDOW)):
            if source is not None and source.sizes.get(dim, 0):
                reference = pd.Timestamp(source[dim].values[0]).date()
                break
    frames = []
    if table.availability is not None and availability is not None:
        frames.append(_availability_rows(availability, table.availability))
    if health is not None:
        if table.round_trip_efficiency is not None:
            frames.append(_round_trip_rows(health, table.round_trip_efficiency, daily))
        if table.capacity_retention is not None and reference is not None:
            frames.append(
                _retention_rows(health, table.capacity_retention, reference, capacity_interval)
            )
        if table.cycles_per_year is not None and reference is not None:
            frames.append(_cycle_rows(health, table.cycles_per_year, reference))
    if not frames:
        return pd.DataFrame({name: [] for name in COLUMNS})
    result = pd.concat(frames, ignore_index=True)
    at_most = (result["metric"] == "cycles_per_year").to_numpy()
    bounds = [result[name].to_numpy() for name in ("guaranteed", "low", "high")]
    result["verdict"] = np.where(at_most, verdicts(*bounds, at_most=True), verdicts(*bounds))
    if "low_shown" in result:  # a month's bounds are shown even when its verdict is unknown
        shown = result["low_shown"].notna()
        result.loc[shown, "low"] = result.loc[shown, "low_shown"]
        result.loc[shown, "high"] = result.loc[shown, "high_shown"]
    return result[list(COLUMNS)]
