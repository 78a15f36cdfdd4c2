"""The ``bessx`` console script: Ctrl-C gives one line from the very first moment.

Importing the command (:mod:`bessx.cli`: pandas, xarray) takes about half a second, and a
Ctrl-C during an import ends in Python's traceback unless something catches it. This module
is outside the package so that nothing heavy is imported before :func:`main` is ready to
catch it; the command itself is :func:`bessx.cli.main`.
"""

from __future__ import annotations

import sys

#: The exit code of an interrupted run (128 + SIGINT), as :mod:`bessx.cli_parser` says.
INTERRUPTED = 130


def main() -> int:
    """Import and run the ``bessx`` command; an interrupted import is one line and 130."""
    try:
        from bessx.cli import main as command
    except KeyboardInterrupt:
        print("bessx: interrupted", file=sys.stderr)
        return INTERRUPTED
    return command()
