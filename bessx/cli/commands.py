"""The ``bessx`` command: analyse a folder of exports, run a demo, or take an inventory.

``bessx run DATA``
    daily energy per enclosure and the tables, heatmaps and summary built on it, written to
    an output folder (:func:`bessx.pipeline.run`, :func:`bessx.pipeline.write_outputs`);
``bessx demo``
    writes the synthetic plant (with its faults) and its site file (the plant's timezone)
    and runs ``run`` on it;
``bessx info DATA``
    a fast inventory of the exports (:func:`bessx.inventory.inventory`).

``python -m bessx`` is the same command. This module only parses (:mod:`bessx.cli.parser`),
calls the library and prints: the analysis lives in :mod:`bessx.pipeline`, the output sets
and the run lock in :mod:`bessx.io.outputs`.

Exit codes (:mod:`bessx.cli.parser`): :data:`~bessx.cli.parser.EXIT_OK` (0) success,
:data:`~bessx.cli.parser.EXIT_DATA` (1) the data could not be read or analysed
(:class:`~bessx.errors.BessxError`, a missing data folder), an output could not be written,
the output folder is in use by another run, or an unexpected error;
:data:`~bessx.cli.parser.EXIT_USAGE` (2) a usage or configuration error (bad flag value, bad
site file, no timezone, a missing topology file, an output folder in the data folder);
:data:`~bessx.cli.parser.EXIT_INTERRUPTED` (130) Ctrl-C. Errors are one line on stderr,
``bessx: error: <file>: <problem>``; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from bessx import schema
from bessx.cli.parser import (
    DEMO_FOLDERS,
    DEMO_START,
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    build_parser,
)
from bessx.config import Config, load_config, merge, require_timezone
from bessx.errors import (
    TERMINATING,
    BessxError,
    ConfigError,
    check_terminated,
    dropping_terminated,
    first_line,
    forget_terminated,
    one_line,
    terminate,
)
from bessx.figures import HEATMAP_DPI
from bessx.pipeline import LOWEST_N, OUTPUT_FILES, output_names
from bessx.results import Results

if TYPE_CHECKING:
    from bessx.synthetic import SyntheticPlant

__all__ = [
    "DEMO_FOLDERS",
    "EXIT_DATA",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "HEATMAP_DPI",
    "LOWEST_N",
    "OUTPUT_FILES",
    "UsageError",
    "build_parser",
    "main",
]

#: Where ``bessx run`` keeps the per-file summaries, in the output folder (``--cache``).
CACHE_FOLDER: Final = Path(".bessx") / "cache"
_DEMO_FILES: Final = (
    "topology.csv",
    "faults.json",
    "health_truth.json",
    "health_truth_daily.csv",
    "health_truth_enclosures.csv",
)
_DEMO_GENERATOR: Final = "bessx.synthetic.write_plant"
#: The demo's site file, in its --out folder: the exports, the plant's timezone, the results.
DEMO_SITE_FILE: Final = "site.toml"
_DEMO_SITE_MARK: Final = "# The site file of `bessx demo`"
_DEBUG_HINT: Final = "rerun with --debug to see the traceback"


# Entry point -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``bessx`` command line; returns the exit code.

    Parameters
    ----------
    argv
        The arguments after the program name; default ``sys.argv[1:]``.
    """
    before = {signum: signal.getsignal(signum) for signum in TERMINATING}
    forget_terminated()
    with contextlib.suppress(ValueError):  # only the main thread may set it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for signum in TERMINATING:  # SIGTERM, SIGHUP: as Ctrl-C, with their own exit code
            signal.signal(signum, terminate)
    hook, sys.unraisablehook = sys.unraisablehook, dropping_terminated(sys.unraisablehook)
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        code = _main(arguments)
        check_terminated()  # a signal whose exception a library dropped: not a success
        return code
    except KeyboardInterrupt as stop:
        if "--debug" in arguments:
            raise
        return _stopped(stop)
    finally:  # the caller's own handlers again (the console script then ignores them)
        sys.unraisablehook = hook
        with contextlib.suppress(ValueError, TypeError):
            for signum, handler in before.items():
                signal.signal(signum, handler)


def _stopped(stop: KeyboardInterrupt) -> int:
    """One line and the exit code of a run stopped by Ctrl-C (130) or a signal (128 + its
    number: 143 for SIGTERM, 129 for SIGHUP)."""
    signum = getattr(stop, "signum", None)  # bessx's Terminated, or the launcher's
    if isinstance(signum, int):
        print("bessx: terminated", file=sys.stderr)
        return 128 + signum
    print("bessx: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _main(arguments: list[str]) -> int:
    from bessx.io.outputs import FolderInUse

    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exit_:  # --help, --version and usage errors
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    commands = {"run": _run_command, "demo": _demo_command, "info": _info_command}
    try:
        return commands[args.command](args)
    except (ConfigError, UsageError) as error:
        if args.debug:
            raise
        return _fail(str(error), EXIT_USAGE)
    except FolderInUse as error:
        if args.debug:
            raise
        return _fail(f"{error}; use --wait to wait for it", EXIT_DATA)
    except BessxError as error:
        if args.debug:
            raise
        return _fail(str(error) + _skip_hint(error, args), EXIT_DATA)
    except OSError as error:  # the machine's: permissions, a full disk, a vanished file
        if args.debug:
            raise
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}", EXIT_DATA)
    except Exception as error:
        if args.debug:
            raise
        return _fail(f"unexpected {type(error).__name__}: {first_line(error)} ({_DEBUG_HINT})")


def _skip_hint(error: BessxError, args: argparse.Namespace) -> str:
    """What to add to the error that stops a run for one bad export: how to go on without it."""
    from bessx.errors import ExportError

    if not isinstance(error, ExportError) or getattr(args, "skip_bad_files", True):
        return ""
    data = getattr(args, "data", None)
    whole = ("no usable export", "no *.parquet", "no such file, folder", "no export files")
    if (data is not None and Path(error.path) == Path(data)) or error.problem.startswith(whole):
        return ""  # about the folder, not one export of it
    return " (--skip-bad-files leaves it out)"


def _fail(message: str, code: int = EXIT_DATA) -> int:
    check_terminated()  # an error a signal's exception was turned into: the signal's line
    print(f"bessx: error: {one_line(message)}", file=sys.stderr)
    return code


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
        message = message.replace("command line: 'health.window'", "--health-window")
        raise ConfigError(message.replace("--data", "DATA")) from None
    if config.data is None:
        raise UsageError(
            "no DATA: give the exports' folder on the command line or as 'data' in --config"
        )
    return config, config_path


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
        print(f"bessx: warning: {one_line(message)}", file=self.stderr, flush=True)

    def show(self, record: warnings.WarningMessage) -> None:
        """A warning met while reading: bessx's always, the others with --debug."""
        if record.category.__module__.split(".")[0] == "bessx":
            self.warn(str(record.message))
        elif self.debug:
            self.warn(f"{record.category.__name__}: {record.message}")


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


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
        raise UsageError(f"--scheduler {address}: cannot connect ({first_line(error)})") from None
    with client:
        console.status(f"using the dask scheduler at {address}")
        yield client


# bessx run ----------------------------------------------------------------------------------
def _run(
    config: Config,
    console: _Console,
    *,
    workers: int | None = None,
    address: str | None = None,
    config_path: Path | None = None,
    wait: bool = False,
    cache: Path | bool = True,
    force: bool = False,
    injected: SyntheticPlant | None = None,
) -> Results | None:
    """Check, lock the output folder, run the analysis, write its outputs, print.

    ``cache`` is the summaries' folder: True for :data:`CACHE_FOLDER` in the output folder,
    False for none. It may not lie in the data folder: the exports are never written.
    Unless ``force`` (or no cache), outputs found up to date (:mod:`bessx.io.freshness`)
    are left as they are, with one line and None. ``injected`` is the demo's synthetic
    plant, whose faults ``summary.md`` then lists (:attr:`Results.injected`).
    """
    from bessx.io import freshness

    require_timezone(config.timezone)  # before anything is read or written
    names = output_names(config.outputs, config)
    inputs = [path for path in (config.topology, config_path) if path is not None]
    token = freshness.settings_token(config, names, config_path)
    from bessx.io.outputs import current_set

    exports = freshness.list_exports(config.data) if config.data is not None else None
    shown = current_set(config.out) is not None  # else there is nothing to be up to date
    if not force and cache is not False and exports is not None and shown:
        from bessx.io.outputs import check_out, locked

        check_out(config.out, names, exports, inputs)
        # under the lock, like any run: a run writing now finishes first, and what killed
        # runs left is cleaned
        with locked(config.out, wait=wait, on_wait=_waiting(config.out)):
            verdict = freshness.check(config.out, names, token, exports, inputs)
        if verdict.up_to_date:
            console.result(f"outputs up to date: {verdict.exports} exports unchanged")
            return None
        console.status(f"computing: {verdict.reason}")
    return _compute(
        config, console, names, token, inputs, workers, address, config_path, wait, cache, injected
    )


def _compute(
    config: Config,
    console: _Console,
    names: list[str],
    token: str,
    inputs: list[Path],
    workers: int | None,
    address: str | None,
    config_path: Path | None,
    wait: bool,
    cache: Path | bool,
    injected: SyntheticPlant | None = None,
) -> Results:
    from bessx.io import freshness
    from bessx.io.outputs import check_out, locked
    from bessx.pipeline import check_config, find_exports, run, write_outputs

    with warnings.catch_warnings():  # the run finds them again and reports its notes
        warnings.simplefilter("ignore")
        files = find_exports(config)
    check_config(config)
    check_out(config.out, names, files, inputs)
    cache_folder = config.out / CACHE_FOLDER if cache is True else cache or None
    if cache_folder is not None:
        _check_cache(cache_folder, files)

    with locked(config.out, wait=wait, on_wait=_waiting(config.out)):
        states = freshness.export_states(files)  # as they are before they are read
        with _dask_client(workers, address, console) as client:
            results = run(
                config,
                client=client,
                progress=console.stderr if console.progress else None,
                status=console.status,
                on_warning=console.show,
                config_path=config_path,
                cache=cache_folder,
            )
        results = replace(results, injected=injected)
        console.status(f"writing {len(names)} output(s) to {config.out}")
        written = write_outputs(results, config.out, names)
        freshness.record(config.out, names, token, states, inputs)
    _print_results(results, written, config.out, console)
    return results


def _waiting(out: Path) -> Callable[[int | None], None]:
    """What a run prints when it waits for another run's lock on ``out``."""

    def waiting(pid: int | None) -> None:
        who = f" (pid {pid})" if pid is not None else ""
        print(f"bessx: waiting for another bessx run{who} writing to {out}", file=sys.stderr)

    return waiting


def _check_cache(folder: Path, files: Sequence[Path]) -> None:
    """Refuse a cache folder in the data folder (or holding it)."""
    where = folder.resolve()
    for data in {path.parent.resolve() for path in files}:
        if where == data or data in where.parents:
            raise UsageError(f"--cache {folder}: the cache may not be in the data folder {data}")


def _print_results(results: Results, written: Sequence[Path], out: Path, console: _Console) -> None:
    import numpy as np
    import pandas as pd

    daily = results.daily
    dates = pd.DatetimeIndex(daily[schema.DAY].values).strftime("%Y-%m-%d")
    enclosures = int((daily["enclosure_id"].values.astype(str) != "").sum())
    charged = float(np.nansum(daily["charged"].values))
    discharged = float(np.nansum(daily["discharged"].values))
    ratio = f"{discharged / charged:.3f}" if charged > 0 else "n/a"
    period = f"{dates[0]} to {dates[-1]}" if len(dates) else "no days"
    console.result(
        f"Read {len(results.source['files'])} export file(s) from {results.source['data']}: "
        f"{period} ({len(dates)} local days), {daily.sizes[schema.INVERTER]} inverters, "
        f"{enclosures} enclosures."
    )
    if results.cached is not None:
        read, kept = results.cached
        console.result(f"read {read} new export{'' if read == 1 else 's'}, {kept} from the cache")
    console.result(
        f"Plant (DC side): charged {charged:,.0f} kWh, discharged {discharged:,.0f} kWh, "
        f"round trip {ratio}."
    )
    found = results.outliers
    if found.empty:
        console.result("Outliers: none.")
    else:
        kinds = found["kind"].value_counts()
        console.result(
            "Outliers: " + ", ".join(f"{kinds[kind]} {kind}" for kind in kinds.index) + "."
        )
        for row in found.itertuples(index=False):
            where = str(row.enclosure_id or f"{row.inverter} DC{row.dc_input}")
            console.result(f"  {where:<10} {row.kind!s:<15} {row.note}")
    flagged = results.quality
    implausible = flagged[flagged["flag"].isin(["non_finite", "out_of_range"])]
    if not flagged.empty:
        kinds = flagged.groupby("flag", sort=False).size()
        console.result(
            f"Data quality: {int(implausible['samples'].sum()):,} implausible sample(s) excluded; "
            + ", ".join(f"{n} {flag}" for flag, n in kinds.items())
            + " flagged (see quality.csv)."
        )
    if results.source.get("skipped"):
        skipped = results.source["skipped"]
        console.result(
            f"Skipped {len(skipped)} export file(s) that could not be used (see summary.md)."
        )
    if results.warnings:
        console.result(f"Warnings while reading: {len(results.warnings)} (see summary.md).")
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
        skip_bad_files=args.skip_bad_files,
        power_sign=args.power_sign,
        power_unit=args.power_unit,
        health={"window": args.health_window},
    )
    _run(
        config,
        console,
        workers=args.workers,
        address=args.scheduler,
        config_path=config_path,
        wait=args.wait,
        cache=False if args.no_cache else (args.cache or True),
        force=args.force,
    )
    return EXIT_OK


# bessx demo ------------------------------------------------------------------------------------
def _demo_command(args: argparse.Namespace) -> int:
    from bessx.document import date_ranges
    from bessx.io.outputs import replace_folder
    from bessx.synthetic.demo import write_demo_plant

    console = _Console(quiet=args.quiet, debug=args.debug)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out is a file, not a folder")
    exports = out / DEMO_FOLDERS["exports"]
    results = out / DEMO_FOLDERS["results"]
    site = out / DEMO_SITE_FILE
    _check_demo_exports(exports)
    _check_demo_site(site)
    console.status(
        f"writing the synthetic plant ({args.inverters} inverters, {args.days} day(s) from "
        f"{DEMO_START}, seed {args.seed}) to {exports}"
    )
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{exports.name}.tmp-", dir=out))
    try:
        plant = write_demo_plant(
            staging, DEMO_START, args.days, inverters=args.inverters, seed=args.seed
        )
        replace_folder(staging, exports)
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    _write_demo_site(site)
    _run(load_config(site), console, workers=args.workers, config_path=site, injected=plant)
    console.result(f"Injected faults (see {exports / 'faults.json'}):")
    for fault in plant.faults:
        days = date_ranges(fault.dates)
        console.result(f"  {fault.kind:<15} {days}: {fault.detail}")
    console.result(
        f"Next: read {results / 'summary.md'} (it opens with where these faults show), or "
        f"try `bessx info --config {site}` and "
        f"`bessx run --config {site} --allocation soc --out {out / 'results-soc'}`."
    )
    return EXIT_OK


def _write_demo_site(site: Path) -> None:
    """The demo's site file: what ``bessx run --config`` needs to analyse the demo again,
    the synthetic plant's timezone first (the exports' naive times are its local times)."""
    from bessx.synthetic import TIMEZONE

    site.write_text(
        f"{_DEMO_SITE_MARK}: the synthetic plant, as the demo analysed it (rewritten by\n"
        f"# each demo). Analyse it again with `bessx run --config {site}`.\n"
        f"data = {json.dumps(DEMO_FOLDERS['exports'])}\n"
        f"timezone = {json.dumps(TIMEZONE)}\n"
        f"out = {json.dumps(DEMO_FOLDERS['results'])}\n",
        encoding="utf-8",
    )


def _check_demo_site(site: Path) -> None:
    """Only a site file the demo wrote itself may be replaced."""
    if not site.exists() and not site.is_symlink():
        return
    try:
        ours = site.is_file() and site.read_text(encoding="utf-8").startswith(_DEMO_SITE_MARK)
    except (OSError, UnicodeDecodeError):
        ours = False
    if not ours:
        raise UsageError(
            f"{site}: exists and was not written by bessx demo; it is left alone: "
            "choose another --out"
        )


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


# bessx info -----------------------------------------------------------------------------------
def _info_command(args: argparse.Namespace) -> int:
    from bessx.inventory import inventory

    console = _Console(debug=args.debug)
    config, _ = _site_config(
        args,
        timezone=args.timezone,
        topology=args.topology,
        skip_bad_files=args.skip_bad_files,
        power_sign=args.power_sign,
        power_unit=args.power_unit,
    )
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        try:
            lines = inventory(config)
        finally:  # the files left out, when none is left
            for record in records:
                console.show(record)
    for line in lines:
        console.result(line)
    return EXIT_OK
