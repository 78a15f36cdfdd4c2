"""Daily charged and discharged energy per battery enclosure.

Three layers, as everywhere in bessx:

* numpy kernels (:mod:`bessx.kernels.energy`) know nothing of labels and work on blocks
  with time on axis 0: :func:`~bessx.kernels.energy.daily_power_sums` and
  :func:`~bessx.kernels.energy.daily_soc_throughput` reduce a block of samples to per-day
  sums in one pass, :func:`~bessx.kernels.energy.equal_shares` and
  :func:`~bessx.kernels.energy.soc_shares` split a DC input's energy among its enclosures
  (the :data:`~bessx.kernels.energy.ALLOCATIONS` registry);
* :func:`bessx.daily_energy` works out hold durations and local days once from the time
  coordinate (:func:`bessx.dayblocks.day_plan`) and runs the kernels on each block of whole
  days (:func:`bessx.dayblocks.map_day_blocks`: one task per block), or directly on numpy
  data;
* the ``Dataset.bess`` accessor forwards to :func:`bessx.daily_energy`.

The method is described in ``docs/methodology.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from bessx import accessor as _accessor  # noqa: F401  (registers Dataset.bess)
from bessx import schema
from bessx.dayblocks import day_plan, map_day_blocks
from bessx.kernels.energy import ALLOCATIONS, daily_energy_block
from bessx.kernels.flags import FLAGS, power_sample_flags
from bessx.kernels.plausibility import DEFAULT_DC_POWER_LIMIT_KW, Limits
from bessx.quality import EXCLUDABLE, QualitySettings, flag_counts

__all__ = [
    "daily_energy",
]


# ---------------------------------------------------------------------------------------
# xarray layer
# ---------------------------------------------------------------------------------------


def daily_energy(
    ds: xr.Dataset,
    *,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float = DEFAULT_DC_POWER_LIMIT_KW,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
) -> xr.Dataset:
    r"""Charged and discharged energy per enclosure and local calendar day.

    Parameters
    ----------
    ds : xarray.Dataset
        Plant data as returned by :func:`bessx.open_exports`: ``dc_power`` (time, inverter,
        dc_input) DC input power [kW], positive when discharging; ``soc`` (time, inverter,
        dc_input, enclosure) enclosure state of charge [%] (needed for
        ``allocation="soc"``); ``time`` in UTC, strictly increasing; the ``enclosure_id``
        (or ``n_enclosures``) coordinate; attrs ``timezone`` and ``interval_seconds``
        (inferred as the median step when missing). numpy- or dask-backed.
    allocation : {"equal", "soc"}
        How a DC input's energy is shared among its enclosures: evenly, or in proportion to
        each enclosure's state-of-charge swing that day (see Notes).
    max_gap : float
        Longest step [nominal intervals, >= 1] across which a sample holds; beyond it a
        sample holds for one nominal interval.
    dc_power_limit_kw : float
        Largest plausible ``|dc_power|`` of one DC input [kW]. Samples beyond it, infinite
        samples and SOC samples outside 0-100 % are implausible (:mod:`bessx.kernels.plausibility`):
        treated as missing, and counted in ``quality_flags``.
    exclude : sequence of str
        Power flags whose samples are also treated as missing, from
        :data:`bessx.quality.EXCLUDABLE` (``"stuck"``, ``"dead"``, ``"sign_anomaly"``).
        Nothing beyond the implausible samples is excluded unless asked.
    quality : bessx.QualitySettings, optional
        Thresholds of the data-quality flags.

    Returns
    -------
    xarray.Dataset
        Dims (time, inverter, dc_input, enclosure), ``time`` the local calendar dates
        (midnight, tz-naive) from the first to the last sample's; variables ``charged`` and
        ``discharged`` [kWh] (non-negative) and ``coverage`` [1]. Unused enclosure slots
        and days without any valid sample of the DC input are NaN; a day with data but no
        charging has ``charged == 0``. ``quality_flags`` (time, inverter, dc_input) and,
        with ``soc``, ``soc_quality_flags`` (time, inverter, dc_input, enclosure) are CF
        flag variables of :func:`bessx.quality`. Lazy when ``ds`` is dask-backed, chunked
        by whole days.

    Raises
    ------
    ValueError
        For an unknown ``allocation`` (the message lists the valid names), ``max_gap < 1``,
        a missing ``dc_power`` (or, for ``"soc"``, ``soc``) variable, a missing
        ``timezone`` attribute, or times that do not strictly increase.

    Notes
    -----
    Sample :math:`i` of DC input power :math:`P_i` [kW] at time :math:`t_i` holds for

    .. math::

        \Delta t_i = \begin{cases}
            t_{i+1} - t_i & \text{if } t_{i+1} - t_i \le g\,\tau \\
            \tau & \text{otherwise, and for the last sample}
        \end{cases}

    where :math:`\tau` is the nominal interval (``interval_seconds``) and :math:`g` is
    ``max_gap``. Steps are real elapsed time, so DST changes need no special care. Energy is
    labelled at the interval start: it belongs to the local day :math:`D(t_i)` of the
    sample's own timestamp. With :math:`V` the finite samples,

    .. math::

        E^{\mathrm{dis}}_d = \sum_{i \in V,\ D(t_i) = d} \max(P_i, 0)\,\Delta t_i,
        \qquad
        E^{\mathrm{ch}}_d = \sum_{i \in V,\ D(t_i) = d} \max(-P_i, 0)\,\Delta t_i,

    in kWh (:math:`\Delta t_i` in hours), summed in float64. NaN samples contribute
    nothing, and so does an implausible sample (:math:`|P_i|` beyond
    ``dc_power_limit_kw``, or infinite): it is not in :math:`V`. A day of the DC input
    without a valid sample is NaN. Coverage is
    :math:`\min(1, \sum_{i \in V, D(t_i)=d} \Delta t_i / L_d)` with :math:`L_d` the
    length of the local day (23, 24 or 25 h).

    The energy of a DC input is shared among its :math:`n` enclosures :math:`k`. With
    ``"equal"``, :math:`E_{d,k} = E_d / n`. With ``"soc"``, the discharge share of enclosure
    :math:`k` is :math:`S^{-}_{d,k} / \sum_j S^{-}_{d,j}` with
    :math:`S^{-}_{d,k} = \sum \max(-\Delta\mathrm{SOC}, 0)` over the differences of
    consecutive samples within day :math:`d` (NaN differences ignored), the charge share
    likewise from :math:`S^{+}_{d,k} = \sum \max(\Delta\mathrm{SOC}, 0)`; a DC input-day
    falls back to equal shares when the total swing is 0 or an enclosure has no finite SOC
    difference that day (e.g. its SOC is missing all day). Either way the enclosure
    energies of a DC input add up to its energy.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bessx.testing import make_dataset
    >>> time = pd.date_range("2022-10-01 22:00", periods=6, freq="1h", tz="Australia/Sydney")
    >>> dc_power = np.full((6, 1, 2), 100.0, dtype=np.float32)
    >>> dc_power[:, 0, 1] = -50.0
    >>> ds = make_dataset(time, dc_power, n_enclosures=2, interval_seconds=3600.0)
    >>> daily = daily_energy(ds)
    >>> daily["discharged"].sel(dc_input=1, enclosure=1).values
    array([[100.],
           [200.]])
    >>> daily["charged"].sel(dc_input=2).sum("enclosure").values
    array([[100.],
           [200.]])

    2 October 2022 is a 23-hour day in Sydney: four hourly samples cover 4/23 of it.

    >>> daily["coverage"].sel(dc_input=1, enclosure=1).round(4).values
    array([[0.0833],
           [0.1739]])
    """

    if allocation not in ALLOCATIONS:
        raise ValueError(
            f"unknown allocation {allocation!r}; choose one of {', '.join(map(repr, ALLOCATIONS))}"
        )
    unknown = sorted(set(exclude) - set(EXCLUDABLE))
    if unknown:
        raise ValueError(
            f"cannot exclude {unknown}: choose from {', '.join(map(repr, EXCLUDABLE))}"
        )
    if "dc_power" not in ds.data_vars:
        raise ValueError("daily_energy needs a 'dc_power' variable")
    method = ALLOCATIONS[allocation]
    if method.needs_soc and "soc" not in ds.data_vars:
        raise ValueError(f"allocation={allocation!r} needs a 'soc' variable")
    limits = Limits(dc_power_limit_kw)
    settings = quality or QualitySettings()
    plan = day_plan(ds, max_gap)
    timezone, interval = ds.attrs["timezone"], plan.interval

    power = ds["dc_power"].transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT).data
    soc = None
    if method.needs_soc:
        soc = (
            ds["soc"]
            .transpose(schema.TIME, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
            .data
        )
    excluded = tuple(name for name in EXCLUDABLE if name in exclude)
    exclude_samples = None
    if excluded:
        bits = sum(FLAGS[name].mask for name in excluded)

        def exclude_samples(power: np.ndarray, day_index: np.ndarray) -> np.ndarray:
            flags = power_sample_flags(power, day_index, interval, settings, limits)
            return (flags & bits) != 0

    daily = map_day_blocks(
        daily_energy_block,
        power,
        soc,
        plan,
        (plan.hold_seconds,),
        n_quantities=3,
        name="bessx-daily-energy",
        whole_plant=bool(excluded),
        token=(allocation, limits, excluded, settings, interval),
        allocation=method,
        limits=limits,
        exclude=exclude_samples,
    )
    flags = flag_counts(ds, plan, settings=settings, limits=limits)
    coords = {name: coord for name, coord in ds.coords.items() if schema.TIME not in coord.dims}
    attrs = {**ds.attrs, "timezone": timezone, "interval_seconds": interval}
    return energy_dataset(
        daily,
        plan.dates,
        coords,
        attrs,
        flags,
        allocation,
        max_gap=max_gap,
        limits=limits,
        excluded=excluded,
    )


def energy_dataset(
    daily: Any,
    dates: np.ndarray,
    coords: Mapping[Any, Any],
    attrs: Mapping[str, Any],
    flags: xr.Dataset,
    allocation: str,
    *,
    max_gap: float,
    limits: Limits,
    excluded: tuple[str, ...],
) -> xr.Dataset:
    """The Dataset :func:`daily_energy` returns, from its ``(3, day, ...)`` kernel output.

    ``coords`` are the plant's coordinates without time, ``attrs`` those of the source
    (with ``timezone`` and ``interval_seconds``), ``flags`` the :func:`bessx.quality` result.
    """
    order = (schema.DAY, schema.INVERTER, schema.DC_INPUT, schema.ENCLOSURE)
    coords = dict(coords)
    coords[schema.DAY] = xr.Variable(schema.DAY, dates, attrs=dict(schema.DAILY_TIME_ATTRS))
    data_vars = {
        name: xr.Variable(order, daily[position], attrs=dict(schema.DAILY_ATTRS[name]))
        for position, name in ((1, "charged"), (0, "discharged"), (2, "coverage"))
    }
    data_vars["quality_flags"] = flags["flags"].variable
    if "soc_flags" in flags:
        data_vars["soc_quality_flags"] = flags["soc_flags"].variable

    history = schema.add_history(
        attrs.get("history"),
        f"bessx.daily_energy(allocation={allocation!r}, max_gap={float(max_gap)!r})",
        call=True,
    )
    attrs = {
        **attrs,
        "allocation": allocation,
        "max_gap": float(max_gap),
        "dc_power_limit_kw": limits.dc_power_limit_kw,
        "excluded_flags": " ".join(excluded),
        "Conventions": schema.CF_CONVENTIONS,
        "history": history,
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)
