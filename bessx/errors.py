"""Exceptions raised by bessx for bad input, and how their messages are shortened."""

from __future__ import annotations

import contextlib
import re
import signal
import sys
from collections.abc import Callable

#: The interpreter's own ways of stopping (Ctrl-C, a signal, an exit): never a file's error.
#: Everything else raised while reading one export, a Rust panic of a parquet engine
#: included (``pyo3_runtime.PanicException`` is a ``BaseException``), is that export's.
CONTROL = (KeyboardInterrupt, SystemExit, GeneratorExit)


class Terminated(KeyboardInterrupt):
    """The run was asked to stop by a signal (SIGTERM from cron, systemd or a CI timeout;
    SIGHUP from a closed terminal): handled as Ctrl-C is, so that every cleanup runs.

    Parameters
    ----------
    signum
        The signal's number; the command's exit code is ``128 + signum``.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


#: The signal :func:`terminate` received, kept for :func:`check_terminated` (None: none).
_received: int | None = None


def terminate(signum: int, frame: object) -> None:
    """A signal handler: raise :class:`Terminated` once (a second signal while cleaning up
    is ignored, so that the cleanup finishes), and remember the signal.

    The exception is raised wherever the main thread is, and may land where it is dropped
    (a ``__del__``, a weakref callback, a library's bare ``except:``) or turned into another
    error (Python 3.11 wraps one raised in a ``__set_name__`` in a ``RuntimeError``). The run
    would then go on with the signals ignored, or fail with that error;
    :func:`check_terminated` raises the signal again.
    """
    global _received
    for other in TERMINATING:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(other, signal.SIG_IGN)
    _received = signum
    raise Terminated(signum)


def check_terminated() -> None:
    """Raise :class:`Terminated` again if :func:`terminate` received a signal: call it where
    a run must not go on after a signal whose exception was dropped (before an output set
    is made current, before the command reports success).

    Raises
    ------
    Terminated
        A signal was received since :func:`forget_terminated`.
    """
    if _received is not None:
        raise Terminated(_received)


def forget_terminated() -> None:
    """Forget the signal :func:`terminate` received: a new run starts (the command does this
    when it installs the handler)."""
    global _received
    _received = None


def dropping_terminated(
    hook: Callable[[sys.UnraisableHookArgs], object],
) -> Callable[[sys.UnraisableHookArgs], None]:
    """A :data:`sys.unraisablehook` that prints nothing for a :class:`Terminated` dropped in
    a ``__del__`` or a callback (:func:`check_terminated` raises it again, and the run ends
    with its one line) and passes anything else to ``hook``."""

    def unraisablehook(unraisable: sys.UnraisableHookArgs) -> None:
        if not isinstance(unraisable.exc_value, Terminated):
            hook(unraisable)

    return unraisablehook


def ignore_terminating() -> None:
    """Ignore SIGTERM and SIGHUP from now on: the command has finished, and a signal while
    the interpreter shuts down would otherwise end it with the signal's default action."""
    for signum in TERMINATING:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_IGN)


#: The signals handled like Ctrl-C (their numbers; SIGHUP does not exist on Windows).
TERMINATING: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class BessxError(ValueError):
    """Input that bessx cannot analyse; the message is one line naming the problem."""


class ExportError(BessxError):
    """A parquet export (or a folder of them) that cannot be read.

    Parameters
    ----------
    path
        The offending file or folder.
    problem
        What is wrong with it, in a few words.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ConfigError(BessxError):
    """A configuration value that is unknown, of the wrong type or out of range."""


class OutputError(BessxError):
    """An output that cannot be written (a full disk, a permission, a folder in the way).

    Parameters
    ----------
    path
        The output as the user named it (never a hidden staging path).
    problem
        What went wrong, in a few words.
    """

    def __init__(self, path: object, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class CacheWarning(UserWarning):
    """A cache entry or folder that could not be used: the run goes on without it."""


def reason(error: BaseException) -> str:
    """What went wrong, in one line: an OS error's own words (without the path, which the
    message names anyway), else the first line of the error, with its type when that says
    more than the text (a panic, a ``KeyError``).

    Examples
    --------
    >>> reason(PermissionError(13, "Permission denied", "/data/a.parquet"))
    'Permission denied'
    >>> reason(KeyError("Column x does not exist in schema"))
    "KeyError: 'Column x does not exist in schema'"
    """
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = first_line(error)
    if type(error).__name__ == "PanicException":  # nested "called unwrap() on ..." layers
        assertions = re.findall(r"assertion failed: [^\"\\]+", text)
        return f"the parquet engine panicked: {assertions[-1] if assertions else text[:120]}"
    foreign = not isinstance(error, Exception) or isinstance(
        error, LookupError | TypeError | AttributeError | AssertionError
    )
    return f"{type(error).__name__}: {text}" if foreign and text != type(error).__name__ else text


def first_line(error: BaseException) -> str:
    """The first line of an error's message, or its type's name when it has none.

    Examples
    --------
    >>> first_line(OSError("disk full\\nmore detail"))
    'disk full'
    >>> first_line(KeyError())
    'KeyError'
    """
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def one_line(text: object) -> str:
    """A message on one line: its lines stripped and joined by spaces.

    Examples
    --------
    >>> one_line("a\\n  b \\n")
    'a b'
    """
    return " ".join(line.strip() for line in str(text).strip().splitlines() if line.strip())
