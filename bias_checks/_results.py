"""Typed, immutable audit results that serialise to canonical JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bias_checks._checks import Threshold, Verdict
from bias_checks._evidence import EvidenceRule
from core.canonical import canonical_json, to_jsonable

if TYPE_CHECKING:
    from bias_checks._score_sweep import CutoffSweep

SCHEMA_VERSION = "2"

GroupKey = tuple[tuple[str, Any], ...]
"""A group as ``((feature, value), ...)`` pairs, in feature order."""


def _key(key: GroupKey | None) -> dict[str, Any] | None:
    return None if key is None else {name: value for name, value in key}


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` and how it was computed.

    ``method`` names the family of the construction: ``wilson`` (a rate), ``newcombe`` (a
    difference) or ``score_ratio`` (a ratio), simultaneous over the compared pairs: the end a
    FAIL rests on at the Neyman belt's or the simultaneous critical value, the end a PASS
    rests on at ``alpha / 2``, each comparison's limits the outer of that family's and the
    skewness-corrected score (SCAS) limits; ``..._bonferroni_over_components`` or
    ``..._mover_over_components`` (equalized odds, worst case or mean), ``bootstrap``
    (percentile, stratified) or ``exact`` (a count). ``docs/bias_checks.md`` ("Intervals:
    which number uses which, and why") gives each number's construction. Ends other than
    exact ones are rounded outward to 12 significant digits, so they do not depend on the
    CPU (:mod:`bias_checks._rounding`).
    """

    low: float
    high: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "method": self.method}


@dataclass(frozen=True)
class GroupSize:
    """How many rows a group has, and of which classes."""

    grouping: tuple[str, ...]
    control: GroupKey
    group: GroupKey
    count: int
    weight: float
    true_label_counts: tuple[tuple[Any, int], ...]
    predicted_label_counts: tuple[tuple[Any, int], ...]
    small: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "grouping": list(self.grouping),
            "control": _key(self.control),
            "group": _key(self.group),
            "count": self.count,
            "weight": self.weight,
            "true_label_counts": [list(p) for p in self.true_label_counts],
            "predicted_label_counts": [list(p) for p in self.predicted_label_counts],
            "small": self.small,
        }


@dataclass(frozen=True)
class GroupMetric:
    """One base metric in one group.

    ``defined`` is False when the metric's denominator is empty (the value is then NaN,
    where Fairlearn reports 0); ``reliable`` says whether the audit's evidence rule lets the
    group be judged on this metric. ``ci`` is Wilson's interval for a rate (effective size
    with weights) and the bootstrap percentile interval otherwise, at the rule's confidence.
    """

    metric: str
    label: Any
    grouping: tuple[str, ...]
    control: GroupKey
    group: GroupKey
    value: float
    ci: Interval | None
    defined: bool
    reliable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "grouping": list(self.grouping),
            "control": _key(self.control),
            "group": _key(self.group),
            "value": self.value,
            "ci": None if self.ci is None else self.ci.to_dict(),
            "defined": self.defined,
            "reliable": self.reliable,
        }


@dataclass(frozen=True)
class OverallMetric:
    """One base metric over all rows (of one control level)."""

    metric: str
    label: Any
    control: GroupKey
    value: float
    ci: Interval | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "control": _key(self.control),
            "value": self.value,
            "ci": None if self.ci is None else self.ci.to_dict(),
        }


@dataclass(frozen=True)
class GroupRef:
    """A side of a comparison: a group (``None`` means the overall population) and its size."""

    group: GroupKey | None
    count: int
    value: float

    def to_dict(self) -> dict[str, Any]:
        return {"group": _key(self.group), "count": self.count, "value": self.value}


@dataclass(frozen=True)
class Disparity:
    """One disparity for one grouping, label and control level.

    ``value`` and ``pair`` are Fairlearn's, over every group that has the metric defined.
    ``judged_value``, ``ci`` and ``judged_pair`` are over the groups the audit's evidence rule
    can judge (the numbers a check on this disparity uses); ``unreliable_groups`` lists the
    others with their sizes.
    """

    metric: str
    method: str
    agg: str | None
    grouping: tuple[str, ...]
    label: Any
    control: GroupKey
    value: float
    pair: tuple[GroupRef, GroupRef]
    judged_value: float
    ci: Interval | None
    judged_pair: tuple[GroupRef, GroupRef] | None
    reference: GroupKey | None
    unreliable_groups: tuple[GroupRef, ...]

    @property
    def judgeable(self) -> bool:
        """Whether every compared group is large enough and has the rates defined."""
        return not self.unreliable_groups

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "method": self.method,
            "agg": self.agg,
            "grouping": list(self.grouping),
            "label": self.label,
            "control": _key(self.control),
            "value": self.value,
            "pair": [side.to_dict() for side in self.pair],
            "judged_value": self.judged_value,
            "ci": None if self.ci is None else self.ci.to_dict(),
            "judged_pair": None
            if self.judged_pair is None
            else [side.to_dict() for side in self.judged_pair],
            "reference": _key(self.reference),
            "unreliable_groups": [g.to_dict() for g in self.unreliable_groups],
            "judgeable": self.judgeable,
        }


@dataclass(frozen=True)
class CheckResult:
    """The verdict on one threshold and the evidence it was judged on.

    ``value``, ``ci`` and ``pair`` are computed over the judged groups only (those the
    evidence rule lets be judged) and are exactly what the verdict compared with the bound;
    ``value_all_groups`` is Fairlearn's value over every group, for reference.
    ``unreliable_groups`` lists the groups left out, with their sizes. ``reason`` is one of
    ``within_bound``, ``exceeds_bound``, ``interval_straddles_bound``, ``too_few_groups``
    and ``no_interval``. ``rows_needed`` (INCONCLUSIVE only) estimates how many rows the
    smallest judged group would need for the interval to clear the bound at the observed
    effect; ``None`` when no size would decide it.
    """

    threshold: Threshold
    verdict: Verdict
    reason: str
    value: float
    ci: Interval | None
    label: Any
    control: GroupKey
    pair: tuple[GroupRef, GroupRef] | None
    unreliable_groups: tuple[GroupRef, ...]
    value_all_groups: float
    n_judged_groups: int
    rows_needed: int | None
    evidence_rule: EvidenceRule

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.threshold.to_dict(),
            "verdict": self.verdict.value,
            "reason": self.reason,
            "value": self.value,
            "ci": None if self.ci is None else self.ci.to_dict(),
            "label": self.label,
            "control": _key(self.control),
            "pair": None if self.pair is None else [side.to_dict() for side in self.pair],
            "unreliable_groups": [g.to_dict() for g in self.unreliable_groups],
            "value_all_groups": self.value_all_groups,
            "n_judged_groups": self.n_judged_groups,
            "rows_needed": self.rows_needed,
            "evidence_rule": self.evidence_rule.to_dict(),
        }


@dataclass(frozen=True)
class AuditWarning:
    """Something a reader of the report should know; ``code`` is stable."""

    code: str
    message: str
    details: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": dict(self.details)}


@dataclass(frozen=True)
class CustomMetricResult:
    """A metric computed by Fairlearn's MetricFrame (not derivable from counts); no CIs."""

    metric: str
    by_group: tuple[tuple[GroupKey, GroupKey, float], ...]
    overall: tuple[tuple[GroupKey, float], ...]
    disparities: tuple[tuple[str, str, GroupKey, float], ...]
    undefined: tuple[tuple[GroupKey, GroupKey, str], ...] = ()
    """Groups where the metric is undefined (value NaN), with the reason."""

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "metric": self.metric,
            "by_group": [
                {"control": _key(c), "group": _key(g), "value": v} for c, g, v in self.by_group
            ],
            "overall": [{"control": _key(c), "value": v} for c, v in self.overall],
            "disparities": [
                {"transform": t, "method": m, "control": _key(c), "value": v}
                for t, m, c, v in self.disparities
            ],
        }
        if self.undefined:
            data["undefined"] = [
                {"control": _key(c), "group": _key(g), "reason": r} for c, g, r in self.undefined
            ]
        return data


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit found, in a deterministic order.

    Same inputs and the same ``random_state`` give identical :meth:`to_canonical_json` bytes.
    """

    task: str
    classes: tuple[Any, ...]
    pos_label: Any
    n_rows: int
    total_weight: float
    weighted: bool
    sensitive_features: tuple[str, ...]
    control_features: tuple[str, ...]
    config: tuple[tuple[str, Any], ...]
    groups: tuple[GroupSize, ...]
    overall: tuple[OverallMetric, ...]
    metrics: tuple[GroupMetric, ...]
    disparities: tuple[Disparity, ...]
    checks: tuple[CheckResult, ...]
    verdict: Verdict
    warnings: tuple[AuditWarning, ...]
    evidence_rule: EvidenceRule
    custom_metrics: tuple[CustomMetricResult, ...] = ()
    cutoff_sweep: CutoffSweep | None = None
    """Each group's rates across cutoffs, when the audit had scores."""

    def to_dict(self) -> dict[str, Any]:
        """Return plain, JSON-ready data (canonical conventions applied)."""
        data = {
            "schema_version": SCHEMA_VERSION,
            "task": self.task,
            "classes": list(self.classes),
            "pos_label": self.pos_label,
            "n_rows": self.n_rows,
            "total_weight": self.total_weight,
            "weighted": self.weighted,
            "sensitive_features": list(self.sensitive_features),
            "control_features": list(self.control_features),
            "config": dict(self.config),
            "evidence_rule": self.evidence_rule.to_dict(),
            "groups": [g.to_dict() for g in self.groups],
            "overall": [m.to_dict() for m in self.overall],
            "metrics": [m.to_dict() for m in self.metrics],
            "disparities": [d.to_dict() for d in self.disparities],
            "checks": [c.to_dict() for c in self.checks],
            "verdict": self.verdict.value,
            "warnings": [w.to_dict() for w in self.warnings],
            "custom_metrics": [c.to_dict() for c in self.custom_metrics],
        }
        if self.cutoff_sweep is not None:  # absent without scores: older report bytes hold
            data["cutoff_sweep"] = self.cutoff_sweep.to_dict()
        result: dict[str, Any] = to_jsonable(data)
        return result

    def to_canonical_json(self) -> bytes:
        """Return the canonical JSON bytes (see :mod:`bias_checks` for the conventions)."""
        return canonical_json(self.to_dict())

    def disparity(
        self,
        metric: str,
        *,
        method: str = "between_groups",
        agg: str | None = None,
        grouping: Sequence[str] | None = None,
    ) -> tuple[Disparity, ...]:
        """Return the disparity entries (one per label and control level) for a metric."""
        if agg is None and metric.startswith("equalized_odds"):
            agg = "worst_case"
        wanted = tuple(grouping) if grouping is not None else self.sensitive_features
        return tuple(
            d
            for d in self.disparities
            if d.metric == metric and d.method == method and d.agg == agg and d.grouping == wanted
        )

    def group_metrics(
        self, metric: str, *, grouping: Sequence[str] | None = None
    ) -> tuple[GroupMetric, ...]:
        """Return the per-group entries of a base metric for one grouping."""
        wanted = tuple(grouping) if grouping is not None else self.sensitive_features
        return tuple(m for m in self.metrics if m.metric == metric and m.grouping == wanted)
