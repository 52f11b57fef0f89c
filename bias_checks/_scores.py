"""Metrics of scores and probabilities by group: ROC AUC, Brier score, calibration error.

Each group's estimate comes with its standard error, from which
:mod:`bias_checks._score_evidence` builds the intervals that checks are judged on.

* ``roc_auc``: the Mann-Whitney estimate (ties count one half, as sklearn), its variance by
  DeLong, DeLong & Clarke-Pearson (1988) computed from midranks in ``O(n log n)`` (Sun & Xu
  2014, "fast DeLong"). No maintained library computes per-group DeLong variances (sklearn
  and statsmodels have none), hence this implementation, tested against the ``O(n^2)``
  placement-value definition. The group's interval is on the logit scale, which keeps it in
  (0, 1) and holds coverage near 1 (Pepe 2003, 5.2), with Student's t quantile on
  ``min(positives, negatives) - 1`` degrees of freedom: the normal quantile covered 93.5 %
  at 12 positives a group, DeLong's variance being estimated from that many placements.
  With a rare class and AUC near 1 that variance is often far too small (84 % at 15
  positives, AUC 0.983; review of #17), so the interval is the union of that one and
  Newcombe's (2006) Method 5 score interval (``delong_newcombe``), which holds there.
  No maintained Python library has Newcombe's intervals, hence the bisection here.
* ``brier_score``: the mean of ``(s - y)**2``; the union of two t intervals of that mean,
  on the log scale and by Hall's (1992) transformation for skewness (``t_log_hall``).
* ``calibration_error``: calibration in the large, ``|mean(s) - mean(y)|``. Its signed
  version is a plain mean of ``s - y`` with an unbiased estimate and a t interval; folding
  that interval gives a valid interval for the absolute value, which reaches 0 when the data
  allow perfect calibration. A binned ECE is biased upwards (by about the bin noise, at every
  sample size) and a naive bootstrap of it does not cover its true value, so it is not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps
from scipy.special import expit

from bias_checks._inputs import FloatArray, IntArray

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
Bounds = tuple[FloatArray, FloatArray]
SCORE_CI_METHODS = {
    "roc_auc": "delong_newcombe",
    "brier_score": "t_log_hall",
    "calibration_error": "t",
}


@dataclass(frozen=True)
class GroupScores:
    """Estimates and standard errors (G,) of the score metrics for the groups of one grouping.

    ``calibration_signed`` is ``mean(s) - mean(y)``; ``calibration_error`` its absolute value.
    Standard errors are on the natural scale; NaN where the metric is undefined.
    """

    n: IntArray
    n_pos: IntArray
    n_neg: IntArray
    roc_auc: FloatArray
    roc_auc_se: FloatArray
    brier_score: FloatArray
    brier_score_se: FloatArray
    calibration_signed: FloatArray
    calibration_se: FloatArray
    unit_scores: bool
    brier_score_skew: FloatArray | None = None

    @property
    def calibration_error(self) -> FloatArray:
        return np.abs(self.calibration_signed)

    def value(self, metric: str) -> FloatArray:
        return np.asarray(getattr(self, metric), dtype=np.float64)

    def denominator(self, metric: str) -> IntArray:
        """Rows that an estimate rests on: the smaller class for AUC, every row otherwise."""
        if metric == "roc_auc":
            return np.minimum(self.n_pos, self.n_neg)
        return self.n


def delong(positive: BoolArray, scores: FloatArray) -> tuple[float, float]:
    """ROC AUC and its DeLong variance, from midranks (fast DeLong, Sun & Xu 2014).

    Parameters
    ----------
    positive : ndarray of bool, shape (n,)
        Whether each row's label is the positive class.
    scores : ndarray of float, shape (n,)
        Scores; larger means more likely positive.

    Returns
    -------
    (auc, variance) : tuple of float
        NaN for both when a class is missing; the variance is NaN with a single row of a class.

    Examples
    --------
    >>> import numpy as np
    >>> auc, var = delong(np.array([1, 1, 0, 0], bool), np.array([0.9, 0.4, 0.5, 0.1]))
    >>> auc
    0.75
    """
    m = int(positive.sum())
    n = positive.size - m
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    x, y = scores[positive], scores[~positive]
    tz = sps.rankdata(scores)
    tx, ty = sps.rankdata(x), sps.rankdata(y)
    v10 = (tz[positive] - tx) / n  # share of negatives below each positive
    v01 = 1.0 - (tz[~positive] - ty) / m  # share of positives above each negative
    auc = float(v10.mean())
    if m < 2 or n < 2:
        return auc, float("nan")
    return auc, float(v10.var(ddof=1) / m + v01.var(ddof=1) / n)


def hanley_mcneil_variance(auc: FloatArray, n_pos: Any, n_neg: Any) -> FloatArray:
    """Hanley & McNeil's (1982) variance of an AUC under their exponential model."""
    a = np.asarray(auc, dtype=np.float64)
    q1, q2 = a / (2 - a), 2 * a**2 / (1 + a)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a * (1 - a) + (n_pos - 1) * (q1 - a**2) + (n_neg - 1) * (q2 - a**2)) / (
            n_pos * n_neg
        )
    return np.asarray(out, dtype=np.float64)


def _mean_and_se(values: FloatArray) -> tuple[float, float]:
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float("nan")
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def _skewness(values: FloatArray) -> float:
    """``mean((x - mean)**3) / sd**3`` (sd with ``n - 1``); 0 where the sd is 0 or n < 3."""
    if values.size < 3:
        return 0.0
    sd = float(values.std(ddof=1))
    return float(((values - values.mean()) ** 3).mean() / sd**3) if sd > 0 else 0.0


def group_scores(
    positive: BoolArray, scores: FloatArray, row_group: IntArray, n_groups: int
) -> GroupScores:
    """The score metrics of every group (rows sorted once by group, then one pass each)."""
    order = np.argsort(row_group, kind="stable")
    bounds = np.searchsorted(row_group[order], np.arange(n_groups + 1))
    unit = bool(((scores >= 0) & (scores <= 1)).all())
    fields = np.full((7, n_groups), np.nan)
    n = np.diff(bounds).astype(np.intp)
    n_pos = np.zeros(n_groups, dtype=np.intp)
    for g in range(n_groups):
        rows = order[bounds[g] : bounds[g + 1]]
        pos, s = positive[rows], scores[rows]
        n_pos[g] = int(pos.sum())
        fields[0, g], fields[1, g] = delong(pos, s)
        if unit:
            fields[2, g], fields[3, g] = _mean_and_se((s - pos) ** 2)
            fields[6, g] = _skewness((s - pos) ** 2)
            fields[4, g], fields[5, g] = _mean_and_se(s - pos)
    with np.errstate(invalid="ignore"):
        auc_se = np.sqrt(_floored_auc_variance(fields[0], fields[1], n_pos, n - n_pos))
    return GroupScores(
        n=n,
        n_pos=n_pos,
        n_neg=n - n_pos,
        roc_auc=fields[0],
        roc_auc_se=auc_se,
        brier_score=fields[2],
        brier_score_se=fields[3],
        calibration_signed=fields[4],
        calibration_se=fields[5],
        unit_scores=unit,
        brier_score_skew=fields[6],
    )


def _floored_auc_variance(
    auc: FloatArray, variance: FloatArray, n_pos: IntArray, n_neg: IntArray
) -> FloatArray:
    """DeLong's variance, or where it is 0 (complete separation) Hanley and McNeil's at the
    AUC moved half a pair inwards, so a separated group still gets an interval of width > 0."""
    pairs = np.maximum(n_pos * n_neg, 1).astype(np.float64)
    inward = np.clip(auc, 0.5 / pairs, 1 - 0.5 / pairs)
    floor = hanley_mcneil_variance(inward, n_pos, n_neg)
    return np.asarray(np.where(variance > 0, variance, floor), dtype=np.float64)


def t_quantile(tail: Any, n: Any) -> FloatArray:
    """Upper ``tail`` quantile of Student's t with ``n - 1`` degrees of freedom."""
    df = np.maximum(np.asarray(n, dtype=np.float64) - 1, 1)
    return np.asarray(sps.t.isf(tail, df), dtype=np.float64)


def group_interval(scores: GroupScores, metric: str, tail: Any) -> tuple[FloatArray, FloatArray]:
    """Each group's interval (G,), each end erring with probability ``tail`` (one-sided)."""
    if metric == "roc_auc":
        low, high = _delong_logit(scores, tail)
        score_low, score_high = newcombe_score_interval(
            scores.roc_auc, scores.n_pos, scores.n_neg, tail
        )
        return np.asarray(np.fmin(low, score_low)), np.asarray(np.fmax(high, score_high))
    q = t_quantile(tail, scores.n)
    if metric == "brier_score":
        return _brier_interval(scores, q)
    signed, se = scores.calibration_signed, scores.calibration_se
    with np.errstate(invalid="ignore"):
        return _folded(signed, se, q, t_quantile(np.asarray(tail) / 2, scores.n))


def _brier_interval(scores: GroupScores, q: FloatArray) -> Bounds:
    """The union of two t intervals of the mean squared error, for its skew to the right.

    * On the log scale: the plain t interval covered 93.3 % at 50 rows (log scale 94.8 %).
    * Hall's (1992) skewness-removing transformation of the t statistic,
      ``g(T) = T + a T**2 + a**2 T**3 / 3 + b`` with ``a = skew / (3 sqrt n)`` and
      ``b = skew / (6 sqrt n)``, inverted at Student's quantile: with AUC near 1 a group's
      squared errors are mostly near 0 and a few near 1, and the log scale covered 92 % at
      40 rows (review of #17); the union 94.2 % (benchmarks/coverage_scores.py).
    """
    brier, se = scores.brier_score, scores.brier_score_se
    skew = scores.brier_score_skew if scores.brier_score_skew is not None else 0 * brier
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.exp(q * se / brier)
        log_low = np.where(brier > 0, brier / factor, 0.0)
        log_high = brier * factor
        root_n = np.sqrt(scores.n.astype(np.float64))
        a, b = skew / (3 * root_n), skew / (6 * root_n)
        safe_a = np.where(np.abs(a) > 1e-12, a, 1.0)

        def inverse(v: FloatArray) -> FloatArray:
            bent = (np.cbrt(1 + 3 * safe_a * (v - b)) - 1) / safe_a
            return np.asarray(np.where(np.abs(a) > 1e-12, bent, v - b), dtype=np.float64)

        hall_low, hall_high = brier - se * inverse(q), brier - se * inverse(-q)
    low = np.clip(np.fmin(log_low, hall_low), 0, 1)
    high = np.clip(np.fmax(log_high, hall_high), 0, 1)
    return np.asarray(low), np.asarray(high)


def _delong_logit(scores: GroupScores, tail: Any) -> Bounds:
    # A separated group (AUC 0 or 1) is centred half a pair inwards, as its variance.
    pairs = np.maximum(scores.n_pos * scores.n_neg, 1).astype(np.float64)
    auc = np.clip(scores.roc_auc, 0.5 / pairs, 1 - 0.5 / pairs)
    with np.errstate(divide="ignore", invalid="ignore"):
        logit = np.log(auc / (1 - auc))
        q_auc = t_quantile(tail, np.minimum(scores.n_pos, scores.n_neg))
        half = q_auc * scores.roc_auc_se / (auc * (1 - auc))
        low = np.fmin(expit(logit - half), scores.roc_auc)
        high = np.fmax(expit(logit + half), scores.roc_auc)
    return np.asarray(low), np.asarray(high)


def newcombe_score_interval(auc: FloatArray, n_pos: Any, n_neg: Any, tail: Any) -> Bounds:
    """Newcombe's (2006, Part 2) Method 5 interval of an AUC, each end erring ``tail``.

    The score-type interval ``{theta : (auc - theta)**2 <= z**2 V(theta)}`` with Hanley and
    McNeil's variance at ``theta`` in which both class sizes are replaced by
    ``N* = (m + n) / 2 - 1``; solved by bisection on each side of the estimate (the
    equation has one root on each side). NaN where the AUC is.

    Examples
    --------
    >>> import numpy as np
    >>> low, high = newcombe_score_interval(np.array([0.9]), 20, 20, 0.025)
    >>> bool(0.7 < low[0] < 0.9 < high[0] < 1.0)
    True
    """
    a = np.asarray(auc, dtype=np.float64)
    m, n = np.asarray(n_pos, dtype=np.float64), np.asarray(n_neg, dtype=np.float64)
    star = (m + n) / 2 - 1
    z2 = np.asarray(sps.norm.isf(tail), dtype=np.float64) ** 2

    def excess(theta: FloatArray) -> FloatArray:
        spread = 1 + star * ((1 - theta) / (2 - theta) + theta / (1 + theta))
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = theta * (1 - theta) * spread / (m * n)
        return np.asarray((a - theta) ** 2 - z2 * variance, dtype=np.float64)

    def root(outer: FloatArray) -> FloatArray:
        # excess(outer) >= 0 >= excess(a): bisect between them.
        lo, hi = np.array(outer, dtype=np.float64), a.copy()
        for _ in range(50):
            mid = (lo + hi) / 2
            inside = excess(mid) <= 0
            hi, lo = np.where(inside, mid, hi), np.where(inside, lo, mid)
        return np.asarray(np.where(excess(np.asarray(outer)) <= 0, outer, lo))

    return root(np.zeros_like(a)), root(np.ones_like(a))


def _folded(signed: FloatArray, se: FloatArray, q: FloatArray, q_wide: FloatArray) -> Bounds:
    # The folded lower end errs when the signed interval misses on either side (at |d| = 0),
    # so its signed ends sit at tail / 2; the upper end errs only beyond the far end.
    wide = q_wide * se
    straddles = (signed - wide <= 0) & (signed + wide >= 0)
    folded_low = np.where(straddles, 0.0, np.abs(signed) - wide)
    return np.asarray(folded_low), np.minimum(np.abs(signed) + q * se, 1.0)
