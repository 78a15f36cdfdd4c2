"""The ``Dataset.bess`` accessor: one-line forwards to bessx's public functions.

Importing this module registers the accessor; it imports xarray and nothing else of bessx, so
that registering costs nothing once xarray is imported (``import bessx`` registers it as soon
as xarray is, see :mod:`bessx._postimport`). Each function is imported on first use.
"""

from __future__ import annotations

import functools
import importlib
import types
from collections.abc import Callable
from typing import Any

import xarray as xr


class _Forward:
    """``ds.bess.name(...)`` is ``module.name(ds, ...)``, with the function's docstring.

    The function's module is imported when the method is first looked up, on an accessor or
    on the class (``help``, Sphinx): this is what lets xarray's import register the accessor
    without importing dask, pandas or matplotlib. The wrapper is kept on the class, never on an
    accessor.
    """

    __slots__ = ("_method", "_module", "_name")

    def __init__(self, module: str, name: str) -> None:
        self._module = module
        self._name = name
        self._method: Callable[..., Any] | None = None

    def _forwarding(self) -> Callable[..., Any]:
        if self._method is None:
            func = getattr(importlib.import_module(self._module), self._name)

            @functools.wraps(func)
            def method(accessor: BessAccessor, *args: Any, **kwargs: Any) -> Any:
                return func(accessor._obj, *args, **kwargs)

            self._method = method
        return self._method

    def __get__(self, accessor: BessAccessor | None, owner: type | None = None) -> Any:
        method = self._forwarding()
        return method if accessor is None else types.MethodType(method, accessor)


class BessAccessor:
    """Battery-storage analysis of a bessx Dataset: ``ds.bess.daily_energy()`` and friends.

    On the history read by :func:`bessx.open_exports`: ``daily_energy``, ``quality``,
    ``health``, ``availability``,
    ``to_netcdf``.
    On the daily energy: ``to_frame``, ``lowest``, ``outliers``, ``heatmap``, ``to_netcdf``.
    """

    __slots__ = ("_obj",)

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    daily_energy = _Forward("bessx.energy", "daily_energy")
    to_frame = _Forward("bessx.tables", "to_frame")
    lowest = _Forward("bessx.tables", "lowest")
    outliers = _Forward("bessx.outliers", "outliers")
    quality = _Forward("bessx.quality", "quality")
    heatmap = _Forward("bessx.plot", "heatmap")
    to_netcdf = _Forward("bessx.io.archive", "to_netcdf")
    health = _Forward("bessx.health", "health")
    availability = _Forward("bessx.availability", "availability")


def _register() -> None:
    """Register :class:`BessAccessor` as ``Dataset.bess``.

    After :func:`importlib.reload` of this module the new class replaces the old one
    silently; another package's ``bess`` accessor is replaced with xarray's warning.
    """
    registered = getattr(xr.Dataset, "bess", None)
    if getattr(registered, "__module__", None) == __name__:
        delattr(xr.Dataset, "bess")
    xr.register_dataset_accessor("bess")(BessAccessor)


_register()
