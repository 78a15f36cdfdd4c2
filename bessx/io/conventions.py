"""How a site's exports write power: its sign and its unit, turned into bessx's own.

bessx computes in kW with discharging positive (:mod:`bessx.schema`). Other historians log
charging as positive, or power in W or MW. The two settings below say so; the reader
converts the DC input power, the plant meter's power and the setpoint as soon as they are
read, before any plausibility rule, flag, energy or health formula sees them, so the limits
of :mod:`bessx.kernels.plausibility` stay in kW and every result is the same as for exports written
in kW, discharge positive.

``power_sign``
    ``"discharge_positive"`` (the default, as the reference plant) or ``"charge_positive"``
    (the values are negated).
``power_unit``
    ``"kW"`` (the default), ``"W"`` (divided by 1000) or ``"MW"`` (multiplied by 1000).
    Both conversions are exact to the last bit where the value in kW is representable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:  # numpy is imported where power is converted: the settings need it not
    import numpy as np

__all__ = [
    "POWER_SIGNS",
    "POWER_UNITS",
    "POWER_VARIABLES",
    "check_power_convention",
    "convention_attrs",
    "power_in_kw",
]

#: The sign conventions of the exports' power, bessx's own first.
POWER_SIGNS: Final = ("discharge_positive", "charge_positive")
#: The units of the exports' power, bessx's own first.
POWER_UNITS: Final = ("kW", "W", "MW")
#: The variables the conventions apply to: every power of the exports.
POWER_VARIABLES: Final = ("dc_power", "plant_power", "setpoint")


def check_power_convention(power_sign: str, power_unit: str) -> None:
    """Refuse a sign or unit that is not one of the named choices.

    Raises
    ------
    ValueError
        Naming the setting and the valid choices.
    """
    if power_sign not in POWER_SIGNS:
        raise ValueError(
            f"power_sign must be one of {', '.join(map(repr, POWER_SIGNS))}, not {power_sign!r}"
        )
    if power_unit not in POWER_UNITS:
        raise ValueError(
            f"power_unit must be one of {', '.join(map(repr, POWER_UNITS))}, not {power_unit!r}"
        )


def convention_attrs(power_sign: str, power_unit: str) -> dict[str, str]:
    """The attrs that record how the exports wrote power (the values are kW, discharge
    positive whatever they say)."""
    return {"export_power_sign": power_sign, "export_power_unit": power_unit}


def is_native(power_sign: str, power_unit: str) -> bool:
    """Whether the exports already write kW, discharge positive (nothing to convert)."""
    return power_sign == POWER_SIGNS[0] and power_unit == "kW"


def power_in_kw(values: np.ndarray, power_sign: str, power_unit: str) -> np.ndarray:
    """Power as the exports write it -> kW, discharging positive.

    Parameters
    ----------
    values
        Power in ``power_unit`` with the sign ``power_sign`` (any shape); not modified.
    power_sign, power_unit
        See the module docstring.

    Returns
    -------
    numpy.ndarray
        A new float64 array [kW] (``values`` itself when nothing is to convert). W are
        divided by 1000 rather than multiplied by 0.001, so 1500 W is exactly 1.5 kW.

    Examples
    --------
    >>> import numpy as np
    >>> power_in_kw(np.array([1500.0, -250.0]), "charge_positive", "W")
    array([-1.5 ,  0.25])
    >>> power_in_kw(np.array([0.2]), "discharge_positive", "MW")
    array([200.])
    """
    import numpy as np

    if is_native(power_sign, power_unit):
        return values
    if power_unit == "W":
        converted = np.divide(values, 1000.0)
    elif power_unit == "MW":
        converted = np.multiply(values, 1000.0)
    else:
        converted = np.array(values, dtype=np.float64)
    if power_sign == "charge_positive":
        np.negative(converted, out=converted)
    return converted
