"""The ``bessx`` console script: Ctrl-C, SIGTERM and SIGHUP give one line from the first moment.

Importing the command (:mod:`bessx.cli`: pandas, xarray) takes about half a second, and a
Ctrl-C during an import ends in Python's traceback unless something catches it. This module
is outside the package so that nothing heavy is imported before :func:`main` is ready to
catch it; the command itself is :func:`bessx.cli.main`.
"""

from __future__ import annotations

import contextlib
import signal
import sys

#: The exit code of an interrupted run (128 + SIGINT), as :mod:`bessx.cli.parser` says.
INTERRUPTED = 130
#: The signals handled like Ctrl-C from the first moment, with exit code 128 + the signal.
TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class _Terminated(KeyboardInterrupt):
    """A signal during the command's import (as :class:`bessx.errors.Terminated` later)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: The signal received during the import (None: none), for when its exception was dropped.
_received: int | None = None


def _terminate(signum: int, frame: object) -> None:
    global _received
    for other in TERMINATING:
        signal.signal(other, signal.SIG_IGN)
    _received = signum
    raise _Terminated(signum)


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """Nothing printed for a signal's exception dropped in a ``__del__`` or a callback
    during the import: :func:`main` ends the run with its one line all the same."""
    if not isinstance(unraisable.exc_value, _Terminated):
        sys.__unraisablehook__(unraisable)


def main() -> int:
    """Import and run the ``bessx`` command; a signal during the import is one line:
    Ctrl-C 130, SIGTERM 143, SIGHUP 129.

    The signal's exception may be dropped where it lands (a library's bare ``except:``, a
    ``__del__``) or turned into another error (Python 3.11 wraps an exception raised in a
    ``__set_name__`` in a ``RuntimeError``): the signal is remembered, and raised again once
    the import is done.
    """
    global _received
    _received = None
    with contextlib.suppress(ValueError):  # only the main thread may set them
        for signum in TERMINATING:
            signal.signal(signum, _terminate)
    hook, sys.unraisablehook = sys.unraisablehook, _unraisable
    try:
        try:
            from bessx.cli import main as command
        finally:  # the signal, whatever became of its exception (dropped, or another error)
            if _received is not None:
                raise _Terminated(_received)
    except KeyboardInterrupt as stop:
        signum = getattr(stop, "signum", None)
        if isinstance(signum, int):
            print("bessx: terminated", file=sys.stderr)
            return 128 + signum
        print("bessx: interrupted", file=sys.stderr)
        return INTERRUPTED
    finally:
        sys.unraisablehook = hook
    code = command()
    for signum in TERMINATING:  # done: a signal while Python shuts down has nothing to stop
        signal.signal(signum, signal.SIG_IGN)
    return code
