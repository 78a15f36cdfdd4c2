"""Run code once another module has been imported, without importing it (a post-import hook).

``import bessx`` must not import xarray (a third of a second), yet ``Dataset.bess`` must exist
whichever of the two is imported first. :func:`when_imported` calls a function at once if the
module is already imported, or right after its import completes otherwise.

How: a finder placed first on :data:`sys.meta_path` asks the finders after it for the spec of
a module that callbacks wait for, and wraps its loader; after the real ``exec_module`` the
wrapper puts the original loader back on the module and its spec, then runs the callbacks.
The import itself is the ordinary one. The finder stays installed (removing a finder could
make an import running in another thread skip the next finder) and answers ``None`` for
every other module after one dict look-up.

* **Threads.** The callbacks run in the thread that imports the module, before any other
  thread can use it (they wait on the module's import lock). If another thread is importing
  the module when :func:`when_imported` is called, the caller waits for that import to
  finish, then runs the callback.
* **Reloads.** A callback runs once: :func:`importlib.reload` of the module does not run it
  again (its original loader is back in place).
* **Failures.** A callback that raises must not break the import of somebody else's module:
  its error becomes a :class:`RuntimeWarning`. After a failed import of the module, its
  callbacks wait for the next attempt.
* **Limits.** A callback is not run when the module is being imported further up the calling
  thread's own stack (called from inside the module's import), nor when another thread
  starts the module's import in the instant between the check and the queueing. Code that
  must have the callback's effect calls it itself: bessx's modules that build xarray objects
  import :mod:`bessx.accessor`, which registers ``Dataset.bess``.

This module imports only the standard library (not even :mod:`importlib.abc`, 15 ms).
"""

from __future__ import annotations

import importlib
import sys
import threading
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from importlib.abc import Loader
    from importlib.machinery import ModuleSpec

    Callback = Callable[[ModuleType], object]


def _initializing(module: ModuleType) -> bool:
    """Whether ``module`` is still being executed by its import."""
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


class _Notifier:
    """A watched module's loader: the real loader, then the callbacks."""

    def __init__(self, loader: Loader, finder: _PostImportFinder) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return None if create is None else create(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            self.loader.exec_module(module)
        finally:
            # whatever happens, nothing sees this wrapper after the import
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = self.loader
            spec = getattr(module, "__spec__", None)
            if spec is not None and spec.loader is self:
                spec.loader = self.loader
        self.finder.fire(module)

    def __getattr__(self, name: str) -> Any:
        # get_resource_reader, get_filename, is_package, ... during the import: the real ones
        return getattr(self.loader, name)


class _PostImportFinder:
    """Wraps the loader of each module that callbacks wait for; finds nothing itself."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.waiting: dict[str, list[Callback]] = {}
        self.searching = threading.local()

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname not in self.waiting:
            return None
        searching = getattr(self.searching, "names", ())
        if fullname in searching:
            return None  # asked again, by a finder after this one that asks the import system
        self.searching.names = (*searching, fullname)
        try:
            spec = self._real_spec(fullname, path, target)
        finally:
            self.searching.names = searching
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # nothing to wrap (a namespace package, a legacy loader)
        spec.loader = cast("Loader", _Notifier(spec.loader, self))
        return spec

    def _real_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None
    ) -> ModuleSpec | None:
        """The spec the finders after this one give, asked as the import system asks them."""
        finders = list(sys.meta_path)
        later = finders[finders.index(self) + 1 :] if self in finders else finders
        for finder in later:
            find = getattr(finder, "find_spec", None)
            if find is not None and (spec := find(fullname, path, target)) is not None:
                return spec
        return None

    def add(self, name: str, callback: Callback) -> ModuleType | None:
        """Queue ``callback`` unless the module is imported or being imported: then return it."""
        with self.lock:
            module = sys.modules.get(name)
            if module is None:
                self.waiting.setdefault(name, []).append(callback)
            return module

    def fire(self, module: ModuleType) -> None:
        """Run the callbacks waiting for ``module``, now imported."""
        with self.lock:
            callbacks = self.waiting.pop(module.__name__, [])
        for callback in callbacks:
            _run(callback, module)


def _run(callback: Callback, module: ModuleType) -> None:
    try:
        callback(module)
    except Exception as error:  # not the importer's problem: say it, do not break its import
        name = getattr(callback, "__qualname__", repr(callback))
        warnings.warn(
            f"{name} after importing {module.__name__} failed: {error!r}",
            RuntimeWarning,
            stacklevel=2,
        )


_install_lock = threading.Lock()


def _finder() -> _PostImportFinder:
    """The finder on :data:`sys.meta_path`, installed first on the first call."""
    with _install_lock:
        for finder in sys.meta_path:
            # by name: after importlib.reload of this module, the finder already installed
            kind = type(finder)
            if kind.__qualname__ == "_PostImportFinder" and kind.__module__ == __name__:
                return cast("_PostImportFinder", finder)
        installed = _PostImportFinder()
        sys.meta_path.insert(0, installed)
        return installed


def when_imported(name: str, callback: Callback) -> None:
    """Call ``callback(module)`` once the module ``name`` is imported, without importing it.

    Parameters
    ----------
    name
        The module's full name, e.g. ``"xarray"``.
    callback
        Called once with the module: now if it is imported, else right after its import,
        in the importing thread. An exception it raises becomes a :class:`RuntimeWarning`.

    Examples
    --------
    >>> seen = []
    >>> when_imported("sys", lambda module: seen.append(module.__name__))
    >>> seen
    ['sys']
    """
    module = sys.modules.get(name)
    if module is None or _initializing(module):
        finder = _finder()
        module = finder.add(name, callback)
        if module is None:
            return  # queued: the finder will see the import
        if _initializing(module):
            # another thread is importing it (else the import of this very module is running
            # further up this stack): wait for it as an import statement would, retrying it
            # if it failed
            try:
                module = importlib.import_module(name)
            except Exception:  # its import failed: the callback waits for the next one
                module = None
            if module is None or _initializing(module):
                with finder.lock:
                    finder.waiting.setdefault(name, []).append(callback)
                return
    _run(callback, module)
