r"""Numpy kernels of the guarantees: a bootstrap interval of a ratio of sums, and verdicts.

They import numpy alone (:mod:`bessx.guarantees` puts labels on them).
"""

from __future__ import annotations

from typing import Final

import numpy as np

__all__ = ["BOOTSTRAP_RESAMPLES", "CONFIDENCE", "ratio_interval", "verdicts"]

#: Resamples of :func:`ratio_interval` and the two-sided confidence of its interval.
BOOTSTRAP_RESAMPLES: Final = 2000
CONFIDENCE: Final = 0.95


def ratio_interval(
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    scale: float = 1.0,
    resamples: int = BOOTSTRAP_RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> np.ndarray:
    r"""Percentile bootstrap interval of :math:`s \sum_k a_k / \sum_k b_k` over groups ``k``.

    Parameters
    ----------
    numerator, denominator : numpy.ndarray
        ``(group, ...)``: each group's sums :math:`a_k`, :math:`b_k` (e.g. a day's discharge
        segments' energy and SOC drop); a group with :math:`b_k \le 0` or a NaN takes no
        part (it has no segment).
    scale : float
        :math:`s` (100 for a capacity per 100 % of SOC).
    resamples : int
        Bootstrap resamples of the groups.
    confidence : float
        Two-sided confidence of the interval.
    seed : int
        Seed of the resampling: the same data give the same interval.

    Returns
    -------
    numpy.ndarray
        float64 ``(..., 2)``: the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
        quantiles of the ratio over resamples that draw the groups of each column with
        replacement, as many as it has; NaN for a column with fewer than two groups.

    Notes
    -----
    The groups, not the single segments, are resampled: the segments of one day share
    its temperature, its dispatch and its SOC calibration, so they are not independent,
    and resampling days keeps that dependence within a resample (a cluster bootstrap).

    Examples
    --------
    Ten days, each with one segment of 1,000 kWh over a drop of 50 % give no spread:

    >>> ratio_interval(np.full((10, 1), 1000.0), np.full((10, 1), 50.0), scale=100.0)
    array([[2000., 2000.]])
    >>> low, high = ratio_interval(np.array([[900.0], [1000.0], [1100.0]]),
    ...                            np.full((3, 1), 50.0), scale=100.0)[0]
    >>> bool(1800.0 <= low < 2000.0 < high <= 2200.0)
    True
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    n = numerator.shape[0]
    rest = numerator.shape[1:]
    flat_a = numerator.reshape(n, -1)
    flat_b = denominator.reshape(n, -1)
    out = np.full((flat_a.shape[1], 2), np.nan)
    rng = np.random.default_rng(seed)
    quantiles = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
    usable = np.isfinite(flat_a) & np.isfinite(flat_b) & (flat_b > 0)
    for column in range(flat_a.shape[1]):
        groups = np.flatnonzero(usable[:, column])
        if len(groups) < 2:
            continue
        draws = rng.integers(0, len(groups), size=(resamples, len(groups)))
        a = flat_a[groups, column][draws].sum(axis=1)
        b = flat_b[groups, column][draws].sum(axis=1)
        out[column] = np.quantile(scale * a / b, quantiles)
    return out.reshape(*rest, 2)


def verdicts(
    guaranteed: np.ndarray, low: np.ndarray, high: np.ndarray, *, at_most: bool = False
) -> np.ndarray:
    """``"pass"``, ``"fail"`` or ``"unknown"`` of measurements known to lie in [low, high].

    A guarantee of at least ``guaranteed`` passes when ``low >= guaranteed``, fails when
    ``high < guaranteed``; a budget of at most (``at_most``) passes when
    ``high <= guaranteed``, fails when ``low > guaranteed``. Anything else (the interval
    straddles the guarantee, or a NaN) is unknown.

    Examples
    --------
    >>> verdicts(np.array([0.9, 0.9, 0.9, 0.9]), np.array([0.95, 0.85, 0.8, np.nan]),
    ...          np.array([0.97, 0.95, 0.85, np.nan])).tolist()
    ['pass', 'unknown', 'fail', 'unknown']
    """
    guaranteed, low, high = (np.asarray(x, dtype=np.float64) for x in (guaranteed, low, high))
    if at_most:
        passed, failed = high <= guaranteed, low > guaranteed
    else:
        passed, failed = low >= guaranteed, high < guaranteed
    return np.where(passed, "pass", np.where(failed, "fail", "unknown")).astype(object)
