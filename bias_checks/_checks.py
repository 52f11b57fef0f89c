"""Thresholds and the three-way rule that turns an interval into a verdict.

A check PASSes when its whole confidence interval lies within the bound, FAILs when the whole
interval lies beyond it, and is INCONCLUSIVE otherwise: the data cannot tell. An
INCONCLUSIVE check estimates how many rows per group would decide it at the observed effect.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any

import numpy as np

from bias_checks._disparities import AGGS, METHODS, Agg, Method
from bias_checks._errors import BOUND_OUTSIDE_RANGE, InvalidThresholdError, MetricHasNoIntervalError
from bias_checks._evidence import EvidenceRule
from bias_checks._rounding import SAME
from bias_checks.catalogue import BoundDirection, metric_info


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
        The bound. An upper bound holds when ``value <= bound``, a lower bound when
        ``value >= bound``; the verdict compares the whole confidence interval with it.
    direction : {"upper", "lower"}, optional
        Defaults to the catalogue's sensible direction for the metric.
    method : {"between_groups", "to_overall", "to_reference"}, default "between_groups"
        How a disparity compares groups (ignored for base metrics; a directional metric,
        ``MetricInfo.signed``, always compares with the reference group: ``to_reference``).
    agg : {"worst_case", "mean"}, default "worst_case"
        How equalized odds combines its TPR and FPR parts (ignored otherwise).
    features : tuple of str, optional
        The sensitive features whose groups are compared: all of them (the intersectional
        groups, the default) or a single one (its marginal groups).
    evidence : EvidenceRule, optional
        Overrides the audit's evidence rule for this check. A metric without an interval
        (``count`` and its disparities) cannot have one.

    Raises
    ------
    MetricHasNoIntervalError
        If ``evidence`` is given for a metric that has no interval.

    Examples
    --------
    >>> Threshold("demographic_parity_difference", 0.1).direction
    'upper'
    >>> Threshold("accuracy", 0.8, evidence=EvidenceRule(confidence_level=0.9)).direction
    'lower'
    """

    metric: str
    bound: float
    _: KW_ONLY
    direction: BoundDirection | None = None
    method: Method = "between_groups"
    agg: Agg = "worst_case"
    features: tuple[str, ...] | None = None
    evidence: EvidenceRule | None = None

    def __post_init__(self) -> None:
        info = metric_info(self.metric)
        if self.direction is None:
            object.__setattr__(self, "direction", info.bound)
        if self.features is not None:
            object.__setattr__(self, "features", tuple(self.features))
        if info.signed:
            object.__setattr__(self, "method", "to_reference")
        valid = (
            isinstance(self.bound, (int, float))
            and not isinstance(self.bound, bool)
            and math.isfinite(self.bound)
            and self.direction in ("upper", "lower")
            and self.method in METHODS
            and self.agg in AGGS
            and (self.evidence is None or isinstance(self.evidence, EvidenceRule))
        )
        if not valid:
            raise InvalidThresholdError(metric=self.metric)
        if self.evidence is not None and not info.has_interval:
            raise MetricHasNoIntervalError(metric=self.metric)
        low, high = info.value_range
        if not low <= self.bound <= high:
            raise InvalidThresholdError(
                BOUND_OUTSIDE_RANGE.format(low=f"{low:g}", high=f"{high:g}"),
                metric=self.metric,
                bound=self.bound,
            )
        object.__setattr__(self, "bound", float(self.bound))

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "bound": self.bound,
            "direction": self.direction,
            "method": self.method,
            "agg": self.agg,
            "features": None if self.features is None else list(self.features),
            "evidence": None if self.evidence is None else self.evidence.to_dict(),
        }


@dataclass(frozen=True)
class Measurement:
    """What a threshold is judged on: one entry per label and control level.

    ``low`` and ``high`` hold the interval (equal to ``values`` for an exact metric, NaN when
    no interval exists); ``judgeable`` says whether enough groups could be judged.
    """

    values: np.ndarray[Any, Any]
    low: np.ndarray[Any, Any]
    high: np.ndarray[Any, Any]
    judgeable: np.ndarray[Any, Any]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    entry: int


def entry_verdicts(threshold: Threshold, measurement: Measurement) -> list[tuple[Verdict, str]]:
    """The three-way verdict and its reason for every entry."""
    out = []
    upper = threshold.direction == "upper"
    bound = threshold.bound
    for value, low, high, ok in zip(
        measurement.values, measurement.low, measurement.high, measurement.judgeable, strict=True
    ):
        if not ok:
            out.append((Verdict.INCONCLUSIVE, "too_few_groups"))
        elif math.isnan(value) or math.isnan(low) or math.isnan(high):
            out.append((Verdict.INCONCLUSIVE, "no_interval"))
        elif (high <= bound) if upper else (low >= bound):
            out.append((Verdict.PASS, "within_bound"))
        elif (low > bound) if upper else (high < bound):
            out.append((Verdict.FAIL, "exceeds_bound"))
        else:
            out.append((Verdict.INCONCLUSIVE, "interval_straddles_bound"))
    return out


def judge(threshold: Threshold, measurement: Measurement) -> Judgement:
    """Decide PASS, FAIL or INCONCLUSIVE for one threshold over all its entries.

    Any FAILing entry fails the check (the worst such entry is shown); else any INCONCLUSIVE
    entry makes it INCONCLUSIVE; else it PASSes and the worst entry is shown.
    """
    verdicts = entry_verdicts(threshold, measurement)
    values = measurement.values
    sign = 1.0 if threshold.direction == "upper" else -1.0
    for wanted in (Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.PASS):
        entries = [i for i, (v, _) in enumerate(verdicts) if v == wanted]
        if entries:
            scores = [sign * values[i] if not math.isnan(values[i]) else -math.inf for i in entries]
            entry = entries[int(np.argmax(scores))]
            return Judgement(wanted, verdicts[entry][1], entry)
    raise AssertionError("a threshold has at least one entry")


def rows_needed(
    threshold: Threshold, value: float, low: float, high: float, smallest: int
) -> int | None:
    """Rows per group that would decide an INCONCLUSIVE check at the observed effect.

    An interval's half-width shrinks like ``1/sqrt(n)``. The side of the interval that
    crosses the bound must shrink to the distance between the value and the bound, so every
    judged group must grow by ``(half-width / distance)**2``; the estimate is given for the
    smallest judged group (``smallest`` rows). ``None`` when the value sits on the bound (no
    sample size decides it) or the interval is undefined.
    """
    if math.isnan(value) or math.isnan(low) or math.isnan(high) or smallest <= 0:
        return None
    distance = abs(value - threshold.bound)
    if distance <= SAME * max(1.0, abs(threshold.bound)):  # on the bound but for rounding
        return None
    upper = threshold.direction == "upper"
    within = value <= threshold.bound if upper else value >= threshold.bound
    half = (high - value) if within == upper else (value - low)
    factor = (max(half, 0.0) / distance) ** 2
    needed = smallest * factor
    return max(math.ceil(needed * (1 - SAME)), smallest + 1)  # 112.00000000000001 is 112
