"""bessx: xarray-native performance analysis for battery energy storage plants.

Importing bessx registers the ``Dataset.bess`` accessor.
"""

from __future__ import annotations

__version__ = "0.1.0"

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx.energy import daily_energy
from bessx.errors import BessxError, ConfigError, ExportError
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
