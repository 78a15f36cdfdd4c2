"""Readers and writers: parquet exports in, netCDF archives in and out, output folders.

``open_exports`` and ``ExportWarning`` are imported on first use (:pep:`562`), as in
:mod:`bessx`: importing :mod:`bessx.io.outputs` alone does not import dask and pyarrow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bessx.io.exports import ExportWarning, open_exports

__all__ = ["ExportWarning", "open_exports"]

if not TYPE_CHECKING:  # for type checkers the names are the imports above, not Any

    def __getattr__(name: str) -> Any:
        if name in __all__:
            value = getattr(importlib.import_module(f"{__name__}.exports"), name)
            globals()[name] = value
            return value
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
