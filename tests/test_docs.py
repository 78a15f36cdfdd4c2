"""The documentation builds as ``nox -s docs`` builds it: every warning an error (``-W``),
every cross-reference resolved (``-n``), the walkthrough executed with nothing on stderr.

The build runs in a separate process into a temporary folder; the report's screenshot is not
retaken (``BESSX_DOCS_SCREENSHOT=0``: it would rewrite ``docs/_static/report.png``, and
``nox -s report`` checks the report in a browser). About a minute.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path: Path) -> None:
    html = tmp_path / "html"
    command = [sys.executable, "-m", "sphinx", "-W", "-n", "--keep-going", "-q", "-b", "html"]
    command += ["-d", str(tmp_path / "doctrees"), str(DOCS), str(html)]
    environment = {**os.environ, "BESSX_DOCS_SCREENSHOT": "0"}
    build = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=900)
    assert build.returncode == 0, build.stderr[-8000:]
    for page in ("api.html", "reference.html", "walkthrough.html"):
        assert (html / page).is_file(), page
