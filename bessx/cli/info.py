"""``bessx info``: the inventory of a folder of exports (:func:`bessx.inventory.inventory`),
printed with the warnings met while opening them."""

from __future__ import annotations

import argparse
import warnings

from bessx.cli.console import Console, site_config
from bessx.cli.parser import EXIT_OK

__all__ = ["info_command"]


def info_command(args: argparse.Namespace) -> int:
    """``bessx info DATA``: the inventory's lines on stdout, the warnings met on stderr;
    returns :data:`~bessx.cli.parser.EXIT_OK` (errors are raised)."""
    from bessx.inventory import inventory

    console = Console(debug=args.debug)
    config, _ = site_config(
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
