"""Plausibility rules: samples that cannot be physical never reach a result.

A SCADA export can hold values no battery can produce: an infinite power, a 1e9 kW spike
from a flipped bit, an unsigned integer read as 2**63, a state of charge of 1e9 %. Such a
sample is **implausible**. bessx treats it as missing (it contributes no energy, no
allocation share and no coverage), and counts and reports it as a data-quality flag
(:func:`bessx.quality`), so that it is never silently dropped either.

The rules are kept as data in :data:`RULES`, each with its variable, the quality flag it
raises, its threshold and a description; :func:`implausible` applies them. Timestamps have
rules of their own, applied by the reader when it opens the exports (an export whose times
do not fit its file name or lie far from the rest of the history is refused).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from bessx.thresholds import DEFAULT_DC_POWER_LIMIT_KW, DEFAULT_PLANT_POWER_LIMIT_KW

__all__ = [
    "DEFAULT_DC_POWER_LIMIT_KW",
    "DEFAULT_PLANT_POWER_LIMIT_KW",
    "RULES",
    "Limits",
    "Rule",
    "all_plausible",
    "implausible",
    "masked",
]


@dataclass(frozen=True)
class Limits:
    """Physical limits of the plant's signals (the site setting ``dc_power_limit_kw``).

    Attributes
    ----------
    dc_power_limit_kw
        Largest plausible ``|dc_power|`` of one DC input [kW], > 0.
    plant_power_limit_kw
        Largest plausible ``|plant_power|`` at the plant meter [kW], > 0.

    Examples
    --------
    >>> Limits().dc_power_limit_kw
    5000.0
    >>> Limits(dc_power_limit_kw=-1)
    Traceback (most recent call last):
    ...
    ValueError: dc_power_limit_kw must be a positive finite number of kW, not -1
    """

    dc_power_limit_kw: float = DEFAULT_DC_POWER_LIMIT_KW
    plant_power_limit_kw: float = DEFAULT_PLANT_POWER_LIMIT_KW

    def __post_init__(self) -> None:
        for name in ("dc_power_limit_kw", "plant_power_limit_kw"):
            limit = getattr(self, name)
            if isinstance(limit, bool) or not isinstance(limit, int | float):
                raise ValueError(f"{name} must be a number of kW, not {limit!r}")
            if not (math.isfinite(limit) and limit > 0):
                raise ValueError(f"{name} must be a positive finite number of kW, not {limit}")
            object.__setattr__(self, name, float(limit))


class Rule(NamedTuple):
    """One plausibility rule: which samples of a variable cannot be physical."""

    #: the Dataset variable it checks
    variable: str
    #: the quality flag an implausible sample raises (see :data:`bessx.kernels.flags.FLAGS`)
    flag: str
    #: the threshold, in words, with units
    threshold: str
    description: str
    #: ``(values, limits) -> bool array``: True where a sample is implausible. ``values``
    #: may hold NaN (missing, never implausible).
    test: Callable[[np.ndarray, Limits], np.ndarray]


def _infinite(values: np.ndarray, limits: Limits) -> np.ndarray:
    return np.isinf(values)


def _power_beyond_limit(values: np.ndarray, limits: Limits) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) > limits.dc_power_limit_kw)


def _plant_power_beyond_limit(values: np.ndarray, limits: Limits) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & (np.abs(values) > limits.plant_power_limit_kw)


def _soc_outside_range(values: np.ndarray, limits: Limits) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(values) & ((values < 0.0) | (values > 100.0))


#: The plausibility rules by name.
RULES: Mapping[str, Rule] = {
    "dc_power_non_finite": Rule(
        "dc_power",
        "non_finite",
        "+inf or -inf",
        "an infinite DC input power",
        _infinite,
    ),
    "dc_power_limit": Rule(
        "dc_power",
        "out_of_range",
        "|P| > dc_power_limit_kw (default 5,000 kW)",
        "a DC input power beyond what one DC input can carry",
        _power_beyond_limit,
    ),
    "soc_non_finite": Rule(
        "soc",
        "non_finite",
        "+inf or -inf",
        "an infinite state of charge",
        _infinite,
    ),
    "soc_range": Rule(
        "soc",
        "out_of_range",
        "SOC < 0 % or SOC > 100 %",
        "a state of charge outside 0-100 %",
        _soc_outside_range,
    ),
    "plant_power_non_finite": Rule(
        "plant_power",
        "non_finite",
        "+inf or -inf",
        "an infinite plant meter power",
        _infinite,
    ),
    "plant_power_limit": Rule(
        "plant_power",
        "out_of_range",
        "|P| > plant_power_limit_kw (default 1,000,000 kW)",
        "a plant meter power beyond any battery plant",
        _plant_power_beyond_limit,
    ),
}


#: The closed range of plausible values of each variable: a sample outside it (or
#: infinite) breaks a rule of :data:`RULES`, a sample inside breaks none.
PLAUSIBLE_RANGE: Mapping[str, Callable[[Limits], tuple[float, float]]] = {
    "dc_power": lambda limits: (-limits.dc_power_limit_kw, limits.dc_power_limit_kw),
    "soc": lambda limits: (0.0, 100.0),
    "plant_power": lambda limits: (-limits.plant_power_limit_kw, limits.plant_power_limit_kw),
}


def all_plausible(values: np.ndarray, variable: str, limits: Limits) -> bool:
    """Whether every sample of ``values`` lies in ``variable``'s plausible range.

    Two fast reductions; NaN is ignored, except that an all-NaN array is not called
    plausible (it takes the slow path of :func:`implausible`). A variable without a range
    (and an empty array) is plausible throughout. ``values`` is in the variable's unit
    (DC power [kW], SOC [%], plant power [kW]).
    """
    if variable not in PLAUSIBLE_RANGE or values.size == 0:
        return variable not in PLAUSIBLE_RANGE or values.size == 0
    low, high = PLAUSIBLE_RANGE[variable](limits)
    # fmin/fmax skip NaN; an all-NaN array gives NaN and takes the slow path
    return bool(np.fmin.reduce(values, axis=None) >= low) and bool(
        np.fmax.reduce(values, axis=None) <= high
    )


def implausible(
    values: np.ndarray, variable: str, limits: Limits = Limits(), *, flag: str | None = None
) -> np.ndarray:
    """Where samples of ``variable`` break a plausibility rule.

    Parameters
    ----------
    values : numpy.ndarray
        Samples of ``variable`` (any shape); NaN marks a missing sample, never implausible.
    variable : str
        ``"dc_power"`` [kW], ``"soc"`` [%] or ``"plant_power"`` [kW]; other variables have
        no sample rules.
    limits : Limits
        The plant's physical limits.
    flag : str, optional
        Apply only the rules that raise this quality flag (``"non_finite"`` or
        ``"out_of_range"``).

    Returns
    -------
    numpy.ndarray
        Boolean, the shape of ``values``.

    Examples
    --------
    >>> implausible(np.array([1500.0, np.inf, -1e7, np.nan]), "dc_power")
    array([False,  True,  True, False])
    >>> implausible(np.array([50.0, 100.5, -0.1]), "soc")
    array([False,  True,  True])
    """
    values = np.asarray(values)
    result = np.zeros(values.shape, dtype=bool)
    if all_plausible(values, variable, limits):
        return result
    for rule in RULES.values():
        if rule.variable == variable and (flag is None or rule.flag == flag):
            result |= rule.test(values, limits)
    return result


def masked(values: np.ndarray, variable: str, limits: Limits = Limits()) -> np.ndarray:
    """``values`` as floats with implausible samples replaced by NaN.

    The input is never modified; it is returned as it is when every sample is plausible
    and already a float array.

    Examples
    --------
    >>> masked(np.array([10.0, np.inf, 2.0**63]), "dc_power")
    array([10., nan, nan])
    """
    values = np.asarray(values)
    dtype = np.result_type(values.dtype, np.float32)
    if all_plausible(values, variable, limits):
        return values.astype(dtype, copy=False)
    bad = implausible(values, variable, limits)
    if not bad.any():
        return values.astype(dtype, copy=False)
    return np.where(bad, np.nan, values).astype(dtype, copy=False)
