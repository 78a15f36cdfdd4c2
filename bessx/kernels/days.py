"""Days as runs of samples: per-day sums taken sample after sample, day-aligned chunks.

A block of samples with time on axis 0 carries a non-decreasing ``day_index`` (the
local day of each sample, from 0); every daily reduction of bessx sums within its runs.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "day_aligned_chunks",
]


class _Segments(NamedTuple):
    """Runs of equal values in a non-decreasing ``day_index``."""

    starts: np.ndarray  # position of the first sample of each run
    days: np.ndarray  # day of each run


def _segments(day_index: np.ndarray) -> _Segments:
    starts = np.concatenate(([0], np.flatnonzero(np.diff(day_index) != 0) + 1))
    return _Segments(starts, day_index[starts])


def _day_sums(
    values: np.ndarray, segments: _Segments, weights: np.ndarray | None = None
) -> np.ndarray:
    """Sum ``weights[i] * values[i]`` (default weight 1) over each run, in float64.

    ``values`` is ``(n, k)``, of any real or boolean dtype, without NaN; it is not modified.
    Each run is summed sample after sample, in time order: :func:`numpy.add.reduce` over the
    rows of a C-contiguous block of at least two columns adds row after row (whereas
    ``reduceat`` and a reduction along a contiguous axis sum pairwise). So a day's sum does
    not depend on how its samples were split into blocks, and a sum can be continued: the
    sum of a day's first ``n - 1`` samples plus the last one is the day's sum, bit for bit.
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


def _held_sums(mask: np.ndarray, segments: _Segments, hold_seconds: np.ndarray) -> np.ndarray:
    """Sum the hold seconds of the samples where ``mask`` is True over each run ``(run, k)``.

    The same sums as ``_day_sums(mask, segments, hold_seconds)``, bit for bit: the columns
    that are True throughout share one sum of the hold seconds, and only the others are
    summed one by one (on healthy data, next to none).
    """
    n, k = mask.shape
    whole = _day_sums(np.ones((n, 1), dtype=bool), segments, hold_seconds)
    sums = np.repeat(whole, k, axis=1)
    partial = np.flatnonzero(~mask.all(axis=0))
    if len(partial):
        sums[:, partial] = _day_sums(mask[:, partial], segments, hold_seconds)
    return sums


def _pair_counts(finite: np.ndarray, segments: _Segments) -> np.ndarray:
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

    Summed sample after sample (:func:`_held_sums`); 0 on days without samples.
    """
    segments = _segments(day_index)
    sums = _held_sums(received, segments, hold_seconds)
    return np.nan_to_num(_scatter_days(sums[np.newaxis], segments.days, n_days)[0])


def _scatter_days(sums: np.ndarray, present_days: np.ndarray, n_days: int) -> np.ndarray:
    """Place ``sums`` (quantity, present day, ...) on rows ``present_days``; NaN elsewhere."""
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
