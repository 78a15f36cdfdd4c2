"""Tests of bessx.schema.add_history: the one place a CF ``history`` line is written."""

from __future__ import annotations

import re
from pathlib import Path

import bessx
from bessx.schema import add_history

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def test_a_note_is_the_first_line_without_a_history() -> None:
    for previous in (None, ""):
        line = add_history(previous, "bessx.open_exports: read 2 export file(s)")
        assert re.fullmatch(f"{STAMP} bessx.open_exports: read 2 export file\\(s\\)", line)


def test_a_call_is_added_as_the_last_line_with_the_version() -> None:
    previous = "2024-03-04T00:00:00Z bessx.open_exports: read 3 export file(s)"
    history = add_history(previous, "bessx.health(window='30D')", call=True)
    first, last = history.split("\n")
    assert first == previous
    version = re.escape(bessx.__version__)
    assert re.fullmatch(f"{STAMP}: bessx.health\\(window='30D'\\) \\[bessx {version}\\]", last)


def test_no_other_module_writes_a_history_line() -> None:
    package = Path(bessx.__file__).parent
    writers = sorted(
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "%H:%M:%SZ" in path.read_text() or '"history": f"' in path.read_text()
    )
    assert writers == ["schema.py"]
