"""Render a demo run's report.html in headless Chromium: a screenshot, and a check of its figures.

Run by ``nox -s report`` and by the documentation build (``docs/conf.py``, when a Chromium
is installed)::

    python docs/report_screenshot.py --work docs/_build/report --png docs/_static/report.png

1. ``bessx demo`` writes the synthetic plant and runs on it (in ``--work``);
2. Chromium, offline (every host name fails to resolve, so nothing could be fetched if the
   report tried), renders ``report.html`` and saves the top of the page as ``--png``;
3. each embedded figure is rendered again alone, at the place and size the report's own
   stylesheet gives it, and its pixels are checked: a figure that did not decode, or drew
   empty axes, is (nearly) all one colour and fails the check.

Exit 0 when every figure is drawn, 1 otherwise (the figures' statistics are printed).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

#: The names Chromium goes by in Linux distributions, then elsewhere.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
#: Size of the browser window of the screenshot [px].
WINDOW = (1280, 1300)
#: A figure is drawn when at least this share of its pixels is not the background ...
MIN_INK = 0.05
#: ... and its pixels take at least this many distinct colours (a colour map, text, lines).
MIN_COLOURS = 16


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(chromium: str, page: Path, png: Path, window: tuple[int, int] = WINDOW) -> None:
    """Save what Chromium shows of ``page`` in a ``window`` (width, height) [px] as ``png``."""
    with tempfile.TemporaryDirectory(prefix="bessx-chromium-") as profile:
        command = [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            # offline: a report that tried to fetch anything would show it missing
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={window[0]},{window[1]}",
            page.resolve().as_uri(),
        ]
        subprocess.run(command, check=True, capture_output=True, timeout=180)
    if not png.is_file():
        raise RuntimeError(f"{chromium} wrote no screenshot of {page}")


def figure_ids(html: str) -> list[str]:
    """The ``id`` of every ``<figure>`` of a report."""
    return re.findall(r'<figure id="([^"]+)"', html)


def alone(html: str, figure_id: str) -> str:
    """The report with only one figure visible, moved to the top left, at its own width."""
    rule = (
        "body { visibility: hidden; }"
        f' [id="{figure_id}"] {{ visibility: visible; position: absolute; top: 0; left: 0;'
        " width: 1180px; margin: 0; background: #fff; }"
    )
    return html.replace("</style>", rule + "\n</style>", 1)


def ink(png: Path) -> tuple[float, int]:
    """Share of pixels that are not white (the page), and the number of distinct colours."""
    import matplotlib.image as mpimg

    pixels = mpimg.imread(png)[..., :3]
    share = float(np.mean(np.any(pixels < 0.98, axis=-1)))
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    return share, colours


def check_figures(chromium: str, report: Path, folder: Path) -> dict[str, tuple[float, int]]:
    """Render each figure of ``report`` alone; its (ink share, colours) by figure id."""
    html = report.read_text(encoding="utf-8")
    results = {}
    for figure_id in figure_ids(html):
        page = folder / f"{figure_id}.html"
        page.write_text(alone(html, figure_id), encoding="utf-8")
        png = folder / f"{figure_id}.png"
        screenshot(chromium, page, png, window=(1200, 1000))
        results[figure_id] = ink(png)
    return results


def demo_report(work: Path) -> Path:
    """Run ``bessx demo`` in ``work``; the report.html of its run."""
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "bessx", "demo", "--out", "demo", "--quiet"],
        cwd=work,
        check=True,
    )
    return work / "demo" / "results" / "report.html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="folder of the demo run")
    parser.add_argument("--png", type=Path, help="where to save the screenshot")
    parser.add_argument("--report", type=Path, help="an existing report.html (no demo run)")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print("no Chromium found: install the chromium package", file=sys.stderr)
        return 2
    report = args.report or demo_report(args.work)
    if args.png is not None:
        args.png.parent.mkdir(parents=True, exist_ok=True)
        screenshot(chromium, report, args.png)
        print(f"screenshot of {report}: {args.png}")
    folder = args.work / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    figures = check_figures(chromium, report, folder)
    blank = []
    for figure_id, (share, colours) in figures.items():
        drawn = share >= MIN_INK and colours >= MIN_COLOURS
        print(f"{figure_id}: {share:.1%} ink, {colours} colours: {'drawn' if drawn else 'BLANK'}")
        if not drawn:
            blank.append(figure_id)
    if not figures:
        print(f"{report}: no figure", file=sys.stderr)
        return 1
    return 1 if blank else 0


if __name__ == "__main__":
    raise SystemExit(main())
