"""Equalized odds from its two parts: the TPR and FPR disparities of :mod:`bias_checks._judged`."""

from __future__ import annotations

import numpy as np

from bias_checks._belt import parts_end
from bias_checks._disparities import Agg, Transform
from bias_checks._inputs import FloatArray, IntArray
from bias_checks._judged import BoolArray, Judged, Split
from bias_checks._rate_stats import RateStats


def joint_fail_end(
    tpr: RateStats,
    fpr: RateStats,
    *,
    judged: BoolArray,
    control_of: IntArray,
    transform: Transform,
    alpha: float,
    entries: int = 1,
) -> FloatArray:
    """The worst case's FAIL end (L, C) over both parts' pairs from one belt
    (:func:`bias_checks._belt.parts_end`); NaN where the belt does not apply, and the union of
    the parts' ends is kept. Its error is shared over the check's ``entries`` only: the two
    parts are calibrated together, not given half each."""
    n_labels, n_control = judged.shape[0], int(control_of.max()) + 1
    out = np.full((n_labels, n_control), np.nan)
    split = Split.of(alpha, 1, entries)
    for label in range(n_labels):
        for c in range(n_control):
            members = np.flatnonzero((control_of == c) & judged[label])
            if members.size < 2:
                continue
            parts = tuple((s.p[label, members], s.n_eff[label, members]) for s in (tpr, fpr))
            end = parts_end(transform, parts, alpha=2 * split.unsafe, share=split.share)
            if end is not None:
                out[label, c] = end
    return out


def combine_components(
    tpr: Judged,
    fpr: Judged,
    transform: Transform,
    agg: Agg,
    *,
    joint: FloatArray | None = None,
) -> Judged:
    """Equalized odds from its TPR and FPR parts.

    The parts come from :func:`rate_disparity` with ``components=2``: each safe end at a
    quarter of the error, each unsafe end at half. ``worst_case`` is the larger difference
    (smaller ratio) of the parts: its safe end is breached if either part's is (a union), its
    unsafe end only if the part attaining it breaches its own. ``mean`` combines the parts'
    ends by MOVER for the sum of two independent estimates (TPR on positives, FPR on
    negatives; Zou and Donner 2008, "Construction of confidence limits about effect measures",
    Stat. Med. 27, 1693-1702): ``v_T + v_F +- sqrt(w_T**2 + w_F**2)``, halved, where ``w`` is
    each part's distance from its value to its end. The unsafe end always does so. The safe
    end does so only when each part is one comparison of two groups, with ``w`` measured to
    the part's *reach* (its end before the fold clips it at parity, so that a part whose sign
    is open still counts its full width); at parity it then errs with probability
    ``1 - (1 - 2 * alpha / 4)**2 < alpha``, as a max - min does. An extreme over several
    comparisons is not near-normal (the sum of two ranges exceeds MOVER's bound far more often
    than ``alpha / 2``), so there the safe end is the mean of the parts' safe ends: it is
    breached only if a part's is, a union over the two parts.
    """
    difference = transform == "difference"
    take_fpr = fpr.value > tpr.value if difference else fpr.value < tpr.value
    if agg == "worst_case":
        value = np.where(take_fpr, fpr.value, tpr.value)
        pick = np.fmax if difference else np.fmin
        low, high = pick(tpr.low, fpr.low), pick(tpr.high, fpr.high)
        if joint is not None:
            belted = np.isfinite(joint) & np.isfinite(low) & np.isfinite(high)
            if difference:
                low = np.where(belted, joint, low)
            else:
                high = np.where(belted, joint, high)
    else:
        value = (tpr.value + fpr.value) / 2
        nan = np.full(value.shape, np.nan)
        t_reach = nan if tpr.reach is None else tpr.reach
        f_reach = nan if fpr.reach is None else fpr.reach
        single = np.isfinite(t_reach) & np.isfinite(f_reach)
        with np.errstate(invalid="ignore"):
            if difference:
                moved = np.maximum(
                    value - np.hypot(tpr.value - t_reach, fpr.value - f_reach) / 2, 0
                )
                low = np.where(single, moved, (tpr.low + fpr.low) / 2)
                high = value + np.hypot(tpr.high - tpr.value, fpr.high - fpr.value) / 2
            else:
                moved = np.minimum(
                    value + np.hypot(t_reach - tpr.value, f_reach - fpr.value) / 2, 1
                )
                high = np.where(single, moved, (tpr.high + fpr.high) / 2)
                low = value - np.hypot(tpr.value - tpr.low, fpr.value - fpr.low) / 2
    undefined = np.isnan(tpr.value) | np.isnan(fpr.value)
    nan = np.full(value.shape, np.nan)
    return Judged(
        np.where(undefined, nan, value),
        np.where(undefined, nan, low),
        np.where(undefined, nan, high),
        np.where(take_fpr, fpr.first, tpr.first),
        np.where(take_fpr, fpr.second, tpr.second),
        take_fpr.astype(np.intp),
        np.minimum(tpr.n_judged, fpr.n_judged),
        f"{tpr.method}_{'bonferroni' if agg == 'worst_case' else 'mover'}_over_components",
    )
