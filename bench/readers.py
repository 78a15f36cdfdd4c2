"""Ways to read one export's needed columns, side by side: ``python -m bench.readers``.

Each way reads the first ``--files`` exports of the benchmark plant serially, one thread,
and yields the timestamps and the DC input power columns (what ``bessx run`` with the CSV
output needs). The ways run round-robin in one process, ``--repeat`` rounds after a warm-up
file each, and the table gives CPU milliseconds per file (medians; CPU time, which a shared
machine disturbs less than wall time):

* ``bessx engine``: what the one pass calls (:func:`bessx.io.engines.get_engine` ``.load``:
  polars' lazy scan, its schema, then one query of the columns picked from it);
* ``polars schema + read_parquet``: :func:`polars.read_parquet_schema`, then the eager reader
  with a projection;
* ``polars lazy regex projection``: one lazy query selecting the columns by a regular
  expression, so that no schema comes back to Python before the read;
* ``pyarrow ParquetFile`` (default, ``pre_buffer``, ``memory_map``): one footer parse, the
  names from it, then :meth:`pyarrow.parquet.ParquetFile.read` of the needed columns;
* ``floor: read_parquet, names known``: the eager reader with the names given (the first
  file's): one footer parse and the data, nothing to learn about the file;
* ``footer only`` (polars, pyarrow): the footer parse alone, for scale.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from bench.data import FULL_WIDTH, ensure_plant

#: The DC input power columns, as :data:`bessx.schema.DC_POWER_PATTERN` names them.
_DC: Final = r"^BESS[12] DC Input Power \(kW\) \[Battery Inverter \w+\]$"
_TIME: Final = "Timestamp"


def ways(known: list[str]) -> dict[str, Callable[[Path], Any]]:
    """The readers compared; ``known`` is the floor's given column list."""
    import polars as pl
    import pyarrow.parquet as pq

    from bessx.io.engines import get_engine

    engine = get_engine("polars")
    dc = re.compile(_DC)

    def needed(names: list[str]) -> list[str]:
        return [_TIME, *(name for name in names if dc.match(name))]

    def bessx_engine(path: Path) -> Any:
        return engine.load(path, lambda names, refusal: [n for n in names if dc.match(n)])

    def polars_schema_read(path: Path) -> Any:
        names = list(pl.read_parquet_schema(path))
        return pl.read_parquet(path, columns=needed(names), use_statistics=False, parallel="none")

    def polars_regex(path: Path) -> Any:
        lazy = pl.scan_parquet(path, parallel="none")
        return lazy.select(pl.col(_TIME), pl.col(_DC)).collect()

    def pyarrow_file(**options: Any) -> Callable[[Path], Any]:
        def read(path: Path) -> Any:
            file = pq.ParquetFile(path, **options)
            return file.read(columns=needed(file.schema_arrow.names), use_threads=False)

        return read

    def floor(path: Path) -> Any:
        return pl.read_parquet(path, columns=known, use_statistics=False, parallel="none")

    return {
        "bessx engine (lazy scan, schema, one query)": bessx_engine,
        "polars schema + read_parquet": polars_schema_read,
        "polars lazy regex projection": polars_regex,
        "pyarrow ParquetFile": pyarrow_file(),
        "pyarrow ParquetFile, pre_buffer": pyarrow_file(pre_buffer=True),
        "pyarrow ParquetFile, memory_map": pyarrow_file(memory_map=True, pre_buffer=False),
        "floor: read_parquet, names known": floor,
        "footer only, polars": lambda path: pl.read_parquet_schema(path),
        "footer only, pyarrow": lambda path: pq.ParquetFile(path).metadata,
    }


def measure(files: list[Path], repeat: int) -> dict[str, float]:
    """CPU ms per file of each way: the median over ``repeat`` round-robin rounds."""
    import pyarrow.parquet as pq

    dc = re.compile(_DC)
    known = [_TIME, *(name for name in pq.read_schema(files[0]).names if dc.match(name))]
    readers = ways(known)
    rounds: dict[str, list[float]] = {name: [] for name in readers}
    for _ in range(repeat):
        for name, read in readers.items():
            read(files[0])  # warm-up
            started = time.process_time()
            for path in files:
                read(path)
            rounds[name].append((time.process_time() - started) / len(files) * 1e3)
    return {name: statistics.median(values) for name, values in rounds.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.readers", description=__doc__)
    parser.add_argument("--files", type=int, default=20, help="exports read (default 20)")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--data-dir", type=Path, default=None, help="cache of generated plants")
    parser.add_argument(
        "--folder", type=Path, default=None, help="read these exports instead (a plant's folder)"
    )
    args = parser.parse_args(argv)
    options = {} if args.data_dir is None else {"root": args.data_dir}
    folder = args.folder or ensure_plant(args.files, FULL_WIDTH, **options)
    files = sorted(folder.glob("*.parquet"))[: args.files]
    results = measure(files, args.repeat)
    floor = results["floor: read_parquet, names known"]
    print(f"{len(files)} exports, CPU ms per file, median of {args.repeat} rounds")
    print("| way | CPU ms per file | / floor |")
    print("| --- | --- | --- |")
    for name, value in results.items():
        print(f"| {name} | {value:.1f} | {value / floor:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
