"""The thresholds a site file sets, importable without numpy, pandas or xarray.

A site file is read and checked (:mod:`bessx.config`) before anything is computed, and a
re-run that finds its outputs up to date (:mod:`bessx.io.freshness`) computes nothing at
all: neither should wait for the numerical stack. The values and the settings class live
here and are imported under their usual names too:
``bessx.kernels.plausibility.DEFAULT_DC_POWER_LIMIT_KW``,
``bessx.quality.EXCLUDABLE``, ``bessx.quality.QualitySettings`` (:class:`bessx.QualitySettings`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

__all__ = [
    "DEFAULT_DC_POWER_LIMIT_KW",
    "DEFAULT_PLANT_POWER_LIMIT_KW",
    "EXCLUDABLE",
    "QualitySettings",
]

#: Largest plausible magnitude of one DC input's power [kW]. Real DC inputs reach about
#: 1,000-1,800 kW; 5,000 kW leaves room for any inverter of this class and none for a
#: corrupt value.
DEFAULT_DC_POWER_LIMIT_KW = 5000.0
#: Largest plausible magnitude of the plant meter's power [kW]: 1 GW, beyond any battery
#: plant metered at one point, and far below a corrupt value (a 1e9 kW spike, 2**63).
DEFAULT_PLANT_POWER_LIMIT_KW = 1_000_000.0
#: Flags whose power samples :func:`bessx.daily_energy` can be asked to exclude as well.
EXCLUDABLE = ("stuck", "dead", "sign_anomaly")


def _positive(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number, not {value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, not {value}")
    return float(value)


@dataclass(frozen=True)
class QualitySettings:
    """Thresholds of the data-quality flags (the ``[quality]`` table of a site file).

    Attributes
    ----------
    moving_kw
        The fleet moves when ``|median DC input power|`` exceeds this [kW].
    dead_kw
        A DC input is dead when ``|P|`` is at most this while the fleet moves [kW].
    stuck_minutes
        Shortest run of one repeated value that counts as stuck [min].
    dead_minutes
        Shortest run of dead samples that counts [min].
    sign_minutes
        Shortest run of samples opposite to the fleet that counts [min].

    Examples
    --------
    >>> QualitySettings().stuck_minutes
    30.0
    >>> QualitySettings(dead_kw=0)
    Traceback (most recent call last):
    ...
    ValueError: dead_kw must be a positive finite number, not 0
    """

    moving_kw: float = 50.0
    dead_kw: float = 1.0
    stuck_minutes: float = 30.0
    dead_minutes: float = 15.0
    sign_minutes: float = 15.0

    def __post_init__(self) -> None:
        for item in fields(self):
            object.__setattr__(self, item.name, _positive(item.name, getattr(self, item.name)))

    def samples(self, minutes: float, interval_seconds: float) -> int:
        """The number of samples of ``interval_seconds`` that last ``minutes`` (at least 2)."""
        return max(2, math.ceil(minutes * 60.0 / interval_seconds - 1e-9))
