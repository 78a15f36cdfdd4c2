"""The one pass's per-file summaries kept between runs: :class:`SummaryCache`.

A re-run of ``bessx run`` reads no unchanged export: the summaries of
:func:`bessx.onepass.daily_from_exports` are kept one file per export, under the key and in
the entry format of :mod:`bessx.io.entries` (an :class:`~bessx.io.entries.EntryCache`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bessx.io.entries import EntryCache

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "SummaryCache",
]


class SummaryCache(EntryCache):
    """Per-export summaries of :func:`bessx.onepass.daily_from_exports`, kept in ``folder``.

    Parameters
    ----------
    folder
        Created if missing. Keep it out of the data folder.

    Examples
    --------
    >>> import tempfile
    >>> cache = SummaryCache(tempfile.mkdtemp())
    >>> cache.hits, cache.misses
    (0, 0)
    """

    suffix = ".summary"

    @classmethod
    def kind(cls) -> type:
        from bessx.onepass.summary import Summary

        return Summary

    @classmethod
    def classes(cls) -> tuple[type, ...]:
        from bessx.kernels.health import DayParts
        from bessx.onepass.summary import DailySummary, HealthSummary, Summary

        return (Summary, DailySummary, HealthSummary, DayParts)

    def check(self, value: Any) -> None:
        """The arrays of a summary agree with its days, DC inputs and SOC columns (the
        number of quantities an array stacks is the code's, which the key holds)."""

        days, dc, soc = len(value.dates), len(value.dc_keys), len(value.soc_ids)
        expect: list[tuple[str, np.ndarray, tuple[int | None, ...], str]] = [
            ("dates", value.dates, (days,), "M"),
            ("soc_dc_input", value.soc_dc_input, (soc,), "iu"),
            ("steps", value.steps[0], (len(value.steps[1]),), "iu"),
        ]
        if value.daily is not None:
            daily = value.daily
            expect += [
                ("energy", daily.energy, (None, days, dc), "f"),
                ("swings", daily.swings, (None, days, soc), "f"),
                ("power_counts", daily.power_counts, (None, days, dc), "iu"),
                ("soc_counts", daily.soc_counts, (None, days, soc), "iu"),
                ("power_held", daily.power_held, (days, dc), "f"),
                ("soc_held", daily.soc_held, (days, soc), "f"),
                ("duplicates", daily.duplicates, (days,), "iu"),
                ("last_power", daily.last_power, (dc,), "f"),
                ("last_power_received", daily.last_power_received, (dc,), "b"),
                ("last_soc_received", daily.last_soc_received, (soc,), "b"),
            ]
        if value.health is not None:
            parts = value.health.parts
            inputs, slots = (
                parts.per_enclosure.shape[2:]
                if parts.per_enclosure.ndim == 4
                else (
                    -1,
                    -1,
                )
            )
            n = len(parts.present)
            expect += [
                ("present", parts.present, (n,), "b"),
                ("per_input", parts.per_input, (None, n, inputs), "f"),
                ("per_enclosure", parts.per_enclosure, (None, n, inputs, slots), "f"),
                ("held", parts.held, (None, n, inputs), "f"),
                ("plant", parts.plant, (None, n), "f"),
                ("last_power", value.health.last_power, (inputs,), "f"),
            ]
        for name, array, shape, kinds in expect:
            if (
                array.dtype.kind not in kinds
                or len(array.shape) != len(shape)
                or any(
                    want is not None and got != want
                    for got, want in zip(array.shape, shape, strict=True)
                )
            ):
                raise ValueError(
                    f"{name} is {array.dtype}{list(array.shape)}, not of shape {shape}"
                )
