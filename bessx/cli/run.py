"""``bessx run``: check, lock the output folder, analyse, write the outputs, print.

:func:`run_command` turns the flags into a :class:`~bessx.config.Config`;
:func:`analyse` is the run itself, also used by ``bessx demo``: outputs found up to date
(:mod:`bessx.io.freshness`) are left as they are; else :func:`bessx.pipeline.run` computes the
results (in threads, or on a dask cluster for ``--workers``/``--scheduler``), and
:func:`bessx.pipeline.write_outputs` writes them under the output folder's lock.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from bessx import schema
from bessx.cli.console import Console, site_config
from bessx.cli.parser import EXIT_OK, UsageError
from bessx.config import Config, require_timezone
from bessx.errors import first_line
from bessx.pipeline import output_names
from bessx.results import Results

if TYPE_CHECKING:
    from bessx.synthetic import SyntheticPlant

__all__ = ["CACHE_FOLDER", "analyse", "run_command"]

#: Where ``bessx run`` keeps the per-file summaries, in the output folder (``--cache``).
CACHE_FOLDER: Final = Path(".bessx") / "cache"


# Computing --------------------------------------------------------------------------------------
@contextlib.contextmanager
def _dask_client(
    workers: int | None, address: str | None, console: Console
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


def analyse(
    config: Config,
    console: Console,
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
    plant, whose faults ``summary.md`` then lists (``injected`` of :class:`bessx.results.Results`).
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
    console: Console,
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


def _print_results(results: Results, written: Sequence[Path], out: Path, console: Console) -> None:
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


def run_command(args: argparse.Namespace) -> int:
    """``bessx run``: the site file with the flags on top, then :func:`analyse`; returns
    :data:`~bessx.cli.parser.EXIT_OK` (errors are raised, for the entry point to print)."""
    console = Console(quiet=args.quiet, debug=args.debug)
    config, config_path = site_config(
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
    analyse(
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
