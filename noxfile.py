"""Task sessions: ``nox -s tests``, ``lint``, ``types``, ``docs``, ``demo``, ``report`` and
``bench``."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite."""
    session.install(".[test]")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def types(session: nox.Session) -> None:
    """Check types with mypy (settings in pyproject.toml)."""
    session.install(".[test]")
    session.run("mypy", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Run the main job on the built-in synthetic plant."""
    session.install(".")
    session.run("bessx", "demo", *session.posargs)


@nox.session
def report(session: nox.Session) -> None:
    """Render the demo's report.html in headless Chromium and check its figures are drawn.

    bessx is installed from its wheel (so the report's templates must ship in it); Chromium
    comes from the system (``apt-get install chromium``). The screenshot and the figures
    rendered alone are left in ``build/report/``.
    """
    session.install(".")
    session.run(
        "python",
        "docs/report_screenshot.py",
        "--work",
        "build/report",
        "--png",
        "build/report/report.png",
        *session.posargs,
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Time bessx against the alternatives on the full-width synthetic plant (long).

    ``nox -s bench`` runs the whole suite behind docs/performance.md (``--suite``: 30 and
    365 days in process, whole processes at 120 and 365 days, ~2.8 GB of data written once);
    arguments after ``--`` replace it, e.g. ``nox -s bench -- --days 30``.
    """
    session.install(".[bench]")
    session.run("python", "-m", "bench", *(session.posargs or ["--suite", "--repeat", "5"]))


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation, executing the walkthrough; every warning is an error.

    Works offline: MathJax ships in a Python package and intersphinx uses the inventories
    saved by an earlier online build, or none (see docs/conf.py).
    """
    session.install(".[docs]")
    session.run(
        "sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )
