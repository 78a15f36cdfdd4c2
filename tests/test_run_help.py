"""``bessx run --help`` lists the outputs from the output table itself: it cannot drift."""

from __future__ import annotations

import re

import pytest

from bessx import pipeline
from bessx.cli import main
from bessx.cli import parser as cli_parser
from bessx.output_descriptions import OUTPUT_DESCRIPTIONS


def outputs_section(text: str) -> str:
    return text[text.index("outputs (in --out") : text.index("The daily energy is computed once")]


def test_the_help_lists_every_output_of_the_table_in_order(capsys: pytest.CaptureFixture) -> None:
    assert main(["run", "--help"]) == 0
    section = outputs_section(capsys.readouterr().out)
    listed = re.findall(r"^  (\S+\.\w+)\b", section, flags=re.MULTILINE)
    assert listed == [item.name for item in pipeline.OUTPUT_TABLE]
    assert {"health.csv", "capacity_trend.png"} <= set(listed)
    flat = " ".join(section.split())
    assert f"the {pipeline.LOWEST_N} enclosures with the lowest energy charged" in flat
    assert "round-trip efficiency and why it is unknown" in flat


def test_every_output_is_described() -> None:
    assert list(OUTPUT_DESCRIPTIONS) == [item.name for item in pipeline.OUTPUT_TABLE]


def test_a_new_output_appears_in_the_help(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = pipeline.Output("new_table.csv", "csv", lambda results, path: None)
    monkeypatch.setattr(pipeline, "OUTPUT_TABLE", (*pipeline.OUTPUT_TABLE, extra))
    lines = cli_parser._outputs_help().splitlines()
    assert lines[-1] == f"  {'new_table.csv':<25}see docs/cli.md"
    assert all(len(line) <= 88 for line in lines)
