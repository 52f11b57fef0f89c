"""``audit_predictions``: the one call for the common case.

It encodes the input, builds the audit's computed state (:mod:`bias_checks._state`), lets
:mod:`bias_checks._measure` find Fairlearn's disparities on it, and assembles the result
objects (:mod:`bias_checks._assemble`).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Hashable, Mapping, Sequence
from functools import partial
from typing import Any

from bias_checks._assemble import (
    audit_warnings,
    check_result,
    disparity_results,
    group_metrics,
    group_sizes,
    overall_metrics,
)
from bias_checks._batched import remembering, run_batched
from bias_checks._checks import Threshold, overall_verdict
from bias_checks._counts import GroupCounts, counted_input
from bias_checks._errors import (
    MAX_GROUPS,
    SCORE_METRIC_NEEDS_SCORES,
    SCORE_METRIC_WEIGHTED,
    SCORES_OUTSIDE_UNIT_INTERVAL,
    InvalidParameterError,
    InvalidThresholdError,
    MetricNotApplicableError,
)
from bias_checks._evidence import EvidenceRule
from bias_checks._fallback import custom_metric_results
from bias_checks._groups import ReferenceMode
from bias_checks._inputs import EncodedInput, TaskMode, _to_1d, encode_input
from bias_checks._measure import fairlearn_disparities
from bias_checks._results import AuditResult, CustomMetricResult
from bias_checks._score_cutoffs import row_cutoffs
from bias_checks._score_sweep import CutoffSweep, sweep_encoded
from bias_checks._scores_counted import ScoreCounts, counted_sweep
from bias_checks._state import _Audit
from bias_checks.catalogue import METRICS

SCORES_NOT_OF_COUNTS = (
    "scores must be the ScoreCounts of the same rows as counts (frame_scores returns both)."
)


def _check_parameters(
    *,
    n_boot: int,
    random_state: Any,
    evidence: Any,
    thresholds: Sequence[Threshold],
    reference_group: Any,
    max_groups: Any,
) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, int) or n_boot < 0:
        raise InvalidParameterError(parameter="n_boot", value=repr(n_boot))
    if isinstance(max_groups, bool) or not isinstance(max_groups, int) or max_groups < 1:
        raise InvalidParameterError(parameter="max_groups", value=repr(max_groups))
    # numpy refuses a negative seed with a bare ValueError deep in the bootstrap
    if random_state is not None and (
        isinstance(random_state, bool)
        or not isinstance(random_state, numbers.Integral)
        or random_state < 0
    ):
        raise InvalidParameterError(parameter="random_state", value=repr(random_state))
    if not isinstance(reference_group, str | Mapping):  # a mode's name, or a group by feature
        raise InvalidParameterError(parameter="reference_group", value=repr(reference_group))
    if not isinstance(evidence, EvidenceRule):
        raise InvalidParameterError(parameter="evidence", value=repr(evidence))
    for threshold in thresholds:
        if not isinstance(threshold, Threshold):
            raise InvalidThresholdError(threshold=repr(threshold))


def _check_thresholds(
    thresholds: Sequence[Threshold], encoded: EncodedInput, scores: ScoreCounts | None = None
) -> None:
    task = "regression" if encoded.task == "regression" else "classification"
    names = [f.name for f in encoded.sensitive]
    for threshold in thresholds:
        if METRICS[threshold.metric].task != task:
            raise MetricNotApplicableError(metric=threshold.metric, task=encoded.task)
        if METRICS[threshold.metric].needs_scores:
            _check_scores_for(threshold.metric, encoded, scores)
        features = threshold.features
        if features is not None and not (
            sorted(features) == sorted(names) or (len(features) == 1 and features[0] in names)
        ):
            raise InvalidParameterError(parameter="features", value=list(features))


def _check_scores_for(metric: str, encoded: EncodedInput, counted: ScoreCounts | None) -> None:
    scores = encoded.y_score
    if scores is None and counted is None:
        raise MetricNotApplicableError(SCORE_METRIC_NEEDS_SCORES, metric=metric)
    if encoded.sample_weight is not None or (counted is not None and counted.weighted):
        raise MetricNotApplicableError(SCORE_METRIC_WEIGHTED, metric=metric)
    if scores is not None:
        low, high = float(scores.min()), float(scores.max())
    else:
        assert counted is not None
        low, high = counted.minimum, counted.maximum
    if METRICS[metric].bases[0] != "roc_auc" and (low < 0 or high > 1):
        raise InvalidParameterError(SCORES_OUTSIDE_UNIT_INTERVAL, metric=metric)


def audit_predictions(
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    thresholds: Sequence[Threshold] = (),
    evidence: EvidenceRule | None = None,
    control_features: Any | None = None,
    sample_weight: Any | None = None,
    task: TaskMode = "auto",
    pos_label: Hashable | None = None,
    reference_group: ReferenceMode = "majority",
    n_boot: int = 1000,
    random_state: int | None = 0,
    custom_metrics: Mapping[str, Callable[..., float]] | None = None,
    y_score: Any | None = None,
    cutoff: float | Mapping[Any, float] | None = None,
    max_groups: int = MAX_GROUPS,
) -> AuditResult:
    """Audit predictions for fairness: metrics by group, disparities, CIs, checks, verdict.

    Every count-based metric is derived from per-group weighted confusion counts computed in
    one pass, and equals Fairlearn's :class:`~fairlearn.metrics.MetricFrame` on the same
    inputs. Groups are the intersections of all sensitive features present in the data, plus
    each feature's marginal groups when there are several.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        True and predicted labels (or numeric targets for regression).
    sensitive_features : array-like, Series, DataFrame or dict of 1-D arrays
        One or more sensitive features, named as Fairlearn names them.
    thresholds : sequence of Threshold, default ()
        The bounds to check. Each gets PASS when its whole confidence interval lies within
        the bound, FAIL when it lies wholly beyond, INCONCLUSIVE otherwise.
    evidence : EvidenceRule, optional
        Confidence level, minimum group size and denominator, and what INCONCLUSIVE does at
        the gate; ``None`` means ``EvidenceRule()``. A threshold's own rule overrides it.
    control_features : array-like, Series, DataFrame or dict, optional
        Fairlearn control features: disparities are computed within each control level.
    sample_weight : array-like of shape (n,), optional
        Non-negative weights. ``count`` stays unweighted, as in Fairlearn.
    task : {"auto", "binary", "multiclass", "regression"}, default "auto"
        ``auto`` picks regression for non-integral float ``y_true``, else binary for at most
        two labels and multiclass (one-vs-rest rates) otherwise. Non-integral float
        ``y_pred`` with label ``y_true`` are scores: pass ``cutoff`` (else
        ``ScoresWithoutCutoffError``).
    pos_label : scalar, optional
        The positive label of a binary task; by default 1 if the labels are within
        {0, 1} or {-1, 1}.
    reference_group : {"majority", "best"} or mapping, default "majority"
        The group that ``method="to_reference"`` compares with: the largest group, the
        best-performing group for each metric, or ``{feature: value}`` naming one.
    n_boot : int, default 1000
        Bootstrap replicates for the intervals of metrics that are not rates (balanced
        accuracy, regression errors); 0 disables them (checks on them are then INCONCLUSIVE).
        Rates and their disparities use closed-form intervals and need no replicates.
    random_state : int or None, default 0
        Seed of the bootstrap; the same seed gives identical results.
    custom_metrics : mapping of str to callable, optional
        Extra metrics computed by Fairlearn's MetricFrame, called as
        ``f(y_true, y_score_or_pred[, sample_weight=...])``. No CIs; not checkable. A group
        where a metric fails (one class only, say) is kept, undefined (NaN) with the reason.
    y_score : array-like of shape (n,), optional
        Scores of the positive class (binary tasks): feed the score metrics ``roc_auc``
        (any real scores), ``brier_score`` and ``calibration_error`` (probabilities in
        [0, 1]), the cutoff sweep, and ``custom_metrics`` instead of ``y_pred``.
    cutoff : float or mapping of group value to float, optional
        ``y_pred`` holds scores: the predicted label is ``pos_label`` where the score is at
        least ``cutoff``, the other class elsewhere; ``y_score`` defaults to these scores.
        A mapping gives each group its own cutoff (keys are values of the sensitive feature,
        or tuples of values in feature order with several); the report records it.
    max_groups : int, default MAX_GROUPS (1,000)
        The most groups (intersections of the sensitive and control features) to audit;
        more is :class:`TooManyGroupsError` before any metric is computed: an identifier
        given as a sensitive feature makes a group of each row.

    Returns
    -------
    AuditResult

    Raises
    ------
    BiasChecksInputError
        A specific subclass for each kind of bad input (length mismatch, NaN in labels or
        features, non-binary labels, unknown metric, empty input, ...).

    Examples
    --------
    >>> from bias_checks import EvidenceRule, Threshold, audit_predictions
    >>> result = audit_predictions(
    ...     [1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 1, 1],
    ...     sensitive_features=["a", "a", "a", "b", "b", "b"],
    ...     thresholds=[Threshold("demographic_parity_difference", 0.5)],
    ...     evidence=EvidenceRule(min_group_size=1, min_denominator=1), n_boot=0,
    ... )
    >>> round(result.disparity("demographic_parity_difference")[0].value, 4)
    0.6667
    >>> result.verdict.value
    'INCONCLUSIVE'
    >>> result.checks[0].rows_needed > 3
    True
    """
    thresholds = tuple(thresholds)
    rule = EvidenceRule() if evidence is None else evidence
    _check_parameters(
        n_boot=n_boot,
        random_state=random_state,
        evidence=rule,
        thresholds=thresholds,
        reference_group=reference_group,
        max_groups=max_groups,
    )
    row_cutoff: Any = cutoff
    recorded: Any = cutoff
    if isinstance(cutoff, Mapping):
        row_cutoff, used = row_cutoffs(cutoff, sensitive_features, len(_to_1d(y_pred)))
        recorded = [{"group": dict(group), "cutoff": value} for group, value in used]
    encoded = encode_input(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        control_features=control_features,
        sample_weight=sample_weight,
        task=task,
        pos_label=pos_label,
        y_score=y_score,
        cutoff=row_cutoff,
    )
    _check_thresholds(thresholds, encoded)
    audit = _Audit(
        encoded,
        rule=rule,
        n_boot=n_boot,
        random_state=random_state,
        reference_group=reference_group,
        max_groups=max_groups,
    )
    custom: tuple[CustomMetricResult, ...] = ()
    if custom_metrics:
        custom = custom_metric_results(
            custom_metrics, y_true, y_score if y_score is not None else y_pred, encoded
        )
    weights = encoded.sample_weight
    return _result(
        audit,
        thresholds,
        custom=custom,
        total_weight=float(encoded.n_rows if weights is None else weights.sum()),
        weighted=weights is not None,
        cutoff=recorded,
    )


def _result(
    audit: _Audit,
    thresholds: tuple[Threshold, ...],
    *,
    custom: tuple[CustomMetricResult, ...],
    total_weight: float,
    weighted: bool,
    cutoff: Any = None,
) -> AuditResult:
    encoded, n_boot, reference_group = audit.encoded, audit.n_boot, audit.reference_mode
    directional = audit.reference_mode != "majority" or any(
        METRICS[t.metric].signed for t in thresholds
    )
    disparities = fairlearn_disparities(audit, directional=directional)
    with remembering():
        checks = run_batched([partial(check_result, audit, t, disparities) for t in thresholds])
        judged = tuple(disparity_results(audit, disparities))
    reference = reference_group if isinstance(reference_group, str) else dict(reference_group)
    bootstrap = (
        "none"
        if n_boot == 0
        else ("stratified_multinomial_cells" if audit.classification else "stratified_normal_sums")
    )
    config: tuple[tuple[str, Any], ...] = (
        ("n_boot", n_boot),
        ("random_state", audit.random_state),
        ("reference_group", reference),
        ("bootstrap", bootstrap),
        ("ci_method", "closed_form_rates_failing_end_bonferroni_percentile_bootstrap_otherwise"),
    )
    if cutoff is not None:  # only audits of scores record it: earlier reports keep their bytes
        config = (*config, ("cutoff", cutoff))
    return AuditResult(
        task=encoded.task,
        classes=encoded.classes,
        pos_label=encoded.pos_label,
        n_rows=encoded.n_rows,
        total_weight=total_weight,
        weighted=weighted,
        sensitive_features=tuple(f.name for f in encoded.sensitive),
        control_features=tuple(f.name for f in encoded.control),
        config=config,
        groups=tuple(group_sizes(audit)),
        overall=tuple(overall_metrics(audit)),
        metrics=tuple(group_metrics(audit)),
        disparities=judged,
        checks=tuple(checks),
        verdict=overall_verdict([c.verdict for c in checks]),
        warnings=tuple(audit_warnings(audit, bool(thresholds))),
        evidence_rule=audit.rule,
        custom_metrics=tuple(custom),
        cutoff_sweep=_sweep(audit),
    )


def _sweep(audit: _Audit) -> CutoffSweep | None:
    """The cutoff sweep over the intersectional groups (within control levels)."""
    table = audit.tables[0]
    keys = [c + g for c, g in zip(table.control_keys, table.group_keys, strict=True)]
    names = tuple(f.name for f in audit.encoded.control) + table.grouping.features
    counted = audit.counted_scores
    if counted is not None and not counted.weighted:
        group_of = table.grouping.members[audit.counted_index_groups(counted)]
        return counted_sweep(counted, group_of, keys, names)
    if audit.encoded.y_score is None or audit.encoded.sample_weight is not None:
        return None
    row_group = table.grouping.members[audit.index.row_group]
    return sweep_encoded(audit.encoded, row_group, keys, names)


def _scores_match(scores: Any, counts: GroupCounts) -> bool:
    """Whether ``scores`` are of the rows ``counts`` counts: the same groups and sizes."""
    if not isinstance(scores, ScoreCounts):
        return False
    rows = dict(zip(counts.keys, counts.counts.sum(axis=(1, 2)).tolist(), strict=True))
    if not set(scores.keys) <= set(rows):
        return False
    return scores.weighted or all(
        rows[key] == int(n) for key, n in zip(scores.keys, scores.sums[:, 0], strict=True)
    )


def audit_counts(
    counts: GroupCounts,
    *,
    thresholds: Sequence[Threshold] = (),
    evidence: EvidenceRule | None = None,
    reference_group: ReferenceMode = "majority",
    n_boot: int = 1000,
    random_state: int | None = 0,
    scores: ScoreCounts | None = None,
    max_groups: int = MAX_GROUPS,
) -> AuditResult:
    """Audit from per-group confusion counts (:func:`bias_checks.group_counts`), summed
    over any number of parties with :meth:`GroupCounts.combine`.

    Equals :func:`audit_predictions` on the pooled rows with the same settings: every
    number, interval and verdict, and (unweighted) the same canonical bytes. Counts that
    carry noise (``noise_variance``) get rate intervals widened by that variance; negative
    noisy cells are set to zero first. Custom metrics need rows and are not available.
    ``scores`` (:class:`~bias_checks.ScoreCounts`, from :func:`bias_checks.frame_scores`)
    adds the score metrics (``roc_auc``, ``brier_score``, ``calibration_error``), their
    disparities and the cutoff sweep, equal to the in-memory audit with ``y_score`` to 1e-9.

    Examples
    --------
    >>> from bias_checks import GroupCounts, audit_counts, group_counts
    >>> a = group_counts([1, 0, 1], [1, 0, 0], sensitive_features=["x", "x", "y"])
    >>> b = group_counts([1, 0, 1], [1, 1, 1], sensitive_features=["x", "y", "y"])
    >>> result = audit_counts(GroupCounts.combine([a, b]), n_boot=0)
    >>> result.n_rows
    6
    """
    thresholds = tuple(thresholds)
    rule = EvidenceRule() if evidence is None else evidence
    _check_parameters(
        n_boot=n_boot,
        random_state=random_state,
        evidence=rule,
        thresholds=thresholds,
        reference_group=reference_group,
        max_groups=max_groups,
    )
    if not isinstance(counts, GroupCounts):
        raise InvalidParameterError(parameter="counts", value=type(counts).__name__)
    if scores is not None and not _scores_match(scores, counts):
        raise InvalidParameterError(SCORES_NOT_OF_COUNTS, parameter="scores")
    encoded, index, stats = counted_input(counts)
    _check_thresholds(thresholds, encoded, scores)
    audit = _Audit(
        encoded,
        rule=rule,
        n_boot=n_boot,
        random_state=random_state,
        reference_group=reference_group,
        max_groups=max_groups,
        counted=(index, stats),
        counted_scores=scores,
    )
    return _result(
        audit,
        thresholds,
        custom=(),
        total_weight=float(stats.weights.sum()),
        weighted=counts.weighted,
        cutoff=None if scores is None else scores.cutoff,
    )
