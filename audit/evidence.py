"""The voted evidence rule, from a frozen policy snapshot to the engine and the gate.

A governed run never chooses its own evidence rule: the confidence level, the minimum group
size and denominator, and what an INCONCLUSIVE verdict does at the gate all come from the
snapshot the run froze. A metric with its own rule on chain is judged by that rule; every
other metric by the default rule. The directional metrics (``disparate_impact``, ...)
compare every group with the privileged group the voted dataset manifest names
(``reference_group``), or with the largest group when it names none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from audit.reference import resolve_reference_in
from bias_checks import (
    AuditResult,
    EvidenceRule,
    OnInconclusive,
    Threshold,
    Verdict,
    audit_predictions,
)
from governance.policy.snapshot import EvidenceRuleEntry, PolicySnapshot, evidence_rule_for


def evidence_rule(entry: EvidenceRuleEntry) -> EvidenceRule:
    """The engine's :class:`~bias_checks.EvidenceRule` for one rule of a snapshot.

    Examples
    --------
    >>> evidence_rule(snapshot.evidence).confidence_level  # doctest: +SKIP
    0.95
    """
    return EvidenceRule(
        confidence_level=float(entry.confidence_level),
        min_group_size=entry.min_group_size,
        min_denominator=entry.min_denominator,
        on_inconclusive=OnInconclusive(entry.on_inconclusive),
    )


def governed_thresholds(snapshot: PolicySnapshot) -> list[Threshold]:
    """The snapshot's thresholds, each carrying its metric's override rule if it has one.

    Examples
    --------
    >>> [t.metric for t in governed_thresholds(snapshot)]  # doctest: +SKIP
    ['demographic_parity_difference']
    """
    thresholds = []
    for entry in snapshot.thresholds:
        override = next((r for r in snapshot.evidence_overrides if r.metric == entry.metric), None)
        thresholds.append(
            Threshold(
                entry.metric,
                float(entry.decimal),
                direction=entry.direction,
                evidence=None if override is None else evidence_rule(override),
            )
        )
    return thresholds


def audit_under_policy(
    snapshot: PolicySnapshot,
    y_true: Any,
    y_pred: Any,
    *,
    sensitive_features: Any,
    n_boot: int,
    random_state: int,
    y_score: Any | None = None,
    reference_group: Mapping[str, str] | None = None,
) -> AuditResult:
    """Audit predictions against the snapshot's thresholds under its evidence rules.

    ``y_score`` (the model's positive-class scores) lets voted thresholds on the score
    metrics (``roc_auc_difference``, ``brier_score``, ...) be judged; without it a voted
    threshold on one raises ``MetricNotApplicableError``. ``reference_group`` is the voted
    manifest's privileged group (one value, as text, per column of ``sensitive_features``);
    None compares with the largest group.

    Raises
    ------
    bias_checks.UnknownReferenceGroupError
        ``reference_group`` does not occur in ``sensitive_features`` (nothing is audited).

    Examples
    --------
    >>> result = audit_under_policy(snapshot, y_test, y_pred, sensitive_features=a_test,
    ...                             n_boot=200, random_state=0)  # doctest: +SKIP
    """
    return audit_predictions(
        y_true,
        y_pred,
        sensitive_features=sensitive_features,
        thresholds=governed_thresholds(snapshot),
        pos_label=1,
        n_boot=n_boot,
        random_state=random_state,
        evidence=evidence_rule(snapshot.evidence),
        y_score=y_score,
        reference_group=governed_reference(reference_group, sensitive_features),
    )


def governed_reference(
    reference_group: Mapping[str, str] | None, sensitive_features: Any
) -> Literal["majority"] | dict[str, Any]:
    """The engine's ``reference_group`` for a governed audit of rows grouped by
    ``sensitive_features``: the manifest's group, checked to occur, or ``"majority"``.

    Raises
    ------
    bias_checks.UnknownReferenceGroupError
        The group misses a sensitive feature, names another, or has no rows.

    Examples
    --------
    >>> governed_reference({"sex": "F"}, pd.DataFrame({"sex": ["F", "M"]}))
    {'sex': 'F'}
    >>> governed_reference(None, pd.DataFrame({"sex": ["F", "M"]}))
    'majority'
    """
    if reference_group is None:
        return "majority"
    frame = pd.DataFrame(sensitive_features)
    groups = frame.drop_duplicates().itertuples(index=False, name=None)
    resolved = resolve_reference_in(dict(reference_group), [str(c) for c in frame.columns], groups)
    assert not isinstance(resolved, str)
    return resolved


def inconclusive_metrics(result: AuditResult) -> list[str]:
    """The metrics whose checks came out INCONCLUSIVE, in check order, each once."""
    names = [c.threshold.metric for c in result.checks if c.verdict == Verdict.INCONCLUSIVE]
    return list(dict.fromkeys(names))


def on_inconclusive(snapshot: PolicySnapshot, metrics: Sequence[str]) -> OnInconclusive:
    """What the voted rules do with an INCONCLUSIVE audit whose undecided checks are ``metrics``.

    The model is approved with a warning only if the rule of every undecided metric says so;
    one rule that blocks blocks it. With no undecided check named, the default rule decides.

    Examples
    --------
    >>> on_inconclusive(snapshot, ["demographic_parity_difference"]).value  # doctest: +SKIP
    'block'
    """
    rules = [evidence_rule_for(snapshot, m) for m in metrics] or [snapshot.evidence]
    if all(r.on_inconclusive == OnInconclusive.APPROVE_WITH_WARNING.value for r in rules):
        return OnInconclusive.APPROVE_WITH_WARNING
    return OnInconclusive.BLOCK


def inconclusive_warning(metrics: Sequence[str]) -> str:
    """The warning an INCONCLUSIVE model approved under the voted rule carries."""
    which = ", ".join(metrics) if metrics else "the audit"
    return (
        f"approved with a warning: {which} INCONCLUSIVE, and the voted evidence rule "
        "approves INCONCLUSIVE models with a warning"
    )


def gate_rule(snapshot: PolicySnapshot, result: AuditResult) -> tuple[OnInconclusive, list[str]]:
    """What the gate does with ``result`` if it is INCONCLUSIVE, and the report's warnings.

    Examples
    --------
    >>> gate_rule(snapshot, result)  # doctest: +SKIP
    (<OnInconclusive.BLOCK: 'block'>, [])
    """
    undecided = inconclusive_metrics(result)
    outcome = on_inconclusive(snapshot, undecided)
    approved = outcome == OnInconclusive.APPROVE_WITH_WARNING
    if result.verdict == Verdict.INCONCLUSIVE and approved:
        return outcome, [inconclusive_warning(undecided)]
    return outcome, []
