"""Errors of typed policy actions (metrics, thresholds, evidence rules, mitigation), snapshots."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from bias_checks import (
    ConfidenceLevelMistake,
    MinimumSizeMistake,
    NoIntervalMistake,
    OnInconclusiveMistake,
    UnknownMetricMistake,
)
from core.errors import ErrorCategory
from governance.errors._base import GovernanceError


class UnknownMetric(UnknownMetricMistake, GovernanceError):
    """A threshold names a metric that the bias_checks catalogue does not know."""

    def __init__(self, metric: str) -> None:
        super().__init__(
            f"unknown fairness metric {metric!r}: use a name from the bias_checks metric "
            "catalogue, for example 'demographic_parity_difference'",
            metric=metric,
        )


class InvalidMetricName(GovernanceError):
    """A metric name cannot be stored on chain as bytes32."""

    code: ClassVar[str] = "invalid_metric_name"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, metric: str, problem: str) -> None:
        super().__init__(
            f"the metric name {metric!r} cannot be stored on chain: {problem}",
            metric=metric,
            problem=problem,
        )


class InvalidThresholdValue(GovernanceError):
    """A threshold value is not a finite number with at most six decimals that fits int256."""

    code: ClassVar[str] = "invalid_threshold_value"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(
            f"the threshold value {value} is invalid: {problem}", value=value, problem=problem
        )


class ThresholdOutOfRange(GovernanceError):
    """A threshold's bound lies outside the values its metric can take.

    Such a bound could never be met (``demographic_parity_difference <= -0.1``) or never
    fail, and the engine refuses it, so every governed audit under it would stop.
    """

    code: ClassVar[str] = "threshold_out_of_range"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, metric: str, value: str, direction: str, low: float, high: float) -> None:
        operator = "<=" if direction == "upper" else ">="
        never_met = (direction == "upper" and float(value) < low) or (
            direction == "lower" and float(value) > high
        )
        outcome = "meet" if never_met else "fail"
        hint = (
            " (only directional metrics such as statistical_parity_difference go below 0)"
            if float(value) < 0 <= low
            else ""
        )
        super().__init__(
            f"the threshold {metric} {operator} {value} is out of range: {metric} takes values "
            f"from {low:g} to {high:g}, so no model could ever {outcome} it; propose a bound in "
            f"that range{hint}",
            metric=metric,
            value=value,
            direction=direction,
            low=low,
            high=high,
        )


def _shown(value: object, limit: int = 40) -> str:
    """``value`` as text for a one-line message, cut after ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class InvalidConfidenceLevel(ConfidenceLevelMistake, GovernanceError):
    """An evidence rule's confidence level is not strictly between 0.5 and 1 (six decimals)."""

    def __init__(self, value: str, problem: str) -> None:
        value = _shown(value)
        super().__init__(
            f"the confidence level {value} is invalid: {problem}; use a number strictly "
            "between 0.5 and 1 with at most six decimals, for example 0.95",
            value=value,
            problem=problem,
        )


class InvalidMinimumSize(MinimumSizeMistake, GovernanceError):
    """An evidence rule's minimum group size or denominator is negative or too large."""

    def __init__(self, parameter: str, value: object) -> None:
        value = _shown(repr(value))
        super().__init__(
            f"{parameter} {value} is invalid: use a whole number from 0 to {2**64 - 1}",
            parameter=parameter,
            value=value,
        )


class InvalidOnInconclusive(OnInconclusiveMistake, GovernanceError):
    """An evidence rule's ``on_inconclusive`` is neither ``block`` nor ``approve_with_warning``."""

    def __init__(self, value: object) -> None:
        value = _shown(repr(value))
        super().__init__(
            f"on_inconclusive {value} is invalid: use 'block' (the safe default) or "
            "'approve_with_warning'",
            value=value,
        )


class MetricHasNoInterval(NoIntervalMistake, GovernanceError):
    """An evidence rule names a metric that is exact, so it has no confidence interval."""

    def __init__(self, metric: str) -> None:
        super().__init__(
            f"the metric {metric!r} has no confidence interval, so no evidence rule applies "
            "to it: bound it with a plain threshold, or name a metric that is an estimate",
            metric=metric,
        )


class InvalidMitigation(GovernanceError):
    """A mitigation strategy was combined with a constraint it does not support."""

    code: ClassVar[str] = "invalid_mitigation"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, strategy: str, constraint: str, allowed: list[str]) -> None:
        choices = ", ".join(repr(c) for c in allowed)
        super().__init__(
            f"mitigation {strategy!r} does not take the constraint {constraint!r}: "
            f"use one of {choices}",
            strategy=strategy,
            constraint=constraint,
            allowed=allowed,
        )


class PolicyLacksEvidenceRule(GovernanceError):
    """The deployed TrainingPolicy predates evidence rules (an older contract)."""

    code: ClassVar[str] = "policy_lacks_evidence_rule"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, policy: str, path: Path | None = None) -> None:
        where = "the data directory's deployment.json" if path is None else str(path)
        super().__init__(
            f"the TrainingPolicy {policy} predates evidence rules, so no audit may run under "
            f"it: move {where} aside and run `fairgov run` to deploy the current contracts, "
            "then propose the datasets and thresholds again",
            policy=policy,
        )


class SnapshotUnavailable(GovernanceError):
    """The policy cannot be read at the requested block."""

    code: ClassVar[str] = "snapshot_unavailable"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, policy: str, block: str, problem: str) -> None:
        super().__init__(
            f"cannot read the TrainingPolicy {policy} at block {block}: {problem}",
            policy=policy,
            block=block,
            problem=problem,
        )
