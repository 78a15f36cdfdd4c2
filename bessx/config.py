"""Site configuration: a TOML file read as data, checked against one table of settings.

A site file names where the exports are, the plant's timezone and how to analyse them::

    data = "exports"            # relative paths are taken from the file's folder
    timezone = "Australia/Sydney"   # required: the plant's zone (no default)
    allocation = "soc"
    max_gap = 3.0
    outputs = ["csv", "netcdf", "heatmap"]

    [outliers]
    threshold = 0.1

    [columns]
    soc = '^SOC \\[(?P<enclosure_id>\\w+)\\]$'

Every key, its default and its check live in one table, :data:`SETTINGS` (top-level keys in
:data:`SITE_SETTINGS`, the ``[outliers]`` and ``[columns]`` tables in
:data:`OUTLIER_SETTINGS` and :data:`COLUMN_SETTINGS`); :func:`load_config`, :func:`merge`
and the :class:`Config` constructor all validate through the same function, so a value that
is accepted in one place is accepted everywhere. ``docs/site.example.toml`` documents every key.
"""

from __future__ import annotations

import dataclasses
import difflib
import itertools
import json
import math
import numbers
import os
import re
import tomllib
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Final

from bessx import schema
from bessx.errors import ConfigError
from bessx.io.conventions import POWER_SIGNS, POWER_UNITS
from bessx.thresholds import DEFAULT_DC_POWER_LIMIT_KW, EXCLUDABLE, QualitySettings

#: Energy allocation rules from a DC input to its enclosures.
ALLOCATIONS: Final = ("equal", "soc")
#: The outputs the command line can write.
OUTPUTS: Final = (
    "csv",
    "netcdf",
    "lowest",
    "outliers",
    "quality",
    "heatmap",
    "health",
    "summary",
    "report",
    "availability",
)


class _Rejected(Exception):
    """A value that fails its check; ``hint`` is added to the message in parentheses."""

    def __init__(self, hint: str = "") -> None:
        super().__init__(hint)
        self.hint = hint


@dataclass(frozen=True)
class Setting:
    """One configuration key.

    Attributes
    ----------
    expects
        What the value must be, completing "'key' must be ...".
    check
        Takes a value as read from TOML (or given in Python) and returns it converted
        (a path string to :class:`~pathlib.Path`, a list to a tuple, ...); raises on a bad value.
    default
        The value when the key is not given; ``None`` also makes ``None`` a valid value.
    doc
        What the key means, with units.
    is_path
        A relative path in a file is taken from the file's folder.
    """

    expects: str
    check: Callable[[Any], Any]
    default: Any
    doc: str
    is_path: bool = False


# Checks -------------------------------------------------------------------------------------
def _show(value: Any) -> str:
    """A value as it would be written in TOML, for messages."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | os.PathLike):
        return json.dumps(os.fspath(value), ensure_ascii=False)
    if isinstance(value, list | tuple):
        return f"[{', '.join(_show(item) for item in value)}]"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, re.Pattern):
        return _show(value.pattern)
    return repr(value)


def _did_you_mean(word: str, choices: Any, template: str = 'did you mean "{}"?') -> str:
    """A hint naming the choice closest to a misspelt ``word``, or ``""``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return template.format(close[0]) if close else ""


def _path(value: Any) -> Path:
    if (isinstance(value, str) and value.strip()) or isinstance(value, os.PathLike):
        return Path(value).expanduser()
    raise _Rejected()


def _number(value: Any) -> float:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number):
            return number
    raise _Rejected()


def _number_in(
    low: float, high: float = math.inf, *, low_open: bool = False
) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = _number(value)
        if (number > low if low_open else number >= low) and number <= high:
            return number
        raise _Rejected()

    return check


def _whole_number_from(low: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and int(value) >= low
        ):
            return int(value)
        raise _Rejected()

    return check


_DAYS: Final = re.compile(r"\s*(?P<days>\d+)\s*(?:D|d|days?)\s*")


def _whole_days(value: Any) -> str:
    """A window of whole days, ``"30D"`` (or a whole number of days), as ``"<n>D"``, n >= 1."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        days = int(value)
    elif isinstance(value, str) and (match := _DAYS.fullmatch(value)):
        days = int(match["days"])
    else:
        raise _Rejected()
    if days < 1:
        raise _Rejected("at least one day")
    return f"{days}D"


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and value in choices:
            return value
        raise _Rejected(_did_you_mean(value, choices) if isinstance(value, str) else "")

    return check


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Rejected()


def _names_from(
    choices: tuple[str, ...], *, empty: bool = True
) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple):
            raise _Rejected()
        if not value and not empty:
            raise _Rejected("an empty list would write nothing")
        for name in value:
            if not isinstance(name, str):
                raise _Rejected()
            if name not in choices:
                suggestion = _did_you_mean(name, choices)
                hint = f'"{name}" is not one of them' + (f"; {suggestion}" if suggestion else "")
                raise _Rejected(hint)
        return tuple(dict.fromkeys(value))

    return check


def _timezone(value: Any) -> str:
    if isinstance(value, str):
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
            raise _Rejected(_did_you_mean(value, zoneinfo.available_timezones())) from None
        return value
    raise _Rejected()


def _pattern_with(template: re.Pattern[str]) -> Callable[[Any], re.Pattern[str]]:
    groups = sorted(template.groupindex)

    def check(value: Any) -> re.Pattern[str]:
        if isinstance(value, re.Pattern):
            value = value.pattern
        if not isinstance(value, str):
            raise _Rejected()
        try:
            pattern = re.compile(value)
        except re.error as error:
            raise _Rejected(f"not a regular expression: {error}") from None
        if sorted(pattern.groupindex) != groups:
            found = ", ".join(sorted(pattern.groupindex)) or "none"
            raise _Rejected(f"its named groups are {found}")
        return pattern

    return check


def _column_name(value: Any) -> str:
    if isinstance(value, str) and value.strip():
        return value
    raise _Rejected()


#: What each plant-level column holds, for the documentation of its pattern.
_PLANT_DOCS: Final = {
    "plant_power": "active power [kW]",
    "plant_soc": "state of charge [%]",
    "setpoint": "active power setpoint [kW]",
}


def _groups(template: re.Pattern[str]) -> str:
    return ", ".join(f"(?P<{name}>...)" for name in sorted(template.groupindex))


#: Why a run without the plant's timezone stops, and how to give it: the one line of the
#: :class:`~bessx.errors.ConfigError` that :func:`require_timezone` raises.
NO_TIMEZONE: Final = (
    "no timezone: bessx needs the plant's IANA timezone to cut local days; pass --timezone "
    'Europe/Berlin (your plant\'s zone), or set timezone = "Europe/Berlin" at the top of the '
    'site file, or timezone="Europe/Berlin" in Python'
)


def require_timezone(timezone: str | None) -> str:
    """The plant's timezone, which every analysis of local days needs: there is no default.

    Parameters
    ----------
    timezone
        The IANA name given (``--timezone``, the site file's ``timezone``, or the
        ``timezone=`` keyword of a library function), or None when none was.

    Returns
    -------
    str
        ``timezone`` itself.

    Raises
    ------
    ConfigError
        No timezone (None or an empty name), with :data:`NO_TIMEZONE`: how to give it.

    Examples
    --------
    >>> require_timezone("Europe/Berlin")
    'Europe/Berlin'
    >>> require_timezone(None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    bessx.errors.ConfigError: no timezone: bessx needs the plant's IANA timezone ...
    """
    if timezone is None or (isinstance(timezone, str) and not timezone.strip()):
        raise ConfigError(NO_TIMEZONE)
    return timezone


# The settings -------------------------------------------------------------------------------
#: The physical range of a sampling interval [s]: from 0.1 s to one day.
INTERVAL_RANGE: Final = (0.1, 86_400.0)
#: The largest power a power setting may name [kW]: 100 MW, beyond any one DC input or feeder.
POWER_LIMIT_KW: Final = 100_000.0
#: The longest duration a quality threshold may name [min]: one day.
DURATION_LIMIT_MINUTES: Final = 1_440.0
#: The longest gap ``max_gap`` may bridge [sampling intervals].
MAX_GAP_LIMIT: Final = 10_000.0

#: The keys of the ``[outliers]`` table.
OUTLIER_SETTINGS: Final[dict[str, Setting]] = {
    "threshold": Setting(
        "a number from 0 to 1",
        _number_in(0, 1),
        None,
        "shortfall below the day's fleet median that makes a day short [1]; None: library default",
    ),
    "z_min": Setting(
        "a number > 0",
        _number_in(0, low_open=True),
        None,
        "robust z-score a short day must also exceed [1]; None: library default",
    ),
    "min_days": Setting(
        "a whole number ≥ 1",
        _whole_number_from(1),
        None,
        "short days an enclosure needs before it is flagged [d]; None: library default",
    ),
    "min_coverage": Setting(
        "a number from 0 to 1",
        _number_in(0, 1),
        None,
        "fraction of a day with valid samples for the day to count [1]; None: library default",
    ),
}

_QUALITY_DEFAULTS: Final = QualitySettings()
#: The keys of the ``[quality]`` table.
QUALITY_SETTINGS: Final[dict[str, Setting]] = {
    "moving_kw": Setting(
        f"a number > 0 and ≤ {POWER_LIMIT_KW:,.0f}",
        _number_in(0, POWER_LIMIT_KW, low_open=True),
        _QUALITY_DEFAULTS.moving_kw,
        "the fleet moves when |median DC input power| exceeds this [kW]",
    ),
    "dead_kw": Setting(
        f"a number > 0 and ≤ {POWER_LIMIT_KW:,.0f}",
        _number_in(0, POWER_LIMIT_KW, low_open=True),
        _QUALITY_DEFAULTS.dead_kw,
        "a DC input is dead at |P| up to this while the fleet moves [kW]",
    ),
    "stuck_minutes": Setting(
        f"a number > 0 and ≤ {DURATION_LIMIT_MINUTES:,.0f} (one day)",
        _number_in(0, DURATION_LIMIT_MINUTES, low_open=True),
        _QUALITY_DEFAULTS.stuck_minutes,
        "shortest run of one repeated value that counts as stuck [min]",
    ),
    "dead_minutes": Setting(
        f"a number > 0 and ≤ {DURATION_LIMIT_MINUTES:,.0f} (one day)",
        _number_in(0, DURATION_LIMIT_MINUTES, low_open=True),
        _QUALITY_DEFAULTS.dead_minutes,
        "shortest run of dead samples that counts [min]",
    ),
    "sign_minutes": Setting(
        f"a number > 0 and ≤ {DURATION_LIMIT_MINUTES:,.0f} (one day)",
        _number_in(0, DURATION_LIMIT_MINUTES, low_open=True),
        _QUALITY_DEFAULTS.sign_minutes,
        "shortest run of samples opposite to the fleet that counts [min]",
    ),
    "exclude": Setting(
        f"a list of names from {', '.join(map(_show, EXCLUDABLE))}",
        _names_from(EXCLUDABLE),
        (),
        "flags whose power samples are excluded from the energy as well as implausible ones",
    ),
}

#: The keys of the ``[health]`` table.
HEALTH_SETTINGS: Final[dict[str, Setting]] = {
    "window": Setting(
        'a whole number of days such as "30D"',
        _whole_days,
        "30D",
        "length of the battery health's windows [d] (usable capacity, round trip, cycles)",
    ),
}

#: The keys of the ``[columns]`` table.
COLUMN_SETTINGS: Final[dict[str, Setting]] = {
    "dc_power": Setting(
        f"a regular expression with the named groups {_groups(schema.DC_POWER_PATTERN)}",
        _pattern_with(schema.DC_POWER_PATTERN),
        None,
        "pattern of the DC input power columns [kW]; None: bessx.schema.DC_POWER_PATTERN",
    ),
    "soc": Setting(
        f"a regular expression with the named group {_groups(schema.SOC_PATTERN)}",
        _pattern_with(schema.SOC_PATTERN),
        None,
        "pattern of the state-of-charge columns [%]; None: bessx.schema.SOC_PATTERN",
    ),
    **{
        variable: Setting(
            "a regular expression without named groups",
            _pattern_with(re.compile("")),
            None,
            f"pattern of the plant's {_PLANT_DOCS[variable]} column (one column per export); "
            f"None: the exact name {column!r}",
        )
        for column, variable in schema.PLANT_COLUMNS.items()
    },
    "time": Setting(
        "a column name (exact, not a pattern)",
        _column_name,
        None,
        "the timestamp column (or pandas index) of the exports; None: 'Timestamp'",
    ),
}


def _planned_instant(value: Any, what: str) -> Any:
    """A planned outage's start or end as a :class:`datetime.datetime` (for the order only:
    the plant's timezone makes it an instant when the data are read)."""
    import datetime

    if isinstance(value, datetime.datetime):
        return value
    if isinstance(value, datetime.date):
        return datetime.datetime.combine(value, datetime.time())
    if isinstance(value, str):
        try:
            return datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
    raise _Rejected(f"{what} must be a date-time, not {_show(value)}")


def _planned(value: Any) -> tuple[tuple[Any, Any, Any], ...]:
    """Planned outages as written, checked for their shape and order (their times are
    made plant-local instants, and their inverters checked, when the data are read)."""
    import datetime

    if not isinstance(value, list | tuple):
        raise _Rejected()
    entries = []
    for number, entry in enumerate(value, start=1):
        if isinstance(entry, Mapping):
            unknown = sorted(set(entry) - {"start", "end", "inverters"})
            if unknown:
                raise _Rejected(f"unknown key {unknown[0]!r} in planned outage {number}")
            entry = [entry.get("start"), entry.get("end"), entry.get("inverters", "all")]
        if not isinstance(entry, list | tuple) or len(entry) != 3:
            raise _Rejected(f'planned outage {number} is not [start, end, inverters or "all"]')
        start, end, names = entry
        first = _planned_instant(start, f"planned outage {number}'s start")
        last = _planned_instant(end, f"planned outage {number}'s end")
        if (first.tzinfo is None) != (last.tzinfo is None):  # compare as if both were UTC
            first, last = (
                moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)
                for moment in (first, last)
            )
        if last <= first:
            raise _Rejected(
                f"planned outage {number} ends before it starts"
                if last < first
                else f"planned outage {number} lasts no time"
            )
        if names != "all" and not (
            isinstance(names, list | tuple)
            and names
            and all(isinstance(name, str) for name in names)
        ):
            raise _Rejected(
                f'planned outage {number}\'s inverters must be a list of names or "all"'
            )
        entries.append((start, end, names if names == "all" else tuple(names)))
    return tuple(entries)


def _fraction(value: Any) -> float:
    number = _number(value)
    if 0 < number <= 1:
        return number
    raise _Rejected("a fraction, not a percentage" if 1 < number <= 100 else "")


def _retention_curve(value: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(value, list | tuple) or not value:
        raise _Rejected()
    points = []
    for point in value:
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise _Rejected(f"{_show(point)} is not a [years, fraction] point")
        years = _number(point[0])
        try:
            fraction = _fraction(point[1])
        except _Rejected:
            raise _Rejected(f"{_show(point[1])} is not a fraction in (0, 1]") from None
        if years < 0:
            raise _Rejected(f"{_show(point[0])} years is before the warranty starts")
        points.append((years, fraction))
    if any(later[0] <= earlier[0] for earlier, later in itertools.pairwise(points)):
        raise _Rejected("its years must increase")
    return tuple(points)


def _date(value: Any) -> Any:
    import datetime

    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise _Rejected("a date such as 2024-01-01") from None
    raise _Rejected()


#: The keys of the ``[availability]`` table.
AVAILABILITY_SETTINGS: Final[dict[str, Setting]] = {
    "planned": Setting(
        'a list of [start, end, inverters or "all"] planned outages',
        _planned,
        (),
        "planned outages, excluded from the dispatched time: local date-times of the plant "
        '(or with an offset) and a list of inverter names or "all"',
    ),
}

#: The keys of the ``[guarantees]`` table: every metric a contract may guarantee.
GUARANTEE_SETTINGS: Final[dict[str, Setting]] = {
    "availability": Setting(
        "a fraction in (0, 1]",
        _fraction,
        None,
        "guaranteed time-based availability of the plant per calendar month [1]",
    ),
    "round_trip_efficiency": Setting(
        "a fraction in (0, 1]",
        _fraction,
        None,
        "guaranteed DC round-trip efficiency per health window, DC input and plant [1]",
    ),
    "capacity_retention": Setting(
        "a list of [years, fraction] points, years increasing, fractions in (0, 1]",
        _retention_curve,
        None,
        "warranted usable capacity relative to the first window, by years since "
        "reference_date (linear between points) [a, 1]",
    ),
    "cycles_per_year": Setting(
        "a number > 0",
        _number_in(0, low_open=True),
        None,
        "largest number of equivalent full cycles per warranty year [1/a]",
    ),
    "reference_date": Setting(
        "a date such as 2024-01-01",
        _date,
        None,
        "start of the warranty (its years count from here); None: the first day of data",
    ),
}


class _Checked:
    """Frozen dataclasses whose fields are checked against their settings table when made."""

    _settings: ClassVar[Mapping[str, Any]]
    _prefix: ClassVar[str] = ""
    # what the dataclass decorator gives every subclass: lets dataclasses.fields accept self
    __dataclass_fields__: ClassVar[dict[str, dataclasses.Field[Any]]]

    def __post_init__(self) -> None:
        values = {item.name: getattr(self, item.name) for item in dataclasses.fields(self)}
        checked = _check(values, self._settings, origin=type(self).__name__, prefix=self._prefix)
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # the converted value (str -> Path, ...)


@dataclass(frozen=True)
class OutlierSettings(_Checked):
    """The ``[outliers]`` table: peer-relative outlier detection (see :data:`OUTLIER_SETTINGS`).

    Attributes
    ----------
    threshold
        Shortfall below the day's fleet median that makes a day short [1].
    z_min
        Robust z-score a short day must also exceed [1].
    min_days
        Short days an enclosure needs before it is flagged [d].
    min_coverage
        Fraction of a day with valid samples for the day to count [1].

    ``None`` leaves the choice to the library's defaults.
    """

    _settings: ClassVar = OUTLIER_SETTINGS
    _prefix: ClassVar = "outliers."

    threshold: float | None = OUTLIER_SETTINGS["threshold"].default
    z_min: float | None = OUTLIER_SETTINGS["z_min"].default
    min_days: int | None = OUTLIER_SETTINGS["min_days"].default
    min_coverage: float | None = OUTLIER_SETTINGS["min_coverage"].default


@dataclass(frozen=True)
class HealthTable(_Checked):
    """The ``[health]`` table: the battery health (see :data:`HEALTH_SETTINGS`).

    Attributes
    ----------
    window
        Length of the windows, ``"<n>D"`` (whole local days, n >= 1), as
        :func:`bessx.health` takes it.
    """

    _settings: ClassVar = HEALTH_SETTINGS
    _prefix: ClassVar = "health."

    window: str = HEALTH_SETTINGS["window"].default


@dataclass(frozen=True)
class QualityTable(_Checked):
    """The ``[quality]`` table: data-quality flag thresholds (see :data:`QUALITY_SETTINGS`).

    Attributes
    ----------
    moving_kw, dead_kw, stuck_minutes, dead_minutes, sign_minutes
        The thresholds of :class:`bessx.QualitySettings` [kW, min].
    exclude
        Flags whose power samples are excluded from the energy, from
        :data:`bessx.quality.EXCLUDABLE` (implausible samples always are).
    """

    _settings: ClassVar = QUALITY_SETTINGS
    _prefix: ClassVar = "quality."

    moving_kw: float = QUALITY_SETTINGS["moving_kw"].default
    dead_kw: float = QUALITY_SETTINGS["dead_kw"].default
    stuck_minutes: float = QUALITY_SETTINGS["stuck_minutes"].default
    dead_minutes: float = QUALITY_SETTINGS["dead_minutes"].default
    sign_minutes: float = QUALITY_SETTINGS["sign_minutes"].default
    exclude: tuple[str, ...] = QUALITY_SETTINGS["exclude"].default

    def settings(self) -> QualitySettings:
        """The thresholds as the library takes them."""
        return QualitySettings(
            moving_kw=self.moving_kw,
            dead_kw=self.dead_kw,
            stuck_minutes=self.stuck_minutes,
            dead_minutes=self.dead_minutes,
            sign_minutes=self.sign_minutes,
        )


@dataclass(frozen=True)
class ColumnPatterns(_Checked):
    """Column-name patterns that recognise the needed columns: the ``[columns]`` table.

    A site whose exports name their columns differently overrides the patterns of
    :mod:`bessx.schema`; :func:`bessx.open_exports` takes this class as ``columns=``.
    Strings are compiled and every pattern is checked for its named groups when made.

    Attributes
    ----------
    dc_power
        Pattern of the DC input power columns [kW], with the groups ``dc_input``, ``inverter``.
    soc
        Pattern of the state-of-charge columns [%], with the group ``enclosure_id``.
    plant_power, plant_soc, setpoint
        Patterns of the plant-level columns (the meter's active power [kW], the plant's state
        of charge [%], the external setpoint [kW]), without named groups; an export may
        have one column that matches each (two are an error naming them).
    time
        The exact name of the timestamp column (or pandas index).

    ``None`` keeps the pattern or name of :mod:`bessx.schema`.

    Examples
    --------
    >>> ColumnPatterns(soc=r"^SOC (?P<enclosure_id>\\w+)$").pattern("soc").pattern
    '^SOC (?P<enclosure_id>\\\\w+)$'
    >>> ColumnPatterns().pattern("dc_power") is schema.DC_POWER_PATTERN
    True
    """

    _settings: ClassVar = COLUMN_SETTINGS
    _prefix: ClassVar = "columns."

    dc_power: re.Pattern[str] | None = COLUMN_SETTINGS["dc_power"].default
    soc: re.Pattern[str] | None = COLUMN_SETTINGS["soc"].default
    plant_power: re.Pattern[str] | None = COLUMN_SETTINGS["plant_power"].default
    plant_soc: re.Pattern[str] | None = COLUMN_SETTINGS["plant_soc"].default
    setpoint: re.Pattern[str] | None = COLUMN_SETTINGS["setpoint"].default
    time: str | None = COLUMN_SETTINGS["time"].default

    def pattern(self, kind: str) -> re.Pattern[str]:
        """The pattern in force for ``kind`` (``"dc_power"``, ``"soc"``, ``"plant_power"``,
        ``"plant_soc"`` or ``"setpoint"``): given or built in."""
        given = getattr(self, kind)
        return given if given is not None else _BUILT_IN_PATTERNS[kind]

    def expressions(self) -> tuple[str | None, ...]:
        """Every pattern in force and the timestamp column given: what a column map
        depends on (a cache key)."""
        return (*(self.pattern(kind).pattern for kind in _BUILT_IN_PATTERNS), self.time)


_BUILT_IN_PATTERNS: Final = {
    "dc_power": schema.DC_POWER_PATTERN,
    "soc": schema.SOC_PATTERN,
    **{
        variable: re.compile(f"^{re.escape(column)}$")
        for column, variable in schema.PLANT_COLUMNS.items()
    },
}


@dataclass(frozen=True)
class AvailabilityTable(_Checked):
    """The ``[availability]`` table (see :data:`AVAILABILITY_SETTINGS`).

    Attributes
    ----------
    planned
        Planned outages ``(start, end, inverters or "all")`` as written; made instants of
        the plant's timezone by :func:`bessx.availability.planned_outages`.
    """

    _settings: ClassVar = AVAILABILITY_SETTINGS
    _prefix: ClassVar = "availability."

    planned: tuple[tuple[Any, Any, Any], ...] = AVAILABILITY_SETTINGS["planned"].default


@dataclass(frozen=True)
class GuaranteeTable(_Checked):
    """The ``[guarantees]`` table: what a contract guarantees (see :data:`GUARANTEE_SETTINGS`).

    Attributes
    ----------
    availability, round_trip_efficiency
        Guaranteed fractions in (0, 1].
    capacity_retention
        The warranted curve, ``(years, fraction)`` points with increasing years.
    cycles_per_year
        Largest equivalent full cycles per warranty year.
    reference_date
        Start of the warranty; None: the first day of data.

    ``None`` guarantees nothing for that metric.
    """

    _settings: ClassVar = GUARANTEE_SETTINGS
    _prefix: ClassVar = "guarantees."

    availability: float | None = GUARANTEE_SETTINGS["availability"].default
    round_trip_efficiency: float | None = GUARANTEE_SETTINGS["round_trip_efficiency"].default
    capacity_retention: tuple[tuple[float, float], ...] | None = GUARANTEE_SETTINGS[
        "capacity_retention"
    ].default
    cycles_per_year: float | None = GUARANTEE_SETTINGS["cycles_per_year"].default
    reference_date: Any = GUARANTEE_SETTINGS["reference_date"].default

    @property
    def given(self) -> bool:
        """Whether any metric is guaranteed."""
        return any(
            value is not None
            for value in (
                self.availability,
                self.round_trip_efficiency,
                self.capacity_retention,
                self.cycles_per_year,
            )
        )


#: The top-level keys of a site file.
SITE_SETTINGS: Final[dict[str, Setting]] = {
    "data": Setting(
        "a path", _path, None, "folder, glob or file of the parquet exports", is_path=True
    ),
    "timezone": Setting(
        'an IANA timezone name such as "Australia/Sydney"',
        _timezone,
        None,
        "timezone of the plant's local timestamps and calendar days; required: there is "
        "no default zone",
    ),
    "interval": Setting(
        f"a number of seconds from {INTERVAL_RANGE[0]} to {INTERVAL_RANGE[1]:,.0f} (one day)",
        _number_in(*INTERVAL_RANGE),
        None,
        "nominal sampling interval [s]; None: the median time step",
    ),
    "topology": Setting(
        "a path",
        _path,
        None,
        "CSV of inverter, dc_input, enclosure_id; None: inferred from the columns",
        is_path=True,
    ),
    "allocation": Setting(
        f"one of {', '.join(map(_show, ALLOCATIONS))}",
        _one_of(ALLOCATIONS),
        "equal",
        "how a DC input's energy is shared among its enclosures",
    ),
    "max_gap": Setting(
        f"a number from 1 to {MAX_GAP_LIMIT:,.0f}",
        _number_in(1, MAX_GAP_LIMIT),
        3.0,
        "longest gap bridged by holding the last sample [intervals]",
    ),
    "dc_power_limit_kw": Setting(
        f"a number > 0 and ≤ {POWER_LIMIT_KW:,.0f}",
        _number_in(0, POWER_LIMIT_KW, low_open=True),
        DEFAULT_DC_POWER_LIMIT_KW,
        "largest plausible |power| of one DC input [kW]; beyond it a sample is excluded",
    ),
    "power_sign": Setting(
        f"one of {', '.join(map(_show, POWER_SIGNS))}",
        _one_of(POWER_SIGNS),
        POWER_SIGNS[0],
        "how the exports sign power (DC input, plant meter, setpoint); read as discharge positive",
    ),
    "power_unit": Setting(
        f"one of {', '.join(map(_show, POWER_UNITS))}",
        _one_of(POWER_UNITS),
        POWER_UNITS[0],
        "the unit of the exports' power; converted to kW as it is read",
    ),
    "out": Setting(
        "a path", _path, Path("bessx-out"), "folder the outputs are written to", is_path=True
    ),
    "outputs": Setting(
        f"a non-empty list of names from {', '.join(map(_show, OUTPUTS))}",
        _names_from(OUTPUTS, empty=False),
        OUTPUTS,
        "the outputs to write",
    ),
    "skip_bad_files": Setting(
        "true or false",
        _boolean,
        False,
        "skip exports that cannot be read or are refused, naming each, instead of stopping",
    ),
}
#: The whole table: every top-level key, and each ``[table]`` with its own settings.
SETTINGS: Final[dict[str, Setting | type[_Checked]]] = {
    **SITE_SETTINGS,
    "outliers": OutlierSettings,
    "quality": QualityTable,
    "columns": ColumnPatterns,
    "health": HealthTable,
    "availability": AvailabilityTable,
    "guarantees": GuaranteeTable,
}


@dataclass(frozen=True)
class Config(_Checked):
    """A site configuration; every field is checked against :data:`SETTINGS` when made.

    Attributes
    ----------
    data
        Folder, glob or file of the parquet exports; ``None``: given on the command line.
    timezone
        IANA timezone of the plant's local timestamps and calendar days; ``None``: not
        given, and a run stops (:func:`require_timezone`): there is no default zone.
    interval
        Nominal sampling interval [s]; ``None``: the median time step.
    topology
        Site topology CSV; ``None``: inferred from the battery-system columns.
    allocation
        How a DC input's energy is shared among its enclosures: ``"equal"`` or ``"soc"``.
    max_gap
        Longest gap bridged by holding the last sample [sampling intervals], ≥ 1.
    dc_power_limit_kw
        Largest plausible ``|power|`` of one DC input [kW]; beyond it a sample is excluded.
    power_sign
        How the exports sign power: ``"discharge_positive"`` or ``"charge_positive"``.
    power_unit
        The unit of the exports' power: ``"kW"``, ``"W"`` or ``"MW"``.
    out
        Folder the outputs are written to.
    outputs
        Which outputs to write, from :data:`OUTPUTS` (at least one).
    skip_bad_files
        Skip exports that cannot be read or are refused, each named with its reason,
        instead of stopping at the first.
    outliers
        Outlier detection settings.
    quality
        Data-quality flag thresholds and the flags to exclude.
    columns
        Column-name patterns that override :mod:`bessx.schema`.
    health
        Battery health settings (the window).
    availability
        The availability's planned outages.
    guarantees
        What the contract guarantees (nothing unless given).

    Examples
    --------
    >>> Config(max_gap=5).max_gap
    5.0
    >>> Config(allocation="soc").outputs[-3:]
    ('summary', 'report', 'availability')
    """

    _settings: ClassVar = SETTINGS

    data: Path | None = SITE_SETTINGS["data"].default
    timezone: str | None = SITE_SETTINGS["timezone"].default
    interval: float | None = SITE_SETTINGS["interval"].default
    topology: Path | None = SITE_SETTINGS["topology"].default
    allocation: str = SITE_SETTINGS["allocation"].default
    max_gap: float = SITE_SETTINGS["max_gap"].default
    dc_power_limit_kw: float = SITE_SETTINGS["dc_power_limit_kw"].default
    power_sign: str = SITE_SETTINGS["power_sign"].default
    power_unit: str = SITE_SETTINGS["power_unit"].default
    out: Path = SITE_SETTINGS["out"].default
    outputs: tuple[str, ...] = SITE_SETTINGS["outputs"].default
    skip_bad_files: bool = SITE_SETTINGS["skip_bad_files"].default
    outliers: OutlierSettings = field(default_factory=OutlierSettings)
    quality: QualityTable = field(default_factory=QualityTable)
    columns: ColumnPatterns = field(default_factory=ColumnPatterns)
    health: HealthTable = field(default_factory=HealthTable)
    availability: AvailabilityTable = field(default_factory=AvailabilityTable)
    guarantees: GuaranteeTable = field(default_factory=GuaranteeTable)


# The one place values are checked -----------------------------------------------------------
def _check(
    values: Mapping[str, Any],
    settings: Mapping[str, Setting | type[_Checked]],
    origin: str,
    base: Path | None = None,
    prefix: str = "",
) -> dict[str, Any]:
    """Check and convert ``values`` against a settings table.

    Parameters
    ----------
    values
        Key -> value, as read from TOML or given in Python.
    settings
        The table: key -> :class:`Setting`, or a :class:`_Checked` dataclass for a section.
    origin
        Where the values come from (a file name, "command line"), to start messages.
    base
        Folder that relative paths are taken from; ``None`` leaves them as they are.
    prefix
        Section of the keys (``"outliers."``), for messages.
    """
    checked: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        setting = settings.get(key)
        if setting is None:
            suggestion = _did_you_mean(key, settings, f"did you mean '{prefix}{{}}'?")
            raise ConfigError(
                f"{origin}: unknown key {name!r}" + (f" ({suggestion})" if suggestion else "")
            )
        if isinstance(setting, type):
            if isinstance(value, setting):
                checked[key] = value
            elif isinstance(value, Mapping):
                section = _check(value, setting._settings, origin, base, prefix=f"{name}.")
                checked[key] = setting(**section)
            else:
                raise ConfigError(f"{origin}: {name!r} must be a table, got {_show(value)}")
            continue
        if value is None and setting.default is None:
            checked[key] = None
            continue
        try:
            converted = setting.check(value)
        except _Rejected as rejected:
            hint = f" ({rejected.hint})" if rejected.hint else ""
            raise ConfigError(
                f"{origin}: {name!r} must be {setting.expects}, got {_show(value)}{hint}"
            ) from None
        if setting.is_path and base is not None and not converted.is_absolute():
            converted = base / converted
        checked[key] = converted
    return checked


# Reading and merging --------------------------------------------------------------------------
_TOML_POSITION = re.compile(
    r"^(?P<problem>.*?)\s*\(at line (?P<line>\d+), column (?P<column>\d+)\)$"
)


def load_config(path: str | os.PathLike) -> Config:
    """Read a site configuration from a TOML file.

    Parameters
    ----------
    path
        The TOML file. Relative paths in it (``data``, ``topology``, ``out``) are taken from
        its folder, and ``~`` is expanded.

    Returns
    -------
    Config
        The file's values; keys it does not give keep their defaults.

    Raises
    ------
    ConfigError
        The file is missing or not TOML (with the line), or a key is unknown or has a bad
        value; the one-line message names the file and the key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     site = pathlib.Path(folder) / "site.toml"
    ...     _ = site.write_text('allocation = "soc"\\n[outliers]\\nmin_days = 10\\n')
    ...     config = load_config(site)
    >>> config.allocation, config.outliers.min_days, config.max_gap
    ('soc', 10, 3.0)
    """
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{source}: cannot read the file ({error})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        if match := _TOML_POSITION.match(str(error)):
            raise ConfigError(
                f"{source}: line {match['line']}, column {match['column']}: "
                f"invalid TOML ({match['problem']})"
            ) from None
        raise ConfigError(f"{source}: invalid TOML ({error})") from None
    return Config(**_check(document, SETTINGS, origin=str(source), base=source.parent))


def merge(config: Config, **overrides: Any) -> Config:
    """Override configuration values, e.g. from command-line flags.

    Parameters
    ----------
    config
        The configuration, typically from :func:`load_config`; it is not modified.
    **overrides
        New values by key; ``None`` means "not given" and keeps the current value. A section
        (``outliers``, ``columns``) takes a mapping of some of its keys.

    Returns
    -------
    Config
        A new configuration.

    Raises
    ------
    ConfigError
        An unknown key or a bad value, in a message starting with "command line".

    Examples
    --------
    >>> site = Config(timezone="Europe/Berlin")
    >>> merged = merge(site, max_gap=5, timezone=None, outliers={"threshold": 0.1})
    >>> merged.max_gap, merged.timezone, merged.outliers.threshold
    (5.0, 'Europe/Berlin', 0.1)
    """
    given: dict[str, Any] = {}
    for key, value in overrides.items():
        if value is None:
            continue
        section = SETTINGS.get(key)
        if isinstance(section, type) and isinstance(value, Mapping):
            current = getattr(config, key)
            value = {
                **{item.name: getattr(current, item.name) for item in dataclasses.fields(current)},
                **{name: item for name, item in value.items() if item is not None},
            }
        given[key] = value
    return dataclasses.replace(config, **_check(given, SETTINGS, origin="command line"))
