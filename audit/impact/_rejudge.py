"""Re-judging a stored audit under other thresholds, from the evidence its report keeps.

A report stores, for every catalogue disparity, the judged value and its simultaneous
interval under the audit's evidence rule, and for every check the evidence it was judged on.
While a metric's evidence rule stays what the audit used, those intervals are exactly what a
re-audit of the same model on the same split computes, whatever the bound: the bound only
enters the verdict. So the verdict under a new bound or direction comes from bias_checks' own
three-way rule on the stored intervals. When the rule changes (another confidence or minimum
size), the intervals themselves change, and the report cannot say how: that metric is left
undecided, with the reason, and the quick preview recomputes the audit (``_recompute.py``).
The report keeps each group's label and prediction totals but not its confusion counts, so
intervals cannot be rebuilt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from audit.evidence import evidence_rule, governed_thresholds
from audit.report_model import AuditView, CheckView, DisparityView, EvidenceRuleView, Number
from bias_checks import (
    EvidenceRule,
    Measurement,
    Threshold,
    Verdict,
    judge,
    metric_info,
    overall_verdict,
)

# The three-way rule itself, so a preview judges exactly as the audit does (bias_checks
# exports the verdicts but not this step; a public export would be the cleaner seam).
from governance.policy.models import PolicySnapshot

RULE_CHANGED = (
    "{metric}: judged under another evidence rule ({confidence} confidence, groups of "
    "{groups}, denominators of {denominators}) than the stored audit used, so its interval "
    "must be recomputed from the data"
)
NO_EVIDENCE = "{metric}: the stored audit holds no interval for its {direction} bound"


@dataclass(frozen=True)
class Rejudged:
    """The verdict an audit would get under a policy, as far as its stored evidence decides.

    ``verdict`` is None when some check cannot be decided from the report and no decided
    check FAILs (one FAIL fails the audit whatever the others say). ``undecided`` says why.
    """

    verdict: Verdict | None
    checks: tuple[tuple[str, Verdict], ...]
    inconclusive: tuple[str, ...]
    undecided: tuple[str, ...]


def _same_rule(view: EvidenceRuleView, rule: EvidenceRule) -> bool:
    return (
        float(view.confidence_level) == rule.confidence_level
        and view.min_group_size == rule.min_group_size
        and view.min_denominator == rule.min_denominator
    )


def _number(value: Number | None) -> float:
    return math.nan if value is None else float(value)


def _measurement(
    values: list[float], lows: list[float], highs: list[float], ok: list[bool]
) -> Measurement:
    return Measurement(np.array(values), np.array(lows), np.array(highs), np.array(ok))


def _compared_groups(audit: AuditView, entry: DisparityView) -> int:
    return sum(
        1 for g in audit.groups if g.grouping == entry.grouping and g.control == entry.control
    )


def _from_disparities(audit: AuditView, threshold: Threshold) -> Measurement | None:
    info = metric_info(threshold.metric)
    agg = threshold.agg if len(info.bases) == 2 and not info.signed else None
    entries = [
        d
        for d in audit.disparities
        if d.metric == threshold.metric
        and d.method == threshold.method
        and d.agg == agg
        and d.grouping == list(audit.sensitive_features)
    ]
    if not entries:
        return None
    return _measurement(
        [_number(d.judged_value) for d in entries],
        [math.nan if d.ci is None else _number(d.ci.low) for d in entries],
        [math.nan if d.ci is None else _number(d.ci.high) for d in entries],
        [_compared_groups(audit, d) - len(d.unreliable_groups) >= 2 for d in entries],
    )


def _stored_check(audit: AuditView, threshold: Threshold, rule: EvidenceRule) -> CheckView | None:
    for check in audit.checks:
        t = check.threshold
        if (
            t.metric == threshold.metric
            and t.direction == threshold.direction
            and t.method == threshold.method
            and t.features is None
            and _same_rule(check.evidence_rule, rule)
        ):
            return check
    return None


def _from_check(audit: AuditView, threshold: Threshold, rule: EvidenceRule) -> Measurement | None:
    """A base metric's stored check: exact when the audit had one entry (one label, no
    control levels) and the check used the same direction and rule."""
    if audit.task != "binary" or audit.control_features:
        return None
    check = _stored_check(audit, threshold, rule)
    if check is None:
        return None
    needed = 1 if metric_info(threshold.metric).kind == "base" else 2
    return _measurement(
        [_number(check.value)],
        [math.nan if check.ci is None else _number(check.ci.low)],
        [math.nan if check.ci is None else _number(check.ci.high)],
        [(check.n_judged_groups or 0) >= needed],
    )


def _evidence_for(audit: AuditView, threshold: Threshold, rule: EvidenceRule) -> Measurement | str:
    is_disparity = metric_info(threshold.metric).kind != "base"
    if is_disparity and _same_rule(audit.evidence_rule, rule):
        found = _from_disparities(audit, threshold)
        if found is not None:
            return found
    found = _from_check(audit, threshold, rule)
    if found is not None:
        return found
    if not _same_rule(audit.evidence_rule, rule) or is_disparity:
        return RULE_CHANGED.format(
            metric=threshold.metric,
            confidence=f"{rule.confidence_level:g}",
            groups=rule.min_group_size,
            denominators=rule.min_denominator,
        )
    return NO_EVIDENCE.format(metric=threshold.metric, direction=threshold.direction)


def rejudge(audit: AuditView, snapshot: PolicySnapshot) -> Rejudged:
    """The verdict of a stored audit under ``snapshot``'s thresholds and evidence rules.

    Examples
    --------
    >>> rejudge(report.model.audit, proposed_snapshot).verdict  # doctest: +SKIP
    <Verdict.FAIL: 'FAIL'>
    """
    default = evidence_rule(snapshot.evidence)
    checks: list[tuple[str, Verdict]] = []
    undecided: list[str] = []
    for threshold in governed_thresholds(snapshot):
        evidence = _evidence_for(audit, threshold, threshold.evidence or default)
        if isinstance(evidence, str):
            undecided.append(evidence)
        else:
            checks.append((threshold.metric, judge(threshold, evidence).verdict))
    verdicts = [v for _, v in checks]
    verdict = None if undecided and Verdict.FAIL not in verdicts else overall_verdict(verdicts)
    inconclusive = [m for m, v in checks if v == Verdict.INCONCLUSIVE]
    return Rejudged(verdict, tuple(checks), tuple(dict.fromkeys(inconclusive)), tuple(undecided))
