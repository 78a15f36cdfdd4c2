"""Shared pytest configuration: hypothesis profiles, and a fixture counting the exports read.

``HYPOTHESIS_PROFILE=ci`` (or any ``CI`` environment variable) makes property tests
derandomized and reproducible; the default profile only lifts the deadline, since dask
graphs make the first example of a test slow.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default")
)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the exports the engines read (``loads["n"]``)."""
    from bessx.io import engines

    count = {"n": 0}
    for name, engine in list(engines.ENGINES.items()):

        def load(path, pick, original=engine.load):
            count["n"] += 1
            return original(path, pick)

        monkeypatch.setitem(
            engines.ENGINES, name, engines.Engine(name, engine.scan, engine.read, load)
        )
    return count
