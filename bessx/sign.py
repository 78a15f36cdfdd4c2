"""The physics of the power's sign: a DC input cannot give back more than it took in.

bessx reads a DC input's power as positive while discharging. A site that logs charge as
positive (or one DC input whose sign is flipped in the SCADA) swaps charged and discharged
without any single sample being implausible. Over a history the battery's energy balance
catches it: the energy discharged cannot exceed the energy charged plus what the state of
charge (SOC) released,

.. math:: \\eta = \\frac{E^{dis} + U \\, \\Delta \\bar s / 100}{E^{ch}} \\le 1,

summed over the complete days of the history (every sample valid, no gap), with
:math:`\\Delta \\bar s` the change of the DC input's mean SOC over each day [%] and
:math:`U` its capacity, estimated as :math:`U = 100 \\sum E^{dis} / \\sum \\sigma^{\\downarrow}`
over every day (:math:`\\sigma^{\\downarrow}` the enclosures' mean downward SOC swing [%]).
That estimate does not depend on the sign: an inverted DC input's "discharged" energy is
its charged energy, about :math:`U / \\eta_{ch}`. A real DC round trip is about 0.90–0.97;
an inverted one reads as its inverse, 1.03–1.11. A DC input whose :math:`\\eta` exceeds
``1 + tolerance`` (:data:`SIGN_TOLERANCE`, 0.02) is flagged ``sign_inverted``; a DC input
without charged energy on complete days or without SOC swing (dead, idle, no SOC) is
undecided and never flagged.

The evidence of each DC input (:func:`sign_check`) is the round trip it implies, its
energies and SOC change, and its discharge segments with falling SOC (a correct sign gives
some on any cycling day; an inverted one none): the figures of
:func:`bessx.health.daily_health`'s per-day partials, so the check costs no extra read.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema

__all__ = ["SIGN_TOLERANCE", "SignWarning", "sign_check", "sign_message"]

#: How far beyond 1 a DC round trip may lie before the power's sign is called inverted [1].
SIGN_TOLERANCE: Final = 0.02
#: The quality flag of a DC input whose power sign is inverted.
SIGN_FLAG: Final = "sign_inverted"
#: What the flag means (in ``summary.md``'s flag table).
SIGN_DESCRIPTION: Final = (
    "discharged more than charged plus the SOC change allows: the power's sign is inverted "
    "(energies not trusted, health unknown)"
)


class SignWarning(UserWarning):
    """DC inputs whose power sign contradicts their state of charge."""


def sign_check(partials: xr.DataArray, *, tolerance: float = SIGN_TOLERANCE) -> pd.DataFrame:
    """The sign's evidence per DC input over the history (see the module docstring).

    Parameters
    ----------
    partials
        :func:`bessx.health.daily_health`'s per-day partials, ``(quantity, time, inverter,
        dc_input, enclosure)``.
    tolerance
        How far beyond 1 the implied DC round trip may lie [1].

    Returns
    -------
    pandas.DataFrame
        One row per DC input: ``inverter``, ``dc_input``, ``charged`` and ``discharged``
        over the complete days [kWh], ``soc_change`` over them [%], ``capacity`` [kWh],
        ``round_trip`` [1] (NaN when undecided), ``segments`` (discharge segments with
        falling SOC), ``days`` (complete days) and ``inverted`` (bool).
    """
    values = partials.load()

    def part(name: str) -> np.ndarray:
        return values.sel(quantity=name).isel({schema.ENCLOSURE: 0}).values

    with np.errstate(invalid="ignore", divide="ignore"):
        complete = part("complete") == 1
        charged = np.where(complete, part("charged"), 0.0).sum(axis=0)
        discharged = np.where(complete, part("discharged"), 0.0).sum(axis=0)
        soc_change = np.where(complete, part("soc_change"), 0.0).sum(axis=0)
        swing = values.sel(quantity="soc_swing").values
        enclosures = np.isfinite(swing).any(axis=0)  # the enclosures each DC input uses
        down = np.where(enclosures, np.nan_to_num(swing), 0.0).sum(axis=-1)
        down = (down / np.maximum(enclosures.sum(axis=-1), 1)).sum(axis=0)
        all_discharged = np.nansum(part("discharged"), axis=0)
        capacity = np.where(down > 0, 100.0 * all_discharged / down, np.nan)
        decided = (charged > 0) & np.isfinite(capacity) & (capacity > 0)
        round_trip = np.where(
            decided, (discharged + capacity * soc_change / 100.0) / charged, np.nan
        )
    segments = np.nansum(part("segments"), axis=0)
    inverters = values[schema.INVERTER].values
    dc_inputs = values[schema.DC_INPUT].values
    grid = np.meshgrid(np.arange(len(inverters)), np.arange(len(dc_inputs)), indexing="ij")
    return pd.DataFrame(
        {
            "inverter": inverters[grid[0].ravel()],
            "dc_input": dc_inputs[grid[1].ravel()],
            "charged": charged.ravel(),
            "discharged": discharged.ravel(),
            "soc_change": soc_change.ravel(),
            "capacity": capacity.ravel(),
            "round_trip": round_trip.ravel(),
            "segments": segments.ravel().astype(int),
            "days": complete.sum(axis=0).ravel().astype(int),
            "inverted": (np.nan_to_num(round_trip, nan=0.0) > 1.0 + tolerance).ravel(),
        }
    )


def evidence(row: pd.Series) -> str:
    """One DC input's evidence, in words (``quality.csv``'s detail)."""
    return (
        f"DC round trip {row.round_trip:.3f} > 1 over {row.days} complete day(s): discharged "
        f"{row.discharged:,.0f} kWh, charged {row.charged:,.0f} kWh, SOC change "
        f"{row.soc_change:+.1f} % of {row.capacity:,.0f} kWh; {row.segments} discharge "
        "segment(s) with falling SOC"
    )


def sign_message(table: pd.DataFrame) -> str | None:
    """The warning for the DC inputs flagged in ``table`` (None if none is)."""
    flagged = table[table["inverted"]]
    if flagged.empty:
        return None
    decided = int(np.isfinite(table["round_trip"]).sum())
    names = ", ".join(f"{row.inverter} DC{row.dc_input}" for row in flagged.itertuples())
    worst = float(flagged["round_trip"].min())
    text = (
        f"power sign inverted at {len(flagged)} of {decided} DC input(s) ({names}): each "
        f"discharged more than it charged plus its SOC change allows (DC round trip >= "
        f"{worst:.3f}, > 1 + {SIGN_TOLERANCE}); their energies are not trusted and their "
        "health is unknown (see quality.csv, flag sign_inverted). "
    )
    if len(flagged) == decided:
        return text + (
            "The whole plant reads inverted: if the site logs charge as positive, set "
            'power_sign = "charge_positive" in the site file.'
        )
    return text + (
        "power_sign applies to the whole plant and cannot fix single DC inputs: check "
        "their SCADA mapping."
    )


def sign_rows(table: pd.DataFrame, date: np.datetime64) -> pd.DataFrame:
    """``quality.csv`` rows for the flagged DC inputs, dated ``date`` (the history's first
    day: the rule is decided over the whole history)."""
    flagged = table[table["inverted"]]
    return pd.DataFrame(
        {
            "date": np.full(len(flagged), date, dtype="datetime64[ns]"),
            "inverter": flagged["inverter"].to_numpy(),
            "dc_input": flagged["dc_input"].to_numpy(),
            "enclosure_id": "",
            "flag": SIGN_FLAG,
            "samples": 0,
            "detail": [evidence(row) for _, row in flagged.iterrows()],
        }
    )


def untrusted(partials: xr.DataArray, table: pd.DataFrame) -> xr.DataArray:
    """The partials with the flagged DC inputs' set to NaN: their health is unknown."""
    flagged = table[table["inverted"]]
    if flagged.empty:
        return partials
    inverters = list(partials[schema.INVERTER].values)
    dc_inputs = list(partials[schema.DC_INPUT].values)
    mask = np.zeros((len(inverters), len(dc_inputs)), dtype=bool)
    for row in flagged.itertuples():
        mask[inverters.index(row.inverter), dc_inputs.index(row.dc_input)] = True
    keep = xr.DataArray(
        ~mask,
        dims=(schema.INVERTER, schema.DC_INPUT),
        coords={schema.INVERTER: inverters, schema.DC_INPUT: dc_inputs},
    )
    return partials.where(keep)
