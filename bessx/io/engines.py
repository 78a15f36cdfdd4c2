"""Parquet engines: the two primitives the export reader needs, for pyarrow and polars.

Reading a wide export is dominated by parsing its ~1 MB footer (see the performance
notes in ``docs/performance.md``); polars parses it about twice as fast as pyarrow, so it
is used when installed (``engine="auto"``). Both engines give identical arrays.

An engine is two functions:

``scan(path[, time_column]) -> Scan``
    the column names, why a column cannot be read as numbers (if it cannot), and the
    timestamps (one footer parse) from ``time_column`` (default: ``Timestamp`` or the
    pandas index);
``read(path, columns) -> ndarray``
    the named numeric columns as a float64 ``(row, column)`` matrix, nulls as NaN.

Both engines convert every numeric type the same way, to float64: floats (float16, float32,
float64) and integers (int8 … int64, uint8 … uint64) by rounding to the nearest float64
(``2**63`` stays ``9.223372036854776e18``, never wraps negative), decimals through their
decimal text, so that both give the correctly rounded float64 of the stored decimal value.
Columns of booleans, text, times and other types, and decimals of more than 38 digits,
are refused by both with the same words (see :data:`REFUSALS`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from bessx.errors import CONTROL, ExportError
from bessx.schema import TIMESTAMP_COLUMN

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

#: Names under which the timestamps may be stored: the index written by pandas is a column.
TIMESTAMP_CANDIDATES = (TIMESTAMP_COLUMN, "__index_level_0__")


#: Why a column cannot be read as numbers, by kind of type: the same words for both engines.
REFUSALS = {
    "boolean": "it holds booleans",
    "text": "it holds text",
    "time": "it holds dates or times",
    "wide decimal": "it holds decimals of more than 38 digits",
    "other": "it holds neither numbers nor nulls",
}
#: The widest decimal both engines read (polars refuses wider ones).
MAX_DECIMAL_DIGITS = 38


class Scan(NamedTuple):
    """What one footer parse tells about an export."""

    names: tuple[str, ...]
    #: None if the named column holds numbers (or only nulls), else why not (from REFUSALS)
    refusal: Callable[[str], str | None]
    #: naive ``datetime64`` in the stored unit, in row order: local wall time if
    #: ``timezone`` is None, else UTC
    time: np.ndarray
    #: the timezone of tz-aware timestamps, None for naive ones
    timezone: str | None


class UnreadableData(Exception):
    """The footer of an export was read, but not its data (raised by :attr:`Engine.load`)."""


#: ``pick(names, refusal) -> columns``: the columns :attr:`Engine.load` should read, chosen
#: once the footer is parsed (it may raise to refuse the file).
Picker = Callable[[tuple[str, ...], Callable[[str], "str | None"]], Sequence[str]]


@dataclass(frozen=True)
class Engine:
    name: str
    #: ``scan(path[, time_column]) -> Scan``
    scan: Callable[..., Scan]
    read: Callable[[str, Sequence[str]], np.ndarray]
    #: ``load(path, pick[, time_column]) -> (scan, matrix)``: one footer parse for the
    #: timestamps and the picked columns together (the matrix as ``read`` gives it)
    load: Callable[..., tuple[Scan, np.ndarray]]

    def scan_with(self, path: Path, time_column: str | None) -> Scan:
        """:attr:`scan` with the timestamp column ``[columns] time`` names (None: the
        default candidates)."""
        return self.scan(path) if time_column is None else self.scan(path, time_column)

    def load_with(
        self, path: Path, pick: Picker, time_column: str | None
    ) -> tuple[Scan, np.ndarray]:
        """:attr:`load` with the timestamp column ``[columns] time`` names."""
        if time_column is None:
            return self.load(path, pick)
        return self.load(path, pick, time_column)


def _time_column(path: Path, names: Sequence[str], given: str | None = None) -> str:
    """The timestamp column: ``given`` (``[columns] time``), else the first candidate."""
    for name in TIMESTAMP_CANDIDATES if given is None else (given,):
        if name in names:
            return name
    named = TIMESTAMP_COLUMN if given is None else given
    hint = "" if given is not None else " (another name: [columns] time)"
    raise ExportError(path, f"no {named!r} index or column{hint}")


def _check_rows(path: Path, time: np.ndarray) -> np.ndarray:
    """Timestamps as given (any ``datetime64`` unit), once they exist and are not missing."""
    if len(time) == 0:
        raise ExportError(path, "no rows")
    missing = np.isnat(time)
    if missing.any():
        raise ExportError(path, f"{int(missing.sum())} missing timestamps")
    return time


def _check_names(path: Path, names: Sequence[str]) -> None:
    """Refuse a file whose columns are not named once each (no engine can tell them apart)."""
    if len(set(names)) == len(names):
        return
    seen: set[str] = set()
    repeated = next(name for name in names if name in seen or seen.add(name))  # type: ignore[func-returns-value]
    raise ExportError(
        path, f"column '{repeated}' appears {list(names).count(repeated)} times (names must differ)"
    )


def _footer_names(path: Path) -> list[str]:
    """The column names as the footer stores them (pyarrow's parse; [] if it fails)."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception:
        return []


def _no_columns(names: tuple[str, ...], refusal: Callable[[str], str | None]) -> list[str]:
    """The picker of a scan: the footer and the timestamps, no data column."""
    return []


# pyarrow ----------------------------------------------------------------------------------
def _pyarrow_scan(path: Path, time_column: str | None = None) -> Scan:
    return _pyarrow_load(path, _no_columns, time_column)[0]


def _arrow_kind(column_type: pa.DataType) -> str:
    """``"number"``, or the kind of a type that is not read as numbers (a key of REFUSALS)."""
    import pyarrow as pa

    if pa.types.is_decimal(column_type):
        return "number" if column_type.precision <= MAX_DECIMAL_DIGITS else "wide decimal"
    if pa.types.is_floating(column_type) or pa.types.is_integer(column_type):
        return "number"
    if pa.types.is_null(column_type):
        return "number"
    if pa.types.is_boolean(column_type):
        return "boolean"
    if pa.types.is_string(column_type) or pa.types.is_large_string(column_type):
        return "text"
    if pa.types.is_temporal(column_type):
        return "time"
    return "other"


def _pyarrow_read(path: str, columns: Sequence[str]) -> np.ndarray:
    import pyarrow.parquet as pq

    return _arrow_matrix(pq.ParquetFile(path).read(columns=list(columns), use_threads=False))


def _pyarrow_load(
    path: Path, pick: Picker, time_column: str | None = None
) -> tuple[Scan, np.ndarray]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(path)
    arrow_schema = parquet.schema_arrow
    names = tuple(arrow_schema.names)
    _check_names(path, names)
    time_name = _time_column(path, names, time_column)
    time_type = arrow_schema.field(time_name).type
    if not pa.types.is_timestamp(time_type):
        raise ExportError(path, f"'{time_name}' holds {time_type}, not timestamps")

    def refusal(name: str) -> str | None:
        return REFUSALS.get(_arrow_kind(arrow_schema.field(name).type))

    columns = list(pick(names, refusal))
    try:
        table = parquet.read(columns=[time_name, *columns], use_threads=False)
    except CONTROL:
        raise
    except BaseException as error:  # the footer was fine: the data pages are broken
        raise UnreadableData(error) from error
    time, timezone = table.column(0), time_type.tz
    if timezone is not None:
        time = time.cast(pa.timestamp(time_type.unit, "UTC"))
    scan = Scan(names, refusal, _check_rows(path, time.to_numpy()), timezone)
    return scan, _arrow_matrix(table.drop_columns([time_name]))


def _arrow_matrix(table: pa.Table) -> np.ndarray:
    """An arrow table's numeric columns as a float64 ``(row, column)`` matrix, nulls NaN."""
    import pyarrow as pa

    matrix = np.empty((table.num_rows, table.num_columns), dtype=np.float64)
    for i, column in enumerate(table.columns):
        if pa.types.is_decimal(column.type):
            # arrow's own decimal -> double cast is not correctly rounded; text parsing is
            column = column.cast(pa.string())
        # unsafe: integers above 2**53 round to the nearest float64 instead of raising
        matrix[:, i] = column.cast(pa.float64(), safe=False).to_numpy()
    return matrix


# polars -----------------------------------------------------------------------------------
def _polars_scan(path: Path, time_column: str | None = None) -> Scan:
    return _polars_load(path, _no_columns, time_column)[0]


def _polars_kind(column_type: pl.DataType) -> str:
    """``"number"``, or the kind of a type that is not read as numbers (a key of REFUSALS)."""
    import polars as pl

    if isinstance(column_type, pl.Decimal):
        precision = column_type.precision or MAX_DECIMAL_DIGITS
        return "number" if precision <= MAX_DECIMAL_DIGITS else "wide decimal"
    if column_type.is_numeric() or column_type == pl.Null:
        return "number"
    if column_type == pl.Boolean:
        return "boolean"
    if column_type in (pl.String, pl.Categorical, pl.Enum):
        return "text"
    if column_type.is_temporal():
        return "time"
    return "other"


def _polars_read(path: str, columns: Sequence[str]) -> np.ndarray:
    import polars as pl

    frame = pl.read_parquet(path, columns=list(columns), use_statistics=False, parallel="none")
    return _polars_matrix(frame)


def _polars_load(
    path: Path, pick: Picker, time_column: str | None = None
) -> tuple[Scan, np.ndarray]:
    import polars as pl

    lazy = pl.scan_parquet(path, parallel="none")
    try:
        polars_schema = _schema(lazy)
    except CONTROL:
        raise
    except BaseException:  # polars refuses repeated names in its own words: say it as pyarrow
        _check_names(path, _footer_names(path))
        raise
    names = tuple(polars_schema)
    time_name = _time_column(path, names, time_column)
    time_type = polars_schema[time_name]
    if not isinstance(time_type, pl.Datetime):
        raise ExportError(path, f"'{time_name}' holds {time_type}, not timestamps")

    kinds: dict[Any, str] = {}  # the kind of each dtype, worked out once per file

    def refusal(name: str) -> str | None:
        dtype = polars_schema[name]
        if (kind := kinds.get(dtype)) is None:
            kind = kinds[dtype] = _polars_kind(dtype)
        return REFUSALS.get(kind)

    columns = list(pick(names, refusal))
    try:  # one query: the timestamps, and the columns cast to float64 as _polars_matrix does
        frame = lazy.select([pl.col(time_name), *_as_float64(polars_schema, columns)]).collect()
    except CONTROL:
        raise
    except BaseException as error:  # the footer was fine: the data pages are broken (a panic)
        raise UnreadableData(error) from error
    time, timezone = frame.to_series(0), time_type.time_zone
    if timezone is not None:
        time = time.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    scan = Scan(names, refusal, _check_rows(path, time.to_numpy()), timezone)
    if not columns:
        return scan, np.empty((frame.height, 0), dtype=np.float64)
    # an eager frame of the data columns (drop() would plan and run a lazy query)
    return scan, pl.DataFrame(frame.get_columns()[1:]).to_numpy(order="c")


def _schema(lazy: pl.LazyFrame) -> Mapping[str, pl.DataType]:
    """The name and dtype of every column of a scan.

    polars' public ``collect_schema`` wraps the mapping in a ``Schema`` that checks every
    entry in Python: about 1 ms for an export of 2,800 columns, a tenth of reading one. The
    mapping underneath is the same; the public call is the fallback.
    """
    inner = getattr(lazy, "_ldf", None)
    if inner is not None and callable(getattr(inner, "collect_schema", None)):
        found = inner.collect_schema()
        if isinstance(found, Mapping):
            return found
    return lazy.collect_schema()


def _as_float64(polars_schema: Any, columns: Sequence[str]) -> list[Any]:
    """Expressions that read ``columns`` as float64; decimals through their text (correctly
    rounded, as the pyarrow engine does)."""
    import polars as pl

    def read(name: str) -> Any:
        dtype = polars_schema[name]
        if dtype == pl.Float64:  # as stored: no expression to build and plan
            return name
        if isinstance(dtype, pl.Decimal):
            return pl.col(name).cast(pl.String).cast(pl.Float64)
        return pl.col(name).cast(pl.Float64)

    return [read(name) for name in columns]


def _polars_matrix(frame: pl.DataFrame) -> np.ndarray:
    """A polars frame's numeric columns as a float64 ``(row, column)`` matrix, nulls NaN."""
    import polars as pl

    if frame.width == 0:
        return np.empty((frame.height, 0), dtype=np.float64)
    # decimals through their text, as the pyarrow engine does: correctly rounded
    as_float = [
        pl.col(name).cast(pl.String) if isinstance(dtype, pl.Decimal) else pl.col(name)
        for name, dtype in frame.schema.items()
    ]
    return frame.select(expr.cast(pl.Float64) for expr in as_float).to_numpy(order="c")


ENGINES = {
    "pyarrow": Engine("pyarrow", _pyarrow_scan, _pyarrow_read, _pyarrow_load),
    "polars": Engine("polars", _polars_scan, _polars_read, _polars_load),
}


def get_engine(name: str = "auto") -> Engine:
    """The parquet engine called ``name``; ``"auto"`` is polars when installed, else pyarrow."""
    if name == "auto":
        name = "polars" if importlib.util.find_spec("polars") else "pyarrow"
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; choose from 'auto', {list(ENGINES)}")
    if importlib.util.find_spec(name) is None:
        raise ValueError(f"engine {name!r} is not installed: pip install 'bessx[{name}]'")
    return ENGINES[name]
