"""Writing a synthetic plant: one parquet export per local day, and what is known about it.

:func:`write_plant` plans the faults, builds each day with :mod:`bessx.synthetic.days` and
writes, next to the exports, ``topology.csv``, ``faults.json`` and the battery-health truths of
:mod:`bessx.synthetic.truth`. The same arguments give byte-identical files.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from bessx.errors import ConfigError
from bessx.synthetic.constants import MAX_INVERTERS, SAMPLE_SECONDS, SOC_OFFSET_PCT, TIMEZONE
from bessx.synthetic.days import TIMESTAMP_LAYOUTS, _day_frame_and_truth
from bessx.synthetic.faults import Fault, _fault_kinds, plan_faults
from bessx.synthetic.layout import _check_inverter_count, plant_topology
from bessx.synthetic.schedule import _as_date
from bessx.synthetic.truth import _write_health_truth, health_truth


@dataclass(frozen=True)
class SyntheticPlant:
    """What :func:`write_plant` wrote.

    Attributes
    ----------
    folder
        The folder holding the exports, ``topology.csv`` and ``faults.json``.
    files
        The parquet exports written, sorted by name (= by date).
    topology
        One row per enclosure: ``inverter``, ``dc_input``, ``enclosure_id``.
    faults
        The injected faults.
    dates
        The local calendar dates written, ISO format.
    seed
        The random seed used.
    """

    folder: Path
    files: list[Path]
    topology: pd.DataFrame
    faults: tuple[Fault, ...]
    dates: tuple[str, ...] = ()
    seed: int = 0


def write_plant(
    folder: str | Path,
    start: str | dt.date | pd.Timestamp = "2022-10-01",
    days: int = 7,
    *,
    inverters: int = MAX_INVERTERS,
    seed: int = 0,
    faults: bool | str | Collection[str] = True,
    timestamps: Literal["index", "column"] = "index",
    tz_aware: bool = False,
    soc_offset_pct: float = SOC_OFFSET_PCT,
) -> SyntheticPlant:
    """Write a synthetic plant's exports, one parquet file per local calendar day.

    Parameters
    ----------
    folder
        Destination folder, created if missing. Existing files of the same names are
        overwritten.
    start
        First local calendar date (``Australia/Sydney``).
    days
        Number of consecutive days, at least 1.
    inverters
        Number of inverters, 1 to 72 (72: the full plant, about 2,800 columns and
        ±200 MW).
    seed
        Random seed; the same arguments give byte-identical files.
    faults
        True (all of :data:`FAULT_KINDS`), False (a healthy plant), or a collection of
        fault names to inject only those (see ``bessx.synthetic.faults``).
    timestamps
        ``"index"`` (the real layout: a ``DatetimeIndex`` named ``Timestamp``) or
        ``"column"`` (an ordinary ``Timestamp`` column).
    tz_aware
        Store tz-aware ``Australia/Sydney`` timestamps instead of naive local times.
    soc_offset_pct
        How far the ``soc_offset`` fault's enclosure reads its SOC high [percentage points].

    Returns
    -------
    SyntheticPlant
        Folder, files, topology and the injected faults. ``topology.csv``,
        ``faults.json`` and the battery-health truths are written next to the exports:
        ``health_truth.json`` (per DC input: commissioning capacity, fade rate, efficiencies,
        usable capacity on the first day; the SOC offsets; see :func:`health_truth`),
        ``health_truth_daily.csv`` (per date and DC input: usable capacity [kWh], SOC spread
        [%]) and ``health_truth_enclosures.csv`` (per date and enclosure: mean SOC offset
        from its siblings [%]), as :func:`bessx.health` defines them.

    Raises
    ------
    bessx.errors.ConfigError
        For an unknown fault name or an out-of-range argument (a :class:`ValueError`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     plant = write_plant(folder, "2022-10-01", days=2, inverters=2)
    ...     [path.name for path in plant.files]
    ['20221001.parquet', '20221002.parquet']
    """
    _check_inverter_count(inverters)
    if int(days) < 1:
        raise ConfigError(f"days must be at least 1, got {days}")
    if timestamps not in TIMESTAMP_LAYOUTS:
        raise ConfigError(f"timestamps must be one of {TIMESTAMP_LAYOUTS}, got {timestamps!r}")
    kinds = _fault_kinds(faults)
    first = _as_date(start)
    dates = [first + dt.timedelta(days=offset) for offset in range(int(days))]
    topology = plant_topology(inverters)
    planned = plan_faults(topology, dates, seed=seed, faults=kinds, soc_offset_pct=soc_offset_pct)

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    files = []
    truth = health_truth(topology, seed=seed, faults=planned)
    spreads, offsets = [], []
    for day in dates:
        frame, daily_truth = _day_frame_and_truth(
            day,
            topology=topology,
            seed=seed,
            faults=planned,
            timestamps=timestamps,
            tz_aware=tz_aware,
        )
        path = target / f"{day:%Y%m%d}.parquet"
        table = pa.Table.from_pandas(frame, preserve_index=timestamps == "index")
        pq.write_table(table, path)
        files.append(path)
        spreads.append(daily_truth["soc_spread"])
        offsets.append(daily_truth["soc_offset"])

    topology.to_csv(target / "topology.csv", index=False)
    record = {
        "generator": "bessx.synthetic.write_plant",
        "start": first.isoformat(),
        "days": int(days),
        "inverters": int(inverters),
        "seed": int(seed),
        "timezone": TIMEZONE,
        "sample_seconds": SAMPLE_SECONDS,
        "faults": [asdict(fault) for fault in planned],
    }
    (target / "faults.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    _write_health_truth(target, truth, dates, np.array(spreads), np.array(offsets))
    return SyntheticPlant(
        folder=target,
        files=sorted(files),
        topology=topology,
        faults=planned,
        dates=tuple(day.isoformat() for day in dates),
        seed=int(seed),
    )
