"""The benchmark's input: a cached synthetic plant, and a warm page cache.

Plants are written once by :func:`bessx.synthetic.write_plant` into
``<root>/<days>d/`` (full width, 72 inverters) or ``<root>/<days>d-<n>inv/`` and reused
while their manifest (``bench-plant.json``, written last) matches the request and every file
it lists is still there with the same size. :func:`prefix_plant` gives the first days of a
longer plant as a folder of hard links (no copy, and the same pages in the page cache), so
that one written plant serves every period of a run and the day after the longest one is
there to be added (the incremental mode of ``python -m bench --suite``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Final

#: Default cache of generated plants (gitignored).
DATA_ROOT: Final = Path(__file__).resolve().parent / "data"
#: The plant every benchmark reads: same start, seed and faults as the performance notes.
START: Final = "2022-10-01"
SEED: Final = 0
FULL_WIDTH: Final = 72
MANIFEST: Final = "bench-plant.json"

_READ_BLOCK = 1 << 24


def plant_folder(days: int, inverters: int = FULL_WIDTH, root: Path = DATA_ROOT) -> Path:
    """Where the plant of ``days`` days and ``inverters`` inverters is cached."""
    name = f"{days}d" if inverters == FULL_WIDTH else f"{days}d-{inverters}inv"
    return Path(root) / name


def _wanted(days: int, inverters: int) -> dict[str, object]:
    return {"start": START, "days": days, "inverters": inverters, "seed": SEED, "faults": True}


def _complete(folder: Path, days: int, inverters: int) -> bool:
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return False
    try:
        record = json.loads(manifest.read_text())
    except ValueError:
        return False
    if record.get("plant") != _wanted(days, inverters):
        return False
    sizes = record.get("files", {})
    return len(sizes) == days and all(
        (folder / name).is_file() and (folder / name).stat().st_size == size
        for name, size in sizes.items()
    )


def ensure_plant(
    days: int, inverters: int = FULL_WIDTH, root: Path = DATA_ROOT, *, log=print
) -> Path:
    """The folder of a complete cached plant, writing it first if needed.

    Parameters
    ----------
    days
        Consecutive local days from :data:`START`.
    inverters
        Plant width (72: the full plant, ~2,800 columns and ~10 MB per daily file).
    root
        Cache folder.
    log
        Called with one progress line when the plant has to be written.
    """
    folder = plant_folder(days, inverters, root)
    if _complete(folder, days, inverters):
        return folder
    from bessx.synthetic import write_plant

    (folder / MANIFEST).unlink(missing_ok=True)
    for stale in folder.glob("*.parquet"):
        stale.unlink()
    log(f"writing a {days}-day plant with {inverters} inverters to {folder} ...")
    started = time.perf_counter()
    plant = write_plant(folder, START, days, inverters=inverters, seed=SEED, faults=True)
    record = {
        "plant": _wanted(days, inverters),
        "files": {path.name: path.stat().st_size for path in plant.files},
    }
    (folder / MANIFEST).write_text(json.dumps(record, indent=1) + "\n")
    size_mb = sum(record["files"].values()) / 1e6
    log(f"  {days} files, {size_mb:,.0f} MB in {time.perf_counter() - started:.1f} s")
    return folder


def link_files(files: list[Path], folder: Path) -> None:
    """Hard-link ``files`` into ``folder`` under their names (a copy where links fail)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        target = folder / path.name
        try:
            os.link(path, target)
        except OSError:  # another file system, or links not supported
            shutil.copy2(path, target)


def prefix_plant(source: Path, days: int) -> Path:
    """The first ``days`` files of the plant in ``source``, as a folder next to it.

    ``<source>-first<days>``: hard links to the source's files, with a manifest naming them,
    reused while it matches. ``source`` itself when it has exactly ``days`` files.
    """
    files = export_files(source)
    if days > len(files):
        raise ValueError(f"{source.name} has {len(files)} files, fewer than {days}")
    if days == len(files):
        return source
    wanted = {path.name: path.stat().st_size for path in files[:days]}
    folder = source.with_name(f"{source.name}-first{days}")
    manifest = folder / MANIFEST
    try:
        if json.loads(manifest.read_text()).get("files") == wanted and all(
            (folder / name).is_file() for name in wanted
        ):
            return folder
    except (OSError, ValueError):
        pass
    shutil.rmtree(folder, ignore_errors=True)
    link_files(files[:days], folder)
    manifest.write_text(json.dumps({"source": source.name, "files": wanted}, indent=1) + "\n")
    return folder


def export_files(folder: Path) -> list[Path]:
    """The daily export files of a plant folder, in date order."""
    return sorted(Path(folder).glob("*.parquet"))


def warm_page_cache(folder: Path) -> float:
    """Read every export once, untimed, so that all timed runs start from a warm cache.

    Returns the number of bytes read [MB].
    """
    total = 0
    for path in export_files(folder):
        with path.open("rb") as stream:
            while block := stream.read(_READ_BLOCK):
                total += len(block)
    return total / 1e6
