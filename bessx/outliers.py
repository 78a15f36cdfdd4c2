"""Enclosures that persistently underperform their peers.

Each day every enclosure is compared with the whole fleet of enclosures on that day, by
robust statistics (median and MAD), so that plant-wide variation (an idle day, a day with
two cycles) cancels out. An enclosure is flagged when it falls short on enough days, and
the shortfall is classified as a dead DC input, a weak DC input (when the allocation cannot
tell its enclosures apart) or a weak enclosure; days without enough
data are reported apart, never as underperformance. The method is described in
``docs/outliers.md`` and in the Notes of :func:`outliers`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from bessx.tables import (
    check_daily,
    check_energy_name,
    enclosure_layout,
    enclosure_matrix,
    iso_dates,
)

__all__ = ["DC_INPUT_KINDS", "KINDS", "PeerComparison", "compare_with_fleet", "outliers"]

#: Kinds of findings, from the most to the least severe.
KINDS = ("dead_dc_input", "weak_dc_input", "weak_enclosure", "low_coverage")
#: Kinds that belong to a whole DC input: reported once per DC input, not per enclosure.
DC_INPUT_KINDS = ("dead_dc_input", "weak_dc_input")

#: Scale of the median absolute deviation to the standard deviation of a normal law.
MAD_SCALE = 1.4826
#: Fewer valid enclosures than this on a day: no meaningful fleet, the day is skipped.
MIN_PEERS = 5
#: Defaults of :func:`outliers`, shared with :func:`bessx.plot.heatmap`.
DEFAULT_MIN_COVERAGE = 0.95
DEFAULT_IDLE_FRACTION = 0.1
#: Days on which fewer than this fraction of the enclosures have data are plant-wide gaps.
PLANT_GAP_FRACTION = 0.5

OUTLIER_COLUMNS = (
    "enclosure_id",
    "enclosures",
    "inverter",
    "dc_input",
    "kind",
    "scope",
    "days_flagged",
    "days_valid",
    "days_low_coverage",
    "median_shortfall_pct",
    "shortfall_kwh",
    "first_date",
    "last_date",
    "note",
)


@dataclass(frozen=True)
class PeerComparison:
    """Day-by-day comparison of each enclosure with the fleet (output of the kernel).

    Arrays are (day,) or (day, enclosure).

    Attributes
    ----------
    fleet
        Fleet median energy per day [kWh]; NaN when the day has too few valid enclosures.
    comparable
        Days on which enclosures are compared: enough peers and a fleet that is not idle.
    plant_gap
        Days on which most enclosures lack data (a plant-wide gap).
    spread
        Robust spread of the fleet, ``1.4826 * MAD`` of the relative energy [1].
    shortfall
        Relative shortfall ``1 - energy / fleet`` [1]; NaN where not valid.
    valid
        Enclosure-days that count: covered by data on a comparable day.
    short
        Valid enclosure-days below the fleet by more than the threshold.
    dead
        Valid enclosure-days on which every enclosure of the DC input is at ≈0.
    low_coverage
        Enclosure-days without enough data, outside plant-wide gaps.
    """

    fleet: np.ndarray
    comparable: np.ndarray
    plant_gap: np.ndarray
    spread: np.ndarray
    shortfall: np.ndarray
    valid: np.ndarray
    short: np.ndarray
    dead: np.ndarray
    low_coverage: np.ndarray


def compare_with_fleet(
    energy: np.ndarray,
    covered: np.ndarray,
    group: np.ndarray,
    *,
    threshold: float,
    z_min: float,
    dead_level: float,
    idle_fraction: float,
) -> PeerComparison:
    """Compare each enclosure's daily energy with the fleet of that day (numpy kernel).

    Parameters
    ----------
    energy
        Daily energy per enclosure [kWh], shape (day, enclosure).
    covered
        Whether the enclosure-day has enough valid samples, same shape.
    group
        The DC input of each enclosure (integer labels), shape (enclosure,).
    threshold, z_min, dead_level, idle_fraction
        See :func:`outliers`.

    Returns
    -------
    PeerComparison
    """
    covered = covered & np.isfinite(energy)
    values = np.where(covered, energy, np.nan)
    n_units = values.shape[1]
    peers = covered.sum(axis=1)
    enough = peers >= min(MIN_PEERS, max(n_units, 1))
    fleet = np.full(values.shape[0], np.nan)
    if enough.any():
        fleet[enough] = np.nanmedian(values[enough], axis=1)
    active = enough & (fleet > 0)
    typical = np.median(fleet[active]) if active.any() else np.nan
    comparable = active & (fleet >= idle_fraction * typical)
    plant_gap = peers < PLANT_GAP_FRACTION * n_units

    ratio = np.full_like(values, np.nan)
    ratio[comparable] = values[comparable] / fleet[comparable, None]
    spread = np.full(values.shape[0], np.nan)
    if comparable.any():
        spread[comparable] = MAD_SCALE * np.nanmedian(np.abs(ratio[comparable] - 1), axis=1)
    valid = covered & comparable[:, None]
    shortfall = np.where(valid, 1 - ratio, np.nan)
    margin = np.maximum(threshold, z_min * spread)
    short = valid & (np.nan_to_num(shortfall, nan=-np.inf) > margin[:, None])

    near_zero = valid & (ratio <= dead_level)
    one_hot = np.equal.outer(group, np.unique(group))
    group_size = one_hot.sum(axis=0)
    dead_groups = (near_zero.astype(np.int64) @ one_hot) == group_size
    dead = dead_groups[:, np.searchsorted(np.unique(group), group)] & valid
    low_coverage = ~covered & ~plant_gap[:, None]
    return PeerComparison(
        fleet=fleet,
        comparable=comparable,
        plant_gap=plant_gap,
        spread=spread,
        shortfall=shortfall,
        valid=valid,
        short=short,
        dead=dead,
        low_coverage=low_coverage,
    )


def _check_fraction(name: str, value: float, *, upper_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if not (0 <= value < 1 if upper_open else 0 <= value <= 1):
        interval = "[0, 1)" if upper_open else "[0, 1]"
        raise ValueError(f"{name} must be a fraction in {interval}, got {value!r}")
    return value


def _first_true(mask: np.ndarray) -> np.ndarray:
    return np.argmax(mask, axis=0)


def _last_true(mask: np.ndarray) -> np.ndarray:
    return mask.shape[0] - 1 - np.argmax(mask[::-1], axis=0)


def outliers(
    daily: xr.Dataset,
    *,
    by: str = "discharged",
    threshold: float = 0.08,
    z_min: float = 3.0,
    min_days: int = 3,
    min_fraction: float = 0.2,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
    dead_level: float = 0.05,
    idle_fraction: float = DEFAULT_IDLE_FRACTION,
) -> pd.DataFrame:
    """Enclosures that persistently underperform the fleet, classified.

    Parameters
    ----------
    daily
        Daily energy of :func:`bessx.daily_energy`: ``charged``, ``discharged`` [kWh] and
        ``coverage`` [1] on (``time``, ``inverter``, ``dc_input``, ``enclosure``). May be
        dask-backed; the two variables needed are loaded.
    by
        Compare ``"discharged"`` or ``"charged"`` energy.
    threshold
        Smallest relative shortfall below the fleet median that counts as a short day
        [1], e.g. 0.08 = 8 %.
    z_min
        A short day must also lie more than ``z_min`` robust standard deviations of that
        day's fleet below the fleet median [1]: on a scattered day the bar rises.
    min_days
        Flag an enclosure that is short on at least this many days …
    min_fraction
        … and on at least this fraction of its valid days [1].
    min_coverage
        An enclosure-day counts only when its ``coverage`` is at least this [1]; other
        days are reported as low coverage, never as underperformance.
    dead_level
        A DC input is dead on a day when every one of its enclosures delivered at most
        this fraction of the fleet median [1].
    idle_fraction
        Days whose fleet median is below this fraction of the period's typical (median)
        fleet day are idle and not compared: a relative shortfall of almost nothing
        means nothing [1].

    Returns
    -------
    pandas.DataFrame
        One row per finding, columns:

        - ``enclosure_id``: the enclosure of an enclosure finding, ``""`` for a finding
          of a whole DC input (``scope == "dc_input"`` and a kind of
          :data:`DC_INPUT_KINDS`);
        - ``enclosures``: the enclosures concerned, comma-separated (the enclosure
          itself for an enclosure finding);
        - ``inverter``, ``dc_input``;
        - ``kind``: ``"dead_dc_input"`` (the DC input delivered ≈0 on most flagged days
          while the fleet did not), ``"weak_dc_input"`` (a persistent shortfall that is
          not ≈0, under ``allocation="equal"``, which shares a DC input's energy equally
          and so cannot tell its enclosures apart), ``"weak_enclosure"`` (the same
          where the allocation tells enclosures apart, ``"soc"``) or
          ``"low_coverage"`` (not flagged, but some days lacked data);
        - ``scope``: ``"dc_input"`` for the DC input kinds and when every enclosure of
          the DC input has the same finding, else ``"enclosure"``;
        - ``days_flagged``: short days (low-coverage days for ``"low_coverage"``);
        - ``days_valid``: days compared with the fleet;
        - ``days_low_coverage``: days without enough data (plant-wide gaps excluded);
        - ``median_shortfall_pct``: median over the short days of
          ``100 * (fleet median - energy) / fleet median`` [%], per enclosure;
        - ``shortfall_kwh``: energy missing against the fleet median, summed over the
          short days (and over the enclosures of a DC input finding) [kWh];
        - ``first_date``, ``last_date``: first and last flagged (or low-coverage) day,
          ``YYYY-MM-DD``;
        - ``note``: a sentence for the report, saying whether the allocation can tell
          the enclosures of the DC input apart.

        A DC input finding is one row, so that filtering on ``kind`` never sends a
        technician to a healthy enclosure. Sorted by severity: flagged findings by
        ``shortfall_kwh`` (largest first), then low-coverage ones by ``days_flagged``;
        ties keep plant order. Empty (with these columns) for a healthy plant.
        ``DataFrame.attrs`` holds the parameters, the ``allocation`` of the input, and
        the ``idle_days`` and ``plant_gap_days`` that were not compared.

    Notes
    -----
    For enclosure :math:`e` on day :math:`t` with energy :math:`E_{t,e}` (``by``), only
    *valid* enclosure-days count: ``coverage >= min_coverage`` and a finite energy. The
    fleet of day :math:`t` is the set :math:`F_t` of valid enclosures on that day; with

    .. math::

        m_t = \\operatorname{median}_{e \\in F_t} E_{t,e}, \\qquad
        s_{t,e} = 1 - E_{t,e} / m_t, \\qquad
        \\hat\\sigma_t = 1.4826 \\operatorname{median}_{e \\in F_t} |s_{t,e}|,

    day :math:`t` is *short* for :math:`e` when
    :math:`s_{t,e} > \\max(\\text{threshold}, z_{\\min} \\hat\\sigma_t)`. Energies are per
    enclosure, so inverters with 4 and 6 enclosures compare directly; dividing by the day's
    median cancels plant-wide variation (one or two cycles a day). Days with fewer than 5
    valid enclosures, a fleet median of 0, or a median below ``idle_fraction`` of the
    median of all daily fleet medians are not compared.

    A DC input is *dead* on a valid day when all its enclosures have
    :math:`E_{t,e} \\le \\text{dead\\_level}\\; m_t`. An enclosure with :math:`n_v`
    valid days, :math:`n_s` short days and :math:`n_d` dead days is flagged when
    :math:`n_s \\ge \\max(\\text{min\\_days}, \\lceil \\text{min\\_fraction}\\, n_v \\rceil)`
    or :math:`n_d \\ge \\text{min\\_days}` (a dead day is never scatter, so it needs no
    share of the period). It is ``"dead_dc_input"`` when :math:`2 n_d \\ge n_s`, otherwise
    ``"weak_dc_input"`` under ``allocation="equal"`` and ``"weak_enclosure"`` under any
    other allocation. The rows of the enclosures of one DC input with a DC input kind are
    merged into one finding.

    Why the defaults: a healthy enclosure scatters by 3-5 % a day, so 8 % is beyond
    normal scatter yet catches a weak enclosure (70 % of its peers) even after
    ``allocation="equal"`` has spread its 30 % over the 3 enclosures of its DC input
    (a 10 % shortfall each, 15 % on a 2-enclosure DC input). The ``z_min = 3`` guard
    keeps scattered days from producing flags (with 5 % scatter a day needs 15 %), and
    requiring 3 short days and a fifth of the valid days turns rare noise into
    persistence: one bad day in a month is not flagged, a dead DC input on 3 days is.

    Raises
    ------
    ValueError
        An unknown ``by``, or a parameter out of range.

    Examples
    --------
    Three inverters with 4 enclosures each; DC input 1 of ``1APCS2`` is dead on 3 of 4 days:

    >>> import numpy as np, xarray as xr
    >>> dims = ("time", "inverter", "dc_input", "enclosure")
    >>> energy = np.full((4, 3, 2, 2), 2800.0)
    >>> energy[:3, 1, 0] = 0.0
    >>> daily = xr.Dataset(
    ...     {
    ...         "discharged": (dims, energy),
    ...         "charged": (dims, 1.1 * energy),
    ...         "coverage": (dims, np.ones_like(energy)),
    ...     },
    ...     coords={
    ...         "time": np.arange("2024-03-01", "2024-03-05", dtype="datetime64[D]"),
    ...         "inverter": ["1APCS1", "1APCS2", "1APCS3"],
    ...         "dc_input": [1, 2],
    ...         "enclosure": [1, 2],
    ...         "enclosure_id": (
    ...             dims[1:],
    ...             [[[f"1A{i}BAT{2 * d + k}" for k in (1, 2)] for d in (0, 1)] for i in (1, 2, 3)],
    ...         ),
    ...     },
    ... )
    >>> outliers(daily)[["enclosures", "kind", "days_flagged", "first_date", "last_date"]]
             enclosures           kind  days_flagged  first_date   last_date
    0  1A2BAT1, 1A2BAT2  dead_dc_input             3  2024-03-01  2024-03-03
    """
    check_energy_name(by)
    threshold = _check_fraction("threshold", threshold, upper_open=True)
    if threshold <= 0:
        raise ValueError(f"threshold must be a fraction in (0, 1), got {threshold!r}")
    if isinstance(z_min, bool) or not isinstance(z_min, int | float) or z_min < 0:
        raise ValueError(f"z_min must be a non-negative number, got {z_min!r}")
    if isinstance(min_days, bool) or not isinstance(min_days, int | np.integer) or min_days < 1:
        raise ValueError(f"min_days must be a positive integer, got {min_days!r}")
    min_fraction = _check_fraction("min_fraction", min_fraction)
    min_coverage = _check_fraction("min_coverage", min_coverage)
    dead_level = _check_fraction("dead_level", dead_level, upper_open=True)
    idle_fraction = _check_fraction("idle_fraction", idle_fraction, upper_open=True)
    check_daily(daily, (by, "coverage"))

    layout = enclosure_layout(daily)
    loaded = daily[[by, "coverage"]].reset_coords(drop=True).compute()
    energy = enclosure_matrix(loaded, by, layout)
    coverage = enclosure_matrix(loaded, "coverage", layout)
    dates = iso_dates(daily["time"].values)
    group = layout["group"].to_numpy()
    comparison = compare_with_fleet(
        energy,
        np.nan_to_num(coverage, nan=0.0) >= min_coverage,
        group,
        threshold=threshold,
        z_min=float(z_min),
        dead_level=dead_level,
        idle_fraction=idle_fraction,
    )
    table = _findings(
        comparison,
        energy,
        layout,
        dates,
        min_days=int(min_days),
        min_fraction=min_fraction,
        min_coverage=min_coverage,
        allocation=str(daily.attrs.get("allocation", "")),
    )
    table.attrs = {
        "by": by,
        "threshold": threshold,
        "z_min": float(z_min),
        "min_days": int(min_days),
        "min_fraction": min_fraction,
        "min_coverage": min_coverage,
        "dead_level": dead_level,
        "idle_fraction": idle_fraction,
        "allocation": str(daily.attrs.get("allocation", "")),
        "period": (dates[0], dates[-1]) if len(dates) else (),
        "idle_days": list(dates[~comparison.comparable & ~comparison.plant_gap]),
        "plant_gap_days": list(dates[comparison.plant_gap]),
    }
    return table


def _findings(
    comparison: PeerComparison,
    energy: np.ndarray,
    layout: pd.DataFrame,
    dates: np.ndarray,
    *,
    min_days: int,
    min_fraction: float,
    min_coverage: float,
    allocation: str,
) -> pd.DataFrame:
    """Summarise the day-by-day comparison into one row per finding (vectorised)."""
    short, valid, low = comparison.short, comparison.valid, comparison.low_coverage
    days_valid = valid.sum(axis=0)
    days_flagged = short.sum(axis=0)
    days_low = low.sum(axis=0)
    days_dead = (short & comparison.dead).sum(axis=0)
    needed = np.maximum(min_days, np.ceil(min_fraction * days_valid - 1e-9))
    # A dead day is no scatter (≈0 while the fleet is not): it needs no share of the period.
    flagged = (days_flagged > 0) & ((days_flagged >= needed) | (days_dead >= min_days))
    reported = flagged | (days_low > 0)

    # Equal allocation gives every enclosure of a DC input the same energy: a shortfall
    # belongs to the DC input, and naming one enclosure would be a guess.
    weak_kind = "weak_dc_input" if allocation == "equal" else "weak_enclosure"
    kind = np.where(
        flagged,
        np.where(2 * days_dead >= days_flagged, "dead_dc_input", weak_kind),
        "low_coverage",
    ).astype(object)
    median_pct = np.full(energy.shape[1], np.nan)
    if flagged.any():
        median_pct[flagged] = 100 * np.nanmedian(
            np.where(short, comparison.shortfall, np.nan)[:, flagged], axis=0
        )
    missing_kwh = np.where(short, comparison.fleet[:, None] - energy, 0.0).sum(axis=0)
    marks = np.where(flagged, short, low)
    if len(dates):
        first_date, last_date = dates[_first_true(marks)], dates[_last_true(marks)]
    else:
        first_date = last_date = np.full(len(layout), "", dtype=object)

    group = layout["group"].to_numpy()
    n_groups = int(group.max()) + 1 if len(group) else 0
    group_size = np.bincount(group, minlength=n_groups)
    same_kind = np.zeros(len(group), dtype=bool)
    for label in KINDS:
        hits = np.bincount(group, weights=reported & (kind == label), minlength=n_groups)
        same_kind |= (kind == label) & (hits[group] == group_size[group])
    scope = np.where(same_kind | np.isin(kind, DC_INPUT_KINDS), "dc_input", "enclosure")

    per_enclosure = pd.DataFrame(
        {
            "enclosure_id": layout["enclosure_id"].to_numpy(),
            "enclosures": layout["enclosure_id"].to_numpy(),
            "inverter": layout["inverter"].to_numpy(),
            "dc_input": layout["dc_input"].to_numpy(),
            "kind": kind,
            "scope": scope.astype(object),
            "days_flagged": np.where(flagged, days_flagged, days_low).astype(np.int64),
            "days_valid": days_valid.astype(np.int64),
            "days_low_coverage": days_low.astype(np.int64),
            "days_dead": days_dead.astype(np.int64),
            "median_shortfall_pct": median_pct,
            "shortfall_kwh": np.where(flagged, missing_kwh, np.nan),
            "first_date": first_date,
            "last_date": last_date,
            "group_size": group_size[group] if len(group) else np.array([], dtype=np.int64),
            "_group": group,
            "_order": np.arange(len(group)),
        }
    )[reported]
    table = pd.concat(
        [
            per_enclosure[~per_enclosure["kind"].isin(DC_INPUT_KINDS)],
            _per_dc_input(per_enclosure[per_enclosure["kind"].isin(DC_INPUT_KINDS)]),
        ]
    )
    table = table.assign(note=_notes(table, allocation) if len(table) else [])
    table = table.assign(
        _rank=table["kind"].eq("low_coverage").astype(int),
        _severity=-table["shortfall_kwh"].fillna(0.0),
        _days=-table["days_flagged"],
    ).sort_values(["_rank", "_severity", "_days", "_order"], kind="stable")
    table = table[list(OUTLIER_COLUMNS)].reset_index(drop=True)
    return table.astype(
        {
            "enclosure_id": str,
            "enclosures": str,
            "inverter": str,
            "kind": str,
            "scope": str,
            "note": str,
            "first_date": str,
            "last_date": str,
            "dc_input": np.int64,
            "days_flagged": np.int64,
            "days_valid": np.int64,
            "days_low_coverage": np.int64,
            "median_shortfall_pct": np.float64,
            "shortfall_kwh": np.float64,
        }
    )


def _per_dc_input(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per DC input and kind for the findings that belong to a DC input.

    Day counts and the median shortfall are the same for every enclosure of the DC input
    under equal allocation (the largest is kept otherwise), the shortfall energy is the
    DC input's (the sum over its enclosures) and the period spans all of them.
    """
    if rows.empty:
        return rows
    merged = rows.groupby(["_group", "kind"], sort=False).agg(
        enclosures=("enclosures", ", ".join),
        inverter=("inverter", "first"),
        dc_input=("dc_input", "first"),
        days_flagged=("days_flagged", "max"),
        days_valid=("days_valid", "max"),
        days_low_coverage=("days_low_coverage", "max"),
        days_dead=("days_dead", "max"),
        median_shortfall_pct=("median_shortfall_pct", "median"),
        shortfall_kwh=("shortfall_kwh", "sum"),
        first_date=("first_date", "min"),
        last_date=("last_date", "max"),
        group_size=("group_size", "first"),
        _order=("_order", "min"),
    )
    return merged.reset_index().assign(enclosure_id="", scope="dc_input")


def _notes(table: pd.DataFrame, allocation: str) -> np.ndarray:
    """One sentence per finding explaining it (vectorised string building)."""
    kind, scope = table["kind"].to_numpy(), table["scope"].to_numpy()
    where = "DC input " + table["dc_input"].astype(str) + " of " + table["inverter"]
    size = table["group_size"].astype(str)
    dead = table["days_dead"].astype(str)
    low = table["days_low_coverage"].astype(str)
    listed = " (enclosures " + table["enclosures"] + ")"
    weak_input = (
        where
        + listed
        + " is below the fleet median: allocation='equal' shares a DC input's energy equally "
        "among its enclosures, so it cannot tell which one is weak; check the DC input and "
        "its enclosures, or rerun with allocation='soc'"
    )
    known_by_soc = f" (allocation='{allocation}' tells the enclosures of a DC input apart)"
    notes = np.select(
        [
            kind == "dead_dc_input",
            kind == "weak_dc_input",
            (kind == "weak_enclosure") & (scope == "dc_input"),
            kind == "weak_enclosure",
            kind == "low_coverage",
        ],
        [
            where + listed + " delivered ≈0 on " + dead + " day(s) while the fleet did not",
            weak_input,
            "all " + size + " enclosures of " + where + " are short: check the DC input",
            "below the fleet median" + pd.Series(known_by_soc, index=table.index),
            "not enough data on " + low + " day(s): those days are not compared",
        ],
        default="",
    ).astype(object)
    weak = np.isin(kind, ("weak_dc_input", "weak_enclosure"))
    with_dead = weak & (table["days_dead"].to_numpy() > 0)
    notes[with_dead] = notes[with_dead] + ("; DC input ≈0 on " + dead + " day(s)")[with_dead]
    with_gaps = (kind != "low_coverage") & (table["days_low_coverage"].to_numpy() > 0)
    notes[with_gaps] = notes[with_gaps] + ("; " + low + " low-coverage day(s)")[with_gaps]
    return notes
