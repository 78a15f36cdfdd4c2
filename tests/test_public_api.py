"""The public API stays where users find it: ``bessx.<name>``, and every path the docs name.

A module that moves either keeps the old path working or has the docs say where it went:
this test reads every ``bessx.…`` path in ``README.md`` and ``docs/`` (roles, code,
``automodule`` and ``from … import …`` lines) and resolves it.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import bessx

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
#: ``bessx.<path>`` in the text (not a file such as ``bessx.toml``, see FILE_SUFFIXES).
DOTTED = re.compile(r"(?<![\w./-])bessx(?:\.[A-Za-z_]\w*)+")
FROM_IMPORT = re.compile(r"^\s*from (bessx(?:\.\w+)*) import \(?([\w, ]+)", re.MULTILINE)
#: Names of files the docs mention (``bessx.toml``, a systemd ``bessx.timer``), not paths.
FILE_SUFFIXES = frozenset({"css", "lock", "log", "service", "timer", "toml", "html", "md"})


def resolve(path: str) -> object:
    """The object ``path`` names: the longest importable module, then its attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        return value
    raise ModuleNotFoundError(path)


def without_old_paths(text: str) -> str:
    """The text without the first column of the table of moved paths (``| old path | ...``)."""
    lines, in_table = [], False
    for line in text.splitlines():
        if line.startswith("| old path |"):
            in_table = True
        elif in_table and line.startswith("|"):
            line = "|" + line.split("|", 2)[2]
        else:
            in_table = False
        lines.append(line)
    return "\n".join(lines)


def documented_paths() -> list[tuple[str, str]]:
    found = set()
    for document in DOCUMENTS:
        text = without_old_paths(document.read_text())
        where = str(document.relative_to(ROOT))
        for match in DOTTED.finditer(text):
            path = match.group(0)
            if path.split(".")[1] not in FILE_SUFFIXES:
                found.add((where, path))
        for module, names in FROM_IMPORT.findall(text):
            found |= {
                (where, f"{module}.{name.split(' as ')[0].strip()}")
                for name in names.split(",")
                if name.strip()
            }
    return sorted(found)


@pytest.mark.parametrize("name", sorted(bessx.__all__))
def test_every_public_name_imports(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from bessx import {name}", namespace)
    assert namespace[name] is getattr(bessx, name)
    if name != "__version__":
        assert callable(namespace[name]) or isinstance(namespace[name], type)


def test_the_docs_name_paths() -> None:
    assert len(documented_paths()) > 100  # the reading found them


@pytest.mark.parametrize(("document", "path"), documented_paths())
def test_every_documented_path_resolves(document: str, path: str) -> None:
    resolve(path)


def test_the_old_paths_of_moved_modules_are_not_read() -> None:
    table = "| old path | new path |\n|---|---|\n| `bessx.a` | `bessx.b` |\n\n`bessx.c`"
    assert without_old_paths(table).split("\n")[2:] == ["| `bessx.b` |", "", "`bessx.c`"]


def test_resolve_fails_on_a_moved_path() -> None:
    with pytest.raises((ModuleNotFoundError, AttributeError)):
        resolve("bessx.health_kernels.theil_sen")  # now bessx.kernels.health.theil_sen
    assert resolve("bessx.kernels.health.theil_sen") is not None
