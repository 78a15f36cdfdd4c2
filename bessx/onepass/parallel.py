"""How the per-file map of the one pass runs: here, on dask's scheduler, or in processes.

Each export's task (:func:`bessx.onepass.summarise_export`) is pure: a path and
the settings in, a small picklable summary out, so where it runs changes nothing in the
results (the reduce joins the summaries in the files' order). What it costs does change:

* a few files (fewer than the cores): in this process, one after the other; no dask graph
  is built (a new day's file is read in the time of the file alone);
* a ``distributed.Client`` active, or a dask scheduler configured: dask decides (a client's
  workers read the files);
* otherwise dask's threaded scheduler.

Worker processes (``concurrent.futures.ProcessPoolExecutor``, forked, each worker's
warnings shown here) take the GIL out of the way of the per-file Python and numpy work, but
measured side by side on 2 cores they lost to threads (docs/performance.md: the starts and
the summaries' pickling cost more than the GIL did), so they run only when asked:
``BESSX_ONEPASS_MAP`` (``serial``, ``threads``, ``processes``, ``dask``) forces one way, which
is how the benchmarks compare them.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat
from typing import Any, Final

__all__ = ["MAPS", "choose_map", "cores", "map_files"]

#: The ways the map can run.
MAPS: Final = ("serial", "threads", "processes", "dask")
_ENVIRONMENT: Final = "BESSX_ONEPASS_MAP"


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def choose_map(files: int) -> str:
    """The way to run the map over ``files`` files (see the module docstring)."""
    forced = os.environ.get(_ENVIRONMENT, "")
    if forced:
        if forced not in MAPS:
            raise ValueError(f"{_ENVIRONMENT}={forced!r}: choose one of {', '.join(MAPS)}")
        return forced
    if _dask_decides():
        return "dask"
    if files < cores() or files <= 1:
        return "serial"
    return "threads"


def _dask_decides() -> bool:
    """A distributed client may be active, or a scheduler is configured. Without
    ``dask.distributed`` imported no client can exist (asking would import it)."""
    if "distributed" in sys.modules:
        return True
    if "dask" not in sys.modules:
        return False
    import dask

    return dask.config.get("scheduler", None) is not None


def map_files(
    function: Callable[[Any, Any], Any], items: Sequence[Any], settings: Any
) -> list[Any]:
    """``[function(item, settings) for item in items]``, run as :func:`choose_map` says."""
    how = choose_map(len(items))
    if how == "serial" or not items:
        return [function(item, settings) for item in items]
    if how == "processes":
        return _in_processes(function, items, settings)
    import dask
    from dask import delayed

    tasks = [delayed(function)(item, settings) for item in items]
    if how == "dask":
        return list(dask.compute(*tasks))
    from dask.threaded import get

    return list(dask.compute(*tasks, scheduler=get))


def _in_processes(
    function: Callable[[Any, Any], Any], items: Sequence[Any], settings: Any
) -> list[Any]:
    workers = min(cores(), len(items))
    chunk = max(1, len(items) // (workers * 4))
    # fork: the workers start with this process's imports; not once polars is loaded here,
    # whose thread pool a forked child cannot use
    forkable = "fork" in multiprocessing.get_all_start_methods() and "polars" not in sys.modules
    method = "fork" if forkable else "spawn"
    context = multiprocessing.get_context(method)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        done = list(
            pool.map(_with_warnings, repeat(function), items, repeat(settings), chunksize=chunk)
        )
    results = []
    for result, caught in done:
        for category, message in caught:
            _warn_again(category, message)
        results.append(result)
    return results


def _with_warnings(
    function: Callable[[Any, Any], Any], item: Any, settings: Any
) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """Run in a worker: the warnings it meets go back with the result, to be shown here."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(item, settings)
    return result, [(record.category, str(record.message)) for record in caught]


def _warn_again(category: type[Warning], message: str) -> None:
    try:
        warning = category(message)
    except TypeError:  # a warning class that takes other arguments
        warning = UserWarning(message)
    warnings.warn(warning, stacklevel=3)
