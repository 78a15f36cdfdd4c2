"""The argument parser of the ``bessx`` command: its options, help texts and exit codes.

Parsing only: :mod:`bessx.cli` carries the commands out.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Final, NoReturn

from bessx import __version__
from bessx.io.conventions import POWER_SIGNS, POWER_UNITS
from bessx.pipeline import LOWEST_N

__all__ = [
    "DEMO_DAYS",
    "DEMO_FOLDERS",
    "DEMO_INVERTERS",
    "DEMO_START",
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
]

#: Success.
EXIT_OK: Final = 0
#: The data could not be read or analysed, or an unexpected error.
EXIT_DATA: Final = 1
#: A usage or configuration error.
EXIT_USAGE: Final = 2
#: Interrupted (Ctrl-C, SIGINT).
EXIT_INTERRUPTED: Final = 130

#: Sub-folders of ``bessx demo --out``: the synthetic exports and the results.
DEMO_FOLDERS: Final = {"exports": "exports", "results": "results"}
DEMO_START: Final = "2022-10-01"
DEMO_DAYS: Final = 7
DEMO_INVERTERS: Final = 72


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
  bessx info exports/ --timezone Europe/Berlin     # what is in the exports?
  bessx run exports/ --timezone Europe/Berlin --out results/     # analyse them
  bessx run --config site.toml            # with a site file (see docs/site.example.toml)
  bessx run --help                        # all the options of a command

exit codes:
  0    success
  1    the data could not be read or analysed (a broken or missing file, missing columns,
       a missing data folder), an output could not be written, --out is in use by another
       run (without --wait), or an unexpected error
  2    usage or configuration error (a bad flag value, a bad site file, no --timezone, a
       missing topology file, --out = the data)
  130  interrupted (Ctrl-C)
  143  terminated (SIGTERM); 129 for SIGHUP
"""


def _outputs_help(width: int = 88, column: int = 27) -> str:
    """The output files of :data:`bessx.pipeline.OUTPUT_TABLE`, in order, each with what it
    holds (:mod:`bessx.output_descriptions`), as the ``bessx run --help`` lines."""
    import textwrap

    from bessx.output_descriptions import describe
    from bessx.pipeline import OUTPUT_TABLE

    lines = []
    for item in OUTPUT_TABLE:
        head = f"  {item.name}"
        head = f"{head:<{column}}" if len(head) < column else f"{head}\n{'':<{column}}"
        words = textwrap.wrap(describe(item.name, LOWEST_N), width - column)
        lines.append(head + f"\n{'':<{column}}".join(words))
    return "\n".join(lines)


_RUN_EPILOG = f"""\
DATA is a folder of daily parquet exports (all *.parquet in it), a glob pattern in quotes
("exports/2024-*.parquet") or one file; it may instead come from the site file's `data`.

timezone (required):
  the plant's IANA timezone cuts the local days (and places naive timestamps in time):
  --timezone Europe/Berlin, or timezone = "Europe/Berlin" in the site file. There is no
  default: without it the run stops (exit 2) before reading anything.

configuration:
  --config reads a TOML site file (every key is documented in docs/site.example.toml);
  a flag given on the command line overrides the file's value, a flag not given keeps it.
  The file's `outputs` list selects the outputs (default: all) and its [outliers] table
  sets the outlier detection (`threshold`, `z_min`, `min_days`, `min_coverage`: see
  docs/outliers.md).

outputs (in --out, default ./bessx-out):
{_outputs_help()}
  The daily energy is computed once. A run writes its whole set of outputs into
  --out/.bessx/sets/ and then makes it current in one atomic step: the names in --out
  (links into .bessx/current/) show the previous set or the new one, never a mix, and a
  failed run leaves the previous set in place. One run at a time writes to an --out: a
  second one stops at once (exit 1) or waits with --wait. The exports are never
  modified, and --out may not be the data folder or lie inside it.

bad files:
  --skip-bad-files (site key skip_bad_files) leaves out each export that cannot be read
  or is refused, naming it with the reason on stderr and in summary.md; the run fails
  only when no export is left. Hidden files (.*, such as macOS ._*.parquet) are never
  read.

parallelism:
  by default dask's threaded scheduler on this machine; --workers N starts a local
  cluster of N processes for the run; --scheduler ADDRESS uses a running dask cluster
  (its workers must see DATA under the same absolute path).

examples:
  bessx run exports/ --timezone Europe/Berlin
  bessx run exports/ --out results/ --allocation soc --timezone Australia/Brisbane
  bessx run "exports/2024-*.parquet" --timezone UTC --topology topology.csv --max-gap 5
  bessx run --config site.toml --allocation equal      # the flag wins over the file
  bessx run --config site.toml --workers 4 --quiet
  bessx run --config site.toml --scheduler tcp://10.0.0.5:8786

exit codes: 0 success, 1 the data could not be analysed or --out is in use, 2 usage or
configuration error, 130 interrupted, 143 or 129 terminated (SIGTERM, SIGHUP).
"""

_DEMO_EPILOG = f"""\
The demo writes a synthetic plant in the export format, with injected faults that its days
show (a dead DC input, a weak enclosure, a stretch of NaN, missing rows, a duplicate row, a
lossy DC input, an enclosure whose SOC reads 12 points high), and analyses it; its summary.md
opens with each fault and where the results show it:

  <out>/{DEMO_FOLDERS["exports"]}/   one parquet file per local day, topology.csv, faults.json
  <out>/{DEMO_FOLDERS["results"]}/   the outputs of `bessx run` (see bessx run --help)
  <out>/site.toml  the demo's site file: data = "{DEMO_FOLDERS["exports"]}", the plant's timezone
                   (Australia/Sydney), out = "{DEMO_FOLDERS["results"]}"; the demo runs from it

Running it again writes new exports and replaces the outputs (an existing {DEMO_FOLDERS["exports"]}
folder or site.toml that the demo did not write is refused). The default plant
({DEMO_INVERTERS} inverters x {DEMO_DAYS} days from {DEMO_START}, about 55 MB) takes about ten
seconds.

examples:
  bessx demo
  bessx demo --out small-demo --days 3 --inverters 8
  bessx demo --seed 7 --workers 2
  bessx info --config bessx-demo/site.toml      # then look at the exports
  bessx run --config bessx-demo/site.toml --allocation soc --out bessx-demo/results-soc

exit codes: 0 success, 1 the analysis failed, 2 usage error.
"""

_INFO_EPILOG = """\
Reads only the files' footers and timestamps, so it is fast even on a year of exports:
files, local days covered and missing, samples, the sampling interval, timezone,
inverters and enclosures per DC input, the recognised and ignored columns, and the
problems found (repaired duplicates, missing columns, ...). A file that cannot be used
is an error, as in `bessx run`.

The plant's timezone is required, as for `bessx run` (--timezone, or timezone in the site
file): the local days, the gaps' local times and the file naming all depend on it.

examples:
  bessx info exports/ --timezone Europe/Berlin
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
    run.add_argument(
        "--health-window",
        metavar="DAYS",
        help='length of the battery health\'s windows, whole days such as "30D" (default: '
        "30D; site key [health] window)",
    )
    run.add_argument(
        "--skip-bad-files",
        action="store_true",
        default=None,
        help="leave out exports that cannot be read or are refused, naming each",
    )
    run.add_argument(
        "--wait",
        action="store_true",
        help="wait for another run writing to --out to finish, instead of stopping",
    )
    cache = run.add_mutually_exclusive_group()
    cache.add_argument(
        "--cache",
        type=Path,
        metavar="DIR",
        help="keep the per-file summaries and the exports' index in DIR (default: "
        "OUT/.bessx/cache): a re-run reads only new or changed exports",
    )
    cache.add_argument(
        "--no-cache", action="store_true", help="read every export, keep no summaries or index"
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="compute and write the outputs even when they are up to date (by default a "
        "run whose exports, settings and outputs are unchanged since the last does nothing)",
    )
    _add_parallel_options(run)
    run.add_argument("--quiet", action="store_true", help="print nothing but warnings and errors")

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
    info.add_argument(
        "--skip-bad-files",
        action="store_true",
        default=None,
        help="leave out exports that cannot be read or are refused, listing them as problems",
    )
    return parser


def _add_reading_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timezone",
        metavar="TZ",
        help="the plant's IANA timezone, e.g. Europe/Berlin: naive timestamps are its local "
        "times, local days start at its midnight (required here or as timezone in the site "
        "file; no default)",
    )
    parser.add_argument(
        "--topology",
        metavar="CSV",
        help="inverter, dc_input, enclosure_id table (default: inferred from the columns)",
    )
    parser.add_argument(
        "--power-sign",
        choices=POWER_SIGNS,
        help="how the exports sign power (default: discharge_positive)",
    )
    parser.add_argument(
        "--power-unit",
        choices=POWER_UNITS,
        help="the unit of the exports' power, converted to kW as it is read (default: kW)",
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
