"""What one ``bessx run`` computed: :class:`Results`, the input of every output writer.

:func:`bessx.pipeline.run` makes it; the tables, figures, summary and report read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd
    import xarray as xr

    from bessx.synthetic import SyntheticPlant

__all__ = [
    "Results",
]


@dataclass(frozen=True)
class Results:
    """What one run computed: the daily energy and everything derived from it.

    Attributes
    ----------
    daily
        :func:`bessx.daily_energy` of the exports, computed.
    lowest_charged, lowest_discharged
        :func:`bessx.lowest` by ``"charged"`` and ``"discharged"``,
        :data:`~bessx.pipeline.LOWEST_N` per day.
    outliers
        :func:`bessx.outliers` with the site's ``[outliers]`` settings.
    quality
        :func:`bessx.quality_table` of the data-quality flags.
    source
        What was read: ``data``, ``files`` (the names used), ``rows``, ``interval``,
        ``topology`` and ``config`` when given, ``skipped`` (names left out).
    warnings
        The problems met while reading, one line each, skipped files included.
    health
        :func:`bessx.health` of the exports, computed (from the same one pass over the
        exports as the daily energy); None when no health output was asked. With it,
        ``usable_capacity_low`` and ``usable_capacity_high``: the 95 % interval of
        :func:`bessx.guarantees.usable_capacity_interval`.
    cached
        With a cache: how many exports were read and how many summaries came from the
        cache instead; None without a cache. (Not in any output: a re-run's outputs are
        the same bytes as the first run's.)
    availability
        :func:`bessx.availability` of the exports per DC input and local day (from the same
        one pass); None when neither the ``availability`` output nor an availability
        guarantee asks for it.
    guarantees
        :func:`bessx.guarantees.guarantee_table` of the site's ``[guarantees]``; None
        without them.
    injected
        The synthetic plant the exports are, when the run is ``bessx demo``'s: its
        ``summary.md`` then opens with the injected faults and where the results show them.
        None for real exports.
    """

    daily: xr.Dataset
    lowest_charged: pd.DataFrame
    lowest_discharged: pd.DataFrame
    outliers: pd.DataFrame
    quality: pd.DataFrame
    source: dict[str, Any]
    warnings: list[str]
    health: xr.Dataset | None = None
    cached: tuple[int, int] | None = None
    availability: xr.Dataset | None = None
    guarantees: pd.DataFrame | None = None
    injected: SyntheticPlant | None = None
