"""The ``Dataset.bess`` accessor: one-line forwards to bessx's public functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import xarray as xr

from bessx.energy import daily_energy
from bessx.health import health
from bessx.io.archive import to_netcdf
from bessx.outliers import outliers
from bessx.plot import heatmap
from bessx.quality import quality
from bessx.tables import lowest, to_frame


def _forward(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``func(ds, ...)`` available as ``ds.bess.func(...)`` with the same docstring."""

    @functools.wraps(func)
    def method(self: BessAccessor, *args: Any, **kwargs: Any) -> Any:
        return func(self._obj, *args, **kwargs)

    return method


@xr.register_dataset_accessor("bess")
class BessAccessor:
    """Battery-storage analysis of a bessx Dataset: ``ds.bess.daily_energy()`` and friends.

    On the history read by :func:`bessx.open_exports`: ``daily_energy``, ``quality``,
    ``health``,
    ``to_netcdf``.
    On the daily energy: ``to_frame``, ``lowest``, ``outliers``, ``heatmap``, ``to_netcdf``.
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    daily_energy = _forward(daily_energy)
    to_frame = _forward(to_frame)
    lowest = _forward(lowest)
    outliers = _forward(outliers)
    quality = _forward(quality)
    heatmap = _forward(heatmap)
    to_netcdf = _forward(to_netcdf)
    health = _forward(health)
