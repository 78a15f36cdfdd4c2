"""The ``bessx`` command: analyse a folder of exports, run a demo, or take an inventory.

``bessx run DATA``
    daily energy per enclosure and the tables, heatmaps and summary built on it, written to
    an output folder (:func:`bessx.pipeline.run`, :func:`bessx.pipeline.write_outputs`);
``bessx demo``
    writes the synthetic plant (with its faults) and its site file (the plant's timezone)
    and runs ``run`` on it;
``bessx info DATA``
    a fast inventory of the exports (:func:`bessx.inventory.inventory`).

``python -m bessx`` is the same command. This module is its entry point: it parses
(:mod:`bessx.cli.parser`), hands the arguments to the command's module
(:mod:`bessx.cli.run`, :mod:`bessx.cli.demo`, :mod:`bessx.cli.info`) and turns what stops a
run into one line and an exit code. The commands only call the library and print
(:mod:`bessx.cli.console`): the analysis lives in :mod:`bessx.pipeline`, the output sets and
the run lock in :mod:`bessx.io.outputs`.

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
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from bessx.cli.demo import demo_command
from bessx.cli.info import info_command
from bessx.cli.parser import (
    DEMO_FOLDERS,
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
    build_parser,
)
from bessx.cli.run import run_command
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
from bessx.pipeline import LOWEST_N, OUTPUT_FILES

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
    commands = {"run": run_command, "demo": demo_command, "info": info_command}
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
