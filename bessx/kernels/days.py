"""Days as runs of samples: per-day sums taken sample after sample, day-aligned chunks.

A block of samples with time on axis 0 carries a non-decreasing ``day_index`` (the
local day of each sample, from 0); every daily reduction of bessx sums within its runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "Segments",
    "day_aligned_chunks",
    "day_segments",
    "held_per_day",
    "held_sums",
    "pair_counts",
    "scatter_days",
    "segment_sums",
]


class Segments(NamedTuple):
    """Runs of equal values in a non-decreasing ``day_index``: one run per day present."""

    #: Position of the first sample of each run, int ``(run,)``.
    starts: np.ndarray
    #: The day of each run, ``(run,)``.
    days: np.ndarray


def day_segments(day_index: np.ndarray) -> Segments:
    """The runs of equal days in ``day_index``.

    Parameters
    ----------
    day_index : numpy.ndarray
        Non-decreasing day of each sample ``(n,)``, ``n >= 1``.

    Returns
    -------
    Segments
        Where each run starts and the day it holds.

    Examples
    --------
    >>> day_segments(np.array([0, 0, 2, 2, 2]))
    Segments(starts=array([0, 2]), days=array([0, 2]))
    """
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))
    return Segments(starts, day_index[starts])


def segment_sums(
    values: np.ndarray, segments: Segments, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum ``weights[i] * values[i]`` (default weight 1) over each run, in float64 ``(run, k)``.

    ``values`` is ``(n, k)``, of any real or boolean dtype, without NaN; it is not modified.
    ``weights`` is ``(n,)``, in whatever unit the sums should carry (hold seconds [s] make
    a sum of powers [kW] one of energies [kJ]). Each run is summed sample after sample, in
    time order: :func:`numpy.add.reduce` over the rows of a C-contiguous block of at least
    two columns adds row after row (whereas ``reduceat`` and a reduction along a contiguous
    axis sum pairwise). So a day's sum does not depend on how its samples were split into
    blocks, and a sum can be continued: the sum of a day's first ``n - 1`` samples plus the
    last one is the day's sum, bit for bit.
    """
    if weights is not None:
        values = np.multiply(values, weights[:, np.newaxis], dtype=np.float64)
    flat = np.ascontiguousarray(values, dtype=np.float64)
    if flat.shape[1] == 1:  # a single column is contiguous along time: keep it row-wise
        flat = np.concatenate([flat, np.zeros_like(flat)], axis=1)
    ends = np.append(segments.starts[1:], len(flat))
    sums = np.stack(
        [
            np.add.reduce(flat[start:end], axis=0)
            for start, end in zip(segments.starts, ends, strict=True)
        ]
    )
    return sums[:, : values.shape[1]]


def held_sums(mask: np.ndarray, segments: Segments, hold_seconds: np.ndarray) -> np.ndarray:
    """Sum the hold seconds [s] of the samples where ``mask`` is True over each run ``(run, k)``.

    ``mask`` is boolean ``(n, k)``, ``hold_seconds`` the hold of each sample [s] ``(n,)``.
    The same sums as ``segment_sums(mask, segments, hold_seconds)``, bit for bit: the columns
    that are True throughout share one sum of the hold seconds, and only the others are
    summed one by one (on healthy data, next to none).
    """
    n, k = mask.shape
    whole = segment_sums(np.ones((n, 1), dtype=bool), segments, hold_seconds)
    sums = np.repeat(whole, k, axis=1)
    partial = np.flatnonzero(~mask.all(axis=0))
    if len(partial):
        sums[:, partial] = segment_sums(mask[:, partial], segments, hold_seconds)
    return sums


def pair_counts(finite: np.ndarray, segments: Segments) -> np.ndarray:
    """Finite differences per run ``(run, k)``, as float64 counts (exact in any order).

    ``finite`` marks the finite differences, the last of each run never (it would pair two
    days): a column with every other difference finite counts its run's length less one.
    """
    n, k = finite.shape
    lengths = np.diff(np.append(segments.starts, n)) - 1
    counts = np.repeat(lengths[:, np.newaxis].astype(np.float64), k, axis=1)
    partial = np.flatnonzero(np.count_nonzero(finite, axis=0) < n - len(segments.starts))
    if len(partial):
        counts[:, partial] = np.add.reduceat(finite[:, partial], segments.starts, axis=0)
    return counts


def held_per_day(
    received: np.ndarray, hold_seconds: np.ndarray, day_index: np.ndarray, n_days: int
) -> np.ndarray:
    """Hold seconds [s] of the samples where ``received`` is True, per day ``(day, k)``.

    ``received`` is boolean ``(n, k)``, ``hold_seconds`` the hold of each sample [s]
    ``(n,)``, ``day_index`` the non-decreasing day of each sample (0 to ``n_days - 1``).
    Summed sample after sample (:func:`held_sums`); 0 on days without samples.
    """
    segments = day_segments(day_index)
    sums = held_sums(received, segments, hold_seconds)
    return np.nan_to_num(scatter_days(sums[np.newaxis], segments.days, n_days)[0])


def scatter_days(sums: np.ndarray, present_days: np.ndarray, n_days: int) -> np.ndarray:
    """Place ``sums`` (quantity, present day, ...) on rows ``present_days`` of ``n_days``.

    Returns float64 ``(quantity, n_days, ...)``, NaN on the days not present; ``sums``
    itself when every day is present. The units are those of ``sums``.
    """
    if len(present_days) == n_days:
        return sums
    full = np.full((sums.shape[0], n_days, *sums.shape[2:]), np.nan)
    full[:, present_days] = sums
    return full


def day_aligned_chunks(chunks: tuple[int, ...], day_index: np.ndarray) -> tuple[int, ...]:
    """Time chunks that hold whole days: each chunk boundary moves forward to a day start.

    Parameters
    ----------
    chunks : tuple of int
        Current chunk sizes along time.
    day_index : numpy.ndarray
        Non-decreasing day of each sample.

    Returns
    -------
    tuple of int
        New chunk sizes; the same chunks when every boundary already falls on a day start.
    """
    n = len(day_index)
    boundaries = np.cumsum(chunks)[:-1]
    day_starts = np.flatnonzero(np.diff(day_index)) + 1
    position = np.searchsorted(day_starts, boundaries, side="left")
    moved = np.unique(day_starts[position[position < len(day_starts)]])
    return tuple(int(size) for size in np.diff(np.concatenate(([0], moved, [n]))))
