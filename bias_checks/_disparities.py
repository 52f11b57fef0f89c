"""Differences and ratios between groups, exactly as Fairlearn's MetricFrame computes them.

``between_groups`` compares the largest and smallest group value; ``to_overall`` compares
every group with the overall value (per control level); ``to_reference`` (ours, not
Fairlearn's) compares every group with a reference group. NaN group values are skipped, as
pandas does. Ratios are forced to be at most 1. All functions accept extra leading axes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from bias_checks._inputs import FloatArray, IntArray
from bias_checks._rounding import SAME

Method = Literal["between_groups", "to_overall", "to_reference"]
Agg = Literal["worst_case", "mean"]
Transform = Literal["difference", "ratio"]
METHODS: tuple[Method, ...] = ("between_groups", "to_overall", "to_reference")
AGGS: tuple[Agg, ...] = ("worst_case", "mean")
OVERALL = -1


@dataclass(frozen=True)
class Comparison:
    """Disparity values (..., L, C) and, for point estimates, the pair that attains them.

    ``first`` and ``second`` are group indices of shape (L, C); ``second`` is ``OVERALL``
    (-1) when a group is compared with the overall value.
    """

    value: FloatArray
    first: IntArray | None = None
    second: IntArray | None = None
    component: IntArray | None = None


def _nan_argmax(x: np.ndarray[Any, Any]) -> IntArray:
    filled = np.where(np.isnan(x), -np.inf, x)
    top = filled.max(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        near = filled >= top - SAME * np.maximum(1.0, np.abs(top))  # first of near ties
    return np.asarray(near.argmax(axis=-1), dtype=np.intp)


def _nan_argmin(x: np.ndarray[Any, Any]) -> IntArray:
    return _nan_argmax(-np.asarray(x, dtype=np.float64))


def first_max(x: np.ndarray[Any, Any]) -> int:
    """Index of the largest value of a 1-D array (NaN skipped), the first of near ties."""
    return int(_nan_argmax(np.asarray(x, dtype=np.float64)))


def first_min(x: np.ndarray[Any, Any]) -> int:
    """Index of the smallest value of a 1-D array (NaN skipped), the first of near ties."""
    return int(_nan_argmin(np.asarray(x, dtype=np.float64)))


def _ratio_at_most_one(ratio: np.ndarray[Any, Any]) -> FloatArray:
    # ``1 / ratio`` is taken everywhere and kept only where ratio > 1; a subnormal ratio
    # (a value of 4e-322 beside 1) overflows in the part thrown away.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(ratio > 1, 1.0 / ratio, ratio)


def _against(
    values: np.ndarray[Any, Any], target: np.ndarray[Any, Any], transform: Transform
) -> tuple[FloatArray, IntArray]:
    """Worst difference or ratio of each group value to ``target`` (..., L)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if transform == "difference":
            gaps = np.abs(values - target[..., None])
            return np.fmax.reduce(gaps, axis=-1), _nan_argmax(gaps)
        ratios = _ratio_at_most_one(values / target[..., None])
        return np.fmin.reduce(ratios, axis=-1), _nan_argmin(ratios)


def compare(
    values: np.ndarray[Any, Any],
    *,
    transform: Transform,
    method: Method,
    control_of: IntArray,
    overall: np.ndarray[Any, Any],
    reference: IntArray | None,
) -> Comparison:
    """Compare the groups of one grouping.

    Parameters
    ----------
    values : ndarray of shape (..., L, G)
        Per-group metric values.
    transform : {"difference", "ratio"}
    method : {"between_groups", "to_overall", "to_reference"}
    control_of : ndarray of shape (G,)
        The control level of each group.
    overall : ndarray of shape (..., L, C)
        The metric over all rows of each control level.
    reference : ndarray of shape (L, C) or None
        The reference group per label and control level (needed for ``to_reference``).
    """
    n_control = overall.shape[-1]
    out = np.empty((*values.shape[:-1], n_control))
    point = values.ndim == 2
    first = np.zeros((values.shape[-2], n_control), dtype=np.intp)
    second = np.zeros_like(first)
    labels = np.arange(values.shape[-2])
    for c in range(n_control):
        members = np.flatnonzero(control_of == c)
        block = values[..., members]
        if method == "between_groups":
            hi, lo = np.fmax.reduce(block, axis=-1), np.fmin.reduce(block, axis=-1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[..., c] = hi - lo if transform == "difference" else lo / hi
            if point:
                top, bottom = members[_nan_argmax(block)], members[_nan_argmin(block)]
                first[:, c], second[:, c] = (
                    (top, bottom) if transform == "difference" else (bottom, top)
                )
            continue
        if method == "to_overall":
            target = overall[..., c]
            other = np.full(values.shape[-2], OVERALL, dtype=np.intp)
        else:
            if reference is None:
                raise ValueError("to_reference needs reference groups")
            target = values[..., labels, reference[:, c]]
            other = reference[:, c]
        out[..., c], worst = _against(block, target, transform)
        if point:
            first[:, c], second[:, c] = members[worst], other
    if point:
        return Comparison(out, first, second)
    return Comparison(out)


def combine_equalized_odds(
    tpr: Comparison, fpr: Comparison, transform: Transform, agg: Agg
) -> Comparison:
    """Combine TPR and FPR disparities as Fairlearn does.

    ``worst_case`` uses Python's ``max``/``min`` over ``[tpr, fpr]`` (so a NaN TPR disparity
    wins and a NaN FPR disparity is ignored, as in Fairlearn); ``mean`` is the NaN-skipping
    mean of the two.
    """
    a, b = tpr.value, fpr.value
    worse = b > a if transform == "difference" else b < a
    if agg == "worst_case":
        take_b = worse
        value = np.where(take_b, b, a)
    else:
        take_b = np.isnan(a) & ~np.isnan(b) | worse
        value = np.where(np.isnan(a), b, np.where(np.isnan(b), a, (a + b) / 2))
    if tpr.first is None or fpr.first is None or tpr.second is None or fpr.second is None:
        return Comparison(value)
    return Comparison(
        value,
        np.where(take_b, fpr.first, tpr.first),
        np.where(take_b, fpr.second, tpr.second),
        take_b.astype(np.intp),
    )
