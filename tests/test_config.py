"""Site configuration: parsing, defaults, precedence, paths and every error message."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from bessx import schema
from bessx.config import (
    AVAILABILITY_SETTINGS,
    COLUMN_SETTINGS,
    GUARANTEE_SETTINGS,
    OUTLIER_SETTINGS,
    OUTPUTS,
    QUALITY_SETTINGS,
    SETTINGS,
    SITE_SETTINGS,
    ColumnPatterns,
    Config,
    OutlierSettings,
    load_config,
    merge,
)
from bessx.errors import BessxError, ConfigError

EXAMPLE = Path(__file__).parents[1] / "docs" / "site.example.toml"

FULL_SITE = r"""
data = "exports"
timezone = "Australia/Brisbane"
interval = 300
topology = "meta/topology.csv"
allocation = "soc"
max_gap = 4
out = "/srv/results"
outputs = ["csv", "heatmap"]

[outliers]
threshold = 0.1
z_min = 3.5
min_days = 7
min_coverage = 0.75

[columns]
dc_power = '^P(?P<dc_input>[12])_(?P<inverter>\w+)$'
soc = '^SOC_(?P<enclosure_id>\w+)$'
"""


def write_site(folder: Path, text: str, name: str = "site.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(folder: Path, text: str) -> str:
    """The message of the ConfigError raised by a site file holding ``text``."""
    with pytest.raises(ConfigError) as error:
        load_config(write_site(folder, text))
    message = str(error.value)
    assert "\n" not in message
    return message.replace(str(folder / "site.toml"), "site.toml")


# Parsing -----------------------------------------------------------------------------------
def test_every_key_is_parsed(tmp_path):
    config = load_config(write_site(tmp_path, FULL_SITE))
    assert config.data == tmp_path / "exports"
    assert config.timezone == "Australia/Brisbane"
    assert config.interval == 300.0 and isinstance(config.interval, float)
    assert config.topology == tmp_path / "meta" / "topology.csv"
    assert config.allocation == "soc"
    assert config.max_gap == 4.0 and isinstance(config.max_gap, float)
    assert config.out == Path("/srv/results")
    assert config.outputs == ("csv", "heatmap")
    assert config.outliers == OutlierSettings(
        threshold=0.1, z_min=3.5, min_days=7, min_coverage=0.75
    )
    assert config.columns.dc_power.match("P2_1APCS3").groupdict() == {
        "dc_input": "2",
        "inverter": "1APCS3",
    }
    assert config.columns.soc.match("SOC_1A1BAT2")["enclosure_id"] == "1A1BAT2"


def test_empty_file_gives_the_defaults(tmp_path):
    config = load_config(write_site(tmp_path, ""))
    assert config == Config()
    assert config.data is None and config.topology is None and config.interval is None
    assert config.timezone is None  # no default zone: a run stops without one
    assert config.allocation == "equal"
    assert config.max_gap == 3.0
    assert config.out == Path("bessx-out")
    assert config.outputs == OUTPUTS
    assert config.outliers == OutlierSettings(None, None, None)
    assert config.columns == ColumnPatterns(None, None)


def test_the_table_defines_the_dataclasses():
    for cls, table in [
        (Config, SETTINGS),
        (OutlierSettings, OUTLIER_SETTINGS),
        (ColumnPatterns, COLUMN_SETTINGS),
    ]:
        assert [item.name for item in dataclasses.fields(cls)] == list(table)
    defaults = Config()
    for name, setting in SITE_SETTINGS.items():
        assert getattr(defaults, name) == setting.default, name
        assert setting.doc and setting.expects


def test_relative_paths_are_taken_from_the_file_folder(tmp_path):
    folder = tmp_path / "sites" / "north"
    folder.mkdir(parents=True)
    site = 'data = "../shared/exports"\ntopology = "topology.csv"\nout = "results"\n'
    config = load_config(write_site(folder, site))
    assert config.data == folder / "../shared/exports"
    assert config.topology == folder / "topology.csv"
    assert config.out == folder / "results"


def test_relative_config_path_and_home(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    write_site(tmp_path, 'data = "~/exports"\nout = "results"\n')
    config = load_config("site.toml")
    assert config.data == tmp_path / "home" / "exports"
    assert config.out == Path("results")  # beside site.toml, relative to the working folder


def test_config_is_frozen_and_checked_when_made():
    config = Config(data="exports", outputs=["csv", "csv", "summary"], max_gap=2)
    assert config.data == Path("exports")
    assert config.outputs == ("csv", "summary")
    assert config.max_gap == 2.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.max_gap = 5.0  # type: ignore[misc]
    with pytest.raises(
        ConfigError, match=r"^Config: 'max_gap' must be a number from 1 to 10,000, got 0\.5$"
    ):
        Config(max_gap=0.5)
    with pytest.raises(ConfigError, match=r"^OutlierSettings: 'outliers\.min_days' must be"):
        OutlierSettings(min_days=0)
    assert Config(outliers={"z_min": 2}).outliers.z_min == 2.0


def test_config_error_is_a_bessx_error():
    assert issubclass(ConfigError, BessxError) and issubclass(ConfigError, ValueError)


# Precedence --------------------------------------------------------------------------------
def test_command_line_overrides_the_file(tmp_path):
    config = load_config(write_site(tmp_path, FULL_SITE))
    merged = merge(
        config,
        allocation="equal",
        max_gap=None,
        data="elsewhere",
        outputs=["summary"],
        outliers={"threshold": 0.2, "min_days": None},
    )
    assert merged.allocation == "equal"
    assert merged.max_gap == 4.0  # None: not given, the file's value stays
    assert merged.data == Path("elsewhere")  # relative to the working folder, not the file's
    assert merged.outputs == ("summary",)
    assert merged.outliers == OutlierSettings(
        threshold=0.2, z_min=3.5, min_days=7, min_coverage=0.75
    )
    assert merged.columns == config.columns
    assert config == load_config(tmp_path / "site.toml")  # not modified


def test_merge_without_overrides_is_the_same_config():
    config = Config(allocation="soc")
    assert merge(config) == config
    assert merge(config, timezone=None, outliers=None) == config


def test_merge_takes_section_objects():
    merged = merge(Config(), columns=ColumnPatterns(soc=r"^S (?P<enclosure_id>\w+)$"))
    assert merged.columns.soc.pattern == r"^S (?P<enclosure_id>\w+)$"


def test_merge_errors():
    with pytest.raises(
        ConfigError, match=r"^command line: 'max_gap' must be a number from 1 to 10,000"
    ):
        merge(Config(), max_gap=0)
    with pytest.raises(
        ConfigError,
        match=r"^command line: unknown key 'alocation' \(did you mean 'allocation'\?\)$",
    ):
        merge(Config(), alocation="soc")
    with pytest.raises(ConfigError, match=r"^command line: unknown key 'outliers\.treshold'"):
        merge(Config(), outliers={"treshold": 3})


# Error messages ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'allocaton = "soc"',
            "site.toml: unknown key 'allocaton' (did you mean 'allocation'?)",
        ),
        ("dpi = 100", "site.toml: unknown key 'dpi'"),
        ("colour = 1", "site.toml: unknown key 'colour' (did you mean 'columns'?)"),
        (
            "[outliers]\nthreshhold = 2",
            "site.toml: unknown key 'outliers.threshhold' (did you mean 'outliers.threshold'?)",
        ),
        ("[plots]\ndpi = 100", "site.toml: unknown key 'plots'"),
        (
            'max_gap = "three"',
            "site.toml: 'max_gap' must be a number from 1 to 10,000, got \"three\"",
        ),
        ("max_gap = 0.5", "site.toml: 'max_gap' must be a number from 1 to 10,000, got 0.5"),
        ("max_gap = true", "site.toml: 'max_gap' must be a number from 1 to 10,000, got true"),
        ("max_gap = nan", "site.toml: 'max_gap' must be a number from 1 to 10,000, got nan"),
        (
            "interval = 0",
            "site.toml: 'interval' must be a number of seconds from 0.1 to 86,400 (one day), got 0",
        ),
        (
            "interval = -5.0",
            "site.toml: 'interval' must be a number of seconds from 0.1 to 86,400 (one day), "
            "got -5.0",
        ),
        ("data = 3", "site.toml: 'data' must be a path, got 3"),
        ('topology = ""', "site.toml: 'topology' must be a path, got \"\""),
        ("out = []", "site.toml: 'out' must be a path, got []"),
        (
            'timezone = "Australia/Sidney"',
            "site.toml: 'timezone' must be an IANA timezone name such as \"Australia/Sydney\", "
            'got "Australia/Sidney" (did you mean "Australia/Sydney"?)',
        ),
        (
            'timezone = "Australia"',
            "site.toml: 'timezone' must be an IANA timezone name such as \"Australia/Sydney\", "
            'got "Australia" (did you mean "Australia/NSW"?)',
        ),
        (
            "timezone = 10",
            "site.toml: 'timezone' must be an IANA timezone name such as \"Australia/Sydney\", "
            "got 10",
        ),
        (
            'allocation = "SOC"',
            'site.toml: \'allocation\' must be one of "equal", "soc", got "SOC"',
        ),
        (
            'allocation = "sco"',
            'site.toml: \'allocation\' must be one of "equal", "soc", got "sco" '
            '(did you mean "soc"?)',
        ),
        (
            'outputs = ["csv", "heatmaps"]',
            "site.toml: 'outputs' must be a non-empty list of names from "
            '"csv", "netcdf", "lowest", '
            '"outliers", "quality", "heatmap", "health", "summary", "report", "availability", '
            'got ["csv", "heatmaps"] ("heatmaps" is not one of them; did you mean "heatmap"?)',
        ),
        (
            'outputs = "csv"',
            "site.toml: 'outputs' must be a non-empty list of names from "
            '"csv", "netcdf", "lowest", '
            '"outliers", "quality", "heatmap", "health", "summary", "report", "availability", '
            'got "csv"',
        ),
        (
            "outputs = []",
            'site.toml: \'outputs\' must be a non-empty list of names from "csv", "netcdf", '
            '"lowest", "outliers", "quality", "heatmap", "health", "summary", "report", '
            '"availability", got [] (an empty list would write nothing)',
        ),
        ("skip_bad_files = 1", "site.toml: 'skip_bad_files' must be true or false, got 1"),
        ("outliers = 3", "site.toml: 'outliers' must be a table, got 3"),
        (
            "[outliers]\nz_min = 0",
            "site.toml: 'outliers.z_min' must be a number > 0, got 0",
        ),
        (
            "[outliers]\nmin_days = 2.5",
            "site.toml: 'outliers.min_days' must be a whole number ≥ 1, got 2.5",
        ),
        (
            "[outliers]\nmin_coverage = 1.5",
            "site.toml: 'outliers.min_coverage' must be a number from 0 to 1, got 1.5",
        ),
        (
            "[columns]\nsoc = '^SOC (?P<enclosure_id>\\w+'",
            "site.toml: 'columns.soc' must be a regular expression with the named group "
            '(?P<enclosure_id>...), got "^SOC (?P<enclosure_id>\\\\w+" '
            "(not a regular expression: missing ), unterminated subpattern at position 5)",
        ),
        (
            "[columns]\ndc_power = '^P(?P<inverter>\\w+)$'",
            "site.toml: 'columns.dc_power' must be a regular expression with the named groups "
            '(?P<dc_input>...), (?P<inverter>...), got "^P(?P<inverter>\\\\w+)$" '
            "(its named groups are inverter)",
        ),
        (
            "[columns]\nsoc = '^SOC (\\w+)$'",
            "site.toml: 'columns.soc' must be a regular expression with the named group "
            '(?P<enclosure_id>...), got "^SOC (\\\\w+)$" (its named groups are none)',
        ),
    ],
)
def test_error_messages(tmp_path, text, message):
    assert config_error(tmp_path, text) == message


def test_toml_syntax_error_names_the_line(tmp_path):
    message = config_error(tmp_path, 'data = "exports"\nmax_gap == 3\n')
    assert message == "site.toml: line 2, column 10: invalid TOML (Invalid value)"
    message = config_error(tmp_path, "max_gap = 3\nmax_gap = 4\n")
    assert message.startswith("site.toml: line 2, column ")


def test_missing_or_unreadable_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nothing\.toml: no such file$"):
        load_config(tmp_path / "nothing.toml")
    (tmp_path / "latin1.toml").write_bytes('data = "Zürich"'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1\.toml: cannot read the file"):
        load_config(tmp_path / "latin1.toml")


def test_configuration_is_data_not_code(tmp_path):
    marker = tmp_path / "ran"
    message = config_error(tmp_path, f'data = __import__("pathlib").Path("{marker}").touch()')
    assert message.startswith("site.toml: line 1, column 8: invalid TOML")
    assert not marker.exists()


# The example file ----------------------------------------------------------------------------
def test_example_file_loads():
    config = load_config(EXAMPLE)
    assert config.data == EXAMPLE.parent / "exports"
    assert config.outputs == OUTPUTS


def test_example_file_documents_every_key():
    text = EXAMPLE.read_text(encoding="utf-8")
    names = [*SITE_SETTINGS, *OUTLIER_SETTINGS, *QUALITY_SETTINGS, *COLUMN_SETTINGS]
    names += [*AVAILABILITY_SETTINGS, *GUARANTEE_SETTINGS]
    for name in names:
        assert re.search(rf"^(# )?{name} = ", text, re.MULTILINE), name
    for section in ("outliers", "quality", "columns", "availability", "guarantees"):
        assert f"\n[{section}]\n" in text


def test_example_file_loads_with_every_key_uncommented(tmp_path):
    text = EXAMPLE.read_text(encoding="utf-8")
    names = "|".join(
        [
            *SITE_SETTINGS,
            *OUTLIER_SETTINGS,
            *QUALITY_SETTINGS,
            *COLUMN_SETTINGS,
            *AVAILABILITY_SETTINGS,
            *GUARANTEE_SETTINGS,
        ]
    )
    uncommented = re.sub(rf"^# ({names}) = ", r"\1 = ", text, flags=re.MULTILINE)
    config = load_config(write_site(tmp_path, uncommented))
    assert config.interval is not None and config.topology is not None
    assert None not in dataclasses.astuple(config.outliers)
    assert config.columns.dc_power.pattern == schema.DC_POWER_PATTERN.pattern
    assert config.columns.soc.pattern == schema.SOC_PATTERN.pattern
