"""Thresholds and the rules that turn a measured value into a verdict."""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal

import numpy as np

from bias_checks._disparities import AGGS, METHODS, Agg, Method
from bias_checks._errors import InvalidThresholdError
from bias_checks.catalogue import BoundDirection, metric_info

CiPolicy = Literal["point", "conservative"]


class Verdict(enum.StrEnum):
    """The outcome of a check or of a whole audit."""

    PASS = "PASS"
    FAIL = "FAIL"
    INCONCLUSIVE = "INCONCLUSIVE"


def overall_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """Combine check verdicts: any FAIL fails; else any INCONCLUSIVE; else PASS.

    Parameters
    ----------
    verdicts : sequence of Verdict

    Returns
    -------
    Verdict

    Examples
    --------
    >>> overall_verdict([Verdict.PASS, Verdict.INCONCLUSIVE]).value
    'INCONCLUSIVE'
    """
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in verdicts:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


@dataclass(frozen=True)
class Threshold:
    """A bound on one catalogue metric that a model must meet.

    Parameters
    ----------
    metric : str
        A name from :data:`bias_checks.METRICS`.
    bound : float
        The bound. An upper bound passes when ``value <= bound``, a lower bound when
        ``value >= bound``.
    direction : {"upper", "lower"}, optional
        Defaults to the catalogue's sensible direction for the metric.
    ci_policy : {"point", "conservative"}, default "point"
        ``point`` judges the point estimate; ``conservative`` judges the end of the confidence
        interval on the unsafe side (the upper end for an upper bound), so a model passes
        only if the whole interval is within the bound.
    method : {"between_groups", "to_overall", "to_reference"}, default "between_groups"
        How a disparity compares groups (ignored for base metrics).
    agg : {"worst_case", "mean"}, default "worst_case"
        How equalized odds combines its TPR and FPR parts (ignored otherwise).
    features : tuple of str, optional
        The sensitive features whose groups are compared: all of them (the intersectional
        groups, the default) or a single one (its marginal groups).

    Examples
    --------
    >>> Threshold("demographic_parity_difference", 0.1).direction
    'upper'
    >>> Threshold("accuracy", 0.8, ci_policy="conservative").direction
    'lower'
    """

    metric: str
    bound: float
    _: KW_ONLY
    direction: BoundDirection | None = None
    ci_policy: CiPolicy = "point"
    method: Method = "between_groups"
    agg: Agg = "worst_case"
    features: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        info = metric_info(self.metric)
        if self.direction is None:
            object.__setattr__(self, "direction", info.bound)
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        valid = (
            isinstance(self.bound, (int, float))
            and not isinstance(self.bound, bool)
            and math.isfinite(self.bound)
            and self.direction in ("upper", "lower")
            and self.ci_policy in ("point", "conservative")
            and self.method in METHODS
            and self.agg in AGGS
        )
        if not valid:
            raise InvalidThresholdError(metric=self.metric)
        object.__setattr__(self, "bound", float(self.bound))

    @property
    def unsafe_direction(self) -> BoundDirection:
        """The direction in which values get worse (``upper`` for an upper bound)."""
        return "upper" if self.direction == "upper" else "lower"

    def violated_by(self, value: float) -> bool:
        """Whether ``value`` breaks the bound (NaN never does; it is judged elsewhere)."""
        return value > self.bound if self.direction == "upper" else value < self.bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "bound": self.bound,
            "direction": self.direction,
            "ci_policy": self.ci_policy,
            "method": self.method,
            "agg": self.agg,
            "features": None if self.features is None else list(self.features),
        }


@dataclass(frozen=True)
class Measurement:
    """What a threshold is judged on: one entry per label and control level."""

    values: np.ndarray[Any, Any]
    ci_low: np.ndarray[Any, Any]
    ci_high: np.ndarray[Any, Any]
    reliable_values: np.ndarray[Any, Any]
    judgeable: np.ndarray[Any, Any]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    entry: int
    judged_value: float


def _worst(values: np.ndarray[Any, Any], direction: BoundDirection) -> int:
    if direction == "upper":
        return int(np.where(np.isnan(values), -np.inf, values).argmax())
    return int(np.where(np.isnan(values), np.inf, values).argmin())


def judge(threshold: Threshold, measurement: Measurement) -> Judgement:
    """Decide PASS, FAIL or INCONCLUSIVE for one threshold.

    Order of rules: an undefined value is INCONCLUSIVE. If some compared group is too small
    or has the metric undefined, the check FAILs if it already fails on the reliable groups
    alone, and is INCONCLUSIVE otherwise (never a silent pass on a zero). Otherwise the point
    value or, under ``conservative``, the unsafe end of the CI decides; a missing CI is
    INCONCLUSIVE.
    """
    direction = threshold.unsafe_direction
    values = measurement.values
    if np.isnan(values).any():
        entry = int(np.flatnonzero(np.isnan(values))[0])
        return Judgement(Verdict.INCONCLUSIVE, "undefined_value", entry, math.nan)
    if not measurement.judgeable.all():
        reliable = measurement.reliable_values
        entry = _worst(reliable, direction)
        judged = float(reliable[entry])
        if not math.isnan(judged) and threshold.violated_by(judged):
            return Judgement(Verdict.FAIL, "fails_on_reliable_groups", entry, judged)
        entry = _worst(values, direction)
        return Judgement(Verdict.INCONCLUSIVE, "unreliable_groups", entry, float(values[entry]))
    if threshold.ci_policy == "point":
        judged_values = values
    else:
        judged_values = measurement.ci_high if direction == "upper" else measurement.ci_low
        if np.isnan(judged_values).any():
            entry = _worst(values, direction)
            return Judgement(Verdict.INCONCLUSIVE, "no_confidence_interval", entry, math.nan)
    entry = _worst(judged_values, direction)
    judged = float(judged_values[entry])
    if threshold.violated_by(judged):
        return Judgement(Verdict.FAIL, "exceeds_bound", entry, judged)
    return Judgement(Verdict.PASS, "within_bound", entry, judged)
