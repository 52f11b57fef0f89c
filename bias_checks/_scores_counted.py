"""Score metrics from statistics summed where the data lives: no row comes back to Python.

A frame audit (:func:`bias_checks.audit_frame`) does not hold the rows in memory. Its engine
returns, per group and label, the distinct scores with their row counts
(:mod:`bias_checks._frame_scores`); its size is the number of distinct scores a group holds,
up to one row per scored row for continuous scores. From it, in one fixed order:

* power sums of the squared error ``e = (s - y)**2`` (``e = s**2`` or ``(1 - s)**2``,
  computed directly, so nothing cancels): ``sum(s - y)``, ``sum e``, ``sum e**2``,
  ``sum e**3``. These are everything :func:`bias_checks._scores.group_scores` uses for the
  Brier score (mean, standard error and skewness of ``e``) and calibration in the large
  (mean and standard error of ``d = s - y``, whose square is ``e``), and they add up over
  groups. They are not summed by the engine: its float sums change with the order it adds
  in (Polars streaming, Dask partitions), and so would an anchored report's hash;
* each positive's DeLong placement (the share of its group's negatives below it, ties one
  half) is a cumulative count, so the AUC and DeLong's variance are exact (fast DeLong on
  midranks gives the same numbers).

:func:`counted_group_scores` gives the same :class:`~bias_checks._scores.GroupScores` as
the in-memory engine (to float rounding: sums in the engine's order), and
:func:`counted_sweep` the same cutoff sweep.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bias_checks._inputs import FloatArray, IntArray
from bias_checks._score_sweep import DEFAULT_STEPS, CutoffSweep, GroupKey, GroupSweep
from bias_checks._scores import BoolArray, GroupScores, _floored_auc_variance

#: Columns of :attr:`ScoreCounts.sums`: rows, sum of ``s - y``, and of ``e``, ``e**2``,
#: ``e**3`` with ``e = (s - y)**2``.
SUM_FIELDS = ("n", "d", "e1", "e2", "e3")


@dataclass(frozen=True)
class ScoreCounts:
    """Score statistics of the groups of a :class:`~bias_checks.GroupCounts`.

    ``keys`` are the groups' feature values (control features first, as in
    ``GroupCounts.keys``); ``sums`` (G, 5) the sums of :data:`SUM_FIELDS` per group;
    ``n_pos`` the positives per group. The distinct-score table has one row per group,
    class and distinct score: ``table_group`` (index into ``keys``), ``table_positive``,
    ``table_score`` and ``table_count``. ``minimum`` and ``maximum`` are the extreme
    scores, ``cutoff`` the one the predictions came from (recorded in the report, as the
    in-memory audit does), ``weighted`` whether the audit has weights (score metrics are
    then omitted, as in memory).
    """

    keys: tuple[tuple[Hashable, ...], ...]
    sums: FloatArray
    n_pos: IntArray
    table_group: IntArray
    table_positive: BoolArray
    table_score: FloatArray
    table_count: IntArray
    minimum: float
    maximum: float
    cutoff: float | None = None
    weighted: bool = False

    @property
    def unit_scores(self) -> bool:
        return bool(self.minimum >= 0 and self.maximum <= 1)


def counted_group_scores(counted: ScoreCounts, group_of: IntArray, n_groups: int) -> GroupScores:
    """The score metrics of ``n_groups`` groups; ``group_of`` maps each of ``counted``'s
    groups to one of them.

    Examples
    --------
    >>> import numpy as np
    >>> counted = score_counts(
    ...     [("a",)], group=np.array([0, 0, 0]), positive=np.array([True, False, False]),
    ...     score=np.array([0.9, 0.5, 0.9]), count=np.array([1, 1, 1]))
    >>> float(counted_group_scores(counted, np.array([0]), 1).roc_auc[0])
    0.75
    """
    sums = np.zeros((n_groups, len(SUM_FIELDS)))
    np.add.at(sums, group_of, counted.sums)
    n = np.rint(sums[:, 0]).astype(np.intp)
    n_pos = np.bincount(group_of, weights=counted.n_pos, minlength=n_groups).astype(np.intp)
    auc, variance = _auc_from_table(counted, group_of, n_groups, n_pos, n - n_pos)
    nan = np.full(n_groups, np.nan)
    brier = brier_se = skew = signed = signed_se = nan
    if counted.unit_scores:
        brier, brier_se, skew = _moments(n, sums[:, 2], sums[:, 3], sums[:, 4])
        signed, signed_se, _ = _moments(n, sums[:, 1], sums[:, 2], None)
    with np.errstate(invalid="ignore"):
        auc_se = np.sqrt(_floored_auc_variance(auc, variance, n_pos, n - n_pos))
    return GroupScores(
        n=n,
        n_pos=n_pos,
        n_neg=n - n_pos,
        roc_auc=auc,
        roc_auc_se=auc_se,
        brier_score=brier,
        brier_score_se=brier_se,
        calibration_signed=signed,
        calibration_se=signed_se,
        unit_scores=counted.unit_scores,
        brier_score_skew=skew,
    )


def _moments(
    n: IntArray, s1: FloatArray, s2: FloatArray, s3: FloatArray | None
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Mean, its standard error (sd with ``n - 1``) and skewness (``mean((x - mean)**3) /
    sd**3``, 0 where the sd is 0 or ``n < 3``) from power sums, as ``_scores`` computes
    them from the values."""
    size = n.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, s1 / size, np.nan)
        centred = np.maximum(s2 - s1 * mean, 0.0)  # sum of (x - mean)**2
        variance = centred / (size - 1)
        sd = np.sqrt(variance)
        se = np.where(n > 1, sd / np.sqrt(size), np.nan)
        skew = np.zeros_like(mean)
        if s3 is not None:
            third = s3 / size - 3 * mean * s2 / size + 2 * mean**3
            tiny = centred <= 1e-12 * np.maximum(s2, 1e-300)  # constant values: sd is rounding
            skew = np.where((n >= 3) & (sd > 0) & ~tiny, third / sd**3, 0.0)
    return mean, se, skew


def _auc_from_table(
    counted: ScoreCounts, group_of: IntArray, n_groups: int, n_pos: IntArray, n_neg: IntArray
) -> tuple[FloatArray, FloatArray]:
    """AUC and DeLong's variance per group from the distinct scores; NaN where a class is
    missing (the variance also with one row of a class)."""
    by_score = np.argsort(counted.table_score, kind="stable")
    # by group, then score: two stable sorts (the integer one is a radix sort); np.lexsort
    # took four times as long on a million rows
    order = by_score[np.argsort(group_of[counted.table_group][by_score], kind="stable")]
    group, score = group_of[counted.table_group][order], counted.table_score[order]
    count = counted.table_count[order].astype(np.float64)
    positive = counted.table_positive[order]
    starts = np.flatnonzero(np.r_[True, (group[1:] != group[:-1]) | (score[1:] != score[:-1])])
    g = group[starts]
    cp = np.add.reduceat(np.where(positive, count, 0.0), starts) if starts.size else count
    cn = np.add.reduceat(np.where(positive, 0.0, count), starts) if starts.size else count
    m = n_pos[g].astype(np.float64)
    k = n_neg[g].astype(np.float64)
    neg_below = _below_in_group(cn, g)
    pos_below = _below_in_group(cp, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        v10 = (neg_below + cn / 2) / k  # share of negatives below each positive
        v01 = 1.0 - (pos_below + cp / 2) / m  # share of positives above each negative
        mp = n_pos.astype(np.float64)
        mn = n_neg.astype(np.float64)
        auc = np.bincount(g, weights=cp * v10, minlength=n_groups) / mp
        mean01 = np.bincount(g, weights=cn * v01, minlength=n_groups) / mn
        ss10 = np.bincount(g, weights=cp * (v10 - auc[g]) ** 2, minlength=n_groups)
        ss01 = np.bincount(g, weights=cn * (v01 - mean01[g]) ** 2, minlength=n_groups)
        variance = ss10 / (mp - 1) / mp + ss01 / (mn - 1) / mn
    defined = (n_pos > 0) & (n_neg > 0)
    auc = np.where(defined, auc, np.nan)
    variance = np.where(defined & (n_pos > 1) & (n_neg > 1), variance, np.nan)
    return np.asarray(auc, dtype=np.float64), np.asarray(variance, dtype=np.float64)


def _below_in_group(values: FloatArray, group: IntArray) -> FloatArray:
    """For rows sorted by group: the sum of ``values`` over the earlier rows of each group."""
    total = np.cumsum(values) - values
    if group.size == 0:
        return np.asarray(total, dtype=np.float64)
    first = np.r_[True, group[1:] != group[:-1]]
    offset = np.maximum.accumulate(np.where(first, np.arange(group.size), 0))
    return np.asarray(total - total[offset], dtype=np.float64)


def score_counts(
    keys: Sequence[tuple[Hashable, ...]],
    *,
    group: IntArray,
    positive: BoolArray,
    score: FloatArray,
    count: IntArray,
    cutoff: float | None = None,
) -> ScoreCounts:
    """:class:`ScoreCounts` of a distinct-score table alone (its sums computed here).

    Parameters
    ----------
    keys : sequence of tuple
        The groups' feature values.
    group, positive, score, count : ndarray of shape (R,)
        One row per group, class and distinct score (repeats are added up).
    cutoff : float, optional
        Recorded as :attr:`ScoreCounts.cutoff`.

    Returns
    -------
    ScoreCounts

    Examples
    --------
    >>> import numpy as np
    >>> counted = score_counts([("a",)], group=np.array([0, 0]),
    ...     positive=np.array([True, False]), score=np.array([0.8, 0.2]), count=np.array([2, 1]))
    >>> counted.n_pos.tolist(), float(counted.sums[0, 0])
    ([2], 3.0)
    """
    g = np.asarray(group, dtype=np.intp)
    pos = np.asarray(positive, dtype=bool)
    s = np.asarray(score, dtype=np.float64)
    c = np.asarray(count, dtype=np.int64)
    # One order whatever order the engine returned the rows in, so the float sums (and the
    # report's bytes) are the same on every run and every partitioning.
    by_score = np.argsort(s, kind="stable")
    order = by_score[np.argsort(2 * g[by_score] + pos[by_score], kind="stable")]
    g, pos, s, c = g[order], pos[order], s[order], c[order]
    # Scores far outside [0, 1] (1e308: AUC takes any real score) overflow these powers;
    # the sums then are inf, and only Brier score and calibration read them, which refuse
    # such scores (review, session 22: four RuntimeWarning lines reached the terminal).
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.where(pos, (1 - s) ** 2, s**2)
        columns = (c, c * (s - pos), c * e, c * e**2, c * e**3)
    sums = np.zeros((len(keys), len(SUM_FIELDS)))
    for j, column in enumerate(columns):  # bincount adds in array order, as add.at, faster
        sums[:, j] = np.bincount(g, weights=column, minlength=len(keys))
    n_pos = np.bincount(g, weights=np.where(pos, c, 0), minlength=len(keys)).astype(np.intp)
    return ScoreCounts(
        tuple(keys), sums, n_pos, g, pos, s, c, float(s.min()), float(s.max()), cutoff
    )


def index_groups(
    index_keys: Mapping[tuple[Hashable, ...], int], keys: Sequence[tuple[Hashable, ...]]
) -> IntArray:
    """The group index row of each of ``keys``."""
    return np.asarray([index_keys[key] for key in keys], dtype=np.intp)


def counted_sweep(
    counted: ScoreCounts,
    group_of: IntArray,
    keys: Sequence[GroupKey],
    grouping: tuple[str, ...],
) -> CutoffSweep:
    """:func:`bias_checks._score_sweep.sweep_encoded` from the distinct-score table."""
    points = _default_cutoffs(counted)
    group = group_of[counted.table_group]
    out = []
    for g, key in enumerate(keys):
        rows = group == g
        s, c = counted.table_score[rows], counted.table_count[rows]
        pos = counted.table_positive[rows]
        out.append(
            GroupSweep(
                key,
                int(c.sum()),
                tuple(_share_at_or_above(s, c, points).tolist()),
                tuple(_share_at_or_above(s[pos], c[pos], points).tolist()),
                tuple(_share_at_or_above(s[~pos], c[~pos], points).tolist()),
            )
        )
    return CutoffSweep(grouping, tuple(points.tolist()), tuple(out))


def _share_at_or_above(score: FloatArray, count: IntArray, cutoffs: FloatArray) -> FloatArray:
    total = int(count.sum())
    if total == 0:
        return np.full(cutoffs.shape, np.nan)
    order = np.argsort(score, kind="stable")
    cumulative = np.r_[0, np.cumsum(count[order])]
    below = cumulative[np.searchsorted(score[order], cutoffs, side="left")]
    return np.asarray((total - below) / total, dtype=np.float64)


def _default_cutoffs(counted: ScoreCounts) -> FloatArray:
    """0, 0.05, ..., 1 for probabilities, else ``numpy.quantile``'s 21 quantiles of every
    score, from the counted order statistics (the same interpolation, so the same floats)."""
    if counted.unit_scores:
        return np.linspace(0.0, 1.0, DEFAULT_STEPS)
    order = np.argsort(counted.table_score, kind="stable")
    values = counted.table_score[order]
    ends = np.cumsum(counted.table_count[order])  # rows up to and including each value
    total = int(ends[-1])
    quantiles = np.linspace(0.0, 1.0, DEFAULT_STEPS)
    virtual = (total - 1) * quantiles
    previous = np.floor(virtual)
    following = np.minimum(previous + 1, total - 1)
    out = []
    for v, lo, hi in zip(virtual, previous, following, strict=True):
        a = values[np.searchsorted(ends, lo, side="right")]
        b = values[np.searchsorted(ends, hi, side="right")]
        out.append(float(np.quantile(np.array([a, b]), v - lo)))
    return np.unique(np.asarray(out, dtype=np.float64))
