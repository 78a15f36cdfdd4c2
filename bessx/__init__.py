"""bessx: xarray-native performance analysis for battery energy storage plants."""

from __future__ import annotations

__version__ = "0.1.0"

from bessx.errors import BessxError, ConfigError, ExportError
from bessx.io.exports import ExportWarning, open_exports

__all__ = [
    "BessxError",
    "ConfigError",
    "ExportError",
    "ExportWarning",
    "__version__",
    "open_exports",
]
