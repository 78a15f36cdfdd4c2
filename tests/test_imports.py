"""What ``import bessx`` imports, its lazy public names, and ``Dataset.bess`` in any import order.

Import behaviour is only visible in a fresh interpreter: most tests here run one.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xarray as xr

import bessx

#: The folder holding the bessx under test (and ``bessx_launch.py``), for the subprocesses.
_ROOT = Path(bessx.__file__).parent.parent


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that imports this bessx, warnings as errors."""
    path = os.pathsep.join(filter(None, [str(_ROOT), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path},
        cwd=_ROOT,
    )


def loaded(code: str, modules: tuple[str, ...]) -> list[str]:
    """Which of ``modules`` are imported after running ``code`` in a fresh interpreter."""
    result = python(
        f"{textwrap.dedent(code)}\nimport sys\nprint(*(m for m in {modules!r} if m in sys.modules))"
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


HEAVY = ("xarray", "pandas", "dask", "numpy", "pyarrow", "matplotlib", "polars", "netCDF4")
OPTIONAL = ("matplotlib", "distributed", "netCDF4", "polars")


def test_import_bessx_imports_no_heavy_library() -> None:
    assert loaded("import bessx", (*HEAVY, "distributed")) == []


@pytest.mark.parametrize("command", [(), ("run",), ("demo",), ("info",)])
def test_bessx_help_imports_no_optional_library(command: tuple[str, ...]) -> None:
    code = f"""
        import contextlib, io, sys
        sys.argv = ["bessx", *{command!r}, "--help"]
        import bessx_launch
        with contextlib.redirect_stdout(io.StringIO()):
            assert bessx_launch.main() == 0
    """
    assert loaded(code, OPTIONAL) == []


_ACCESSOR_WORKS = """
    import bessx
    from bessx.testing import make_daily
    import numpy as np
    import pandas as pd
    daily = make_daily(np.arange(24.0).reshape(2, 2, 2, 3), [3, 2])
    assert type(xr.Dataset().bess).__name__ == "BessAccessor"
    pd.testing.assert_frame_equal(daily.bess.lowest(2), bessx.lowest(daily, 2))
    assert xr.Dataset.bess.lowest.__doc__ == bessx.lowest.__doc__
"""


@pytest.mark.parametrize(
    "first",
    [
        pytest.param("import bessx\nimport xarray as xr", id="bessx-then-xarray"),
        pytest.param("import xarray as xr\nimport bessx", id="xarray-then-bessx"),
        pytest.param("import bessx.tables\nimport xarray as xr", id="a-bessx-module-first"),
        pytest.param("from bessx import daily_energy\nimport xarray as xr", id="a-public-name"),
        pytest.param(
            "import importlib, bessx, bessx.accessor, xarray as xr\n"
            "for module in (xr, bessx, bessx.accessor, bessx, xr):\n"
            "    importlib.reload(module)",
            id="reloads",
        ),
    ],
)
def test_accessor_whatever_the_import_order(first: str) -> None:
    result = python(first + "\n" + textwrap.dedent(_ACCESSOR_WORKS))
    assert result.returncode == 0, result.stderr


def test_accessor_with_xarray_imported_in_another_thread() -> None:
    code = """
        import sys, threading
        start = threading.Barrier(2)
        def import_xarray():
            start.wait()
            import xarray
        thread = threading.Thread(target=import_xarray)
        thread.start()
        start.wait()
        import bessx
        thread.join()
        import xarray as xr
        assert type(xr.Dataset().bess).__name__ == "BessAccessor"
    """
    for _ in range(3):
        result = python(code)
        assert result.returncode == 0, result.stderr


def test_importing_bessx_leaves_the_xarray_module_as_it_was() -> None:
    code = """
        import bessx, xarray
        from importlib.machinery import SourceFileLoader
        assert type(xarray.__loader__) is SourceFileLoader, xarray.__loader__
        assert xarray.__spec__.loader is xarray.__loader__
    """
    result = python(code)
    assert result.returncode == 0, result.stderr


def test_every_public_name_is_there() -> None:
    namespace: dict[str, object] = {}
    exec(f"from bessx import {', '.join(bessx.__all__)}", namespace)
    for name in bessx.__all__:
        assert getattr(bessx, name) is namespace[name]
        assert name in dir(bessx)
    assert bessx.open_exports.__module__ == "bessx.io.exports"
    with pytest.raises(AttributeError, match="has no attribute 'daily_energyy'"):
        bessx.daily_energyy  # noqa: B018
    with pytest.raises(ImportError):
        exec("from bessx import daily_energyy", {})


def test_functions_named_like_their_module_stay_functions() -> None:
    # bessx.plot imports bessx.outliers before anyone asked for bessx.outliers
    code = """
        import bessx, bessx.plot, bessx.health, bessx.quality
        import bessx.outliers
        for name in ("outliers", "health", "quality"):
            assert callable(getattr(bessx, name)), name
            assert getattr(bessx, name).__module__ == f"bessx.{name}"
        from bessx.outliers import outliers
        assert outliers is bessx.outliers
    """
    result = python(code)
    assert result.returncode == 0, result.stderr
    assert bessx.outliers is sys.modules["bessx.outliers"].outliers


def test_type_checkers_see_every_lazy_name() -> None:
    """The imports under ``TYPE_CHECKING`` name exactly the lazy names and their modules."""
    tree = ast.parse(Path(bessx.__file__).read_text())
    blocks = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
    ]
    seen = {
        alias.name: statement.module
        for block in blocks
        for statement in block.body
        if isinstance(statement, ast.ImportFrom)
        for alias in statement.names
    }
    assert seen == bessx._LAZY
    eager = {"BessxError", "ConfigError", "ExportError", "__version__"}
    assert set(bessx.__all__) == set(bessx._LAZY) | eager


def test_accessor_forwards_are_shared_by_the_class() -> None:
    ds = xr.Dataset()
    assert ds.bess.lowest.__func__ is type(ds.bess).lowest
    assert type(ds.bess).__slots__ == ("_obj",)
