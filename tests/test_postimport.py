"""Tests of bessx._postimport: callbacks run once a module is imported, never importing it."""

from __future__ import annotations

import importlib
import itertools
import sys
import threading
from collections.abc import Callable, Iterator
from importlib.machinery import SourceFileLoader
from pathlib import Path
from types import ModuleType

import pytest

from bessx._postimport import when_imported

_numbers = itertools.count()


@pytest.fixture
def module_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """Write a module of a new name on ``sys.path``; its name. Forgotten after the test."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    names: list[str] = []

    def write(body: str, name: str | None = None) -> str:
        name = name or f"_bessx_watched_{next(_numbers)}"
        (tmp_path / f"{name}.py").write_text(body)
        importlib.invalidate_caches()
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


def recorder() -> tuple[list[tuple[ModuleType, bool]], Callable[[ModuleType], None]]:
    """A callback recording each module it is given and whether its body had run to the end."""
    calls: list[tuple[ModuleType, bool]] = []

    def callback(module: ModuleType) -> None:
        calls.append((module, getattr(module, "LAST", False)))

    return calls, callback


def test_a_module_imported_later_runs_the_callback_once_complete(module_file) -> None:
    name = module_file("VALUE = 1\nLAST = True\n")
    calls, callback = recorder()
    when_imported(name, callback)
    assert name not in sys.modules and calls == []  # nothing imported
    module = importlib.import_module(name)
    assert calls == [(module, True)]
    assert type(module.__loader__) is SourceFileLoader  # the wrapper is gone
    assert module.__spec__.loader is module.__loader__
    importlib.reload(module)
    importlib.import_module(name)
    assert len(calls) == 1


def test_a_module_already_imported_runs_the_callback_at_once(module_file) -> None:
    module = importlib.import_module(module_file("LAST = True\n"))
    calls, callback = recorder()
    when_imported(module.__name__, callback)
    assert calls == [(module, True)]


def test_every_callback_runs_in_order(module_file) -> None:
    name = module_file("LAST = True\n")
    order: list[int] = []
    for number in range(3):
        when_imported(name, lambda module, number=number: order.append(number))
    importlib.import_module(name)
    assert order == [0, 1, 2]


def test_a_failing_callback_warns_and_the_import_goes_on(module_file) -> None:
    name = module_file("LAST = True\n")

    def broken(module: ModuleType) -> None:
        raise KeyError("oops")

    calls, callback = recorder()
    when_imported(name, broken)
    when_imported(name, callback)
    with pytest.warns(RuntimeWarning, match=r"broken after importing _bessx_watched_\d+ failed"):
        module = importlib.import_module(name)
    assert module.LAST and calls == [(module, True)]


def test_a_failed_import_leaves_the_callback_for_the_next(module_file) -> None:
    name = module_file("raise ImportError('not yet')\n")
    calls, callback = recorder()
    when_imported(name, callback)
    with pytest.raises(ImportError, match="not yet"):
        importlib.import_module(name)
    assert calls == []
    module_file("LAST = True\n", name=name)
    module = importlib.import_module(name)
    assert calls == [(module, True)]


def test_a_missing_module_is_still_missing(module_file) -> None:
    calls, callback = recorder()
    when_imported("_bessx_no_such_module", callback)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("_bessx_no_such_module")
    assert calls == []


def test_an_import_running_in_another_thread_is_waited_for(module_file) -> None:
    started, release = threading.Event(), threading.Event()
    gate = ModuleType("_bessx_gate")
    gate.started, gate.release = started, release  # type: ignore[attr-defined]
    sys.modules[gate.__name__] = gate
    try:
        name = module_file(
            "import sys\n"
            "gate = sys.modules['_bessx_gate']\n"
            "gate.started.set()\n"
            "gate.release.wait(10)\n"
            "LAST = True\n"
        )
        importer = threading.Thread(target=importlib.import_module, args=(name,))
        importer.start()
        assert started.wait(10)
        threading.Timer(0.2, release.set).start()
        calls, callback = recorder()
        when_imported(name, callback)  # waits for the other thread's import
        importer.join()
    finally:
        del sys.modules[gate.__name__]
    assert calls == [(sys.modules[name], True)]
