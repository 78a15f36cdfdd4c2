"""What one export is reduced to, and everything that reduction depends on.

The map (:func:`bessx.onepass.summarise_export`) turns a file into a :class:`Summary`: its
time steps and, per local day of the file, what the daily energy and the quality flags need
(:class:`DailySummary`) and the battery health's per-day partials (:class:`HealthSummary`),
each without the hold of the file's last sample, which the reduce adds
(:func:`bessx.onepass.combine`). A summary depends on the file and on :class:`Settings`
alone, so the pair is the key under which :mod:`bessx.cache` keeps it between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bessx import schema
from bessx.io.conventions import POWER_SIGNS, POWER_UNITS
from bessx.io.exports import ColumnPatterns
from bessx.kernels.availability import PlannedOutage
from bessx.kernels.health import PARTIALS, DayParts
from bessx.kernels.plausibility import Limits
from bessx.quality import QualitySettings

#: The columns of a topology table, in the order :class:`Settings` keeps its rows.
TOPOLOGY_ROW_FIELDS = ("inverter", "dc_input", "enclosure_id", "slot")


@dataclass(frozen=True)
class HealthSettings:
    """What the battery health's per-day partials depend on beyond :class:`Settings`."""

    #: smallest mean-SOC decrease of a discharge segment used for the usable capacity [%]
    min_swing: float = 20.0
    #: the quantities a summary's parts hold: a summary kept with other ones is not reused
    partials: tuple[str, ...] = PARTIALS


@dataclass(frozen=True)
class Settings:
    """Everything a file's summary depends on, besides the file (part of the cache key)."""

    #: the plant's IANA timezone (required: there is no default zone)
    timezone: str
    engine: str = "auto"
    patterns: ColumnPatterns = field(default_factory=ColumnPatterns)
    #: the nominal interval [s] if given, else None (each file uses its own median step)
    interval: float | None = None
    max_gap: float = 3.0
    limits: Limits = field(default_factory=Limits)
    quality: QualitySettings = field(default_factory=QualitySettings)
    exclude: tuple[str, ...] = ()
    #: the rows (inverter, dc_input, enclosure_id, slot) of a given topology (None:
    #: inferred per file)
    topology: tuple[tuple[str, int, str, int], ...] | None = None
    #: whether the daily energy and flags use the enclosures' SOC (``allocation="soc"``
    #: and the SOC flags)
    soc: bool = True
    #: whether the summaries keep what the daily energy and the quality flags need
    daily: bool = True
    #: the battery health's settings, when the summaries keep its per-day partials too (it
    #: reads the SOC and the plant meter's power)
    health: HealthSettings | None = None
    #: the planned outages of the availability, when the summaries keep its per-day sums
    #: too (None: no availability; needs ``daily``)
    availability: tuple[PlannedOutage, ...] | None = None
    #: how the exports sign power and its unit (:mod:`bessx.io.conventions`)
    power_sign: str = POWER_SIGNS[0]
    power_unit: str = POWER_UNITS[0]

    def __post_init__(self) -> None:
        if not (self.daily or self.health):
            raise ValueError("the summaries must keep the daily results, the health or both")

    @property
    def variables(self) -> tuple[str, ...]:
        """The Dataset variables these settings read."""
        soc = ("soc",) if self.soc or self.health else ()
        plant = ("plant_power",) if self.health else ()
        return ("dc_power", *soc, *plant)

    @property
    def n_dc_inputs(self) -> int:
        """DC inputs per inverter in the plant's arrays (as
        :func:`bessx.topology.dc_input_count` gives them for the topology)."""
        listed = max((dc_input for _, dc_input, _, _ in self.topology or ()), default=0)
        return max(len(schema.DC_INPUTS), listed)

    @property
    def dc_input_of(self) -> tuple[tuple[str, int], ...] | None:
        """enclosure -> DC input, from a given topology (None: inferred per file)."""
        if self.topology is None:
            return None
        return tuple((enclosure_id, dc_input) for _, dc_input, enclosure_id, _ in self.topology)


@dataclass
class DailySummary:
    """What the daily energy and the quality flags need of one export."""

    #: (positive part, negative part, valid seconds) of the power per day and DC input
    #: column, without the last sample (whose hold the next file decides)
    energy: np.ndarray
    swings: np.ndarray  # (down, up, finite pairs) of the SOC per day and SOC column
    power_counts: np.ndarray  # (flag, day, DC column), the per-sample power flags
    soc_counts: np.ndarray  # (flag, day, SOC column)
    power_held: np.ndarray  # (day, DC column) hold seconds of received samples, no last
    soc_held: np.ndarray  # (day, SOC column)
    duplicates: np.ndarray  # (day,) repeated rows dropped
    last_power: np.ndarray  # (DC column,) the last sample, plausible (else NaN)
    last_power_received: np.ndarray  # (DC column,) whether it was received (not NaN)
    last_soc_received: np.ndarray  # (SOC column,)
    #: the availability's per-day sums (quantity, day, DC column) without the last sample,
    #: the last sample's rates (quantity, DC column) and the enclosures each DC column was
    #: counted with (``bessx.onepass.availability``); None without the availability
    availability: np.ndarray | None = None
    last_availability: np.ndarray | None = None
    enclosures: np.ndarray | None = None


@dataclass
class HealthSummary:
    """What the battery health needs of one export: its per-day parts on the plant's layout."""

    inverters: list[str]  # the layout the parts are on, which the history's must equal
    enclosure_id: np.ndarray  # (inverter, dc_input, slot)
    #: :func:`bessx.kernels.health.day_parts`, held sums without the last sample
    parts: DayParts
    last_power: np.ndarray  # (inverter * dc_input,) the last sample, plausible (else NaN)
    last_plant: float  # the last sample of the plant meter [kW]


@dataclass
class Summary:
    """One export reduced to what the results need (see :func:`summarise_export`)."""

    path: str
    first: np.datetime64  # UTC
    last: np.datetime64  # UTC
    rows: int
    interval: float  # provisional nominal interval [s]; NaN for a single sample
    steps: tuple[np.ndarray, np.ndarray]  # distinct time steps [ns] and their counts
    dates: np.ndarray  # local dates of the file's days (datetime64[ns])
    dc_keys: list[tuple[str, int]]
    soc_ids: list[str]
    soc_dc_input: np.ndarray  # DC input (1, 2) each SOC column was checked against
    plant: list[str]  # the plant variables the file has a column for
    daily: DailySummary | None  # None unless ``settings.daily``
    health: HealthSummary | None  # None unless ``settings.health`` (and a topology)
    notes: list[str] = field(default_factory=list)
    #: the date in the file's name is its ``"local"`` or ``"UTC"`` date (None: no date)
    naming: str | None = None
    #: DC input power columns of a DC input the topology does not have (not read)
    unplaced: tuple[str, ...] = ()
    #: the files of a group that overlap in time (``path`` is the first); () for one file
    members: tuple[str, ...] = ()
    #: the notes of a group's files, each with its file
    member_notes: list[tuple[str, str]] = field(default_factory=list)
