"""Helpers for testing code that uses bessx: plant-shaped Datasets and dask assertions.

Hypothesis strategies live in :mod:`bessx.testing.strategies` (importing it needs
``hypothesis``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import dask
import numpy as np
import pandas as pd
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.synthetic import TIMEZONE, inverter_names

__all__ = [
    "CountingScheduler",
    "assert_lazy",
    "enclosure_ids",
    "inverter_names",
    "make_daily",
    "make_dataset",
    "raise_if_dask_computes",
    "to_utc",
]


def enclosure_ids(inverters: Sequence[str], n_enclosures: np.ndarray, n_slots: int) -> np.ndarray:
    """Enclosure names (inverter, dc_input, slot); ``""`` for an unused slot.

    Enclosures are numbered BAT1.. across the DC inputs in order, so with 2 per DC input
    inverter ``1APCS1`` has ``1A1BAT1``, ``1A1BAT2`` on DC input 1 and ``1A1BAT3``,
    ``1A1BAT4`` on DC input 2.
    """
    n_enclosures = np.asarray(n_enclosures, dtype=int)
    ids = np.full((len(inverters), n_enclosures.shape[1], n_slots), "", dtype=object)
    for row, name in enumerate(inverters):
        match = schema.INVERTER_PATTERN.match(name)
        prefix = f"{match['block']}{match['side']}{match['n']}" if match else name
        number = 0
        for column, count in enumerate(n_enclosures[row]):
            for slot in range(count):
                number += 1
                ids[row, column, slot] = f"{prefix}BAT{number}"
    return ids.astype(str)


def to_utc(time: Any) -> np.ndarray:
    """Sample times as tz-naive UTC ``datetime64[ns]``; tz-aware input is converted."""
    index = pd.DatetimeIndex(time)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    return index.as_unit("ns").values


def make_daily(
    discharged: np.ndarray,
    slots: Sequence[int] | np.ndarray,
    *,
    charged: np.ndarray | float = 1.1,
    coverage: np.ndarray | float = 1.0,
    start: str = "2024-03-01",
    allocation: str = "soc",
) -> xr.Dataset:
    """A daily Dataset shaped like the output of :func:`bessx.daily_energy`.

    Parameters
    ----------
    discharged
        (day, inverter, 2, 3) energy discharged by each enclosure slot [kWh]; unused slots
        are ignored.
    slots
        Enclosures per DC input (1 to 3) of each inverter.
    charged
        (day, inverter, 2, 3) energy charged [kWh], or a factor applied to ``discharged``.
    coverage
        Coverage [1], broadcast to ``discharged``.
    start
        The first local date.
    allocation
        ``"equal"`` replaces each enclosure's energies by the mean of its DC input, as when
        only the DC input is metered; ``"soc"`` keeps them. Recorded in ``attrs``.

    Examples
    --------
    >>> daily = make_daily(np.full((2, 1, 2, 3), 5.0), [2])
    >>> daily["discharged"].sizes["time"], daily["enclosure_id"].values[0, 1].tolist()
    (2, ['1A1BAT3', '1A1BAT4', ''])
    """
    discharged = np.asarray(discharged, dtype=np.float64)
    n_days, n_inverters = discharged.shape[:2]
    names = inverter_names(n_inverters)
    per_input = np.asarray(slots, dtype=int)
    n_enclosures = np.repeat(per_input[:, None], 2, axis=1)
    used = np.arange(3)[None, None, :] < n_enclosures[:, :, None]
    charged = discharged * charged if np.isscalar(charged) else np.asarray(charged, float)
    energies = {"charged": charged, "discharged": discharged}
    for name, values in energies.items():
        values = np.where(used, values, np.nan)
        if allocation == "equal":
            dc_input = np.nansum(values, axis=-1, keepdims=True)
            values = np.where(used, dc_input / n_enclosures[None, :, :, None], np.nan)
        energies[name] = values
    coverage = np.broadcast_to(np.asarray(coverage, dtype=float), discharged.shape)
    variables = {**energies, "coverage": np.where(used, coverage, np.nan)}
    dims = (schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    time = np.datetime64(start, "ns") + np.arange(n_days) * np.timedelta64(1, "D")
    return xr.Dataset(
        {
            name: (dims, values, dict(schema.DAILY_ATTRS[name]))
            for name, values in variables.items()
        },
        coords={
            schema.TIME: (schema.TIME, time, dict(schema.DAILY_TIME_ATTRS)),
            schema.INVERTER: names,
            schema.DC_INPUT: list(schema.DC_INPUTS),
            schema.ENCLOSURE: [1, 2, 3],
            "enclosure_id": (dims[1:], enclosure_ids(names, n_enclosures, 3)),
            "n_enclosures": (dims[1:3], n_enclosures),
        },
        attrs={
            "timezone": TIMEZONE,
            "allocation": allocation,
            "interval_seconds": 36.0,
        },
    )


def make_dataset(
    time: Any,
    dc_power: np.ndarray,
    soc: np.ndarray | None = None,
    *,
    n_enclosures: int | np.ndarray = 2,
    inverters: Sequence[str] | None = None,
    timezone: str = TIMEZONE,
    interval_seconds: float | None = None,
    chunks: int | tuple[int, ...] | None = None,
) -> xr.Dataset:
    """Build a plant Dataset in the layout of :func:`bessx.open_exports` from arrays.

    Parameters
    ----------
    time : array-like of datetime
        Sample times, strictly increasing: tz-aware (converted to UTC) or tz-naive UTC.
    dc_power : numpy.ndarray
        DC input power [kW], shape (time, inverter, dc_input); positive is discharging.
    soc : numpy.ndarray, optional
        Enclosure state of charge [%], shape (time, inverter, dc_input, enclosure slot);
        unused slots are set to NaN. Default: NaN everywhere, 3 slots.
    n_enclosures : int or numpy.ndarray
        Enclosures per DC input, a number or an (inverter, dc_input) array.
    inverters : sequence of str, optional
        Inverter names; default :func:`inverter_names`.
    timezone : str
        Plant timezone, stored in ``attrs["timezone"]``; default the synthetic plant's,
        :data:`bessx.synthetic.TIMEZONE` (the exports' readers have no default zone).
    interval_seconds : float, optional
        Nominal sampling interval [s]; default the median step (36 s for one sample).
    chunks : int or tuple of int, optional
        Chunk the data variables along time (dask); coordinates stay in memory.

    Returns
    -------
    xarray.Dataset
        With ``dc_power``, ``soc``, ``plant_power`` (sum of ``dc_power``), ``plant_soc``
        (mean of the used slots) and ``setpoint`` (zero), the coordinates ``enclosure_id``
        and ``n_enclosures``, and CF attributes from :mod:`bessx.schema`.
    """
    times = to_utc(time)
    dc_power = np.asarray(dc_power, dtype=np.float32)
    n_time, n_inverters, n_inputs = dc_power.shape
    if len(times) != n_time:
        raise ValueError(f"{len(times)} times but {n_time} rows of dc_power")

    counts = np.broadcast_to(np.asarray(n_enclosures, dtype=int), (n_inverters, n_inputs))
    n_slots = soc.shape[3] if soc is not None else max(3, int(counts.max(initial=0)))
    if counts.max(initial=0) > n_slots:
        raise ValueError(f"n_enclosures exceeds the {n_slots} enclosure slots")
    if soc is None:
        soc = np.full((n_time, n_inverters, n_inputs, n_slots), np.nan, dtype=np.float32)
    used = np.arange(n_slots) < counts[..., np.newaxis]
    soc = np.where(used, np.asarray(soc, dtype=np.float32), np.float32(np.nan))

    names = list(inverters) if inverters is not None else inverter_names(n_inverters)
    if interval_seconds is None:
        steps = np.diff(times).astype("timedelta64[ns]").astype(np.int64)
        interval_seconds = float(np.median(steps)) / 1e9 if len(steps) else 36.0

    finite_soc = np.isfinite(soc)
    used_soc_count = finite_soc.sum(axis=(1, 2, 3))
    soc_total = np.where(finite_soc, soc, 0).sum(axis=(1, 2, 3), dtype=np.float64)
    plant_soc = np.full(n_time, np.nan, dtype=np.float32)
    np.divide(soc_total, used_soc_count, out=plant_soc, where=used_soc_count > 0, casting="unsafe")

    def variable(name: str, values: np.ndarray) -> tuple[tuple[str, ...], np.ndarray, dict]:
        return schema.VARIABLE_DIMS[name], values, dict(schema.VARIABLE_ATTRS[name])

    ds = xr.Dataset(
        {
            "dc_power": variable("dc_power", dc_power),
            "soc": variable("soc", soc),
            "plant_power": variable("plant_power", np.nansum(dc_power, axis=(1, 2))),
            "plant_soc": variable("plant_soc", plant_soc),
            "setpoint": variable("setpoint", np.zeros(n_time, dtype=np.float32)),
        },
        coords={
            schema.TIME: (schema.TIME, times),
            schema.INVERTER: (schema.INVERTER, np.asarray(names, dtype=str)),
            schema.DC_INPUT: (schema.DC_INPUT, np.arange(1, n_inputs + 1)),
            schema.ENCLOSURE: (schema.ENCLOSURE, np.arange(1, n_slots + 1)),
            "enclosure_id": (
                (schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE),
                enclosure_ids(names, counts, n_slots),
            ),
            "n_enclosures": ((schema.INVERTER, schema.DC_INPUT), np.array(counts)),
        },
        attrs={
            "timezone": timezone,
            "interval_seconds": float(interval_seconds),
            "Conventions": schema.CF_CONVENTIONS,
        },
    )
    for name, attrs in schema.COORD_ATTRS.items():
        ds[name].attrs.update(attrs)
    if chunks is not None:
        # Like the reader: data variables in dask chunks along time, coordinates in memory.
        ds = ds.assign(
            {name: ds[name].variable.chunk({schema.TIME: chunks}) for name in ds.data_vars}
        )
    return ds


class CountingScheduler:
    """A dask scheduler that counts computes and fails beyond ``max_computes``.

    What :func:`raise_if_dask_computes` yields: ``total_computes`` is the number of
    computes so far.
    """

    def __init__(self, max_computes: int) -> None:
        self.max_computes = max_computes
        self.total_computes = 0

    def __call__(self, dsk: Any, keys: Any, **kwargs: Any) -> Any:
        self.total_computes += 1
        if self.total_computes > self.max_computes:
            raise RuntimeError(
                f"too many dask computes: {self.total_computes} > {self.max_computes}"
            )
        return dask.get(dsk, keys, **kwargs)


@contextlib.contextmanager
def raise_if_dask_computes(max_computes: int = 0) -> Iterator[CountingScheduler]:
    """Fail with ``RuntimeError`` if dask computes more than ``max_computes`` times inside.

    >>> import dask.array as da
    >>> with raise_if_dask_computes():
    ...     total = da.ones(4, chunks=2).sum()  # building a graph is fine
    """
    scheduler = CountingScheduler(max_computes)
    with dask.config.set(scheduler=scheduler):
        yield scheduler


def assert_lazy(obj: xr.Dataset | xr.DataArray) -> None:
    """Assert that every data variable of ``obj`` (or the DataArray itself) is a dask array."""
    if isinstance(obj, xr.DataArray):
        variables: dict[Hashable, xr.DataArray] = {obj.name: obj}
    else:
        variables = dict(obj.data_vars)
    eager = [
        str(name) for name, array in variables.items() if not dask.is_dask_collection(array.data)
    ]
    assert not eager, f"not lazy (not dask-backed): {', '.join(eager)}"
