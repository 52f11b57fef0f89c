"""Bootstrap replicates from per-group statistics, and percentile intervals.

The bootstrap serves the metrics that are not rates (balanced accuracy, regression errors);
rates use the closed-form intervals of :mod:`bias_checks._intervals`.

The bootstrap is stratified: every base group (combination of control and sensitive feature
values) keeps its size, and its rows are resampled with replacement. For classification this
is exact and cheap: resampling ``n_g`` rows of a group is the same as drawing its confusion
cell counts from a multinomial with the group's observed cell frequencies, so one vectorised
``multinomial`` call replaces ``n_boot`` passes over the data.

With sample weights, each resampled cell count is multiplied by the mean weight of the rows
in that cell. This keeps the resampled row frequencies exact but ignores the spread of
weights within a cell, so intervals are slightly narrow when weights vary a lot within a
(group, true class, predicted class) cell.

Regression errors are not a finite set of cells, so replicates of each group's sums of
``w``, ``w*|e|`` and ``w*e**2`` are drawn from the normal distribution with the bootstrap's
mean and covariance (a normal approximation to the stratified bootstrap; good for groups
that are not small, and small groups are flagged anyway).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bias_checks._inputs import FloatArray
from bias_checks._intervals import fold_difference, fold_ratio


def bootstrap_classification(
    counts: np.ndarray[Any, Any],
    weights: FloatArray,
    *,
    n_boot: int,
    rng: np.random.Generator,
    weighted: bool,
) -> FloatArray:
    """Replicates (n_boot, G, K, K) of every group's weighted confusion matrix."""
    groups = counts.shape[0]
    flat = counts.reshape(groups, -1)
    sizes = flat.sum(axis=1)
    probabilities = flat / sizes[:, None]
    draws = rng.multinomial(sizes, probabilities, size=(n_boot, groups)).astype(np.float64)
    if weighted:
        flat_w = weights.reshape(groups, -1)
        mean_weight = np.divide(flat_w, flat, out=np.zeros_like(flat_w), where=flat > 0)
        draws *= mean_weight
    return draws.reshape(n_boot, *counts.shape)


def bootstrap_regression(
    counts: np.ndarray[Any, Any],
    sums: FloatArray,
    products: FloatArray,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> FloatArray:
    """Replicates (n_boot, G, 3) of each group's sums by a normal approximation."""
    n = counts.astype(np.float64)[:, None]
    mean = sums / n
    cov = products / n[..., None] - mean[:, :, None] * mean[:, None, :]
    cov = (cov + np.swapaxes(cov, -1, -2)) / 2
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    scale = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None) * n)[:, None, :]
    noise = rng.standard_normal((n_boot, counts.shape[0], 3))
    replicates: FloatArray = sums[None] + np.einsum("gij,bgj->bgi", scale, noise)
    return replicates


def percentile_interval(
    replicates: FloatArray, confidence_level: float
) -> tuple[FloatArray, FloatArray]:
    """Percentile interval over axis 0; NaN where any replicate is NaN.

    Replicates may be infinite (a ratio whose denominator a replicate drew as zero); where
    the interpolated quantile falls between two infinities it is that infinity, not the NaN
    (and RuntimeWarning) that ``inf - inf`` gives.
    """
    alpha = (1.0 - confidence_level) / 2
    flat = replicates.reshape(replicates.shape[0], -1)
    undefined = np.isnan(flat).any(axis=0)
    filled = np.where(undefined, 0.0, flat)
    with np.errstate(invalid="ignore"):
        low, high = np.quantile(filled, [alpha, 1 - alpha], axis=0)
    for end, q in ((low, alpha), (high, 1 - alpha)):
        between_infinities = np.isnan(end) & ~undefined
        if between_infinities.any():
            end[between_infinities] = np.quantile(
                filled[:, between_infinities], q, axis=0, method="nearest"
            )
    low[undefined] = np.nan
    high[undefined] = np.nan
    shape = replicates.shape[1:]
    return low.reshape(shape), high.reshape(shape)


def _signed_bounds(
    first: FloatArray, second: FloatArray, ratio: bool, *, safe: float, unsafe: float
) -> tuple[FloatArray, FloatArray]:
    """Percentile bounds (M,) of each comparison's signed difference or ratio, folded: the end
    a FAIL rests on from the interval at level ``1 - safe``, the other at ``1 - unsafe``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        signed = first / second if ratio else first - second
    wide = percentile_interval(signed, 1.0 - safe)
    narrow = percentile_interval(signed, 1.0 - unsafe)
    if ratio:
        return fold_ratio(*narrow)[0], fold_ratio(*wide)[1]
    return fold_difference(*wide)[0], fold_difference(*narrow)[1]


def comparison_bounds(
    replicates: FloatArray,
    overall: FloatArray,
    *,
    judged: np.ndarray[Any, Any],
    control_of: np.ndarray[Any, Any],
    method: str,
    references: np.ndarray[Any, Any] | None,
    ratio: bool,
    alpha: float,
    entries: int = 1,
) -> tuple[FloatArray, FloatArray]:
    """Simultaneous percentile interval (L, C) of a disparity of a metric that is not a rate.

    As for rates, each comparison the disparity summarises (every pair of judged groups, each
    group against the overall value or the reference) gets a percentile interval of its
    *signed* difference or ratio, folded to ``|d|`` or ``min(r, 1/r)``; the disparity lies
    between the extreme ends. The end a FAIL rests on (lower for differences, upper for
    ratios) comes from intervals at ``alpha / (m * entries)`` (Bonferroni: any comparison of
    any entry of the check can breach it), the other from intervals at ``alpha`` (only the
    comparison attaining the disparity can). Percentile intervals have no joint normal form to
    compute an exact simultaneous value from, hence Bonferroni here.
    A percentile interval of the folded statistic itself could never reach parity.
    """
    n_labels, n_control = overall.shape[1], overall.shape[2]
    low = np.full((n_labels, n_control), np.nan)
    high = np.full((n_labels, n_control), np.nan)
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            if method == "between_groups":
                pairs = [(i, j) for k, i in enumerate(members) for j in members[k + 1 :]]
                first = replicates[:, label, [i for i, _ in pairs]]
                second = replicates[:, label, [j for _, j in pairs]]
            elif method == "to_overall":
                first = replicates[:, label, members]
                second = np.repeat(overall[:, label, c : c + 1], members.size, axis=1)
            else:
                assert references is not None
                ref = int(references[label, c])
                if not judged[label, ref]:
                    continue
                others = members[members != ref]
                first = replicates[:, label, others]
                second = np.repeat(replicates[:, label, ref : ref + 1], others.size, axis=1)
            if members.size < 2 or first.shape[1] == 0:
                continue
            lows, highs = _signed_bounds(
                first,
                second,
                ratio,
                safe=alpha / first.shape[1] / max(entries, 1),
                unsafe=alpha,
            )
            pick = np.min if ratio else np.max
            low[label, c], high[label, c] = pick(lows), pick(highs)
    return low, high
