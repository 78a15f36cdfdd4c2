"""Parquet engines: the two primitives the export reader needs, for pyarrow and polars.

Reading a wide export is dominated by parsing its ~1 MB footer (see the performance
notes in ``docs/performance.md``); polars parses it about twice as fast as pyarrow, so it
is used when installed (``engine="auto"``). Both engines give identical arrays.

An engine is two functions:

``scan(path) -> Scan``
    the column names, which of them are numeric, and the timestamps (one footer parse);
``read(path, columns) -> ndarray``
    the named numeric columns as a float64 ``(row, column)`` matrix, nulls as NaN.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from bessx.errors import ExportError
from bessx.schema import TIMESTAMP_COLUMN

#: Names under which the timestamps may be stored: the index written by pandas is a column.
TIMESTAMP_CANDIDATES = (TIMESTAMP_COLUMN, "__index_level_0__")


class Scan(NamedTuple):
    """What one footer parse tells about an export."""

    names: tuple[str, ...]
    #: whether the named column holds numbers (or only nulls)
    is_numeric: Callable[[str], bool]
    #: naive ``datetime64[ns]`` in row order: local wall time if ``timezone`` is None, else UTC
    time: np.ndarray
    #: the timezone of tz-aware timestamps, None for naive ones
    timezone: str | None


@dataclass(frozen=True)
class Engine:
    name: str
    scan: Callable[[Path], Scan]
    read: Callable[[str, Sequence[str]], np.ndarray]


def _time_column(path: Path, names: Sequence[str]) -> str:
    for name in TIMESTAMP_CANDIDATES:
        if name in names:
            return name
    raise ExportError(path, "no 'Timestamp' index or column")


def _check_rows(path: Path, time: np.ndarray) -> np.ndarray:
    if len(time) == 0:
        raise ExportError(path, "no rows")
    missing = np.isnat(time)
    if missing.any():
        raise ExportError(path, f"{int(missing.sum())} missing timestamps")
    return time


# pyarrow ----------------------------------------------------------------------------------
def _pyarrow_scan(path: Path) -> Scan:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    arrow_schema = parquet.schema_arrow
    names = tuple(arrow_schema.names)
    time_name = _time_column(path, names)
    time_type = arrow_schema.field(time_name).type
    if not pa.types.is_timestamp(time_type):
        raise ExportError(path, f"'{time_name}' holds {time_type}, not timestamps")

    def is_numeric(name: str) -> bool:
        column_type = arrow_schema.field(name).type
        return (
            pa.types.is_floating(column_type)
            or pa.types.is_integer(column_type)
            or (pa.types.is_null(column_type))
        )

    column = parquet.read(columns=[time_name], use_threads=False).column(0)
    timezone = time_type.tz
    if timezone is not None:
        column = column.cast(pa.timestamp(time_type.unit, "UTC"))
    time = column.cast(pa.timestamp("ns", timezone and "UTC")).to_numpy()
    return Scan(names, is_numeric, _check_rows(path, time.astype("datetime64[ns]")), timezone)


def _pyarrow_read(path: str, columns: Sequence[str]) -> np.ndarray:
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read(columns=list(columns), use_threads=False)
    matrix = np.empty((table.num_rows, table.num_columns), dtype=np.float64)
    for i, column in enumerate(table.columns):
        matrix[:, i] = column.to_numpy()
    return matrix


# polars -----------------------------------------------------------------------------------
def _polars_scan(path: Path) -> Scan:
    import polars as pl

    frame = pl.scan_parquet(path)
    polars_schema = frame.collect_schema()
    names = tuple(polars_schema.names())
    time_name = _time_column(path, names)
    time_type = polars_schema[time_name]
    if not isinstance(time_type, pl.Datetime):
        raise ExportError(path, f"'{time_name}' holds {time_type}, not timestamps")

    def is_numeric(name: str) -> bool:
        column_type = polars_schema[name]
        return column_type.is_numeric() or column_type == pl.Null

    timezone = time_type.time_zone
    time = frame.select(pl.col(time_name)).collect().to_series()
    if timezone is not None:
        time = time.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    time = time.dt.cast_time_unit("ns").to_numpy()
    return Scan(names, is_numeric, _check_rows(path, time), timezone)


def _polars_read(path: str, columns: Sequence[str]) -> np.ndarray:
    import polars as pl

    frame = pl.read_parquet(path, columns=list(columns), use_statistics=False, parallel="none")
    return frame.select(pl.all().cast(pl.Float64)).to_numpy(order="c")


ENGINES = {
    "pyarrow": Engine("pyarrow", _pyarrow_scan, _pyarrow_read),
    "polars": Engine("polars", _polars_scan, _polars_read),
}


def get_engine(name: str = "auto") -> Engine:
    """The parquet engine called ``name``; ``"auto"`` is polars when installed, else pyarrow."""
    if name == "auto":
        name = "polars" if importlib.util.find_spec("polars") else "pyarrow"
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown engine {name!r}; choose from 'auto', {list(ENGINES)}") from None
