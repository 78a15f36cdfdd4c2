"""Readers and writers: parquet exports in, netCDF archives in and out, output folders."""

from __future__ import annotations

from bessx.io.exports import ExportWarning, open_exports

__all__ = ["ExportWarning", "open_exports"]
