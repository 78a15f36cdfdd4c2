"""The ``bessx`` command: :mod:`bessx.cli.parser` parses, :mod:`bessx.cli.commands` dispatches
to ``run``, ``demo`` and ``info`` (one module each; :mod:`bessx.cli.console` prints).

The command only parses its arguments, calls the library and prints. ``bessx.cli.main`` is
the entry point (the console script reaches it through ``bessx_launch``).
"""

from __future__ import annotations

from bessx.cli.commands import (
    DEMO_FOLDERS,
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    HEATMAP_DPI,
    LOWEST_N,
    OUTPUT_FILES,
    UsageError,
    build_parser,
    main,
)

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
