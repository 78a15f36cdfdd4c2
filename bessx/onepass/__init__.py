"""Daily results straight from the exports: one pass over each file, then a small reduce.

:func:`bessx.open_exports` followed by :func:`bessx.daily_energy` parses every export's
footer twice (once to build the lazy Dataset's ``time`` index, once to read the data), and
the footer of a wide export costs more than its data. :func:`daily_from_exports` reads each
file once: a task per file (:func:`summarise_export`) parses the footer, reads the
timestamps and the needed columns together, applies the plausibility rules and reduces the
file to per-day partial sums, flag counts and the few values its neighbour needs; the
reduce (:func:`combine`) joins the files and checks the interval. The summaries are small
(tens of kB per file), so they are what :mod:`bessx.cache` keeps between runs. The battery
health comes from the same pass (:func:`from_exports` with ``health=True``, or
:func:`health_from_exports` for the health alone): a file's summary then also holds its
per-day health partials (:func:`bessx.kernels.health.day_parts`).

The results are the same as :func:`bessx.daily_energy`, :func:`bessx.quality` and
:func:`bessx.health.daily_health` of :func:`bessx.open_exports`, bit for bit: a day's sums are
taken sample after sample in the same order, and the only value a file cannot know, the hold
of its last sample (the step to the next file's first sample), is added last by the reduce
(the health uses nothing else of the next file: a discharge segment that runs to midnight is
not used). That holds when every local day lies within one file, as with daily exports. A
history the reduce cannot join exactly (:class:`NotOnePass`: a day split over files, files
that do not share one sampling interval, ...) is computed the classic way instead (same
results, two footer parses per file).

The unit of work is a group of files: the files whose names hold the same date (a day
exported as several files, per block of inverters or per family of signals,
:mod:`bessx.io.groups`) are read and joined on their timestamps by one task
(:func:`summarise_group`) and kept as one cache entry keyed by every member; any other file
is a group of its own. Files that overlap in time without sharing a name date are joined by
the reader on the classic path.

Each module has one job; in reading order:

``summary``
    What a file is reduced to (:class:`Summary`) and what that depends on
    (:class:`Settings`, part of the cache key).
``per_file``
    The map: one export, read once, to one summary (:func:`summarise_export`).
``layout``
    Where each column of the exports sits in the plant's arrays.
``reduce``
    The summaries joined into the results (:func:`combine`, :class:`OnePassResults`).
this module
    The entry points (:func:`from_exports`, :func:`daily_from_exports`,
    :func:`health_from_exports`), which run the map as dask tasks, and the classic path
    they fall back to.

Everything public is imported here: ``from bessx.onepass import summarise_export``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from bessx import schema
from bessx.config import require_timezone
from bessx.errors import CONTROL, ExportError, reason
from bessx.health import check_min_swing, window_length_days
from bessx.io.conventions import POWER_SIGNS, POWER_UNITS, check_power_convention
from bessx.io.engines import get_engine
from bessx.io.exports import (
    BAD_FILE_POLICIES,
    MAX_GAP_DAYS,
    ColumnPatterns,
    export_paths,
    name_date,
)
from bessx.kernels.energy import ALLOCATIONS
from bessx.kernels.plausibility import Limits
from bessx.onepass.parallel import map_files
from bessx.onepass.per_file import summarise_export, summarise_group
from bessx.onepass.reduce import NotOnePass, OnePassResults, combine
from bessx.onepass.summary import (
    TOPOLOGY_ROW_FIELDS,
    DailySummary,
    HealthSettings,
    HealthSummary,
    Settings,
    Summary,
)
from bessx.quality import EXCLUDABLE, QualitySettings
from bessx.topology import TopologyLike, read_topology

__all__ = [
    "DailySummary",
    "HealthSettings",
    "HealthSummary",
    "NotOnePass",
    "OnePassResults",
    "Results",
    "Settings",
    "Summary",
    "combine",
    "daily_from_exports",
    "from_exports",
    "health_from_exports",
    "summarise_export",
    "summarise_group",
]

#: The former name of :class:`OnePassResults` (it is not :class:`bessx.results.Results`,
#: what a whole run computed).
Results = OnePassResults


def from_exports(
    paths: Any,
    *,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    soc: bool = True,
    daily: bool = True,
    health: bool = False,
    min_swing: float = 20.0,
    cache: Any | None = None,
    availability: bool = False,
    planned: Any = (),
    power_sign: str = POWER_SIGNS[0],
    power_unit: str = POWER_UNITS[0],
) -> OnePassResults:
    """The daily energy, the quality flags and the battery health's per-day partials of a
    folder of exports, reading each file once.

    :func:`daily_from_exports` and :func:`health_from_exports` are this function; ``bessx
    run`` calls it for all three at once.

    Parameters
    ----------
    paths, timezone, topology, interval, allocation, max_gap, dc_power_limit_kw, exclude
    quality, engine, columns, max_gap_days, bad_files, soc
        As for :func:`daily_from_exports`.
    daily : bool
        Compute the daily energy and the quality flags.
    health : bool
        Compute the battery health's per-day partials (:func:`bessx.health.daily_health`),
        for :func:`bessx.health.health_from_daily`: this also reads every enclosure's
        state of charge and the plant meter's power.
    min_swing : float
        As for :func:`bessx.health`.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.
    availability : bool
        Compute :func:`bessx.availability` too (needs ``daily``), from the same pass.
    planned
        Its planned outages (see :func:`bessx.availability.planned_outages`); an outage
        naming an inverter the exports do not have raises
        :class:`~bessx.availability.PlannedOutageError`.
    power_sign, power_unit : str
        As for :func:`bessx.open_exports`.

    Returns
    -------
    OnePassResults
        In memory; ``daily`` and ``flags`` None without ``daily``, ``health`` None without
        ``health``, ``availability`` None without ``availability``. The file tasks run
        under the active dask scheduler (a ``distributed.Client`` when one is active: the
        files are read on its workers).
        Where the one pass cannot join the files exactly (:class:`NotOnePass`), the results
        come from :func:`bessx.open_exports` instead (the same results, two footer parses
        per file).
    """
    if allocation not in ALLOCATIONS:
        raise ValueError(
            f"unknown allocation {allocation!r}; choose one of {', '.join(map(repr, ALLOCATIONS))}"
        )
    unknown = sorted(set(exclude) - set(EXCLUDABLE))
    if unknown:
        raise ValueError(f"cannot exclude {unknown}: choose from {', '.join(EXCLUDABLE)}")
    if interval is not None and not 0.1 <= interval <= 86_400:
        raise ValueError(f"interval must be from 0.1 to 86400 s (one day), not {interval!r}")
    if allocation == "soc" and not soc:
        raise ValueError("allocation='soc' needs the state of charge: soc=True")
    if not max_gap >= 1:
        raise ValueError(f"max_gap must be >= 1 nominal interval, not {max_gap!r}")
    if availability and not daily:
        raise ValueError("availability=True needs the daily results: daily=True")
    timezone = require_timezone(timezone)  # before any file is read
    outages = None
    if availability:
        from bessx.availability import planned_outages

        outages = planned_outages(planned, timezone)
    check_power_convention(power_sign, power_unit)
    files = export_paths(paths)
    topo = read_topology(topology) if topology is not None else None
    settings = Settings(
        timezone=timezone,
        engine=get_engine(engine).name,
        patterns=columns or ColumnPatterns(),
        interval=None if interval is None else float(interval),
        max_gap=float(max_gap),
        limits=Limits() if dc_power_limit_kw is None else Limits(dc_power_limit_kw),
        quality=quality or QualitySettings(),
        exclude=tuple(name for name in EXCLUDABLE if name in exclude),
        topology=None
        if topo is None
        else tuple(
            (str(inverter), int(dc_input), str(enclosure_id), int(slot))
            for inverter, dc_input, enclosure_id, slot in topo.table[
                list(TOPOLOGY_ROW_FIELDS)
            ].itertuples(index=False)
        ),
        soc=soc,
        daily=daily,
        health=HealthSettings(check_min_swing(min_swing)) if health else None,
        availability=outages,
        power_sign=power_sign,
        power_unit=power_unit,
    )
    if bad_files not in BAD_FILE_POLICIES:
        raise ValueError(f"bad_files must be one of {BAD_FILE_POLICIES}, not {bad_files!r}")
    skip = bad_files == "skip"
    groups = _groups_by_name_date(files)
    found: dict[tuple[Path, ...], Summary | None] = {}
    if cache is not None:
        found = {group: _cache_get(cache, group, settings) for group in groups}
    missing = [group for group in groups if found.get(group) is None]
    computed = map_files(_summarise_or_refuse, [(group, skip) for group in missing], settings)
    skipped = [error for _, errors in computed for error in errors]
    if skipped and not skip:
        raise skipped[0]  # the first bad file in order, whichever task failed first
    for group, (summary, errors) in zip(missing, computed, strict=True):
        if summary is not None:
            found[group] = summary
            if cache is not None and not errors:  # a group left incomplete is not kept
                _cache_put(cache, group, settings, summary)
    if cache is not None:
        _cache_prune(cache, groups, settings)
    usable = [group for group in groups if isinstance(found.get(group), Summary)]
    named = str(paths) if isinstance(paths, str | os.PathLike) else str(files[0].parent)
    try:
        results = combine(
            [summary for group in usable if (summary := found[group]) is not None],
            settings,
            topology=topology,
            allocation=allocation,
            max_gap_days=max_gap_days,
            source=named,
            skip=skip,
            skipped=skipped,
        )
    except NotOnePass:
        results = _classic(files, settings, topology, allocation, max_gap_days, bad_files, cache)
    if outages and results.availability is not None:
        from bessx.availability import check_inverters

        check_inverters(outages, results.availability[schema.INVERTER].values)
    return results


def daily_from_exports(
    paths: Any,
    *,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    allocation: str = "equal",
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    exclude: Sequence[str] = (),
    quality: QualitySettings | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    soc: bool = True,
    cache: Any | None = None,
    power_sign: str = POWER_SIGNS[0],
    power_unit: str = POWER_UNITS[0],
) -> tuple[xr.Dataset, xr.Dataset]:
    """Daily energy and quality flags of a folder of exports, reading each file once.

    The same results as ``daily_energy(open_exports(paths, ...), ...)`` and
    ``quality(open_exports(paths, ...), ...)``, computed, in about half the time: each
    export's footer is parsed once instead of twice (see the module docstring).

    Parameters
    ----------
    paths
        A folder, glob pattern or list of exports, as for :func:`bessx.open_exports`.
    timezone, topology, interval, engine, columns, max_gap_days, bad_files, power_sign
    power_unit
        As for :func:`bessx.open_exports`.
    allocation, max_gap, dc_power_limit_kw, exclude, quality
        As for :func:`bessx.daily_energy` and :func:`bessx.quality`.
    soc : bool
        Read the enclosures' state of charge: needed for ``allocation="soc"`` and for the
        SOC flags; without it only the DC input power columns are read (about three times
        fewer columns), and ``flags`` holds the power flags alone.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.

    Returns
    -------
    daily, flags : xarray.Dataset
        In memory. The file tasks run under the active dask scheduler (a
        ``distributed.Client`` when one is active: the files are read on its workers).

    Raises
    ------
    bessx.errors.ConfigError
        No ``timezone`` (:data:`bessx.config.NO_TIMEZONE`): there is no default zone.
    """
    results = from_exports(
        paths,
        timezone=timezone,
        topology=topology,
        interval=interval,
        allocation=allocation,
        max_gap=max_gap,
        dc_power_limit_kw=dc_power_limit_kw,
        exclude=exclude,
        quality=quality,
        engine=engine,
        columns=columns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        soc=soc,
        cache=cache,
        power_sign=power_sign,
        power_unit=power_unit,
    )
    assert results.daily is not None and results.flags is not None  # asked for: daily=True
    return results.daily, results.flags


def health_from_exports(
    paths: Any,
    *,
    window: str | pd.Timedelta = "30D",
    min_swing: float = 20.0,
    max_gap: float = 3.0,
    dc_power_limit_kw: float | None = None,
    timezone: str | None = None,
    topology: TopologyLike | None = None,
    interval: float | None = None,
    engine: str = "auto",
    columns: ColumnPatterns | None = None,
    max_gap_days: float = MAX_GAP_DAYS,
    bad_files: str = "raise",
    cache: Any | None = None,
    power_sign: str = POWER_SIGNS[0],
    power_unit: str = POWER_UNITS[0],
) -> xr.Dataset:
    """Battery health of a folder of exports, reading each file once.

    The same result as ``health(open_exports(paths, variables=["dc_power", "soc",
    "plant_power"], ...), ...)``, computed, bit for bit: each export is read once (its DC
    input power, every enclosure's state of charge and the plant meter's power) and
    reduced to its per-day health partials; the reduce adds each file's last sample with
    the hold the next file's first timestamp gives it (see :mod:`bessx.onepass`).

    Parameters
    ----------
    paths
        A folder, glob pattern or list of exports, as for :func:`bessx.open_exports`.
    window, min_swing, max_gap, dc_power_limit_kw
        As for :func:`bessx.health`.
    timezone, topology, interval, engine, columns, max_gap_days, bad_files, power_sign
    power_unit
        As for :func:`bessx.open_exports`.
    cache : bessx.cache.SummaryCache, optional
        Keeps each file's summary between runs: a re-run reads only new or changed files.

    Returns
    -------
    xarray.Dataset
        As :func:`bessx.health` returns, in memory.

    Raises
    ------
    bessx.errors.ConfigError
        No ``timezone`` (:data:`bessx.config.NO_TIMEZONE`): there is no default zone.

    Examples
    --------
    >>> import tempfile
    >>> from bessx import synthetic
    >>> plant = synthetic.write_plant(tempfile.mkdtemp(), "2023-03-01", 4, inverters=1)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # the synthetic plant's repaired rows
    ...     result = health_from_exports(
    ...         plant.folder, window="2D", timezone=synthetic.TIMEZONE
    ...     )
    >>> result["usable_capacity"].dims
    ('window', 'inverter', 'dc_input')
    """
    from bessx.health import health_from_daily

    window = f"{window_length_days(window)}D"  # checked before any file is read
    results = from_exports(
        paths,
        timezone=timezone,
        topology=topology,
        interval=interval,
        max_gap=max_gap,
        dc_power_limit_kw=dc_power_limit_kw,
        engine=engine,
        columns=columns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        soc=False,
        daily=False,
        health=True,
        min_swing=min_swing,
        cache=cache,
        power_sign=power_sign,
        power_unit=power_unit,
    )
    assert results.health is not None  # asked for: health=True
    return health_from_daily(results.health, window=window)


def _summarise_or_refuse(
    item: tuple[tuple[Path, ...], bool], settings: Settings
) -> tuple[Summary | None, list[ExportError]]:
    """:func:`summarise_group` of ``item = (group, skip)``, with the files' errors returned
    rather than raised; with ``skip``, a bad file of a group is left out and the others
    summarised."""
    group, skip = item
    errors: list[ExportError] = []
    members = list(group)
    while members:
        try:
            return _summarise_bounded(members, settings), errors
        except ExportError as error:
            errors.append(error)
            if not skip or error.path not in map(str, members):
                return None, errors
            members = [path for path in members if str(path) != error.path]
    return None, errors


def _groups_by_name_date(files: Sequence[Path]) -> list[tuple[Path, ...]]:
    """The units of work: files whose names hold the same date (a day split into several
    files: :mod:`bessx.io.groups`), each other file alone; in the order of ``files``.

    The date in a name is the cheap hint the one pass has before any footer is parsed;
    files that overlap in time without sharing a name date are joined by the reader
    instead (:func:`combine` then raises :class:`NotOnePass`).
    """
    by_date: dict[Any, list[Path]] = {}
    for path in files:
        date = name_date(path)
        by_date.setdefault(path if date is None else date, []).append(path)
    return [tuple(members) for members in by_date.values()]


def _cache_get(cache: Any, group: tuple[Path, ...], settings: Settings) -> Summary | None:
    if len(group) == 1:
        return cache.get(group[0], settings)
    return cache.get_group(group, settings)


def _cache_put(cache: Any, group: tuple[Path, ...], settings: Settings, summary: Summary) -> None:
    if len(group) == 1:
        cache.put(group[0], settings, summary)
    else:
        cache.put_group(group, settings, summary)


def _cache_prune(cache: Any, groups: Sequence[tuple[Path, ...]], settings: Settings) -> None:
    files = [group[0] for group in groups if len(group) == 1]
    cache.prune(files, settings, groups=[group for group in groups if len(group) > 1])


def _summarise_bounded(members: Sequence[Path], settings: Settings) -> Summary:
    """:func:`summarise_group` inside the one boundary of an export: anything raised while
    reading or summarising it (an OS error, an engine's error or panic) becomes an
    :class:`ExportError` naming the file (the file the OS names, else the group's first)."""
    try:
        return summarise_group(members, settings)
    except ExportError:
        raise
    except CONTROL:
        raise
    except OSError as error:
        named = str(error.filename) if error.filename is not None else ""
        path = next((p for p in members if str(p) == named), members[0])
        raise ExportError(path, f"cannot read it ({reason(error)})") from None
    except BaseException as error:
        raise ExportError(members[0], f"cannot be summarised ({reason(error)})") from None


def _classic(
    files: list[Path],
    settings: Settings,
    topology: TopologyLike | None,
    allocation: str,
    max_gap_days: float,
    bad_files: str = "raise",
    cache: Any | None = None,
) -> OnePassResults:
    """The two-pass path: :func:`open_exports`, then every result in one compute.

    With a ``cache``, its folder keeps the exports' index too: a re-run opens them without
    parsing a footer (see :mod:`bessx.io.index`).
    """
    from bessx.energy import daily_energy
    from bessx.health import daily_health
    from bessx.io.exports import open_exports
    from bessx.quality import quality

    history = open_exports(
        files,
        timezone=settings.timezone,
        topology=topology,
        interval=settings.interval,
        variables=settings.variables,
        engine=settings.engine,
        columns=settings.patterns,
        max_gap_days=max_gap_days,
        bad_files=bad_files,
        cache=cache,
        power_sign=settings.power_sign,
        power_unit=settings.power_unit,
    )
    options = {
        "max_gap": settings.max_gap,
        "dc_power_limit_kw": settings.limits.dc_power_limit_kw,
    }
    health = None
    if settings.health is not None:
        health = daily_health(history, min_swing=settings.health.min_swing, **options)
    if not settings.daily:
        return OnePassResults(None, None, None if health is None else health.compute())
    available = None
    if settings.availability is not None:
        from bessx.availability import availability

        available = availability(
            history,
            planned=settings.availability,
            settings=settings.quality,
            **options,
        )
    # without the SOC for the daily results, as in their one pass
    daily_input = history if settings.soc else history.drop_vars("soc", errors="ignore")
    daily = daily_energy(
        daily_input,
        allocation=allocation,
        exclude=settings.exclude,
        quality=settings.quality,
        **options,
    )
    flags = quality(daily_input, settings=settings.quality, **options)
    # one graph, computed once: the exports are read once for every result
    parts = [daily, flags, *([] if health is None else [health.to_dataset()])]
    parts += [] if available is None else [available]
    computed = xr.merge(parts, combine_attrs="override", compat="override").compute()
    computed_daily = computed[list(daily.data_vars)].drop_vars(
        ["flag", "soc_flag"], errors="ignore"
    )
    computed_flags = computed[list(flags.data_vars)]
    computed_daily.attrs, computed_flags.attrs = dict(daily.attrs), dict(flags.attrs)
    computed_health = None
    if health is not None:
        computed_health = computed[str(health.name)].assign_attrs(health.attrs)
    if available is None:
        return OnePassResults(computed_daily, computed_flags, computed_health)
    computed_availability = computed[list(available.data_vars)]
    computed_availability = computed_availability.drop_vars(
        [name for name in computed_availability.coords if name not in available.coords]
    ).assign_coords({name: available.coords[name] for name in available.coords})
    computed_availability.attrs = dict(available.attrs)
    return OnePassResults(computed_daily, computed_flags, computed_health, computed_availability)
