"""What the ``bessx`` commands share: the site file read with the flags on top, and the console.

:func:`site_config` makes the run's :class:`~bessx.config.Config` from ``--config`` and the
flags typed; :class:`Console` is where the messages go: results to stdout, the rest to
stderr, one line each.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from bessx.cli.parser import UsageError
from bessx.config import Config, load_config, merge
from bessx.errors import ConfigError, one_line

__all__ = ["Console", "is_terminal", "site_config"]


# Configuration -----------------------------------------------------------------------------
def site_config(args: argparse.Namespace, **flags: Any) -> tuple[Config, Path | None]:
    """The site file's configuration with the flags given on the command line on top.

    ``flags`` are the :func:`~bessx.config.merge` keys of the flags the command has; an
    invalid value is named as the flag was typed (``--max-gap``, not ``max_gap``).
    """
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
class Console:
    """Where the command's messages go: results to stdout, the rest to stderr."""

    quiet: bool = False
    debug: bool = False
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    @property
    def progress(self) -> bool:
        """Draw progress bars: only on a terminal, and not when asked to be quiet."""
        return not self.quiet and is_terminal(self.stderr)

    def status(self, message: str) -> None:
        """What is being done, on stderr for a person watching (only on a terminal)."""
        if self.progress:
            print(f"bessx: {message}", file=self.stderr, flush=True)

    def result(self, message: str = "") -> None:
        """A line of the result, on stdout (none with ``--quiet``)."""
        if not self.quiet:
            print(message, file=self.stdout, flush=True)

    def warn(self, message: str) -> None:
        """``bessx: warning: <message>`` on one line of stderr (also with ``--quiet``)."""
        print(f"bessx: warning: {one_line(message)}", file=self.stderr, flush=True)

    def show(self, record: warnings.WarningMessage) -> None:
        """A warning met while reading: bessx's always, the others with --debug."""
        if record.category.__module__.split(".")[0] == "bessx":
            self.warn(str(record.message))
        elif self.debug:
            self.warn(f"{record.category.__name__}: {record.message}")


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (False for a closed or a file-like stream)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
