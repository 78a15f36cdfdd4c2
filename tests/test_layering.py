"""The package's layers: no import cycle, the numpy kernels import nothing above them, and
no module reaches into another's private names.

The import graph is read from the source with :mod:`ast`, function-level imports included
(an import inside a function is still a dependency, made later); imports under
``if TYPE_CHECKING:`` are left out, as they never run. Importing ``bessx.a.b`` runs
``bessx/a/__init__.py`` first, so a module also depends on its parent packages (not on
``bessx`` itself, whose public names are imported lazily by name, not by an import
statement).

A module's ``_private`` names are its own: outside :mod:`bessx.synthetic` and
:mod:`bessx.testing` (the demo plant and the test helpers, which build on the internals on
purpose), no module imports a ``_name`` from another bessx module, nor uses one as
``module._name`` of a bessx module it imported. The one thing allowed is a package's own
``__init__`` importing (public names) from a private module directly inside it, as
``bessx/__init__.py`` does from ``bessx._postimport``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import bessx

PACKAGE = Path(bessx.__file__).parent
#: What the numpy kernels may import from bessx besides each other: modules of the standard
#: library alone (the thresholds a site file sets, the exceptions).
KERNEL_BASE = frozenset({"bessx.thresholds", "bessx.errors"})


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(
    tree: ast.Module, type_only: bool = False, face: str = ""
) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere but under ``if TYPE_CHECKING:``.

    With ``type_only``, those under ``if TYPE_CHECKING:`` as well (the type checker reads
    them), but for a lazy package face (``face``, the package an ``__init__`` is): its
    type-only imports of its own submodules name what it hands on when first asked, and
    importing one of its submodules does not read them.
    """

    def skip(statement: ast.stmt) -> bool:
        own = isinstance(statement, ast.ImportFrom) and (statement.module or "").startswith(
            f"{face}."
        )
        return not type_only or (bool(face) and own)

    skipped = {
        id(statement)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for statement in node.body
        if skip(statement)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in skipped:
            yield node


def import_graph(package: Path = PACKAGE, type_only: bool = False) -> dict[str, set[str]]:
    """``module -> the bessx modules it imports`` for every module under ``package``.

    With ``type_only``, the imports that only the type checker reads count as well.
    """
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package_name = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        face = name if path.name == "__init__.py" else ""
        for node in _imports(ast.parse(path.read_text(), str(path)), type_only, face):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
                continue
            base = node.module or ""
            if node.level:  # relative: from the package that holds this module
                anchor = package_name.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets.add(base)
            # `from bessx import schema` imports the module bessx.schema
            targets |= {f"{base}.{alias.name}" for alias in node.names}
        resolved = set()
        for target in targets:
            while target and target not in paths:  # a name imported from a module
                target = target.rpartition(".")[0]
            # importing bessx.a.b runs bessx/a/__init__.py first
            while target.count("."):
                resolved.add(target)
                target = target.rpartition(".")[0]
        resolved.discard(name)
        # a package's own parents are imported before it: not a dependency of its own making
        graph[name] = {
            target for target in resolved if not name.startswith(target + ".") and target in paths
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_function_level_imports(tmp_path: Path) -> None:
    package = tmp_path / "bessx"
    (package / "kernels").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "kernels" / "__init__.py").write_text("")
    (package / "kernels" / "days.py").write_text(
        "def f():\n    from bessx.energy import g\n    return g\n"
    )
    (package / "energy.py").write_text(
        "from typing import TYPE_CHECKING\nfrom bessx.kernels import days\n"
        "if TYPE_CHECKING:\n    from bessx import quality\n"
    )
    (package / "quality.py").write_text("from bessx.energy import g\n")
    graph = import_graph(package)
    assert graph["bessx.kernels.days"] == {"bessx.energy"}
    assert graph["bessx.energy"] == {"bessx.kernels", "bessx.kernels.days"}  # not quality
    assert graph["bessx.quality"] == {"bessx.energy"}
    assert cycles(graph) == [["bessx.energy", "bessx.kernels.days"]]
    # read as the type checker does: quality is a dependency of energy, a face's own are not
    (package / "kernels" / "__init__.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bessx.kernels.days import f\n"
    )
    typed = import_graph(package, type_only=True)
    assert typed["bessx.energy"] == {"bessx.kernels", "bessx.kernels.days", "bessx.quality"}
    assert typed["bessx.kernels"] == set()
    assert cycles(typed) == [["bessx.energy", "bessx.kernels.days", "bessx.quality"]]


def test_no_import_cycle() -> None:
    assert cycles(import_graph()) == []


def test_no_import_cycle_even_in_the_type_annotations() -> None:
    """Two modules that name each other's types are still read only together."""
    assert cycles(import_graph(type_only=True)) == []


def test_the_kernels_import_nothing_above_them() -> None:
    graph = import_graph()
    upward = {
        name: sorted(
            target
            for target in targets
            if not target.startswith("bessx.kernels") and target not in KERNEL_BASE
        )
        for name, targets in graph.items()
        if name.startswith("bessx.kernels")
    }
    assert {name: targets for name, targets in upward.items() if targets} == {}
    assert len(upward) >= 7  # the kernels package and its modules were read


@pytest.mark.parametrize("heavy", ["xarray", "pandas", "dask"])
def test_importing_the_kernels_imports_no_labelled_library(heavy: str) -> None:
    modules = sorted(name for name in import_graph() if name.startswith("bessx.kernels"))
    code = "; ".join(f"import {name}" for name in modules)
    code += f"; import sys; print({heavy!r} in sys.modules)"
    root = str(PACKAGE.parent)
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
        cwd=root,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


#: The packages whose modules may use other modules' private names.
PRIVATE_USERS = ("bessx.synthetic", "bessx.testing")


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(package: Path = PACKAGE) -> list[str]:
    """``module:line name`` for every private name or module of another bessx module used."""
    paths = {module_name(path, package): path for path in package.rglob("*.py")}
    found = []
    for name, path in sorted(paths.items()):
        if name.startswith(PRIVATE_USERS):
            continue
        is_package = path.name == "__init__.py"
        package_name = name if is_package else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        modules: dict[str, str] = {}  # local name -> the bessx module it is bound to
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported = [(alias.name, alias.name, alias.asname) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package_name.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                imported = [(base, f"{base}.{alias.name}", alias.asname) for alias in node.names]
            else:
                continue
            for module, full, alias in imported:
                if module.partition(".")[0] != "bessx":
                    continue
                target = full if full in paths else module
                if isinstance(node, ast.Import):  # binds `bessx`, or the module as its alias
                    modules[alias or "bessx"] = full if alias else "bessx"
                elif full in paths:  # `from bessx.io import files` binds a module
                    modules[alias or full.rpartition(".")[2]] = full
                parts = full.split(".")
                private_parts = [part for part in parts[1:] if _private(part)]
                own_private_module = (
                    is_package
                    and target.rpartition(".")[0] == name
                    and private_parts == [target.rpartition(".")[2]]
                )
                if private_parts and target != name and not own_private_module:
                    found.append(f"{name}:{node.lineno} {full}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and isinstance(node.value, ast.Name)
                and modules.get(node.value.id, name) != name
            ):
                found.append(f"{name}:{node.lineno} {modules[node.value.id]}.{node.attr}")
    return found


def test_private_uses_are_found(tmp_path: Path) -> None:
    package = tmp_path / "bessx"
    (package / "io").mkdir(parents=True)
    (package / "synthetic").mkdir()
    (package / "__init__.py").write_text("from bessx._hooks import when\n")
    (package / "_hooks.py").write_text("when = 1\n")
    (package / "io" / "__init__.py").write_text("")
    (package / "io" / "files.py").write_text("_minute = 1\nMINUTE = 2\n")
    (package / "io" / "read.py").write_text(
        "from .files import MINUTE, _minute\nfrom bessx import __version__\n"
    )
    (package / "io" / "write.py").write_text(
        "from bessx.io import files\nimport bessx._hooks\n\ndef f():\n    return files._minute\n"
    )
    (package / "synthetic" / "__init__.py").write_text("from bessx.io.files import _minute\n")
    assert private_uses(package) == [
        "bessx.io.read:1 bessx.io.files._minute",
        "bessx.io.write:2 bessx._hooks",
        "bessx.io.write:5 bessx.io.files._minute",
    ]


def test_no_module_uses_another_modules_private_names() -> None:
    assert private_uses() == []
