"""Tables of daily enclosure energy: a tidy frame and the lowest-N enclosures.

Both functions take the daily Dataset of :func:`bessx.daily_energy` (dims ``time``,
``inverter``, ``dc_input``, ``enclosure``; variables ``charged``, ``discharged`` [kWh] and
``coverage`` [1]; coordinate ``enclosure_id``, ``""`` on unused slots) and return
:class:`pandas.DataFrame` objects, so they load dask-backed data. Rows always follow the
plant order of the Dataset: inverter as stored, then DC input, then enclosure slot.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import xarray as xr

from bessx.errors import BessxError
from bessx.schema import DC_INPUT, ENCLOSURE, INVERTER, TIME

__all__ = ["lowest", "to_frame"]

#: Energy variables of the daily Dataset, by the name used in ``by=`` arguments.
ENERGY_VARIABLES = ("charged", "discharged")
_ENCLOSURE_DIMS = (INVERTER, DC_INPUT, ENCLOSURE)
_FRAME_COLUMNS = {
    "charged": "charged_kwh",
    "discharged": "discharged_kwh",
    "coverage": "coverage",
}


def check_daily(daily: xr.Dataset, variables: Iterable[str]) -> None:
    """Raise :class:`~bessx.errors.BessxError` unless ``daily`` looks like a daily Dataset.

    Parameters
    ----------
    daily
        Candidate Dataset.
    variables
        Data variables that the caller needs.
    """
    if not isinstance(daily, xr.Dataset):
        raise BessxError(f"expected an xarray.Dataset of daily energy, got {type(daily).__name__}")
    missing = [name for name in (TIME, *_ENCLOSURE_DIMS) if name not in daily.dims]
    missing += [name for name in variables if name not in daily.data_vars]
    if "enclosure_id" not in daily.coords:
        missing.append("enclosure_id")
    if missing:
        raise BessxError(
            "not a daily energy Dataset (see bessx.daily_energy): lacks " + ", ".join(missing)
        )


def check_energy_name(by: str) -> str:
    """Validate a ``by=`` argument: one of :data:`ENERGY_VARIABLES`."""
    if by not in ENERGY_VARIABLES:
        raise ValueError(
            f"by={by!r} is not a daily energy variable; valid names: "
            + ", ".join(repr(name) for name in ENERGY_VARIABLES)
        )
    return by


def iso_dates(time: xr.DataArray | np.ndarray) -> np.ndarray:
    """Local calendar dates as ``YYYY-MM-DD`` strings."""
    return np.asarray(pd.DatetimeIndex(np.asarray(time)).strftime("%Y-%m-%d"), dtype=object)


def enclosure_layout(daily: xr.Dataset) -> pd.DataFrame:
    """The existing enclosures of ``daily``, one row each, in plant order.

    Returns
    -------
    pandas.DataFrame
        Columns ``enclosure_id``, ``inverter``, ``dc_input`` and ``slot`` (the
        ``enclosure`` coordinate), plus ``flat`` (the position of the enclosure in the
        flattened ``(inverter, dc_input, enclosure)`` array) and ``group`` (a 0-based
        number of its DC input, counting only DC inputs that have enclosures).
    """
    ids = daily["enclosure_id"].transpose(*_ENCLOSURE_DIMS).values.astype(str)
    inverter, dc_input, slot = np.meshgrid(
        daily[INVERTER].values, daily[DC_INPUT].values, daily[ENCLOSURE].values, indexing="ij"
    )
    exists = (ids != "").ravel()
    flat = np.flatnonzero(exists)
    dc_input_number = (flat // ids.shape[2]).astype(np.int64)
    return pd.DataFrame(
        {
            "enclosure_id": ids.ravel()[exists],
            "inverter": inverter.ravel()[exists].astype(str),
            "dc_input": dc_input.ravel()[exists].astype(np.int64),
            "slot": slot.ravel()[exists].astype(np.int64),
            "flat": flat,
            "group": np.unique(dc_input_number, return_inverse=True)[1],
        }
    )


def enclosure_matrix(daily: xr.Dataset, name: str, layout: pd.DataFrame) -> np.ndarray:
    """Values of ``daily[name]`` as a (day, existing enclosure) numpy array (loads dask)."""
    values = daily[name].transpose(TIME, *_ENCLOSURE_DIMS).values
    flat = values.reshape(values.shape[0], int(np.prod(values.shape[1:])))
    return flat[:, layout["flat"].to_numpy()].astype(np.float64)


def to_frame(daily: xr.Dataset) -> pd.DataFrame:
    """Daily enclosure energy as a tidy table: one row per existing enclosure per day.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.daily_energy`: ``charged`` and ``discharged`` [kWh],
        ``coverage`` [1] on (``time``, ``inverter``, ``dc_input``, ``enclosure``). May be
        dask-backed; it is loaded.

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (local calendar date, ``YYYY-MM-DD`` string), ``inverter``,
        ``dc_input`` (1 or 2), ``enclosure_id``, ``charged_kwh`` and ``discharged_kwh``
        [kWh] (NaN on days without valid samples), ``coverage`` [1]. Unused enclosure slots
        (``enclosure_id == ""``) are dropped, so there are (existing enclosures × days)
        rows, ordered by date, then plant order (inverter, DC input, slot), with a fresh
        ``RangeIndex``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "inverter", "dc_input", "enclosure")
    >>> daily = xr.Dataset(
    ...     {
    ...         "charged": (dims, np.full((1, 1, 2, 2), 5.5)),
    ...         "discharged": (dims, np.full((1, 1, 2, 2), 5.0)),
    ...         "coverage": (dims, np.ones((1, 1, 2, 2))),
    ...     },
    ...     coords={
    ...         "time": [np.datetime64("2024-03-01")],
    ...         "inverter": ["1APCS1"],
    ...         "dc_input": [1, 2],
    ...         "enclosure": [1, 2],
    ...         "enclosure_id": (
    ...             ("inverter", "dc_input", "enclosure"),
    ...             [[["1A1BAT1", "1A1BAT2"], ["1A1BAT3", ""]]],
    ...         ),
    ...     },
    ... )
    >>> to_frame(daily)[["date", "enclosure_id", "discharged_kwh"]]
             date enclosure_id  discharged_kwh
    0  2024-03-01      1A1BAT1             5.0
    1  2024-03-01      1A1BAT2             5.0
    2  2024-03-01      1A1BAT3             5.0
    """
    check_daily(daily, _FRAME_COLUMNS)
    # one compute for all variables: each separate load would re-read every export
    variables = daily[list(_FRAME_COLUMNS)].reset_coords(drop=True).compute()
    variables = variables.assign_coords(enclosure_id=daily["enclosure_id"])
    table = variables.to_dataframe(dim_order=[TIME, *_ENCLOSURE_DIMS]).reset_index()
    table = table[table["enclosure_id"].astype(str) != ""]
    return pd.DataFrame(
        {
            "date": iso_dates(table[TIME].to_numpy()),
            "inverter": table[INVERTER].astype(str).to_numpy(),
            "dc_input": table[DC_INPUT].astype(np.int64).to_numpy(),
            "enclosure_id": table["enclosure_id"].astype(str).to_numpy(),
            **{
                column: table[name].astype(np.float64).to_numpy()
                for name, column in _FRAME_COLUMNS.items()
            },
        }
    )


def lowest(daily: xr.Dataset, n: int = 5, by: str = "discharged") -> pd.DataFrame:
    """The ``n`` enclosures with the lowest total energy over the period.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.daily_energy`. May be dask-backed; it is loaded.
    n
        How many enclosures to list (a positive integer; fewer rows when the plant has
        fewer enclosures with data).
    by
        Rank by total ``"discharged"`` or ``"charged"`` energy.

    Returns
    -------
    pandas.DataFrame
        Columns ``enclosure_id``, ``inverter``, ``dc_input``, ``charged_kwh`` and
        ``discharged_kwh`` (totals over the period [kWh]), ``days`` (days on which the
        ``by`` energy is known), in ascending order of the ``by`` total.

    Notes
    -----
    Totals skip days without data (NaN): they are sums over the known days, so compare
    them with ``days`` in mind, or use :func:`bessx.outliers.outliers`, which compares
    each day with the fleet. Enclosures without any known ``by`` day are left out: a
    missing enclosure is a data problem, not the lowest performer. Ties keep plant order
    (stable sort).

    Raises
    ------
    ValueError
        ``by`` is not ``"charged"`` or ``"discharged"``, or ``n`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> energy = np.array([[[[3.0, 1.0], [2.0, np.nan]]]])
    >>> daily = xr.Dataset(
    ...     {
    ...         "charged": (("time", "inverter", "dc_input", "enclosure"), energy + 1),
    ...         "discharged": (("time", "inverter", "dc_input", "enclosure"), energy),
    ...     },
    ...     coords={
    ...         "time": [np.datetime64("2024-03-01")],
    ...         "inverter": ["1APCS1"],
    ...         "dc_input": [1, 2],
    ...         "enclosure": [1, 2],
    ...         "enclosure_id": (
    ...             ("inverter", "dc_input", "enclosure"),
    ...             [[["1A1BAT1", "1A1BAT2"], ["1A1BAT3", ""]]],
    ...         ),
    ...     },
    ... )
    >>> lowest(daily, n=2)
      enclosure_id inverter  dc_input  charged_kwh  discharged_kwh  days
    0      1A1BAT2   1APCS1         1          2.0             1.0     1
    1      1A1BAT3   1APCS1         2          3.0             2.0     1
    """
    check_energy_name(by)
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    check_daily(daily, ENERGY_VARIABLES)
    layout = enclosure_layout(daily)
    energies = daily[list(ENERGY_VARIABLES)].reset_coords(drop=True).compute()
    matrices = {name: enclosure_matrix(energies, name, layout) for name in ENERGY_VARIABLES}
    totals = {
        name: np.where(np.isfinite(matrix).any(axis=0), np.nansum(matrix, axis=0), np.nan)
        for name, matrix in matrices.items()
    }
    days = np.isfinite(matrices[by]).sum(axis=0)
    table = pd.DataFrame(
        {
            "enclosure_id": layout["enclosure_id"],
            "inverter": layout["inverter"],
            "dc_input": layout["dc_input"],
            "charged_kwh": totals["charged"],
            "discharged_kwh": totals["discharged"],
            "days": days.astype(np.int64),
        }
    )
    table = table[table["days"] > 0]
    table = table.sort_values(f"{by}_kwh", kind="stable").head(int(n))
    return table.reset_index(drop=True)
