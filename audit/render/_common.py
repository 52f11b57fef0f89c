"""Plain-English wording and views of report data shared by every rendering."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from audit.report_model import (
    CheckView,
    EvidenceRuleView,
    GroupRefView,
    IntervalView,
    ReportModel,
    ThresholdView,
)
from audit.violations import Violation, group_label, worst_violations
from bias_checks import OnInconclusive, Verdict, is_known_metric, metric_info

VERDICT_COLOURS: dict[str, str] = {
    Verdict.PASS: "#1a7f37",
    Verdict.FAIL: "#c62828",
    Verdict.INCONCLUSIVE: "#b26a00",
}
VERDICT_TINTS: dict[str, str] = {
    Verdict.PASS: "#e6f4ea",
    Verdict.FAIL: "#fdecea",
    Verdict.INCONCLUSIVE: "#fff4e0",
}

_BASE_WORDS = {
    "count": "number of rows",
    "selection_rate": "share predicted positive (selection rate)",
    "accuracy": "accuracy (share of correct predictions)",
    "true_positive_rate": "true positive rate (share of actual positives found)",
    "false_positive_rate": "false positive rate (share of actual negatives wrongly flagged)",
    "false_negative_rate": "false negative rate (share of actual positives missed)",
    "true_negative_rate": "true negative rate (share of actual negatives cleared)",
    "precision": "precision (share of positive predictions that are right)",
    "false_discovery_rate": "false discovery rate (share of positive predictions that are wrong)",
    "balanced_accuracy": "balanced accuracy",
    "mean_absolute_error": "mean absolute error",
    "root_mean_squared_error": "root mean squared error",
    "roc_auc": "ROC AUC (how well the scores rank positives above negatives)",
    "brier_score": "Brier score (mean squared error of the probabilities)",
    "calibration_error": "calibration error (mean probability minus share of positives)",
}
_SHORT_BASE = {
    "selection_rate": "selection rate",
    "true_positive_rate": "true positive rate",
    "false_positive_rate": "false positive rate",
    "false_negative_rate": "false negative rate",
    "true_negative_rate": "true negative rate",
    "false_discovery_rate": "false discovery rate",
    "mean_absolute_error": "mean absolute error",
    "root_mean_squared_error": "root mean squared error",
    "brier_score": "Brier score",
}
_METHOD_WORDS = {
    "between_groups": "between any two groups",
    "to_overall": "between a group and the whole population",
    "to_reference": "between a group and the reference group",
}
REASON_WORDS = {
    "within_bound": "the whole interval is within the bound",
    "exceeds_bound": "the whole interval is past the bound",
    "interval_straddles_bound": "the interval reaches both sides of the bound; more rows "
    "would decide it",
    "too_few_groups": "fewer than two groups (or not the reference group) have enough rows "
    "to judge",
    "no_interval": "no interval could be computed (bootstrap disabled or rate undefined)",
}


def short_base(metric: str) -> str:
    return _SHORT_BASE.get(metric, metric.replace("_", " "))


def plain_metric(metric: str, method: str = "between_groups", direction: str | None = None) -> str:
    """Describe a catalogue metric in plain words, for example 'gap in selection rate ...'."""
    if not is_known_metric(metric):
        return metric.replace("_", " ")
    info = metric_info(metric)
    if info.kind == "base":
        extreme = {"lower": "lowest", "upper": "highest"}.get(direction or info.bound, "")
        return f"{extreme} group " + _BASE_WORDS.get(metric, short_base(metric))
    bases = " or ".join(short_base(b) for b in info.bases)
    if info.signed:  # directional: a group against the reference group, the lowest wins
        if info.transform == "ratio":
            return f"lowest ratio of {bases} of a group to the reference group (1 means equal)"
        mean = "mean " if len(info.bases) > 1 else ""
        return f"lowest {mean}signed gap in {bases}, a group minus the reference group"
    where = _METHOD_WORDS.get(method, method)
    if info.transform == "difference":
        return f"largest gap in {bases} {where}"
    return f"smallest ratio of {bases} {where} (1 means equal)"


def check_words(threshold: ThresholdView) -> str:
    """Plain words for what a threshold measures."""
    return plain_metric(threshold.metric, threshold.method, threshold.direction)


def fmt(value: Any, digits: int = 3) -> str:
    """Format a number for people; NaN and missing values read 'n/a'."""
    if value is None or isinstance(value, bool):
        return "n/a"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return {"Infinity": "inf", "-Infinity": "-inf"}.get(value, "n/a")
    number = float(value)
    if math.isnan(number):
        return "n/a"
    if number.is_integer() and abs(number) >= 10:
        return str(int(number))
    return f"{number:.{digits}f}"


def num(value: Any) -> float:
    """A report number as a float (NaN for 'NaN', null and other non-numbers)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return {"Infinity": math.inf, "-Infinity": -math.inf}.get(str(value), math.nan)


def bound_text(threshold: ThresholdView) -> str:
    word = "at most" if threshold.direction == "upper" else "at least"
    return f"{word} {fmt(threshold.bound)}"


def percent(level: float) -> str:
    """A confidence level as people write it: 0.95 -> "95%", 0.999 -> "99.9%"."""
    return f"{level * 100:g}%"


def ci_text(ci: IntervalView | None) -> str:
    if ci is None:
        return "n/a"
    return f"{fmt(ci.low)} to {fmt(ci.high)}"


def check_ci_text(check: CheckView) -> str:
    """A check's interval with the confidence it was judged at (its own rule's, which a
    per-metric rule can make differ from the audit's)."""
    if check.ci is None:
        return "n/a"
    return f"{ci_text(check.ci)} ({percent(float(check.evidence_rule.confidence_level))})"


#: Warnings the notes already explain with their group named (:func:`small_group_notes`).
_EXPLAINED_WARNINGS = frozenset({"small_group", "undefined_rate"})

#: Header of the interval column: each cell names its own confidence level.
INTERVAL_HEADER = "Interval (confidence)"


def pair_text(pair: Sequence[GroupRefView] | None) -> str:
    if not pair:
        return "n/a"
    sides = [f"{group_label(s.group)} (n={s.count}): {fmt(s.value)}" for s in pair]
    return " vs ".join(sides)


def violation_text(v: Violation) -> str:
    groups = ", ".join(f"{g['group']} (n={g['count']})" for g in v.groups)
    sign = "<=" if v.direction == "upper" else ">="
    words = plain_metric(v.metric, direction=v.direction)
    base = f"{words} is {fmt(v.value)}, bound {sign} {fmt(v.bound)}"
    return f"{base}; groups {groups}" if groups else base


_REFERENCE_MODES = {"best": "the best group of each metric", "majority": "the largest group"}


def reference_words(data: ReportModel) -> str:
    """The audit's reference group in words: ``sex=Male, race=White``, or what it was chosen as."""
    reference = data.audit.config.get("reference_group")
    if isinstance(reference, dict):
        return ", ".join(f"{feature}={value}" for feature, value in reference.items())
    return _REFERENCE_MODES.get(str(reference), str(reference))


def reference_sentence(data: ReportModel) -> str | None:
    """The privileged group a governed audit compared with, named by the voted dataset
    manifest; None otherwise (so every earlier report renders byte for byte as before)."""
    if data.policy is None or not isinstance(data.audit.config.get("reference_group"), dict):
        return None
    return (
        "Directional measures (disparate impact, statistical parity difference, average odds "
        "difference and every comparison with a reference group) compare each group with the "
        f"privileged group the voted dataset manifest names: {reference_words(data)}."
    )


def verdict_sentence(data: ReportModel) -> str:
    """One plain-English sentence explaining the verdict."""
    checks = data.audit.checks
    total = len(checks)
    failed = sum(c.verdict == Verdict.FAIL for c in checks)
    unsure = sum(c.verdict == Verdict.INCONCLUSIVE for c in checks)
    verdict = data.verdict
    if total == 0:
        return "No fairness checks were set, so nothing was tested; this PASS means nothing."
    if verdict == Verdict.PASS:
        left_out = any(c.unreliable_groups for c in checks)
        return (
            f"All {total} fairness check{'s' if total > 1 else ''} passed: the whole "
            "confidence interval of every measured difference between groups is within its "
            "bound."
            + (
                " Groups too small to judge were left out; each check names them."
                if left_out
                else ""
            )
        )
    worst = worst_violations(data, 1)[0]
    words = plain_metric(worst.metric, direction=worst.direction)
    if verdict == Verdict.FAIL:
        return (
            f"{failed} of {total} fairness checks failed. The worst: the "
            f"{words} is {fmt(worst.value)}, but must be "
            f"{'at most' if worst.direction == 'upper' else 'at least'} {fmt(worst.bound)}."
        )
    needed = [
        c.rows_needed
        for c in checks
        if c.verdict == Verdict.INCONCLUSIVE and c.rows_needed is not None
    ]
    more = (
        f" With about {max(needed):,} rows in the smallest judged group (every group grown"
        " in proportion) they would be decided about half the time if the effects observed"
        " were the truth."
        if needed
        else ""
    )
    return (
        f"No check failed, but {unsure} of {total} cannot be decided: an interval reaches both "
        "sides of its bound, or too few groups have enough rows to judge; collect more data "
        f"for those groups.{more}"
    )


def evidence_rule_text(data: ReportModel) -> str:
    """The evidence rule the audit was judged under, in plain words."""
    rule = data.audit.evidence_rule
    action = (
        "blocks the model"
        if rule.on_inconclusive == OnInconclusive.BLOCK
        else "approves the model with a warning"
    )
    own = sorted({_own_rule_words(c, rule) for c in data.audit.checks if c.evidence_rule != rule})
    exceptions = f" (checks under their own voted rule: {'; '.join(own)})" if own else ""
    return (
        f"Evidence rule: intervals are at {percent(float(rule.confidence_level))} confidence"
        f"{exceptions}; a group is judged only with at least {rule.min_group_size} rows and "
        f"at least {rule.min_denominator} rows in a rate's denominator; an INCONCLUSIVE "
        f"verdict {action} at the gate."
    )


def _own_rule_words(check: CheckView, audit_rule: EvidenceRuleView) -> str:
    """What a check's own rule changes from the audit's: its level, and its minimums where
    they differ (a larger minimum leaves groups out of that check alone)."""
    rule = check.evidence_rule
    words = [f"{check.threshold.metric} at {percent(float(rule.confidence_level))}"]
    if rule.min_group_size != audit_rule.min_group_size:
        words.append(f"groups of at least {rule.min_group_size} rows")
    if rule.min_denominator != audit_rule.min_denominator:
        words.append(f"at least {rule.min_denominator} rows in a rate's denominator")
    return ", ".join(words)


def left_out_note(check: CheckView, *, limit: int | None = None) -> str | None:
    """The groups a check did not judge, with their sizes and the minimums they missed;
    None when it judged every group. With ``limit``, at most that many groups are named
    and the rest counted (a terminal summary; the renderings name them all)."""
    groups = check.unreliable_groups or []
    if not groups:
        return None
    rule = check.evidence_rule
    shown = groups if limit is None else groups[:limit]
    named = "; ".join(f"{group_label(g.group)} (n={g.count})" for g in shown)
    if len(shown) < len(groups):
        named += f" and {len(groups) - len(shown):,} more groups (all named in the report)"
    return (
        f"The {check_words(check.threshold)} did not judge {named}: a group is judged with at "
        f"least {rule.min_group_size} rows and {rule.min_denominator} in the rate's "
        "denominator, and only where the rate is defined."
    )


def caveats(data: ReportModel) -> list[str]:
    """Every note a rendering lists under its warnings, each once: :func:`small_group_notes`,
    each check's left-out groups, and the audit's other warnings (the small-group and
    undefined-rate ones are already in the notes, with their groups named)."""
    explained = {w.message for w in data.audit.warnings if w.code in _EXPLAINED_WARNINGS}
    left_out = [note for c in data.audit.checks if (note := left_out_note(c)) is not None]
    others = [w for w in data.warnings if w not in explained]
    return list(dict.fromkeys([*small_group_notes(data), *left_out, *others]))


def small_group_notes(data: ReportModel) -> list[str]:
    """Plain-words notes: the evidence rule, what would decide each INCONCLUSIVE check, each
    small group and each undefined rate."""
    notes = [evidence_rule_text(data)]
    for check in data.audit.checks:
        if check.verdict == Verdict.INCONCLUSIVE and check.rows_needed is not None:
            words = check_words(check.threshold)
            notes.append(
                f"The {words} cannot be decided yet: with about {check.rows_needed:,} rows "
                "in the smallest judged group (every group grown in proportion), it would be "
                "decided about half the time if the effect observed were the truth."
            )
    for warning in data.audit.warnings:
        details = warning.details
        group = details.get("group")
        if warning.code == "small_group" and group is not None:
            notes.append(
                f"Group {group_label(group)} has only {details.get('count')} rows (fewer than "
                f"{details.get('min_group_size')}), so its numbers are too uncertain to judge."
            )
        elif warning.code == "undefined_rate" and group is not None:
            metrics = details.get("metrics") or details.get("metric") or "a rate"
            if isinstance(metrics, list):
                metrics = ", ".join(short_base(str(m)) for m in metrics)
            notes.append(
                f"Group {group_label(group)}: {metrics} cannot be computed (no rows to divide "
                "by), so it is not judged."
            )
    return notes


@dataclass(frozen=True)
class GroupRow:
    grouping: str
    group: str
    count: int
    positives: int | None
    predicted_positives: int | None
    small: bool


def group_rows(data: ReportModel) -> list[GroupRow]:
    audit = data.audit
    pos = audit.pos_label

    def count_of(pairs: list[list[Any]]) -> int | None:
        if pos is None:
            return None
        return sum(int(c) for label, c in pairs if label == pos)

    return [
        GroupRow(
            grouping=" x ".join(g.grouping),
            group=group_label({**(g.control or {}), **g.group}),
            count=g.count,
            positives=count_of(g.true_label_counts),
            predicted_positives=count_of(g.predicted_label_counts),
            small=g.small,
        )
        for g in audit.groups
    ]


@dataclass(frozen=True)
class Series:
    """One chart: a base metric's values by group for one grouping, label and control level."""

    metric: str
    grouping: tuple[str, ...]
    label: Any
    control: dict[str, Any] | None
    bars: list[tuple[str, float, float, float, bool]]

    @property
    def title(self) -> str:
        parts = [short_base(self.metric).capitalize(), "by " + " x ".join(self.grouping)]
        if self.label is not None and self.metric != "selection_rate":
            parts.append(f"(class {self.label})")
        if self.control:
            parts.append(f"within {group_label(self.control)}")
        return " ".join(parts)


def metric_series(data: ReportModel, *, skip: tuple[str, ...] = ("count",)) -> list[Series]:
    """Group the per-group metric entries into chart series, in report order."""
    series: dict[tuple[Any, ...], Series] = {}
    for m in data.audit.metrics:
        if m.metric in skip:
            continue
        key = (m.metric, tuple(m.grouping), repr(m.label), repr(m.control))
        if key not in series:
            series[key] = Series(m.metric, tuple(m.grouping), m.label, m.control, [])
        series[key].bars.append(
            (
                group_label(m.group),
                num(m.value) if m.defined else math.nan,
                num(None if m.ci is None else m.ci.low),
                num(None if m.ci is None else m.ci.high),
                not m.reliable,
            )
        )
    return list(series.values())
