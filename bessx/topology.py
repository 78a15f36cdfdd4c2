"""Which battery enclosures sit on which DC input of which inverter.

Enclosures are not metered for power: their energy is allocated from the DC input they are
wired to, so the map inverter → DC input → enclosures is part of every result. It is
inferred from the export's battery-system columns (an inverter with 4 enclosures has
BAT1, BAT2 on DC input 1 and BAT3, BAT4 on DC input 2; with 6: BAT1-3 and BAT4-6) or read
from a site topology file that overrides the inference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike

import numpy as np
import pandas as pd

from bessx.errors import BessxError
from bessx.schema import DC_INPUTS, ENCLOSURE_ID_PATTERN, INVERTER_PATTERN, MAX_DC_INPUTS

TOPOLOGY_COLUMNS = ("inverter", "dc_input", "enclosure_id")

TopologyLike = str | PathLike | pd.DataFrame | Mapping[str, Mapping[int, Sequence[str]]]


@dataclass(frozen=True)
class Topology:
    """The enclosures on each DC input, as a table.

    Attributes
    ----------
    table
        One row per enclosure with columns ``inverter``, ``dc_input`` (1, 2, ...),
        ``enclosure_id`` and ``slot`` (1-based position on its DC input).
    """

    table: pd.DataFrame

    @property
    def n_dc_inputs(self) -> int:
        """DC inputs per inverter in the plant's arrays: the largest DC input listed, and at
        least the reference plant's two (an inverter with fewer has empty ones)."""
        return dc_input_count(self)

    @property
    def inverters(self) -> list[str]:
        """Inverter names in plant order (block, side, number)."""
        return sort_inverters(self.table["inverter"].unique())

    @property
    def max_slots(self) -> int:
        """The largest number of enclosures on one DC input (at least 1)."""
        return int(self.table["slot"].max()) if len(self.table) else 1

    def arrays(self, inverters: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """``enclosure_id`` (inverter, dc_input, slot) and ``n_enclosures`` (inverter, dc_input).

        Inverters without enclosures get empty ids and 0 enclosures.
        """
        shape = (len(inverters), self.n_dc_inputs, self.max_slots)
        ids = np.full(shape, "", dtype=object)
        index = {name: i for i, name in enumerate(inverters)}
        known = self.table[self.table["inverter"].isin(index)]
        rows = known["inverter"].map(index).to_numpy()
        ids[rows, known["dc_input"].to_numpy() - 1, known["slot"].to_numpy() - 1] = known[
            "enclosure_id"
        ].to_numpy()
        n_enclosures = (ids != "").sum(axis=-1)
        return ids.astype(str), n_enclosures


def dc_input_count(topology: Topology | None) -> int:
    """DC inputs per inverter in the plant's arrays for ``topology`` (None: inferred, 2)."""
    if topology is None or not len(topology.table):
        return len(DC_INPUTS)
    return max(len(DC_INPUTS), int(topology.table["dc_input"].max()))


def _natural_key(name: str) -> tuple:
    match = INVERTER_PATTERN.match(name)
    if match:
        return (0, int(match["block"]), match["side"], int(match["n"]), name)
    return (1, 0, "", 0, name)


def sort_inverters(names: Iterable[str]) -> list[str]:
    """Sort inverter names in plant order: ``1APCS1 … 1APCS9, 1BPCS1 …``; others last."""
    return sorted(set(names), key=_natural_key)


def _enclosure_key(name: str) -> tuple:
    match = ENCLOSURE_ID_PATTERN.match(name)
    if match:
        return (0, int(match["block"]), match["side"], int(match["n"]), int(match["k"]), name)
    return (1, 0, "", 0, 0, name)


def sort_enclosures(names: Iterable[str]) -> list[str]:
    """Sort battery-system names in plant order: ``1A1BAT1 … 1A1BAT6, 1A2BAT1 …``; others last."""
    return sorted(set(names), key=_enclosure_key)


def inverter_of(enclosure_id: str) -> str | None:
    """The inverter that battery system ``enclosure_id`` belongs to (``1A1BAT3`` → ``1APCS1``)."""
    match = ENCLOSURE_ID_PATTERN.match(enclosure_id)
    if match is None:
        return None
    return f"{match['block']}{match['side']}PCS{match['n']}"


def infer_topology(enclosure_ids: Iterable[str]) -> Topology:
    """Infer the topology from battery-system names.

    Parameters
    ----------
    enclosure_ids
        Battery-system names as found in the export's state-of-charge columns.

    Returns
    -------
    Topology
        BAT1..BAT(n/2) on DC input 1, the rest on DC input 2, for each inverter.

    Raises
    ------
    BessxError
        A name that does not follow ``{block}{side}{n}BAT{k}``, or an inverter with an odd
        number of enclosures (the split is then unknown: give a topology file).
    """
    ids = pd.Series(sorted(set(enclosure_ids)), dtype=object)
    parts = ids.str.extract(ENCLOSURE_ID_PATTERN)
    if parts.isna().any(axis=None):
        bad = ids[parts.isna().any(axis=1)].iloc[0]
        raise BessxError(f"battery system {bad!r} does not follow the '1A1BAT3' naming")
    table = pd.DataFrame(
        {
            "inverter": parts["block"] + parts["side"] + "PCS" + parts["n"],
            "k": parts["k"].astype(int),
            "enclosure_id": ids,
        }
    ).sort_values(["inverter", "k"], kind="stable")
    position = table.groupby("inverter").cumcount()
    count = table.groupby("inverter")["k"].transform("size")
    odd = table.loc[count % 2 == 1, "inverter"]
    if len(odd):
        raise BessxError(
            f"inverter {odd.iloc[0]} has {int(count[odd.index[0]])} battery systems, "
            "which cannot be split evenly over 2 DC inputs: give a topology file"
        )
    half = count // 2
    table["dc_input"] = np.where(position < half, 1, 2)
    table["slot"] = np.where(position < half, position, position - half) + 1
    return Topology(table[["inverter", "dc_input", "enclosure_id", "slot"]].reset_index(drop=True))


def _dc_inputs(enclosure_ids: Iterable[str]) -> dict[str, int] | None:
    """The DC input of each battery system as inferred from this set; None if it cannot be."""
    try:
        table = infer_topology(enclosure_ids).table
    except BessxError:
        return None
    return dict(zip(table["enclosure_id"], table["dc_input"], strict=True))


def find_resplit(
    enclosure_sets: Sequence[Iterable[str]],
) -> tuple[int, str, list[str], int] | None:
    """Find battery systems that would make the inferred topology re-split an inverter.

    The topology inferred from all files splits each inverter the same way on every day.
    For each inverter, its *usual* battery systems are those present in more than half
    of the files that have any of its battery systems. If the split inferred from all of
    its battery systems puts a usual one on another DC input than the usual set alone
    would (or cannot split them at all), the rarer battery systems re-split the inverter
    on the days that lack them. Usual battery systems missing from some files (a column,
    or a whole inverter, absent for a day) change nothing and are not reported here.

    Parameters
    ----------
    enclosure_sets
        The battery-system names of each file, files in time order.

    Returns
    -------
    tuple or None
        None if no inverter is re-split; else, for the re-split whose rarer battery
        systems appear earliest: the index of the first file holding them, the inverter,
        those of them in that file (sorted), and the index of a file without them (the
        previous file, or for the first file a later one).

    Examples
    --------
    >>> four = ["1A1BAT1", "1A1BAT2", "1A1BAT3", "1A1BAT4"]
    >>> find_resplit([four, four, four[:2]]) is None  # two SOC columns missing for a day
    True
    >>> find_resplit([four, four + ["1A1BAT5", "1A1BAT6"], four])
    (1, '1APCS1', ['1A1BAT5', '1A1BAT6'], 0)
    """
    sets = [set(ids) for ids in enclosure_sets]
    if all(names == sets[0] for names in sets[1:]):  # the usual history: nothing is rarer
        return None
    ids = np.array([name for names in sets for name in names], dtype=object)
    files = np.repeat(np.arange(len(sets)), [len(names) for names in sets])
    pairs = pd.DataFrame({"file": files, "enclosure_id": ids})
    owners = {name: inverter_of(name) for name in pairs["enclosure_id"].unique()}
    pairs["inverter"] = pairs["enclosure_id"].map(owners)
    pairs = pairs.dropna(subset=["inverter"])  # odd names are refused by infer_topology
    files_of_inverter = pairs.groupby("inverter")["file"].nunique()
    files_of_id = pairs.groupby("enclosure_id")["file"].size()
    inverter_of_id = files_of_id.index.to_series().map(owners)
    usual = files_of_id * 2 > files_of_inverter[inverter_of_id].to_numpy()
    found = []
    for inverter in sorted(set(inverter_of_id[~usual])):
        everything = inverter_of_id.index[inverter_of_id == inverter]
        usual_ids = [name for name in everything if usual[name]]
        whole, alone = _dc_inputs(everything), _dc_inputs(usual_ids)
        if (
            whole is not None
            and alone is not None
            and all(whole[name] == alone[name] for name in usual_ids)
        ):
            continue
        rare = set(everything) - set(usual_ids)
        first = int(pairs.loc[pairs["enclosure_id"].isin(rare), "file"].min())
        extra = sort_enclosures(rare & sets[first])
        without = [i for i in range(len(sets)) if i != first and not sets[i] & set(extra)]
        other = first - 1 if first > 0 else (without[0] if without else 1)
        found.append((first, inverter, extra, other))
    return min(found, key=lambda change: (change[0], _natural_key(change[1]))) if found else None


def read_topology(topology: TopologyLike) -> Topology:
    """Read a site topology from a CSV file, a table or a mapping.

    Parameters
    ----------
    topology
        A CSV file (or DataFrame) with columns ``inverter``, ``dc_input``, ``enclosure_id``,
        one row per enclosure, enclosures in slot order; or a mapping
        ``{inverter: {dc_input: [enclosure_id, ...]}}``.

    Raises
    ------
    BessxError
        Missing columns, no rows, a DC input that is not a whole number from 1 to
        :data:`~bessx.schema.MAX_DC_INPUTS`, an enclosure listed twice.

    Notes
    -----
    ``dc_input`` must be a whole number from 1 to :data:`~bessx.schema.MAX_DC_INPUTS`: ``1``,
    ``1.0`` and the text ``"1"`` are DC input 1; ``1.5``, ``0`` or ``"one"`` are an error
    naming the row (the CSV line). An inverter may have any number of DC inputs, and a DC
    input any number of enclosures.
    """
    source = "topology"
    if isinstance(topology, Mapping):
        rows = [
            (inverter, dc_input, enclosure_id)
            for inverter, inputs in topology.items()
            for dc_input, enclosure_ids in inputs.items()
            for enclosure_id in enclosure_ids
        ]
        table = pd.DataFrame(rows, columns=list(TOPOLOGY_COLUMNS))
    elif isinstance(topology, pd.DataFrame):
        table = topology
    else:
        source = str(topology)
        try:
            table = pd.read_csv(topology, dtype={"inverter": str, "enclosure_id": str})
        except (OSError, ValueError) as error:
            raise BessxError(f"{source}: cannot read topology ({error})") from None
    missing = [column for column in TOPOLOGY_COLUMNS if column not in table.columns]
    if missing:
        raise BessxError(f"{source}: topology lacks column(s) {', '.join(missing)}")
    table = table[list(TOPOLOGY_COLUMNS)].copy()
    if table.empty:
        raise BessxError(f"{source}: topology has no rows (one row per enclosure is needed)")
    if table.isna().any(axis=None):
        raise BessxError(f"{source}: topology has empty cells")
    table["inverter"] = table["inverter"].astype(str).str.strip()
    table["enclosure_id"] = table["enclosure_id"].astype(str).str.strip()
    table["dc_input"] = _check_dc_inputs(table, source, from_csv=source != "topology")
    duplicated = table["enclosure_id"][table["enclosure_id"].duplicated()]
    if len(duplicated):
        raise BessxError(f"{source}: enclosure {duplicated.iloc[0]} is listed more than once")
    if (table["enclosure_id"] == "").any() or not table["enclosure_id"].map(_is_name).all():
        raise BessxError(f"{source}: enclosure ids must be non-empty names")
    table["slot"] = table.groupby(["inverter", "dc_input"]).cumcount() + 1
    return Topology(table.reset_index(drop=True))


def _check_dc_inputs(table: pd.DataFrame, source: str, from_csv: bool) -> pd.Series:
    """``dc_input`` as whole numbers from 1 to ``MAX_DC_INPUTS``; anything else is an error
    naming the first bad row."""
    raw = table["dc_input"]
    if raw.dtype == bool:
        numbers = pd.Series(np.nan, index=raw.index)
    else:
        numbers = pd.to_numeric(raw.astype(str).str.strip(), errors="coerce")
    valid = numbers.isin(range(1, MAX_DC_INPUTS + 1))
    bad = np.flatnonzero(~valid.to_numpy())
    if len(bad):
        row = int(bad[0])
        where = f"line {row + 2}" if from_csv else f"row {row}"
        raise BessxError(
            f"{source}: {where} (enclosure {table['enclosure_id'].iloc[row]}): dc_input must "
            f"be a whole number from 1 to {MAX_DC_INPUTS}, not {raw.iloc[row]}"
        )
    return numbers.astype(int)


def _is_name(text: str) -> bool:
    return re.fullmatch(r"[\w.-]+", text) is not None


def check_topology(topology: Topology, metered: set[tuple[str, int]], source: str) -> None:
    """Check that a topology fits the exports' DC inputs.

    Parameters
    ----------
    topology
        Inferred or read from a site file.
    metered
        The ``(inverter, dc_input)`` pairs that have a power column in the exports.
    source
        What to name in the error: the topology file or the data folder.

    Raises
    ------
    BessxError
        An enclosure named after another inverter (``1A1BAT1`` under ``1APCS2``), an
        inverter no export has, or a metered DC input without any enclosure: its energy
        could not be allocated and would silently go missing.
    """
    table = topology.table
    owners = table["enclosure_id"].map(inverter_of)
    misplaced = table[owners.notna() & (owners != table["inverter"])]
    if len(misplaced):
        row = misplaced.iloc[0]
        raise BessxError(
            f"{source}: enclosure {row['enclosure_id']} is listed under {row['inverter']}, "
            f"but its name says {inverter_of(row['enclosure_id'])}"
        )
    metered_inverters = {inverter for inverter, _ in metered}
    unknown = sorted(set(table["inverter"]) - metered_inverters)
    if unknown:
        raise BessxError(f"{source}: no export has a DC input power column for {unknown[0]}")
    served = set(zip(table["inverter"], table["dc_input"], strict=True))
    unserved = sorted(metered - served, key=lambda key: (_natural_key(key[0]), key[1]))
    if unserved:
        inverter, dc_input = unserved[0]
        raise BessxError(
            f"{source}: DC input {dc_input} of {inverter} is metered but has no enclosure in "
            "the topology (no battery-system columns?): give a topology file that lists them"
        )
