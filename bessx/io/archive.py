"""Write bessx Datasets to compressed netCDF archives and read them back exactly.

Two kinds of Dataset are archived, told apart by their content:

* the **history** of :func:`bessx.open_exports` (``dc_power``, ``soc``, plant signals on UTC
  sample times), chunked by day on disk and streamed from dask chunk by chunk;
* the **daily** energy of :func:`bessx.daily_energy` (``charged``, ``discharged``,
  ``coverage`` on local calendar dates).

A daily archive also carries what CF readers (e.g. cf_xarray) look for: ``time`` has
``axis="T"``, ``standard_name="time"`` and ``bounds="time_bounds"``, a ``(time, nv)``
variable with each local day's start and end in UTC (from ``attrs["timezone"]``; DST days
last 23 or 25 h), and the flag variable ``slot_used`` (``flag_values`` 0, 1,
``flag_meanings`` "unused_slot enclosure", named by each energy's
``ancillary_variables``) marks the enclosure slots that hold no enclosure, whose values
are NaN by construction rather than missing. :func:`open_daily` removes these again.

Every variable is written with an explicit encoding: float64 with a NaN ``_FillValue``,
zlib level 4 with shuffle, integer times in the coarsest unit that holds them exactly, and
strings as netCDF variable-length strings. The global attribute ``bessx_archive`` records
the kind, so a reader can refuse a file that is not what it expects; it is removed again on
reading, and the rest of the Dataset comes back identical (the ``history`` attribute gains
one line saying bessx wrote the file).

Writing is atomic: the archive is written to a hidden file in the target's folder and moved
over the target only when complete.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.errors import BessxError, first_line

ArchiveKind = Literal["daily", "history"]

#: Global attribute naming the kind of archive (removed again when reading).
KIND_ATTR: Final = "bessx_archive"
#: Variables a daily archive adds for CF readers; :func:`open_daily` removes them again.
TIME_BOUNDS: Final = "time_bounds"
SLOT_MASK: Final = "slot_used"
#: The two ends of a cell, the second dimension of ``time_bounds``.
BOUNDS_DIM: Final = "nv"
SLOT_MASK_ATTRS: Final = {
    "long_name": "whether the enclosure slot holds an enclosure",
    "flag_values": np.array([0, 1], dtype=np.int8),
    "flag_meanings": "unused_slot enclosure",
    "comment": (
        "an inverter's DC input has 1 to 3 enclosure slots; energies and coverage of an "
        "unused slot (enclosure_id '') are NaN by construction, not missing data"
    ),
}
TIME_BOUNDS_ATTRS: Final = {
    "long_name": "start and end of the local calendar day, in UTC",
    "comment": (
        "local midnight to the next local midnight in the plant's timezone (attribute "
        "'timezone'): 23 or 25 hours on daylight-saving days"
    ),
}
#: zlib settings of every compressed variable.
COMPRESSION: Final = {"zlib": True, "complevel": 4, "shuffle": True}
#: Days per on-disk chunk of a daily archive.
DAILY_CHUNK_DAYS: Final = 366
SECONDS_PER_DAY: Final = 86_400

# Coarsest first: the first unit that represents every time exactly as an integer is used.
_TIME_UNITS: Final[dict[str, np.timedelta64]] = {
    "days": np.timedelta64(1, "D"),
    "hours": np.timedelta64(1, "h"),
    "minutes": np.timedelta64(1, "m"),
    "seconds": np.timedelta64(1, "s"),
    "milliseconds": np.timedelta64(1, "ms"),
    "microseconds": np.timedelta64(1, "us"),
    "nanoseconds": np.timedelta64(1, "ns"),
}
_TIME_REFERENCE: Final = "1970-01-01"
_COARSEST_TIME_UNIT: Final = {"daily": "days", "history": "seconds"}


# Writing ----------------------------------------------------------------------------------
def archive_kind(ds: xr.Dataset) -> ArchiveKind:
    """Whether ``ds`` is daily energy or a plant history, from the variables it holds.

    Raises
    ------
    BessxError
        ``ds`` holds both kinds of variables, or neither.
    """
    daily = [name for name in schema.DAILY_ATTRS if name in ds.data_vars]
    history = [name for name in schema.VARIABLES if name in ds.data_vars]
    if daily and history:
        raise BessxError(
            f"the Dataset mixes daily energy {daily} and history {history}; archive them apart"
        )
    if daily:
        return "daily"
    if history:
        return "history"
    raise BessxError(
        "nothing to archive: the Dataset holds neither daily energy "
        f"{list(schema.DAILY_ATTRS)} nor history {list(schema.VARIABLES)}"
    )


def to_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write daily energy or a plant history to a compressed netCDF4 archive, atomically.

    Parameters
    ----------
    ds
        Daily energy (holds ``charged``, ``discharged`` or ``coverage`` [kWh, 1]) or a plant
        history (holds any of ``dc_power`` [kW], ``soc`` [%], ``plant_power``, ``plant_soc``,
        ``setpoint``), numpy- or dask-backed. It is not modified.
    path
        The archive to write; its folder must exist. An existing file is replaced only once
        the new archive is complete.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    BessxError
        ``ds`` is neither kind of Dataset, an attribute cannot be stored, the folder does not
        exist, or ``path`` is the file ``ds`` is being read from.

    Notes
    -----
    A history is written in chunks of one day of samples along ``time`` (whole along the
    other dimensions), from ``attrs["interval_seconds"]``. Dask-backed data are streamed
    chunk by chunk (one per export file), so memory holds a few chunks, not the history;
    they are not rechunked to the day chunks on disk, which would hold more in memory at
    once, and HDF5's chunk cache joins the pieces of a day. A daily archive is
    chunked by year. All floats are float64 with ``_FillValue`` NaN, compressed with zlib
    (level 4, shuffle). ``time`` is stored as int64 counts since 1970-01-01 in the coarsest
    exact unit (for daily dates ``days``, or ``hours`` or finer so that ``time_bounds``,
    in the same unit, is exact too; for a history ``seconds`` or finer). Strings stay strings.
    ``Conventions`` is set to CF-1.10, missing ``units``, ``long_name`` and ``cell_methods``
    are filled in from :mod:`bessx.schema`, and a line is appended to ``history``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, tempfile, pathlib
    >>> dates = np.array(["2024-03-01", "2024-03-02"], dtype="datetime64[ns]")
    >>> daily = xr.Dataset({"charged": ("time", [12.5, np.nan])}, coords={"time": dates})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = to_netcdf(daily, pathlib.Path(folder) / "daily.nc")
    ...     open_daily(path).charged.values
    array([12.5,  nan])
    """
    target = Path(path)
    kind = archive_kind(ds)
    if not target.parent.is_dir():
        raise BessxError(f"{target}: no such folder '{target.parent}'")
    _refuse_own_source(ds, target)
    prepared = _prepare(ds, kind, target.name)
    encoding = _encoding(prepared, kind)
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        prepared.to_netcdf(partial, engine="netcdf4", format="NETCDF4", encoding=encoding)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target


def _refuse_own_source(ds: xr.Dataset, target: Path) -> None:
    """Replacing the file a lazy Dataset reads from would pull the data from under it."""
    sources = {ds.encoding.get("source")} | {
        var.encoding.get("source") for var in ds.variables.values()
    }
    for source in sources:
        if source is None:
            continue
        try:
            same = target.exists() and os.path.samefile(source, target)
        except OSError:
            same = False
        if same:
            raise BessxError(f"{target}: the Dataset is read from this file; write to another file")


def _prepare(ds: xr.Dataset, kind: ArchiveKind, file_name: str) -> xr.Dataset:
    """A copy with CF attributes filled in, the kind recorded and no inherited encoding."""
    from bessx import __version__

    schema_attrs = schema.DAILY_ATTRS if kind == "daily" else schema.VARIABLE_ATTRS
    data_vars = {
        name: var.assign_attrs({**schema_attrs.get(str(name), {}), **var.attrs})
        for name, var in ds.data_vars.items()
    }
    written = f"bessx {__version__}: written by bessx.to_netcdf as {file_name} ({kind})"
    attrs = {
        **ds.attrs,
        "Conventions": schema.CF_CONVENTIONS,
        "history": schema.add_history(ds.attrs.get("history"), written),
        KIND_ATTR: kind,
    }
    prepared = ds.assign(data_vars).assign_attrs(attrs).drop_encoding()
    if kind == "daily":
        prepared = _with_cf_daily(prepared)
    _check_attrs(prepared)
    return prepared


def _with_cf_daily(daily: xr.Dataset) -> xr.Dataset:
    """Add the time bounds and the slot flag of a daily archive (see the module docstring)."""
    additions: dict[Hashable, xr.Variable] = {}
    if schema.TIME in daily.coords:
        time_attrs = {**schema.DAILY_TIME_ATTRS, **daily[schema.TIME].attrs}
        timezone = daily.attrs.get("timezone")
        if timezone:
            bounds = day_bounds_utc(daily[schema.TIME].values, str(timezone))
            additions[TIME_BOUNDS] = xr.Variable(
                (schema.TIME, BOUNDS_DIM), bounds, dict(TIME_BOUNDS_ATTRS)
            )
            time_attrs["bounds"] = TIME_BOUNDS
        daily = daily.assign_coords({schema.TIME: daily[schema.TIME].variable.copy(deep=False)})
        daily[schema.TIME].attrs = time_attrs
    if "enclosure_id" in daily.coords:
        ids = daily["enclosure_id"]
        used = (ids.astype(str) != "").astype(np.int8)
        additions[SLOT_MASK] = xr.Variable(ids.dims, used.values, dict(SLOT_MASK_ATTRS))
        flagged = {
            name: var.assign_attrs(ancillary_variables=SLOT_MASK)
            for name, var in daily.data_vars.items()
            if set(ids.dims) <= set(var.dims)
        }
        daily = daily.assign(flagged)
    return daily.assign(additions)


def day_bounds_utc(dates: np.ndarray, timezone: str) -> np.ndarray:
    """Start and end of each local calendar day, as UTC instants.

    Parameters
    ----------
    dates
        Local calendar dates (midnight, tz-naive ``datetime64``), shape (n,).
    timezone
        The plant's IANA timezone.

    Returns
    -------
    numpy.ndarray
        ``datetime64[ns]``, shape (n, 2): local midnight of each date and of the next
        date, in UTC without a timezone. Where midnight does not exist the day starts when
        the clocks jump; where it occurs twice, at its first occurrence (as
        :func:`bessx.daily_energy` cuts days).

    Examples
    --------
    Sydney leaves daylight saving time on 7 April 2024, a 25-hour day:

    >>> dates = np.array(["2024-04-06", "2024-04-07"], dtype="datetime64[ns]")
    >>> bounds = day_bounds_utc(dates, "Australia/Sydney")
    >>> bounds[1]
    array(['2024-04-06T13:00:00.000000000', '2024-04-07T14:00:00.000000000'],
          dtype='datetime64[ns]')
    >>> (bounds[:, 1] - bounds[:, 0]) / np.timedelta64(1, "h")
    array([24., 25.])
    """
    midnights = pd.DatetimeIndex(np.asarray(dates, dtype="datetime64[ns]")).normalize()
    ends = midnights + pd.Timedelta(days=1)
    edges = [
        index.tz_localize(
            timezone, ambiguous=np.ones(len(index), dtype=bool), nonexistent="shift_forward"
        )
        .tz_convert("UTC")
        .tz_localize(None)
        .to_numpy("datetime64[ns]")
        for index in (midnights, ends)
    ]
    return np.stack(edges, axis=-1)


def _check_attrs(ds: xr.Dataset) -> None:
    """netCDF has no null attribute: say which one it is instead of failing mid-write."""
    owners: list[tuple[str, Mapping[Hashable, Any]]] = [("the Dataset", ds.attrs)]
    owners += [(f"variable {name!r}", var.attrs) for name, var in ds.variables.items()]
    for owner, attrs in owners:
        for key, value in attrs.items():
            if value is None:
                raise BessxError(f"attribute {key!r} of {owner} is None; netCDF cannot store it")


def _encoding(ds: xr.Dataset, kind: ArchiveKind) -> dict[Hashable, dict[str, Any]]:
    """Explicit netCDF encoding of every variable of a prepared Dataset."""
    time_chunk = _time_chunk(ds, kind)
    # CF: time bounds are in the units of their time coordinate
    times = [
        var.values.ravel()
        for name, var in ds.variables.items()
        if name in (schema.TIME, TIME_BOUNDS) and np.issubdtype(var.dtype, np.datetime64)
    ]
    time_units = (
        f"{_time_unit(np.concatenate(times), _COARSEST_TIME_UNIT[kind])} since {_TIME_REFERENCE}"
        if times
        else None
    )
    encoding: dict[Hashable, dict[str, Any]] = {}
    for name, var in ds.variables.items():
        chunked = {}
        if var.ndim and schema.TIME in var.dims:
            sizes = [
                time_chunk if dim == schema.TIME else size
                for dim, size in zip(var.dims, var.shape, strict=True)
            ]
            chunked = {**COMPRESSION, "chunksizes": tuple(max(1, size) for size in sizes)}
        if name in (schema.TIME, TIME_BOUNDS) and np.issubdtype(var.dtype, np.datetime64):
            encoding[name] = {
                "units": time_units,
                "calendar": "proleptic_gregorian",
                "dtype": "int64",
                "_FillValue": None,
                **chunked,
            }
        elif var.dtype.kind == "f":
            encoding[name] = {"dtype": "float64", "_FillValue": np.nan, **chunked}
        elif var.dtype.kind in "iu":
            encoding[name] = {"dtype": var.dtype, "_FillValue": None, **chunked}
        elif var.dtype.kind in "UO":
            encoding[name] = {"dtype": str}
    return encoding


def _time_chunk(ds: xr.Dataset, kind: ArchiveKind) -> int:
    """Samples in one on-disk chunk along ``time``: a day (history) or a year (daily)."""
    time_len = ds.sizes.get(schema.TIME, 0)
    if kind == "daily":
        return max(1, min(time_len, DAILY_CHUNK_DAYS))
    interval = _interval_seconds(ds)
    per_day = round(SECONDS_PER_DAY / interval) if interval else time_len
    return max(1, min(time_len, per_day))


def _interval_seconds(ds: xr.Dataset) -> float | None:
    """The sampling interval [s]: ``attrs["interval_seconds"]``, else the median time step."""
    try:
        interval = float(ds.attrs.get("interval_seconds", np.nan))
    except (TypeError, ValueError):
        interval = np.nan
    if np.isfinite(interval) and interval > 0:
        return interval
    if schema.TIME not in ds.indexes:
        return None
    # in nanoseconds whatever the index's datetime64 unit
    time_ns = ds.indexes[schema.TIME].to_numpy().astype("datetime64[ns]").astype(np.int64)
    steps = np.diff(time_ns)
    positive = steps[steps > 0]
    return float(np.median(positive)) / 1e9 if len(positive) else None


def _time_unit(times: np.ndarray, coarsest: str) -> str:
    """The coarsest unit, from ``coarsest`` down, in which all ``times`` are whole numbers."""
    units = list(_TIME_UNITS)
    offsets = times.astype("datetime64[ns]") - np.datetime64(_TIME_REFERENCE, "ns")
    offsets = offsets[~np.isnat(offsets)]
    for unit in units[units.index(coarsest) :]:
        step = _TIME_UNITS[unit].astype("m8[ns]").astype(np.int64)
        if not (offsets.astype(np.int64) % step).any():
            return unit
    return "nanoseconds"


# Reading ----------------------------------------------------------------------------------
def open_daily(path: str | os.PathLike) -> xr.Dataset:
    """Read a daily energy archive written by :func:`to_netcdf` into memory.

    Parameters
    ----------
    path
        The archive.

    Returns
    -------
    xarray.Dataset
        The daily Dataset as written: ``charged``, ``discharged`` [kWh], ``coverage`` [1] on
        local dates (``datetime64[ns]``), string coordinates as ``str``, attributes as
        written (``history`` ends with the line added when writing). The file is closed.

    Raises
    ------
    BessxError
        The file is missing, is not netCDF, or is not a bessx daily archive.
    """
    source = Path(path)
    with _open_archive(source, "daily", chunks=None) as opened:
        # in memory, with no tie to the file: writing back over it is safe
        daily = opened.load().drop_encoding()
    return _without_cf_daily(_restore(daily))


def _without_cf_daily(daily: xr.Dataset) -> xr.Dataset:
    """Remove what :func:`_with_cf_daily` added, giving back the Dataset as written."""
    daily = daily.drop_vars([TIME_BOUNDS, SLOT_MASK], errors="ignore")
    for var in daily.variables.values():
        if var.attrs.get("ancillary_variables") == SLOT_MASK:
            del var.attrs["ancillary_variables"]
    if schema.TIME in daily.coords and daily[schema.TIME].attrs.get("bounds") == TIME_BOUNDS:
        del daily[schema.TIME].attrs["bounds"]
    return daily


def open_history(
    path: str | os.PathLike, chunks: Literal["day"] | Mapping[str, int] | None = "day"
) -> xr.Dataset:
    """Open a history archive written by :func:`to_netcdf`, lazily.

    Parameters
    ----------
    path
        The archive.
    chunks
        ``"day"``: dask chunks as stored, one day of samples along ``time``; ``None``: read
        into memory now and close the file; a mapping is passed to :func:`xarray.open_dataset`.

    Returns
    -------
    xarray.Dataset
        The history as written: ``dc_power`` (time, inverter, dc_input) [kW], ``soc`` (time,
        inverter, dc_input, enclosure) [%], plant signals (time,); ``time`` in UTC
        (``datetime64[ns]``); small coordinates in memory, strings as ``str``.

    Raises
    ------
    BessxError
        The file is missing, is not netCDF, or is not a bessx history archive.
    """
    if not (chunks is None or chunks == "day" or isinstance(chunks, Mapping)):
        raise ValueError(f"chunks must be 'day', None or a mapping, not {chunks!r}")
    source = Path(path)
    if chunks is None:
        with _open_archive(source, "history", chunks=None) as opened:
            history = opened.load().drop_encoding()
    else:
        history = _open_archive(source, "history", chunks={} if chunks == "day" else chunks)
    return _restore(history)


def _open_archive(source: Path, kind: ArchiveKind, chunks: Mapping[str, int] | None) -> xr.Dataset:
    if not source.is_file():
        raise BessxError(f"{source}: no such file")
    try:
        ds = xr.open_dataset(
            source,
            engine="netcdf4",
            chunks=chunks,
            decode_times=xr.coders.CFDatetimeCoder(time_unit="ns"),
        )
    except (OSError, ValueError, RuntimeError) as error:
        raise BessxError(f"{source}: not a readable netCDF file ({first_line(error)})") from None
    found = ds.attrs.get(KIND_ATTR)
    if found != kind:
        ds.close()
        origin = f"it is a bessx {found} archive" if found else "not written by bessx"
        raise BessxError(f"{source}: not a bessx {kind} archive ({origin})")
    return ds


def _restore(ds: xr.Dataset) -> xr.Dataset:
    """Undo what netCDF changes: the kind marker, numpy scalar attributes, lazy small coords.

    ``ds`` was just opened by this module, so its variables are updated in place.
    """
    small_coords = {
        name: _in_memory(coord.variable)
        for name, coord in ds.coords.items()
        if schema.TIME not in coord.dims
    }
    restored = ds.assign_coords(small_coords)
    for var in restored.variables.values():
        var.attrs = {key: _plain(value) for key, value in var.attrs.items()}
    restored.attrs = {
        key: _plain(value) for key, value in restored.attrs.items() if key != KIND_ATTR
    }
    return restored


def _in_memory(var: xr.Variable) -> xr.Variable:
    """A small coordinate as numpy, strings as ``str`` (not ``object``)."""
    loaded = var.compute()
    return loaded.astype(str) if loaded.dtype.kind == "O" else loaded


def _plain(value: Any) -> Any:
    """netCDF returns numeric attributes as numpy scalars; give back Python numbers."""
    return value.item() if isinstance(value, np.generic) else value
