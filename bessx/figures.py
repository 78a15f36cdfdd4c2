"""The figures of a run, one PNG writer each: :data:`FIGURE_WRITERS`.

The output table of :mod:`bessx.pipeline` writes them as files, and :mod:`bessx.report_html`
draws those not written yet with the same writers. matplotlib is imported when a figure
is drawn (with the Agg backend), not with the module.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    import bessx.results
    from bessx.results import Results

__all__ = [
    "FIGURE_WRITERS",
    "HEATMAP_DPI",
]


#: Resolution of the heatmap PNGs [dots per inch].
HEATMAP_DPI: Final = 120


def _save(draw: Callable[[], Axes], path: Path) -> None:
    """Draw with the Agg backend and save the root figure of ``draw()``'s axes as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = draw().figure.figure  # the root figure (a SubFigure cannot be saved)
    try:
        figure.savefig(path, dpi=HEATMAP_DPI, format="png")
    finally:
        plt.close(figure)


def _heatmap(results: Results, path: Path, *, relative: bool = False) -> None:
    def draw() -> Axes:
        from bessx.plot import heatmap

        return heatmap(results.daily, "discharged", outliers=results.outliers, relative=relative)

    _save(draw, path)


def _capacity_trend(results: Results, path: Path) -> None:
    health = results.health
    if health is None:
        raise ValueError("no battery health in these results: ask for the 'health' output")

    def draw() -> Axes:
        from bessx.health.plot import capacity_trend

        return capacity_trend(health)

    _save(draw, path)


def _availability_heatmap(results: Results, path: Path) -> None:
    availability = results.availability
    if availability is None:
        raise ValueError("no availability in these results: ask for the 'availability' output")

    def draw() -> Axes:
        from bessx.plot_availability import availability_heatmap

        return availability_heatmap(availability)

    _save(draw, path)


#: The PNG writer of each figure output, by file name: ``writer(results, path)``.
FIGURE_WRITERS: Final[dict[str, Callable[[bessx.results.Results, Path], None]]] = {
    "heatmap_discharged.png": _heatmap,
    "heatmap_discharged_relative.png": partial(_heatmap, relative=True),
    "capacity_trend.png": _capacity_trend,
    "heatmap_availability.png": _availability_heatmap,
}
