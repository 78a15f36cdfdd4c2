"""The analysis run of ``bessx run`` as a library function, and the outputs it writes.

:func:`run` reads the exports a :class:`~bessx.config.Config` names, computes the daily
energy, the data-quality flags and (when asked) the battery health in one pass over the
data, and derives the outlier and
lowest-energy tables; :func:`write_outputs` writes the selected outputs as one whole set
(see :mod:`bessx.io.outputs`). The command line, the documentation and users' scripts all
call these two::

    from bessx.config import load_config
    from bessx.pipeline import output_names, run, write_outputs

    config = load_config("site.toml")  # its timezone = "..." is required
    results = run(config)
    write_outputs(results, config.out, output_names(config.outputs))

Each output file is one entry of :data:`OUTPUT_FILES`: adding an output is adding an entry.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from bessx.config import OUTPUTS, Config
from bessx.errors import BessxError, ConfigError, ExportError, one_line
from bessx.figures import FIGURE_WRITERS
from bessx.results import Results

if TYPE_CHECKING:  # imported where used: a run found up to date needs neither
    import pandas as pd


__all__ = [
    "LOWEST_N",
    "OUTPUT_FILES",
    "OUTPUT_TABLE",
    "Output",
    "check_config",
    "find_exports",
    "output_names",
    "run",
    "write_outputs",
]

#: Enclosures listed in each lowest-energy table.
LOWEST_N: Final = 5


# Before reading ---------------------------------------------------------------------------
def find_exports(config: Config) -> list[Path]:
    """The export files of ``config.data`` (hidden files left out, with a note)."""
    from bessx.io.exports import export_paths

    if config.data is None:
        raise ConfigError("no data: give the exports' folder (`data` in a site file)")
    return export_paths(config.data)


def check_config(config: Config) -> None:
    """Check what a configuration names before any data are read: the plant's timezone and
    the topology file.

    Raises
    ------
    ConfigError
        No timezone (:data:`bessx.config.NO_TIMEZONE`: there is no default zone), or the
        topology file is missing or not a valid topology.
    """
    from bessx.config import require_timezone
    from bessx.topology import read_topology

    require_timezone(config.timezone)
    if config.topology is None:
        return
    if not Path(config.topology).is_file():
        raise ConfigError(f"{config.topology}: no such topology file")
    try:
        read_topology(config.topology)
    except BessxError as error:
        raise ConfigError(str(error)) from None


# The run ------------------------------------------------------------------------------------
def run(
    config: Config,
    *,
    client: Any | None = None,
    progress: TextIO | None = None,
    status: Callable[[str], object] | None = None,
    on_warning: Callable[[warnings.WarningMessage], object] | None = None,
    config_path: Path | None = None,
    cache: Path | None = None,
) -> Results:
    """Read the exports once for the daily energy, quality flags and health; derive the tables.

    Parameters
    ----------
    config
        What to read and how (``data``, ``timezone``, ``topology``, ``allocation``, ...);
        without a ``timezone`` the run stops at once (:func:`check_config`). With
        ``skip_bad_files``, an export that cannot be used is left out, named with its reason
        in the warnings, whether it is found at open or when its data are read.
    client
        A ``distributed.Client`` to compute with; by default the active dask scheduler.
    progress
        A stream to draw a progress bar on while computing; None: no bar.
    status
        Called with a line saying what is being done.
    on_warning
        Called with each warning recorded while reading and computing, as it comes.
    config_path
        The site file the configuration came from, to name it in the summary.
    cache
        A folder for the per-file summaries (:class:`bessx.cache.SummaryCache`): a re-run
        reads only new or changed exports. None: no cache.

    Returns
    -------
    Results
    """
    check_config(config)
    source: dict[str, Any] = {
        "data": str(config.data),
        "interval": "given" if config.interval is not None else "inferred",
    }
    if config.topology is not None:
        source["topology"] = str(config.topology)
    if config_path is not None:
        source["config"] = str(config_path)
    recorder = _Recorder(on_warning)
    with recorder:
        files = find_exports(config)
        if client is not None:  # remote workers do not share our working folder
            files = [path.resolve() for path in files]
        while True:
            try:
                return _analyse(config, files, source, client, progress, status, recorder, cache)
            except ExportError as error:  # found only when the data are read
                if not config.skip_bad_files or error.path not in map(str, files):
                    raise
                from bessx.io.exports import SkippedFileWarning

                files = [path for path in files if str(path) != error.path]
                warnings.warn(SkippedFileWarning(error.path, error.problem), stacklevel=1)
                if not files:
                    raise ExportError(config.data, "no usable export: all were skipped") from None
                if status is not None:
                    status(f"reading again without {Path(error.path).name}")
            except ValueError as error:  # the planned outages' inverters, once they are known
                from bessx.availability import PlannedOutageError

                if not isinstance(error, PlannedOutageError):
                    raise
                where = f"{config_path}: " if config_path is not None else ""
                raise ConfigError(f"{where}'availability.planned': {error}") from None


class _Recorder:
    """Records warnings; :meth:`flush` keeps bessx's in :attr:`messages` and passes all on."""

    def __init__(self, on_warning: Callable[[warnings.WarningMessage], object] | None) -> None:
        self.on_warning = on_warning
        self.messages: list[str] = []
        self.skipped: list[str] = []  # the paths of the exports left out
        self.notes: list[str] = []  # said once per run, not problems (ExportNote)
        self._records: list[warnings.WarningMessage] = []
        self._done = 0
        self._context = warnings.catch_warnings(record=True)

    def __enter__(self) -> _Recorder:
        records = self._context.__enter__()
        assert records is not None  # record=True gives the list the warnings go to
        self._records = records
        warnings.simplefilter("always")
        return self

    def __exit__(self, *exc_info: Any) -> None:
        try:
            self.flush()
        finally:
            self._context.__exit__(*exc_info)

    def flush(self) -> None:
        from bessx.io.exports import ExportNote, SkippedFileWarning

        for record in self._records[self._done :]:
            if issubclass(record.category, ExportNote):
                if (note := one_line(str(record.message))) not in self.notes:
                    self.notes.append(note)
            elif record.category.__module__.split(".")[0] == "bessx":
                message = one_line(str(record.message))
                if message in self.messages:  # a retry without a bad file repeats the notes
                    continue
                self.messages.append(message)
                if isinstance(record.message, SkippedFileWarning):
                    self.skipped.append(record.message.path)
            if self.on_warning is not None:
                self.on_warning(record)
        self._done = len(self._records)


def _analyse(
    config: Config,
    files: list[Path],
    source: dict[str, Any],
    client: Any | None,
    progress: TextIO | None,
    status: Callable[[str], object] | None,
    recorder: _Recorder,
    cache_folder: Path | None,
) -> Results:
    from bessx.cache import SummaryCache
    from bessx.health import health_from_daily
    from bessx.onepass import from_exports
    from bessx.outliers import outliers
    from bessx.quality import quality_table
    from bessx.tables import lowest

    say = status or (lambda message: None)
    say(f"reading {len(files)} export file(s) from {config.data}")
    cache = None if cache_folder is None else SummaryCache(cache_folder)
    with _progress(client, progress):
        results = from_exports(
            files,
            timezone=config.timezone,
            topology=config.topology,
            interval=config.interval,
            allocation=config.allocation,
            max_gap=config.max_gap,
            dc_power_limit_kw=config.dc_power_limit_kw,
            exclude=config.quality.exclude,
            quality=config.quality.settings(),
            columns=config.columns,
            bad_files="skip" if config.skip_bad_files else "raise",
            soc=needs_soc(config),
            health=needs_health(config),
            cache=cache,
            availability=needs_availability(config),
            planned=config.availability.planned,
            power_sign=config.power_sign,
            power_unit=config.power_unit,
        )
    daily, flags = results.daily, results.flags
    assert daily is not None and flags is not None  # asked for: the daily results
    recorder.flush()
    skipped = [path for path in files if str(path) in recorder.skipped]
    used = [path for path in files if str(path) not in recorder.skipped]
    flagged = quality_table(flags)
    partials = results.health
    if partials is not None:  # the sign's physics (bessx.sign): over the history, per DC input
        flagged, partials = _check_sign(flagged, partials, daily)
    battery_health = None
    if partials is not None:
        battery_health = health_from_daily(partials, window=config.health.window)
    guarantees = None
    if battery_health is not None and partials is not None:
        from bessx.guarantees import usable_capacity_interval

        interval = usable_capacity_interval(partials, window=config.health.window)
        battery_health = battery_health.assign(interval.reset_coords(drop=True))
    if config.guarantees.given:
        from bessx.guarantees import guarantee_table

        guarantees = guarantee_table(
            config.guarantees,
            availability=results.availability,
            health=battery_health,
            daily=daily,
            capacity_interval=None if battery_health is None else battery_health,
        )
    settings = {k: v for k, v in dataclasses.asdict(config.outliers).items() if v is not None}
    counted = {key: settings[key] for key in ("min_coverage",) if key in settings}
    recorder.flush()
    return Results(
        daily=daily,
        lowest_charged=lowest(daily, LOWEST_N, by="charged", **counted),
        lowest_discharged=lowest(daily, LOWEST_N, by="discharged", **counted),
        outliers=outliers(daily, **settings),
        quality=flagged,
        health=battery_health,
        availability=results.availability,
        guarantees=guarantees,
        source={
            **source,
            "files": [path.name for path in used],
            "rows": int(daily.attrs["source_samples"]),
            **({"skipped": [path.name for path in skipped]} if skipped else {}),
            **_report_source(config, used),
            **({"notes": list(recorder.notes)} if recorder.notes else {}),
        },
        warnings=list(recorder.messages),
        cached=None if cache is None else (cache.misses, cache.hits),
    )


def _check_sign(flagged: Any, partials: Any, daily: Any) -> tuple[Any, Any]:
    """Flag the DC inputs whose power sign contradicts their SOC (:mod:`bessx.sign`): a
    warning, rows in the quality table, and their health unknown."""

    import pandas as pd

    from bessx import schema
    from bessx.sign import SignWarning, sign_check, sign_message, sign_rows, untrusted

    table = sign_check(partials)
    message = sign_message(table)
    if message is None:
        return flagged, partials
    warnings.warn(SignWarning(message), stacklevel=2)
    rows = sign_rows(table, daily[schema.DAY].values[0])
    return pd.concat([flagged, rows], ignore_index=True), untrusted(partials, table)


def _report_source(config: Config, used: Sequence[Path]) -> dict[str, Any]:
    """What report.html records to reproduce the numbers: settings, input fingerprints."""
    if "report" not in config.outputs:
        return {}
    from bessx.report_html import fingerprints, run_settings

    return {"settings": run_settings(config), "fingerprints": fingerprints(used)}


def needs_soc(config: Config) -> bool:
    """Whether a run reads the enclosures' SOC: for ``allocation = "soc"``, or for the SOC
    flags of ``quality.csv`` and ``summary.md``. Without it only DC power columns are read."""
    return config.allocation == "soc" or any(
        output in config.outputs for output in ("quality", "summary", "report")
    )


def needs_health(config: Config) -> bool:
    """Whether a run computes the battery health: for the ``health`` output, or for a
    round-trip, capacity-retention or cycle guarantee."""
    guaranteed = config.guarantees
    return "health" in config.outputs or any(
        value is not None
        for value in (
            guaranteed.round_trip_efficiency,
            guaranteed.capacity_retention,
            guaranteed.cycles_per_year,
        )
    )


def needs_availability(config: Config) -> bool:
    """Whether a run computes the availability: for the ``availability`` output, or for an
    availability guarantee."""
    return "availability" in config.outputs or config.guarantees.availability is not None


@contextlib.contextmanager
def _progress(client: Any | None, progress: TextIO | None) -> Iterator[None]:
    """Compute on ``client`` when given, with a progress bar on ``progress`` when given."""
    with contextlib.ExitStack() as stack:
        if client is not None:
            stack.enter_context(client.as_current())
        elif progress is not None:
            from dask.diagnostics import ProgressBar

            stack.enter_context(ProgressBar(minimum=0.5, out=progress))
        yield


# The outputs ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Output:
    """One output file: its name, the ``outputs`` choice that selects it, its writer."""

    name: str
    selected_by: str
    write: Callable[[Results, Path], object]


def _csv(table: Callable[[Results], pd.DataFrame], results: Results, path: Path) -> None:
    from bessx.tables import write_csv

    write_csv(table(results), path)


def _daily_table(results: Results) -> pd.DataFrame:
    from bessx.tables import to_frame

    return to_frame(results.daily)


def _netcdf(results: Results, path: Path) -> None:
    from bessx.io.archive import to_netcdf

    to_netcdf(results.daily, path)


def _health_csv(results: Results, path: Path) -> None:
    from bessx.health import to_frame
    from bessx.tables import write_csv

    if results.health is None:
        raise ValueError("no battery health in these results: ask for the 'health' output")
    write_csv(to_frame(results.health), path)


def _summary(results: Results, path: Path) -> None:
    from bessx.report import availability_section, guarantees_section, summary_markdown

    leading = [] if results.guarantees is None else [guarantees_section(results)]
    if results.injected is not None:  # bessx demo: what was injected, and where it shows
        from bessx.synthetic.demo import injected_faults_section

        leading.insert(0, injected_faults_section(results.injected, results))
    text = summary_markdown(
        results.daily,
        lowest_charged=results.lowest_charged,
        lowest_discharged=results.lowest_discharged,
        outliers=results.outliers,
        warnings=results.warnings,
        source=results.source,
        quality=results.quality,
        leading=leading,
    )
    if results.health is not None:
        from bessx.health import summary_section

        text += "\n" + summary_section(results.health)
    if results.availability is not None:
        text += "\n" + availability_section(results)
    path.write_text(text, encoding="utf-8")


def _availability_csv(results: Results, path: Path) -> None:
    from bessx.availability import to_frame
    from bessx.tables import write_csv

    if results.availability is None:
        raise ValueError("no availability in these results: ask for the 'availability' output")
    write_csv(to_frame(results.availability), path)


def _guarantees_csv(results: Results, path: Path) -> None:
    from bessx.tables import write_csv

    if results.guarantees is None:
        raise ValueError("no guarantees in these results: give a [guarantees] table")
    write_csv(results.guarantees, path)


#: What selects ``guarantees.csv``: a ``[guarantees]`` table in the site file, not a choice
#: of :data:`bessx.config.OUTPUTS`.
GUARANTEES: Final = "[guarantees]"


def _report(results: Results, path: Path) -> None:
    from bessx.report_html import FIGURES, report_html

    # the figures this set already holds (written before, by this run) are not drawn again
    drawn = {
        name: (path.parent / name).read_bytes()
        for name in FIGURES
        if (path.parent / name).is_file()
    }
    path.write_text(report_html(results, figures=drawn), encoding="utf-8")


#: Every output file, in the order they are written.
OUTPUT_TABLE: Final[tuple[Output, ...]] = (
    Output("daily_energy.csv", "csv", partial(_csv, _daily_table)),
    Output("daily_energy.nc", "netcdf", _netcdf),
    Output("lowest_charged.csv", "lowest", partial(_csv, lambda r: r.lowest_charged)),
    Output("lowest_discharged.csv", "lowest", partial(_csv, lambda r: r.lowest_discharged)),
    Output("outliers.csv", "outliers", partial(_csv, lambda r: r.outliers)),
    Output("quality.csv", "quality", partial(_csv, lambda r: r.quality)),
    Output("heatmap_discharged.png", "heatmap", FIGURE_WRITERS["heatmap_discharged.png"]),
    Output(
        "heatmap_discharged_relative.png",
        "heatmap",
        FIGURE_WRITERS["heatmap_discharged_relative.png"],
    ),
    Output("health.csv", "health", _health_csv),
    Output("capacity_trend.png", "health", FIGURE_WRITERS["capacity_trend.png"]),
    Output("summary.md", "summary", _summary),
    Output("availability.csv", "availability", _availability_csv),
    Output(
        "heatmap_availability.png",
        "availability",
        FIGURE_WRITERS["heatmap_availability.png"],
    ),
    Output("guarantees.csv", GUARANTEES, _guarantees_csv),
    Output("report.html", "report", _report),
)
#: The files each choice of :data:`bessx.config.OUTPUTS` writes.
OUTPUT_FILES: Final[dict[str, tuple[str, ...]]] = {
    choice: tuple(item.name for item in OUTPUT_TABLE if item.selected_by == choice)
    for choice in OUTPUTS
}


def output_names(outputs: Sequence[str], config: Config | None = None) -> list[str]:
    """The files the ``outputs`` choices write, in the order they are written; with the
    ``config``, ``guarantees.csv`` too when it has a ``[guarantees]`` table."""
    chosen = [*outputs, *([GUARANTEES] if config is not None and config.guarantees.given else [])]
    return [item.name for item in OUTPUT_TABLE if item.selected_by in chosen]


def write_outputs(results: Results, out: Path, names: Sequence[str]) -> list[Path]:
    """Write the outputs ``names`` of a run as one whole set in ``out``; their paths.

    The set becomes current in one atomic step (:func:`bessx.io.outputs.write_set`); hold
    :func:`bessx.io.outputs.locked` around the run when other runs may write to ``out``.
    """
    from bessx.io.outputs import write_set

    writers = {item.name: partial(item.write, results) for item in OUTPUT_TABLE}
    unknown = sorted(set(names) - set(writers))
    if unknown:
        raise ValueError(f"unknown output(s) {unknown}; choose from {list(writers)}")
    return write_set(
        out,
        {name: writers[name] for name in names},
        known=[item.name for item in OUTPUT_TABLE],
    )
