"""Data-quality flags: what is wrong with the samples, counted per local day.

Every sample of DC input power and of enclosure state of charge is checked against the
named checks of time-series QA (pvanalytics' stale values and completeness, OpenOA's
range and unresponsive flags) and counted per local day, DC input and flag; SOC flags are
counted per enclosure. The flags, kept as data in :data:`~bessx.kernels.flags.FLAGS`:

================== ======== ===============================================================
flag               applies  a sample is flagged when
================== ======== ===============================================================
``non_finite``     P, SOC   it is +inf or -inf (implausible: excluded; a NaN is a ``gap``)
``out_of_range``   P, SOC   ``|P| > dc_power_limit_kw`` or SOC outside 0-100 % (implausible:
                            excluded)
``stuck``          P, SOC   it repeats one value for at least ``stuck_minutes`` while the
                            fleet moves (P: ``|P| > dead_kw``; SOC: its DC input's
                            ``|P| > moving_kw``)
``dead``           P        ``|P| <= dead_kw`` for at least ``dead_minutes`` while the
                            fleet moves
``sign_anomaly``   P        its sign is opposite to the fleet's for at least
                            ``sign_minutes`` while both move (``|P| > moving_kw``)
``duplicates_dropped`` P    a repeated row at its timestamp was dropped by the reader
``gap``            P, SOC   a nominal interval of the day is not covered by a received
                            sample (missing rows and NaN values)
================== ======== ===============================================================

The fleet moves when the median DC input power over all DC inputs, ``|median P|``, exceeds
``moving_kw``: an idle plant (every DC input near 0) is never dead, stuck or anomalous.
Runs are counted within a local day, so the flags of a day never depend on how the
history is split into files or chunks.

Only implausible samples (:mod:`bessx.kernels.plausibility`) are excluded from the energy by
default; :func:`bessx.daily_energy` excludes the samples of other power flags only when
asked (``exclude=("stuck", ...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.dayblocks import DayPlan, day_plan, map_day_blocks
from bessx.kernels.flags import FLAGS, POWER_FLAGS, SOC_FLAGS, flag_counts_block
from bessx.kernels.plausibility import Limits
from bessx.thresholds import EXCLUDABLE, QualitySettings

__all__ = [
    "EXCLUDABLE",
    "QualitySettings",
    "flag_counts",
    "quality",
    "quality_table",
]


_FLAG_DIM = "flag"
_SOC_FLAG_DIM = "soc_flag"


# ---------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------
def _bitmask(counts: xr.DataArray, dim: str) -> xr.DataArray:
    """Combine per-flag counts into one CF flag variable (bit set where a count > 0)."""
    masks = xr.DataArray([FLAGS[name].mask for name in counts[dim].values], dims=dim)
    combined = ((counts > 0) * masks).sum(dim).astype(np.uint8)
    names = list(counts[dim].values)
    return combined.assign_attrs(
        flag_masks=np.array([FLAGS[name].mask for name in names], dtype=np.uint8),
        flag_meanings=" ".join(names),
    )


def quality(
    ds: xr.Dataset,
    *,
    settings: QualitySettings | None = None,
    dc_power_limit_kw: float | None = None,
    max_gap: float = 3.0,
) -> xr.Dataset:
    """Data-quality flags per local day: samples counted per DC input (and enclosure) and flag.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports` (``dc_power``; ``soc`` for the
        enclosure flags; the ``duplicates_dropped`` coordinate when present), numpy- or
        dask-backed, with attrs ``timezone`` and ``interval_seconds``.
    settings : bessx.QualitySettings, optional
        Flag thresholds; by default :class:`~bessx.QualitySettings`'s.
    dc_power_limit_kw : float, optional
        Largest plausible ``|dc_power|`` [kW] (default
        :data:`bessx.thresholds.DEFAULT_DC_POWER_LIMIT_KW`).
    max_gap : float
        Longest step [nominal intervals] a sample holds across, as in
        :func:`bessx.daily_energy` (for ``gap``).

    Returns
    -------
    xarray.Dataset
        Dims ``time`` (local dates, as :func:`bessx.daily_energy`), ``inverter``,
        ``dc_input``, ``flag`` (and ``enclosure``, ``soc_flag`` with SOC):
        ``samples`` (time, inverter, dc_input, flag) and ``soc_samples`` (time, inverter,
        dc_input, enclosure, soc_flag): flagged samples [1] (for ``gap``: nominal
        intervals without a received sample); ``flags`` and ``soc_flags``: the CF flag
        variables (a bit per flag with a count, ``flag_masks``/``flag_meanings``). Lazy
        when ``ds`` is dask-backed.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2023-05-01", periods=48, freq="30min", tz="Australia/Sydney")
    >>> dc_power = np.full((48, 3, 2), 800.0)
    >>> dc_power[:, 2, 1] = 0.0  # a dead DC input
    >>> dc_power[5, 0, 0] = np.inf
    >>> q = quality(make_dataset(time, dc_power, interval_seconds=1800.0))
    >>> q["samples"].sel(flag="non_finite").sum().item()
    1
    >>> q["samples"].sel(flag="dead").isel(time=0).values
    array([[ 0,  0],
           [ 0,  0],
           [ 0, 48]], dtype=int32)
    >>> q["flags"].attrs["flag_meanings"].split()[:3]
    ['non_finite', 'out_of_range', 'stuck']
    """

    settings = settings or QualitySettings()
    limits = Limits() if dc_power_limit_kw is None else Limits(dc_power_limit_kw)
    if "dc_power" not in ds.data_vars:
        raise ValueError("quality needs a 'dc_power' variable")
    return flag_counts(ds, day_plan(ds, max_gap), settings=settings, limits=limits)


def flag_counts(
    ds: xr.Dataset, plan: DayPlan, *, settings: QualitySettings, limits: Limits
) -> xr.Dataset:
    """:func:`quality` of ``ds`` on a day plan already made (:func:`bessx.dayblocks.day_plan`).

    :func:`bessx.daily_energy` counts the flags of the days it integrates with its own plan,
    so the plan is worked out once per call.
    """
    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    has_soc = "soc" in ds.data_vars
    soc = None
    if has_soc:
        order = (schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
        soc = ds["soc"].transpose(*order).data
    if "duplicates_dropped" in ds.coords:
        duplicates = np.asarray(ds.coords["duplicates_dropped"].values, dtype=np.int64)
    else:
        duplicates = np.zeros(len(plan.hold_seconds), dtype=np.int64)
    options = {"interval_seconds": plan.interval, "settings": settings, "limits": limits}
    counts = map_day_blocks(
        flag_counts_block,
        power,
        soc,
        plan,
        (plan.hold_seconds, duplicates),
        n_quantities=len(POWER_FLAGS) + len(SOC_FLAGS),
        name="bessx-quality",
        whole_plant=True,
        token=(settings, limits),
        **options,
    )
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    return flags_dataset(counts, plan.dates, coords, ds.attrs, settings, limits, has_soc=has_soc)


def flags_dataset(
    counts: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    settings: QualitySettings,
    limits: Limits,
    *,
    has_soc: bool,
) -> xr.Dataset:
    """The Dataset :func:`quality` returns, from its ``(flag, day, ...)`` kernel output."""
    counts = counts.astype(np.int32)
    dims = (schema.DAY, schema.INVERTER, schema.DC_INPUT)
    coords = dict(coords)
    coords[schema.DAY] = xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS))
    coords[_FLAG_DIM] = xr.Variable(_FLAG_DIM, list(POWER_FLAGS), {"long_name": "quality flag"})
    power_counts = xr.Variable((_FLAG_DIM, *dims), counts[: len(POWER_FLAGS), ..., 0]).transpose(
        *dims, _FLAG_DIM
    )
    data_vars: dict[str, xr.Variable] = {"samples": power_counts}
    if has_soc:
        coords[_SOC_FLAG_DIM] = xr.Variable(
            _SOC_FLAG_DIM, list(SOC_FLAGS), {"long_name": "quality flag of the SOC"}
        )
        data_vars["soc_samples"] = xr.Variable(
            (_SOC_FLAG_DIM, *dims, schema.ENCLOSURE), counts[len(POWER_FLAGS) :]
        ).transpose(*dims, schema.ENCLOSURE, _SOC_FLAG_DIM)
    result = xr.Dataset(data_vars, coords, attrs=dict(attrs))
    result["samples"].attrs.update(
        units="1",
        long_name="DC input power samples flagged (gap: nominal intervals missing)",
        cell_methods="time: sum",
    )
    result["flags"] = _bitmask(result["samples"], _FLAG_DIM).assign_attrs(
        long_name="data-quality flags of the DC input power"
    )
    if has_soc:
        result["soc_samples"].attrs.update(
            units="1",
            long_name="enclosure SOC samples flagged (gap: nominal intervals missing)",
            cell_methods="time: sum",
        )
        result["soc_flags"] = _bitmask(result["soc_samples"], _SOC_FLAG_DIM).assign_attrs(
            long_name="data-quality flags of the enclosure state of charge"
        )
    result.attrs.update(
        dc_power_limit_kw=limits.dc_power_limit_kw,
        **{f"quality_{item.name}": getattr(settings, item.name) for item in fields(settings)},
    )
    return result


_DETAILS: Mapping[str, Callable[[int, float], str]] = {
    "non_finite": lambda n, minutes: f"{n} infinite sample(s), excluded",
    "out_of_range": lambda n, minutes: f"{n} sample(s) beyond the physical limits, excluded",
    "stuck": lambda n, minutes: f"one value repeated for {minutes:.0f} min while the fleet moved",
    "dead": lambda n, minutes: f"about 0 kW for {minutes:.0f} min while the fleet moved",
    "sign_anomaly": lambda n, minutes: f"opposite to the fleet for {minutes:.0f} min",
    "duplicates_dropped": lambda n, minutes: f"{n} repeated row(s) dropped",
    "gap": lambda n, minutes: f"{minutes:.0f} min without a received sample",
}


def quality_table(flags: xr.Dataset) -> pd.DataFrame:
    """One row per flagged (local date, DC input or enclosure, flag), for ``quality.csv``.

    Parameters
    ----------
    flags : xarray.Dataset
        The result of :func:`quality` (computed or lazy; it is computed here).

    Returns
    -------
    pandas.DataFrame
        Columns ``date`` (datetime64), ``inverter``, ``dc_input``, ``enclosure_id`` (empty
        for a DC input's flags), ``flag``, ``samples`` and ``detail``; sorted by date, DC
        input, enclosure and flag (in :data:`~bessx.kernels.flags.FLAGS` order).
    """
    interval = float(flags.attrs.get("interval_seconds", 0.0)) / 60.0
    columns = ["date", "inverter", "dc_input", "enclosure_id", "flag", "samples", "detail"]
    frames = []
    for variable, dim in (("samples", _FLAG_DIM), ("soc_samples", _SOC_FLAG_DIM)):
        if variable not in flags:
            continue
        counts = flags[variable].load()
        index = np.nonzero(counts.values > 0)
        if not len(index[0]):
            continue
        values = counts.values[index]
        frame = pd.DataFrame(
            {
                "date": counts[schema.DAY].values[index[0]],
                "inverter": counts[schema.INVERTER].values[index[1]],
                "dc_input": counts[schema.DC_INPUT].values[index[2]],
                "enclosure_id": (
                    flags["enclosure_id"].values[index[1], index[2], index[3]]
                    if variable == "soc_samples"
                    else ""
                ),
                "flag": counts[dim].values[index[-1]],
                "samples": values,
            }
        )
        frame["detail"] = [
            _DETAILS[flag](int(n), n * interval)
            for flag, n in zip(frame["flag"], frame["samples"], strict=True)
        ]
        frames.append(frame)
    if not frames:
        return pd.DataFrame({name: [] for name in columns}).astype(
            {"date": "datetime64[ns]", "dc_input": int, "samples": int}
        )
    table = pd.concat(frames, ignore_index=True)
    plant_order = {name: i for i, name in enumerate(flags[schema.INVERTER].values)}
    table["inverter_order"] = table["inverter"].map(plant_order)
    table["flag_order"] = table["flag"].map({name: i for i, name in enumerate(FLAGS)})
    keys = ["date", "inverter_order", "dc_input", "enclosure_id", "flag_order"]
    return table.sort_values(keys, kind="stable")[columns].reset_index(drop=True)
