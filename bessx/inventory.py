"""The inventory of ``bessx info``: what is in a folder of exports, without computing energy.

:func:`inventory` opens the exports (footers and timestamps only) and describes them in a
few lines: files, local days covered and missing, samples, sampling interval and gaps,
timezone, inverters, enclosures per DC input, recognised and ignored columns, and the
problems found while opening.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bessx import schema
from bessx.config import Config
from bessx.errors import BessxError, one_line

__all__ = ["inventory"]


def inventory(config: Config) -> list[str]:
    """The lines of ``bessx info`` for the exports of ``config.data``.

    Parameters
    ----------
    config
        ``data``, ``timezone``, ``topology``, ``interval``, ``columns`` and
        ``skip_bad_files`` apply as in a run.

    Raises
    ------
    ConfigError
        No ``timezone``, as for a run: the local days, the gaps' local times and the file
        naming all depend on the plant's zone (see :func:`bessx.config.require_timezone`).
    """
    from bessx.io.exports import ExportNote, SkippedFileWarning, open_exports
    from bessx.pipeline import check_config, find_exports

    check_config(config)
    failed: BessxError | None = None
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        files = find_exports(config)
        try:
            history = open_exports(
                files,
                timezone=config.timezone,
                topology=config.topology,
                interval=config.interval,
                columns=config.columns,
                bad_files="skip" if config.skip_bad_files else "raise",
                power_sign=config.power_sign,
                power_unit=config.power_unit,
            )
        except BessxError as error:
            failed = error
    if failed is not None:  # each file's reason first (the files left out), then the error
        for record in records:
            if isinstance(record.message, SkippedFileWarning):
                warnings.warn(record.message, stacklevel=2)
        raise failed
    ours = [r for r in records if r.category.__module__.split(".")[0] == "bessx"]
    notes = [one_line(str(r.message)) for r in ours if issubclass(r.category, ExportNote)]
    problems = [one_line(str(r.message)) for r in ours if not issubclass(r.category, ExportNote)]
    skipped = {getattr(r.message, "path", None) for r in records}
    used = [path for path in files if str(path) not in skipped]
    return _lines(history, used, config, problems, notes)


def _lines(
    history: xr.Dataset,
    files: Sequence[Path],
    config: Config,
    problems: Sequence[str],
    notes: Sequence[str] = (),
) -> list[str]:
    """The lines of ``bessx info``."""
    from bessx.document import date_ranges
    from bessx.report import layout_summary

    timezone = str(history.attrs["timezone"])
    utc = pd.DatetimeIndex(history[schema.TIME].values).tz_localize("UTC")
    local_days = utc.tz_convert(timezone).tz_localize(None).normalize()
    per_day = pd.Series(1, index=local_days).groupby(level=0).size()
    first, last = per_day.index[0], per_day.index[-1]
    calendar = pd.date_range(first, last, freq="D")
    missing = calendar.difference(pd.DatetimeIndex(per_day.index))
    interval = float(history.attrs["interval_seconds"])
    size_mb = sum(path.stat().st_size for path in files) / 1e6

    ids = history["enclosure_id"].values.astype(str)
    per_input = (ids != "").sum(axis=-1)
    columns = _column_counts(files[0], config)

    def row(label: str, text: str) -> str:
        return f"  {label:<13}{text}"

    names = [path.name for path in files]
    lines = [
        f"bessx info: {config.data}",
        row(
            "files",
            f"{len(files)} parquet export(s), {size_mb:,.1f} MB"
            + (f": {names[0]} … {names[-1]}" if len(names) > 1 else f": {names[0]}"),
        ),
        row(
            "local days",
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}: {len(per_day)} with data, "
            f"{len(missing)} missing" + (f": {date_ranges(missing)}" if len(missing) else ""),
        ),
        row(
            "samples",
            f"{history.sizes[schema.TIME]:,} ({per_day.min():,} to {per_day.max():,} a day"
            + (f"; {86_400 / interval:,.0f} in a 24 h day" if interval > 0 else "")
            + ")",
        ),
        row(
            "interval",
            f"{interval:g} s ({'given' if config.interval is not None else 'inferred'})",
        ),
        row("gaps", _gaps(utc, timezone, interval)),
        row("timezone", timezone),
        row("naming", str(history.attrs.get("file_naming", "no date in the file names"))),
        row("power", _power_convention(history.attrs)),
        row("per period", str(history.attrs.get("file_grouping", "one file (none overlap)"))),
        row(
            "inverters",
            f"{history.sizes[schema.INVERTER]}"
            + _first_last(history[schema.INVERTER].values.astype(str)),
        ),
        row(
            "enclosures",
            f"{int((ids != '').sum())}: {layout_summary(per_input)}"
            + (f" (topology {config.topology})" if config.topology else " (inferred)"),
        ),
        row(
            "columns",
            f"{columns['total']:,} in {files[0].name}: {columns['dc_power']} DC power, "
            f"{columns['soc']} SOC, {columns['plant']} plant, {columns['time']} timestamp; "
            f"{columns['ignored']:,} ignored",
        ),
        *(row("note", note) for note in notes),
        row("problems", str(len(problems)) if problems else "none"),
    ]
    lines += [f"    - {problem}" for problem in problems]
    return lines


def _power_convention(attrs: Mapping[str, object]) -> str:
    """How the exports write power, as the open read it."""
    sign = str(attrs.get("export_power_sign", "discharge_positive"))
    unit = str(attrs.get("export_power_unit", "kW"))
    said = f"{unit}, {sign.replace('_', ' ')}"
    if (sign, unit) == ("discharge_positive", "kW"):
        return f"{said} (as bessx computes)"
    return f"{said}: converted to kW, discharge positive as it is read"


def _gaps(utc: pd.DatetimeIndex, timezone: str, interval: float) -> str:
    """Steps between samples longer than 1.5 intervals: how many, and the longest."""
    if len(utc) < 2 or not interval > 0:
        return "none"
    steps = np.diff(utc.asi8) / 1e9
    long = np.flatnonzero(steps > 1.5 * interval)
    if not len(long):
        return "none"
    missing = int(np.round(steps[long] / interval).sum() - len(long))
    longest = long[np.argmax(steps[long])]
    start = utc[longest].tz_convert(timezone)
    return (
        f"{len(long)} ({missing:,} sample(s) missing); the longest "
        f"{_duration(steps[longest])} after {start:%Y-%m-%d %H:%M:%S} local time"
    )


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _column_counts(path: Path, config: Config) -> dict[str, int]:
    """Recognised and ignored columns of one export, from its footer."""
    import pyarrow.parquet as pq

    from bessx.io.engines import TIMESTAMP_CANDIDATES

    names = pq.read_schema(path).names
    patterns = config.columns
    time_names = TIMESTAMP_CANDIDATES if patterns.time is None else (patterns.time,)
    counts = {
        "dc_power": sum(bool(patterns.pattern("dc_power").match(name)) for name in names),
        "soc": sum(bool(patterns.pattern("soc").match(name)) for name in names),
        "plant": sum(
            any(patterns.pattern(var).match(name) for var in schema.PLANT_COLUMNS.values())
            for name in names
        ),
        "time": min(1, sum(name in time_names for name in names)),
    }
    counts["ignored"] = len(names) - sum(counts.values())
    counts["total"] = len(names)
    return counts


def _first_last(names: np.ndarray) -> str:
    if len(names) == 0:
        return ""
    return f" ({names[0]})" if len(names) == 1 else f" ({names[0]} … {names[-1]})"
