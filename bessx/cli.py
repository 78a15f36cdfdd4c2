"""The ``bessx`` command: analyse a folder of exports, run a demo, or take an inventory.

``bessx run DATA``
    daily energy per enclosure and the tables, heatmap and summary built on it, written to
    an output folder;
``bessx demo``
    writes the synthetic plant (with its faults) and runs ``run`` on it;
``bessx info DATA``
    a fast inventory of the exports (footers and timestamps only, no energy computed).

``python -m bessx`` is the same command. Every output is written into a hidden staging
folder inside the output folder and moved into place only when all of them are complete,
so a failed run leaves the previous results untouched; inputs are never written to.

Exit codes: :data:`EXIT_OK` (0) success, :data:`EXIT_DATA` (1) the data could not be read
or analysed (:class:`~bessx.errors.BessxError`, a missing data folder, an unexpected
error), :data:`EXIT_USAGE` (2) a usage or configuration error (bad flag value, bad site
file, an output folder that is the data folder). Errors are one line on stderr,
``bessx: error: <file>: <problem>``; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, NoReturn, TextIO

import numpy as np
import pandas as pd
import xarray as xr

from bessx import __version__, schema
from bessx.config import OUTPUTS, Config, load_config, merge
from bessx.errors import BessxError, ConfigError

__all__ = [
    "DEMO_FOLDERS",
    "EXIT_DATA",
    "EXIT_OK",
    "EXIT_USAGE",
    "HEATMAP_DPI",
    "OUTPUT_FILES",
    "UsageError",
    "build_parser",
    "main",
]

EXIT_OK: Final = 0
#: The data could not be read or analysed, or an unexpected error.
EXIT_DATA: Final = 1
#: A usage or configuration error.
EXIT_USAGE: Final = 2
EXIT_INTERRUPTED: Final = 130

#: The files each name of :data:`bessx.config.OUTPUTS` writes, in the order they are written.
OUTPUT_FILES: Final[dict[str, tuple[str, ...]]] = {
    "csv": ("daily_energy.csv", "health.csv"),
    "netcdf": ("daily_energy.nc",),
    "lowest": ("lowest_charged.csv", "lowest_discharged.csv"),
    "outliers": ("outliers.csv",),
    "heatmap": ("heatmap_discharged.png", "capacity_trend.png"),
    "summary": ("summary.md",),
}
#: The files that need the battery health of :func:`bessx.health`.
HEALTH_FILES: Final = ("health.csv", "capacity_trend.png", "summary.md")
#: Enclosures listed in each lowest-energy table.
LOWEST_N: Final = 5
#: Resolution of the heatmap PNG [dots per inch].
HEATMAP_DPI: Final = 120
#: Sub-folders of ``bessx demo --out``: the synthetic exports and the results.
DEMO_FOLDERS: Final = {"exports": "exports", "results": "results"}
DEMO_START: Final = "2022-10-01"
DEMO_DAYS: Final = 7
DEMO_INVERTERS: Final = 72

_STAGING_PREFIX: Final = ".bessx-tmp-"
_DEMO_FILES: Final = (
    "topology.csv",
    "faults.json",
    "health_truth.json",
    "health_truth_daily.csv",
    "health_truth_enclosures.csv",
)
_DEMO_GENERATOR: Final = "bessx.synthetic.write_plant"
_DEBUG_HINT: Final = "rerun with --debug to see the traceback"


class UsageError(Exception):
    """A command line that cannot be carried out as given (exit code 2)."""


# The parser ---------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"bessx: error: {message} (see '{self.prog} --help')\n")


def _count(low: int, high: int | None = None) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` (to ``high``)."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if number < low or (high is not None and number > high):
            bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise argparse.ArgumentTypeError(f"must be {bounds}, got {number}")
        return number

    parse.__name__ = "whole number"
    return parse


def _number(text: str) -> float:
    """An argparse type: a finite number (range checks are the configuration's)."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return number


_DESCRIPTION = """\
xarray-native performance analysis for battery energy storage (BESS) plants: daily energy
charged and discharged per battery enclosure from the plant's daily parquet exports, the
enclosures that underperform their peers, a heatmap and a summary."""

_MAIN_EPILOG = """\
examples:
  bessx demo                              # try it on the synthetic plant
  bessx info exports/                     # what is in the exports?
  bessx run exports/ --out results/       # analyse them
  bessx run --config site.toml            # with a site file (see docs/site.example.toml)
  bessx run --help                        # all the options of a command

exit codes:
  0  success
  1  the data could not be read or analysed (a broken or missing file, missing columns,
     a missing data folder), or an unexpected error
  2  usage or configuration error (a bad flag value, a bad site file, --out = the data)
"""

_RUN_EPILOG = f"""\
DATA is a folder of daily parquet exports (all *.parquet in it), a glob pattern in quotes
("exports/2024-*.parquet") or one file; it may instead come from the site file's `data`.

configuration:
  --config reads a TOML site file (every key is documented in docs/site.example.toml);
  a flag given on the command line overrides the file's value, a flag not given keeps it.
  The file's `outputs` list selects the outputs (default: all) and its [outliers] table
  sets the outlier detection (`threshold`, `z_min`, `min_days`, `min_coverage`: see
  docs/outliers.md).

outputs (in --out, default ./bessx-out):
  daily_energy.csv         charged / discharged [kWh] and coverage per enclosure and day
  daily_energy.nc          the same as a CF netCDF archive (bessx.io.archive.open_daily)
  lowest_charged.csv       the {LOWEST_N} enclosures with the lowest energy charged
  lowest_discharged.csv    ... and discharged, over the whole period
  outliers.csv             enclosures that underperform their peers, with the evidence
  heatmap_discharged.png   energy discharged, enclosure x day, outliers marked
  summary.md               what was read, coverage, plant totals, the tables, warnings
  health.csv               battery health per 30-day window and DC input: usable
                           capacity, round-trip efficiency, cycles, SOC spread, fade
  capacity_trend.png       usable capacity over time, the fastest-fading DC input marked
  The daily energy (and the battery health, in the same pass) is computed once; the
  outputs are written into a hidden staging folder in --out and moved into place only
  when all are complete, so a failed run leaves earlier results untouched. The exports
  are never modified, and --out may not be the data folder.

parallelism:
  by default dask's threaded scheduler on this machine; --workers N starts a local
  cluster of N processes for the run; --scheduler ADDRESS uses a running dask cluster
  (its workers must see DATA under the same absolute path).

examples:
  bessx run exports/
  bessx run exports/ --out results/ --allocation soc --timezone Australia/Brisbane
  bessx run "exports/2024-*.parquet" --topology site/topology.csv --max-gap 5
  bessx run --config site.toml --allocation equal      # the flag wins over the file
  bessx run exports/ --workers 4 --quiet
  bessx run exports/ --scheduler tcp://10.0.0.5:8786

exit codes: 0 success, 1 the data could not be analysed, 2 usage or configuration error.
"""

_DEMO_EPILOG = f"""\
The demo writes a synthetic plant in the export format, with injected faults (a dead DC
input, a weak enclosure, a stretch of NaN, missing rows, a duplicate row), and analyses it:

  <out>/{DEMO_FOLDERS["exports"]}/   one parquet file per local day, topology.csv, faults.json
  <out>/{DEMO_FOLDERS["results"]}/   the outputs of `bessx run` (see bessx run --help)

Running it again writes new exports and replaces the outputs (an existing {DEMO_FOLDERS["exports"]}
folder that the demo did not write is refused). The default plant ({DEMO_INVERTERS} inverters
x {DEMO_DAYS} days from {DEMO_START}, about 55 MB) takes about ten seconds.

examples:
  bessx demo
  bessx demo --out small-demo --days 3 --inverters 8
  bessx demo --seed 7 --workers 2
  bessx info bessx-demo/{DEMO_FOLDERS["exports"]}          # then look at the exports

exit codes: 0 success, 1 the analysis failed, 2 usage error.
"""

_INFO_EPILOG = """\
Reads only the files' footers and timestamps, so it is fast even on a year of exports:
files, local days covered and missing, samples, the sampling interval, timezone,
inverters and enclosures per DC input, the recognised and ignored columns, and the
problems found (repaired duplicates, missing columns, ...). A file that cannot be used
is an error, as in `bessx run`.

examples:
  bessx info exports/
  bessx info "exports/2024-*.parquet" --timezone Australia/Brisbane
  bessx info --config site.toml

exit codes: 0 success, 1 the exports cannot be read, 2 usage or configuration error.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``bessx`` argument parser with its ``run``, ``demo`` and ``info`` commands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = _Parser(
        prog="bessx", description=_DESCRIPTION, epilog=_MAIN_EPILOG, formatter_class=formatter
    )
    parser.add_argument("--version", action="version", version=f"bessx {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="{run,demo,info}", required=True
    )

    common = _Parser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show the full traceback of an error")

    run = commands.add_parser(
        "run",
        parents=[common],
        help="analyse a folder of exports",
        description="Compute the daily energy per enclosure and write the results.",
        epilog=_RUN_EPILOG,
        formatter_class=formatter,
    )
    run.add_argument(
        "data", nargs="?", metavar="DATA", help="folder, glob pattern or file of the exports"
    )
    run.add_argument("--out", metavar="DIR", help="output folder (default: ./bessx-out)")
    run.add_argument("--config", metavar="TOML", help="site configuration file")
    _add_reading_options(run)
    run.add_argument(
        "--allocation",
        choices=("equal", "soc"),
        help="how a DC input's energy is shared among its enclosures (default: equal)",
    )
    run.add_argument(
        "--max-gap",
        type=_number,
        metavar="N",
        help="longest gap bridged by holding the last sample [intervals, >= 1] (default: 3)",
    )
    run.add_argument(
        "--interval",
        type=_number,
        metavar="S",
        help="nominal sampling interval [s] (default: the median time step)",
    )
    _add_parallel_options(run)
    run.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    run.set_defaults(handler=_run_command)

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="run the analysis on the synthetic demo plant",
        description="Write the synthetic demo plant with its faults and analyse it.",
        epilog=_DEMO_EPILOG,
        formatter_class=formatter,
    )
    demo.add_argument(
        "--out", metavar="DIR", default="bessx-demo", help="demo folder (default: ./bessx-demo)"
    )
    demo.add_argument(
        "--days",
        type=_count(1),
        default=DEMO_DAYS,
        metavar="N",
        help=f"local days from {DEMO_START} (default: {DEMO_DAYS})",
    )
    demo.add_argument(
        "--inverters",
        type=_count(1, DEMO_INVERTERS),
        default=DEMO_INVERTERS,
        metavar="N",
        help=f"inverters, 1 to {DEMO_INVERTERS} (default: {DEMO_INVERTERS})",
    )
    demo.add_argument(
        "--seed", type=_count(0), default=0, metavar="N", help="random seed (default: 0)"
    )
    _add_parallel_options(demo, scheduler=False)
    demo.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")
    demo.set_defaults(handler=_demo_command)

    info = commands.add_parser(
        "info",
        parents=[common],
        help="a quick inventory of a folder of exports",
        description="Inventory a folder of exports without computing any energy.",
        epilog=_INFO_EPILOG,
        formatter_class=formatter,
    )
    info.add_argument(
        "data", nargs="?", metavar="DATA", help="folder, glob pattern or file of the exports"
    )
    info.add_argument(
        "--config", metavar="TOML", help="site configuration file (data, timezone, topology)"
    )
    _add_reading_options(info)
    info.set_defaults(handler=_info_command)
    return parser


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        help="IANA timezone of the exports' local times (default: Australia/Sydney)",
    )
    parser.add_argument(
        "--topology",
        metavar="CSV",
        help="inverter, dc_input, enclosure_id table (default: inferred from the columns)",
    )


def _add_parallel_options(parser: argparse.ArgumentParser, *, scheduler: bool = True) -> None:
    group = parser.add_mutually_exclusive_group() if scheduler else parser
    group.add_argument(
        "--workers",
        type=_count(1),
        metavar="N",
        help="start a local dask cluster of N single-threaded worker processes",
    )
    if scheduler:
        group.add_argument(
            "--scheduler", metavar="ADDRESS", help="use the running dask scheduler at ADDRESS"
        )


# Entry point -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bessx`` command line; returns the exit code.

    Parameters
    ----------
    argv
        The arguments after the program name; default ``sys.argv[1:]``.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    debug = args.debug
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("bessx: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ConfigError, UsageError) as error:
        if debug:
            raise
        return _fail(str(error), EXIT_USAGE)
    except BessxError as error:
        if debug:
            raise
        return _fail(str(error), EXIT_DATA)
    except OSError as error:  # the machine's: permissions, a full disk, a vanished file
        if debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}", EXIT_DATA)
    except Exception as error:
        if debug:
            raise
        return _fail(f"unexpected {type(error).__name__}: {_first_line(error)} ({_DEBUG_HINT})")


def _fail(message: str, code: int = EXIT_DATA) -> int:
    print(f"bessx: error: {_one_line(message)}", file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else "(no message)"


# Configuration -----------------------------------------------------------------------------
def _site_config(args: argparse.Namespace, **flags: Any) -> tuple[Config, Path | None]:
    """The site file's configuration with the flags given on the command line on top."""
    config_path = Path(args.config) if args.config else None
    config = load_config(config_path) if config_path else Config()
    try:
        config = merge(config, data=args.data, **flags)
    except ConfigError as error:  # name the flag as it was typed
        message = str(error)
        for key in ("data", *flags):
            message = message.replace(f"command line: {key!r}", f"--{key.replace('_', '-')}")
        raise ConfigError(message.replace("--data", "DATA")) from None
    if config.data is None:
        raise UsageError(
            "no DATA: give the exports' folder on the command line or as 'data' in --config"
        )
    return config, config_path


def _column_patterns(config: Config) -> Any:
    """The site file's ``[columns]`` patterns, the built-in ones where it gives none."""
    from bessx.io.exports import ColumnPatterns

    given = dataclasses.asdict(config.columns)
    return ColumnPatterns(**{name: value for name, value in given.items() if value is not None})


def _outlier_options(config: Config) -> dict[str, Any]:
    """The site file's ``[outliers]`` table as arguments of :func:`bessx.outliers.outliers`."""
    settings = config.outliers
    options = dataclasses.asdict(settings)
    return {name: value for name, value in options.items() if value is not None}


# Printing -------------------------------------------------------------------------------------
@dataclass
class _Console:
    """Where the command's messages go: results to stdout, the rest to stderr."""

    quiet: bool = False
    debug: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def progress(self) -> bool:
        """Draw progress bars: only on a terminal, and not when asked to be quiet."""
        return not self.quiet and _is_terminal(self.stderr)

    def status(self, message: str) -> None:
        """What is being done, on stderr for a person watching (only on a terminal)."""
        if self.progress:
            print(f"bessx: {message}", file=self.stderr, flush=True)

    def result(self, message: str = "") -> None:
        if not self.quiet:
            print(message, file=self.stdout, flush=True)

    def warn(self, message: str) -> None:
        print(f"bessx: warning: {_one_line(message)}", file=self.stderr, flush=True)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class _Warnings:
    """Warnings recorded while reading and computing; bessx's are shown and kept."""

    def __init__(self, console: _Console) -> None:
        self.console = console
        self.messages: list[str] = []
        self._seen = 0
        self._records: list[warnings.WarningMessage] = []

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            self._records = records
            try:
                yield
            finally:
                self.flush()

    def flush(self) -> None:
        """Show the warnings recorded since the last call."""
        for record in self._records[self._seen :]:
            if _is_bessx_warning(record.category):
                message = _one_line(str(record.message))
                self.messages.append(message)
                self.console.warn(message)
            elif self.console.debug:
                self.console.warn(f"{record.category.__name__}: {record.message}")
        self._seen = len(self._records)


def _is_bessx_warning(category: type[Warning]) -> bool:
    return category.__module__.split(".")[0] == "bessx"


# Output folder ------------------------------------------------------------------------------
class _Staging:
    """A hidden folder in the output folder; its files replace the outputs only at the end.

    Leaving the ``with`` block removes the staging folder, and on an error also the output
    folder (and the parents) it created, when they are empty.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folder: Path | None = None
        self._created: list[Path] = []

    def __enter__(self) -> _Staging:
        missing = [path for path in (self.out, *self.out.parents) if not path.exists()]
        self.out.mkdir(parents=True, exist_ok=True)
        self._created = missing  # innermost first
        self.folder = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=self.out))
        return self

    def path(self, name: str) -> Path:
        """Where to write the output ``name`` for now."""
        assert self.folder is not None
        return self.folder / name

    def commit(self, names: Sequence[str]) -> list[Path]:
        """Move the staged outputs over the old ones; returns their final paths."""
        assert self.folder is not None
        targets = [self.out / name for name in names]
        for target in targets:
            if target.is_dir():  # checked up front too; a replace would fail half-way
                raise UsageError(f"{target}: is a folder, cannot write an output there")
        for name, target in zip(names, targets, strict=True):
            os.replace(self.folder / name, target)
        return targets

    def __exit__(self, error_type: object, error: object, traceback: object) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
        if error_type is not None:
            for path in self._created:
                with contextlib.suppress(OSError):
                    path.rmdir()


def _check_out(
    out: Path, names: Sequence[str], files: Sequence[Path], inputs: Sequence[Path]
) -> None:
    """Refuse an output folder that would overwrite or mix with the inputs."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out is a file, not a folder")
    resolved = out.resolve()
    if any(path.parent.resolve() == resolved for path in files):
        raise UsageError(f"{out}: --out is the data folder; write the results to another folder")
    for name in names:
        target = out / name
        if target.is_dir():
            raise UsageError(f"{target}: is a folder, cannot write an output there")
        for path in inputs:
            if target.resolve() == path.resolve():
                raise UsageError(f"{target}: is an input of this run, it would be overwritten")


# Computing --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _dask_client(
    workers: int | None, address: str | None, console: _Console
) -> Iterator[Any | None]:
    """A distributed ``Client`` for ``--workers``/``--scheduler``, else None (threads)."""
    if workers is None and address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--workers and --scheduler need dask.distributed: pip install 'bessx[distributed]'"
        ) from None
    log_level = logging.WARNING if console.debug else logging.ERROR
    if workers is not None:
        console.status(f"starting a local dask cluster of {workers} worker processes")
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=log_level,
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError, ValueError) as error:
        raise UsageError(f"--scheduler {address}: cannot connect ({_first_line(error)})") from None
    with client:
        console.status(f"using the dask scheduler at {address}")
        yield client


def _compute(lazy: xr.Dataset, client: Any | None, console: _Console) -> xr.Dataset:
    """Compute the daily energy once, with a progress bar when someone is watching."""
    if client is None:
        if console.progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(minimum=0.5, out=console.stderr):
                return lazy.compute(scheduler="threads")
        return lazy.compute(scheduler="threads")
    if console.progress:
        from distributed import progress

        persisted = lazy.persist()
        with contextlib.redirect_stdout(console.stderr):  # distributed draws on stdout
            progress(persisted)
        return persisted.compute()
    return lazy.compute()


@dataclass
class _Analysis:
    """What one run computed: the daily energy and everything derived from it."""

    daily: xr.Dataset
    lowest_charged: pd.DataFrame
    lowest_discharged: pd.DataFrame
    outliers: pd.DataFrame
    source: dict[str, Any]
    warnings: list[str]
    health: xr.Dataset | None = None


def _compute_with_health(
    lazy: xr.Dataset, lazy_health: xr.Dataset, client: Any | None, console: _Console
) -> tuple[xr.Dataset, xr.Dataset]:
    """Compute the daily energy and the battery health in one pass over the exports."""
    both = _compute(xr.merge([lazy, lazy_health], combine_attrs="drop_conflicts"), client, console)
    daily = both[list(lazy.data_vars)].drop_attrs(deep=False).assign_attrs(lazy.attrs)
    health = both[list(lazy_health.data_vars)].drop_attrs(deep=False)
    return daily, health.assign_attrs(lazy_health.attrs)


def _analyse(
    config: Config,
    files: Sequence[Path],
    *,
    source: dict[str, Any],
    workers: int | None,
    address: str | None,
    console: _Console,
) -> _Analysis:
    from bessx.energy import daily_energy
    from bessx.health import health
    from bessx.io.exports import open_exports
    from bessx.outliers import outliers
    from bessx.tables import lowest

    if address is not None:  # remote workers do not share our working folder
        files = [path.resolve() for path in files]
    needs_health = any(name in HEALTH_FILES for name in _output_names(config.outputs))
    variables: tuple[str, ...] = ("dc_power",)
    if config.allocation == "soc" or needs_health:
        variables += ("soc",)
    if needs_health:
        variables += ("plant_power",)
    recorder = _Warnings(console)
    with recorder.recording():
        with _dask_client(workers, address, console) as client:
            console.status(f"reading {len(files)} export file(s) from {config.data}")
            history = open_exports(
                files,
                timezone=config.timezone,
                topology=config.topology,
                interval=config.interval,
                variables=variables,
                columns=_column_patterns(config),
            )
            recorder.flush()
            lazy = daily_energy(history, allocation=config.allocation, max_gap=config.max_gap)
            console.status(
                f"computing the daily energy of {history.sizes[schema.INVERTER]} inverters "
                f"over {lazy.sizes[schema.DAY]} local day(s)"
            )
            if needs_health:
                daily, battery_health = _compute_with_health(
                    lazy, health(history, max_gap=config.max_gap), client, console
                )
            else:
                daily, battery_health = _compute(lazy, client, console), None
        found = outliers(daily, **_outlier_options(config))
        lowest_charged = lowest(daily, LOWEST_N, by="charged")
        lowest_discharged = lowest(daily, LOWEST_N, by="discharged")
    source = {**source, "rows": history.sizes[schema.TIME]}
    return _Analysis(
        daily,
        lowest_charged,
        lowest_discharged,
        found,
        source,
        recorder.messages,
        battery_health,
    )


# Writing ------------------------------------------------------------------------------------
def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False)


def _write_heatmap(analysis: _Analysis, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bessx.plot import heatmap

    axes = heatmap(analysis.daily, "discharged", outliers=analysis.outliers)
    try:
        axes.figure.savefig(path, dpi=HEATMAP_DPI, format="png")
    finally:
        plt.close(axes.figure)


def _write_summary(analysis: _Analysis, path: Path) -> None:
    from bessx.report import summary_markdown

    text = summary_markdown(
        analysis.daily,
        lowest_charged=analysis.lowest_charged,
        lowest_discharged=analysis.lowest_discharged,
        outliers=analysis.outliers,
        warnings=analysis.warnings,
        source=analysis.source,
    )
    if analysis.health is not None:
        from bessx.health import summary_section

        text += "\n" + summary_section(analysis.health)
    path.write_text(text, encoding="utf-8")


def _write_health_csv(analysis: _Analysis, path: Path) -> None:
    from bessx.health import to_frame

    assert analysis.health is not None
    _write_csv(to_frame(analysis.health), path)


def _write_capacity_trend(analysis: _Analysis, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bessx.plot_health import capacity_trend

    assert analysis.health is not None
    axes = capacity_trend(analysis.health)
    try:
        axes.figure.savefig(path, dpi=HEATMAP_DPI, format="png")
    finally:
        plt.close(axes.figure)


def _writers(analysis: _Analysis) -> dict[str, Callable[[Path], object]]:
    from bessx.io.archive import to_netcdf
    from bessx.tables import to_frame

    return {
        "daily_energy.csv": lambda path: _write_csv(to_frame(analysis.daily), path),
        "daily_energy.nc": lambda path: to_netcdf(analysis.daily, path),
        "lowest_charged.csv": lambda path: _write_csv(analysis.lowest_charged, path),
        "lowest_discharged.csv": lambda path: _write_csv(analysis.lowest_discharged, path),
        "outliers.csv": lambda path: _write_csv(analysis.outliers, path),
        "heatmap_discharged.png": lambda path: _write_heatmap(analysis, path),
        "summary.md": lambda path: _write_summary(analysis, path),
        "health.csv": lambda path: _write_health_csv(analysis, path),
        "capacity_trend.png": lambda path: _write_capacity_trend(analysis, path),
    }


def _output_names(outputs: Sequence[str]) -> list[str]:
    return [name for output in OUTPUTS if output in outputs for name in OUTPUT_FILES[output]]


def _write_outputs(analysis: _Analysis, out: Path, names: Sequence[str]) -> list[Path]:
    writers = _writers(analysis)
    with _Staging(out) as staging:
        for name in names:
            writers[name](staging.path(name))
        return staging.commit(names)


# bessx run ----------------------------------------------------------------------------------
def _run_analysis(
    config: Config,
    *,
    console: _Console,
    workers: int | None = None,
    address: str | None = None,
    config_path: Path | None = None,
) -> tuple[_Analysis, list[Path]]:
    """Read, compute once, write the selected outputs; the body of ``bessx run``."""
    from bessx.io.exports import export_paths

    assert config.data is not None
    files = export_paths(config.data)
    names = _output_names(config.outputs)
    inputs = [path for path in (config.topology, config_path) if path is not None]
    _check_out(config.out, names, files, inputs)
    source: dict[str, Any] = {
        "data": str(config.data),
        "files": [path.name for path in files],
        "interval": "given" if config.interval is not None else "inferred",
    }
    if config.topology is not None:
        source["topology"] = str(config.topology)
    if config_path is not None:
        source["config"] = str(config_path)
    analysis = _analyse(
        config, files, source=source, workers=workers, address=address, console=console
    )
    console.status(f"writing {len(names)} output(s) to {config.out}")
    written = _write_outputs(analysis, config.out, names)
    _print_results(analysis, written, config.out, console)
    return analysis, written


def _print_results(
    analysis: _Analysis, written: Sequence[Path], out: Path, console: _Console
) -> None:
    daily = analysis.daily
    dates = pd.DatetimeIndex(daily[schema.DAY].values).strftime("%Y-%m-%d")
    enclosures = int((daily["enclosure_id"].values.astype(str) != "").sum())
    charged = float(np.nansum(daily["charged"].values))
    discharged = float(np.nansum(daily["discharged"].values))
    ratio = f"{discharged / charged:.3f}" if charged > 0 else "n/a"
    period = f"{dates[0]} to {dates[-1]}" if len(dates) else "no days"
    console.result(
        f"Read {len(analysis.source['files'])} export file(s) from {analysis.source['data']}: "
        f"{period} ({len(dates)} local days), {daily.sizes[schema.INVERTER]} inverters, "
        f"{enclosures} enclosures."
    )
    console.result(
        f"Plant (DC side): charged {charged:,.0f} kWh, discharged {discharged:,.0f} kWh, "
        f"round trip {ratio}."
    )
    found = analysis.outliers
    if found.empty:
        console.result("Outliers: none.")
    else:
        kinds = found["kind"].value_counts()
        console.result(
            "Outliers: " + ", ".join(f"{kinds[kind]} {kind}" for kind in kinds.index) + "."
        )
        for row in found.itertuples(index=False):
            console.result(f"  {row.enclosure_id:<10} {row.kind:<15} {row.note}")
    if analysis.warnings:
        console.result(f"Warnings while reading: {len(analysis.warnings)} (see summary.md).")
    console.result(f"Wrote {len(written)} file(s) to {out}{os.sep}:")
    for path in written:
        console.result(f"  {path.name}")


def _run_command(args: argparse.Namespace) -> int:
    console = _Console(quiet=args.quiet, debug=args.debug)
    config, config_path = _site_config(
        args,
        out=args.out,
        timezone=args.timezone,
        topology=args.topology,
        allocation=args.allocation,
        max_gap=args.max_gap,
        interval=args.interval,
    )
    _run_analysis(
        config,
        console=console,
        workers=args.workers,
        address=args.scheduler,
        config_path=config_path,
    )
    return EXIT_OK


# bessx demo ------------------------------------------------------------------------------------
def _demo_command(args: argparse.Namespace) -> int:
    from bessx.synthetic import write_plant

    console = _Console(quiet=args.quiet, debug=args.debug)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out is a file, not a folder")
    exports = out / DEMO_FOLDERS["exports"]
    results = out / DEMO_FOLDERS["results"]
    _check_demo_exports(exports)
    console.status(
        f"writing the synthetic plant ({args.inverters} inverters, {args.days} day(s) from "
        f"{DEMO_START}, seed {args.seed}) to {exports}"
    )
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{exports.name}.tmp-", dir=out))
    try:
        plant = write_plant(
            staging,
            DEMO_START,
            args.days,
            inverters=args.inverters,
            seed=args.seed,
            faults=True,
        )
        _replace_folder(staging, exports)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    config = Config(data=exports, out=results)
    _run_analysis(config, console=console, workers=args.workers)
    console.result(f"Injected faults (see {exports / 'faults.json'}):")
    for fault in plant.faults:
        days = ", ".join(fault.dates)
        console.result(f"  {fault.kind:<15} {days}: {fault.detail}")
    console.result(
        f"Next: read {results / 'summary.md'}, or try `bessx info {exports}` and "
        f"`bessx run {exports} --allocation soc --out {out / 'results-soc'}`."
    )
    return EXIT_OK


def _check_demo_exports(exports: Path) -> None:
    """Only a folder the demo wrote itself may be replaced."""
    if not exports.exists():
        return
    if not exports.is_dir():
        raise UsageError(f"{exports}: exists and is not a folder; choose another --out")
    stray = [
        path.name
        for path in exports.iterdir()
        if not (path.is_file() and (path.suffix == ".parquet" or path.name in _DEMO_FILES))
    ]
    record = exports / "faults.json"
    try:
        generator = json.loads(record.read_text(encoding="utf-8")).get("generator")
    except (OSError, ValueError, AttributeError):
        generator = None
    if stray or generator != _DEMO_GENERATOR:
        raise UsageError(
            f"{exports}: exists and was not written by bessx demo; it is left alone: "
            "choose another --out"
        )


def _replace_folder(new: Path, target: Path) -> None:
    """Put folder ``new`` where ``target`` is, removing the old one only once it is in place."""
    if not target.exists():
        os.replace(new, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    os.replace(target, old / target.name)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old / target.name, target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


# bessx info -----------------------------------------------------------------------------------
def _info_command(args: argparse.Namespace) -> int:
    from bessx.io.exports import export_paths, open_exports

    console = _Console(debug=args.debug)
    config, _ = _site_config(args, timezone=args.timezone, topology=args.topology)
    assert config.data is not None
    files = export_paths(config.data)
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        history = open_exports(
            files,
            timezone=config.timezone,
            topology=config.topology,
            interval=config.interval,
            columns=_column_patterns(config),
        )
    problems = [_one_line(str(r.message)) for r in records if _is_bessx_warning(r.category)]
    for line in _inventory(history, files, config, problems):
        console.result(line)
    return EXIT_OK


def _inventory(
    history: xr.Dataset, files: Sequence[Path], config: Config, problems: Sequence[str]
) -> list[str]:
    """The lines of ``bessx info``."""
    from bessx.report import layout_summary

    timezone = str(history.attrs["timezone"])
    utc = pd.DatetimeIndex(history[schema.TIME].values).tz_localize("UTC")
    local_days = utc.tz_convert(timezone).tz_localize(None).normalize()
    per_day = pd.Series(1, index=local_days).groupby(level=0).size()
    first, last = per_day.index[0], per_day.index[-1]
    calendar = pd.date_range(first, last, freq="D")
    missing = calendar.difference(per_day.index)
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
            f"{len(missing)} missing"
            + (f" ({_short(list(missing.strftime('%Y-%m-%d')))})" if len(missing) else ""),
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
        row("problems", str(len(problems)) if problems else "none"),
    ]
    lines += [f"    - {problem}" for problem in problems]
    return lines


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
    patterns = _column_patterns(config)
    counts = {
        "dc_power": sum(bool(patterns.dc_power.match(name)) for name in names),
        "soc": sum(bool(patterns.soc.match(name)) for name in names),
        "plant": sum(name in schema.PLANT_COLUMNS for name in names),
        "time": min(1, sum(name in TIMESTAMP_CANDIDATES for name in names)),
    }
    counts["ignored"] = len(names) - sum(counts.values())
    counts["total"] = len(names)
    return counts


def _first_last(names: np.ndarray) -> str:
    if len(names) == 0:
        return ""
    return f" ({names[0]})" if len(names) == 1 else f" ({names[0]} … {names[-1]})"


def _short(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown if len(items) <= limit else f"{shown} and {len(items) - limit} more"
