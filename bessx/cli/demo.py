"""``bessx demo``: write the synthetic plant and its site file, and run ``bessx run`` on it.

The demo writes into ``--out``: the exports (``DEMO_FOLDERS`` of :mod:`bessx.cli.parser`),
a site file with the plant's timezone (:data:`DEMO_SITE_FILE`), and the results. It
replaces only folders and files it wrote itself.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path
from typing import Final

from bessx.cli.console import Console
from bessx.cli.parser import DEMO_FOLDERS, DEMO_START, EXIT_OK, UsageError
from bessx.cli.run import analyse
from bessx.config import load_config

__all__ = ["DEMO_SITE_FILE", "demo_command"]

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


def demo_command(args: argparse.Namespace) -> int:
    """``bessx demo``: the synthetic plant into ``--out``, its site file, its run and what was
    injected; returns :data:`~bessx.cli.parser.EXIT_OK` (errors are raised)."""
    from bessx.document import date_ranges
    from bessx.io.outputs import replace_folder
    from bessx.synthetic.demo import write_demo_plant

    console = Console(quiet=args.quiet, debug=args.debug)
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
    analyse(load_config(site), console, workers=args.workers, config_path=site, injected=plant)
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
