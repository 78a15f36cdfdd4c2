"""bessx: xarray-native performance analysis for battery energy storage plants.

Importing bessx registers the ``Dataset.bess`` accessor.

``import bessx`` is quick: the public functions are imported on first use (:pep:`562`), so
that a command that only parses its arguments does not wait for xarray, pandas and dask.
``bessx.daily_energy`` and ``from bessx import daily_energy`` work as usual, and type
checkers see the names through the imports under ``TYPE_CHECKING``. The ``Dataset.bess``
accessor is registered at once if xarray is already imported, else as soon as it is.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any, Final

from bessx._postimport import when_imported
from bessx.errors import BessxError, ConfigError, ExportError

__version__ = "0.1.0"

if TYPE_CHECKING:
    from bessx.availability import availability
    from bessx.energy import daily_energy
    from bessx.health import health
    from bessx.io.archive import open_daily, open_history, to_netcdf
    from bessx.io.exports import ExportWarning, open_exports
    from bessx.onepass import daily_from_exports, health_from_exports
    from bessx.outliers import outliers
    from bessx.plot import heatmap
    from bessx.quality import QualitySettings, quality, quality_table
    from bessx.tables import lowest, to_frame

__all__ = [
    "BessxError",
    "ConfigError",
    "ExportError",
    "ExportWarning",
    "QualitySettings",
    "__version__",
    "availability",
    "daily_energy",
    "daily_from_exports",
    "health",
    "health_from_exports",
    "heatmap",
    "lowest",
    "open_daily",
    "open_exports",
    "open_history",
    "outliers",
    "quality",
    "quality_table",
    "to_frame",
    "to_netcdf",
]

#: The public names imported on first use, and the module defining each (the imports under
#: ``TYPE_CHECKING`` above name the same; a test checks that they agree).
_LAZY: Final = {
    "ExportWarning": "bessx.io.exports",
    "QualitySettings": "bessx.quality",
    "availability": "bessx.availability",
    "daily_energy": "bessx.energy",
    "daily_from_exports": "bessx.onepass",
    "health_from_exports": "bessx.onepass",
    "health": "bessx.health",
    "heatmap": "bessx.plot",
    "lowest": "bessx.tables",
    "open_daily": "bessx.io.archive",
    "open_exports": "bessx.io.exports",
    "open_history": "bessx.io.archive",
    "outliers": "bessx.outliers",
    "quality": "bessx.quality",
    "quality_table": "bessx.quality",
    "to_frame": "bessx.tables",
    "to_netcdf": "bessx.io.archive",
}
#: Functions named like the submodule defining them: ``bessx.outliers`` is the function.
_NAMED_LIKE_THEIR_MODULE: Final = frozenset(
    name for name, module in _LAZY.items() if module == f"{__name__}.{name}"
)


def _load(name: str) -> Any:
    """Import the public ``name`` and keep it in the namespace, so the next look-up is direct."""
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """bessx's module type: importing ``bessx.outliers`` does not hide the function ``outliers``.

    The import system sets each submodule as an attribute of its package once it is loaded;
    without this, importing the submodule (as :mod:`bessx.plot` does) would replace the
    function ``bessx.outliers`` by the module, as the names are no longer imported here.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _NAMED_LIKE_THEIR_MODULE and value is sys.modules.get(f"{__name__}.{name}"):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

if not TYPE_CHECKING:  # for type checkers the names are the imports above, not Any

    def __getattr__(name: str) -> Any:
        if name in _LAZY:
            return _load(name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def _register_accessor(xarray: types.ModuleType) -> None:
    """Register ``Dataset.bess`` (importing :mod:`bessx.accessor` registers it)."""
    importlib.import_module(f"{__name__}.accessor")


when_imported("xarray", _register_accessor)
