"""The catalogue of fairness metrics that thresholds may name.

Governance validates the metric names of proposals against :data:`METRICS` and stores them on
chain as ``bytes32``, so every name is ASCII and at most 32 bytes long. This module is pure
Python (no numpy) so that governance can import it cheaply.

Names follow Fairlearn: per-group *base* metrics (``selection_rate``, ``true_positive_rate``,
...) and *disparities* between groups (``demographic_parity_difference``,
``<base>_difference``, ``<base>_ratio``, ...). The two regression error disparities use the
short stems ``mae`` and ``rmse`` because ``root_mean_squared_error_difference`` would not fit
in 32 bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from bias_checks._errors import UnknownMetricError

MetricKind = Literal["base", "disparity"]
BoundDirection = Literal["upper", "lower"]
Task = Literal["classification", "regression"]
Transform = Literal["difference", "ratio"]

MAX_NAME_BYTES = 32
_TRANSFORMS: tuple[Transform, ...] = ("difference", "ratio")


@dataclass(frozen=True)
class MetricInfo:
    """What the catalogue knows about one metric.

    Attributes
    ----------
    name : str
        The catalogue name, ASCII, at most 32 bytes.
    kind : {"base", "disparity"}
        ``base`` metrics have one value per group; ``disparity`` metrics compare groups.
    bound : {"upper", "lower"}
        The bound direction that makes sense: ``upper`` when smaller is fairer or better
        (differences, error rates), ``lower`` when larger is (ratios, accuracy).
    task : {"classification", "regression"}
        The kind of predictions the metric applies to.
    bases : tuple of str
        The base metrics a disparity compares (two for equalized odds); ``(name,)`` for a base
        metric.
    transform : {"difference", "ratio"} or None
        How a disparity compares groups; ``None`` for base metrics.
    description : str
        One sentence for humans.
    signed : bool
        Whether a disparity is *directional*: a signed difference (can be negative) or an
        unclipped ratio (can exceed 1) of each group against the reference (privileged) group,
        as AIF360 defines them; the worst case is the smallest value. ``False`` for Fairlearn's
        folded disparities.
    needs_scores : bool
        Whether the metric is computed from scores or probabilities (``y_score``, or
        ``y_pred`` with a ``cutoff``) rather than from predicted labels: ``roc_auc``,
        ``brier_score``, ``calibration_error`` and their disparities.
    has_interval : bool
        Whether the metric is an estimate with a confidence interval. ``count`` and its
        disparities (``count_difference``, ``count_ratio``) are not: they are exact, so an
        evidence rule cannot apply to them.
    """

    name: str
    kind: MetricKind
    bound: BoundDirection
    task: Task
    bases: tuple[str, ...]
    transform: Transform | None
    description: str
    signed: bool = False

    @property
    def needs_scores(self) -> bool:
        return self.bases[0] in SCORE_METRICS

    @property
    def value_range(self) -> tuple[float, float]:
        """The values the metric can take: rates, their differences and every ratio lie in
        [0, 1]; counts and regression errors (and their differences) in [0, inf); signed
        differences of rates in [-1, 1] and unclipped ratios in [0, inf)."""
        if self.signed:
            return (0.0, math.inf) if self.transform == "ratio" else (-1.0, 1.0)
        if self.transform == "ratio":
            return (0.0, 1.0)
        if self.task == "regression" or self.bases[0] == "count":
            return (0.0, math.inf)
        return (0.0, 1.0)

    @property
    def has_interval(self) -> bool:
        return "count" not in self.bases

    @property
    def higher_is_better(self) -> bool:
        """Whether larger values are better (the sensible bound is a lower bound)."""
        return self.bound == "lower"


_CLASSIFICATION_BASES: tuple[tuple[str, BoundDirection, str], ...] = (
    ("count", "lower", "Number of rows in the group (unweighted), as fairlearn.metrics.count."),
    ("selection_rate", "lower", "Share of rows predicted positive, P(h(X)=1 | A=a)."),
    ("accuracy", "lower", "Share of correct predictions, as sklearn accuracy_score."),
    ("true_positive_rate", "lower", "Recall: P(h(X)=1 | Y=1, A=a); 0 when there are no positives."),
    (
        "false_positive_rate",
        "upper",
        "Fall-out: P(h(X)=1 | Y=0, A=a); 0 when there are no negatives.",
    ),
    (
        "false_negative_rate",
        "upper",
        "Miss rate: P(h(X)=0 | Y=1, A=a); 0 when there are no positives.",
    ),
    (
        "true_negative_rate",
        "lower",
        "Specificity: P(h(X)=0 | Y=0, A=a); 0 when there are no negatives.",
    ),
    (
        "precision",
        "lower",
        "P(Y=1 | h(X)=1, A=a), as sklearn precision_score; 0 with no predicted positives.",
    ),
    ("false_discovery_rate", "upper", "P(Y=0 | h(X)=1, A=a); 0 with no predicted positives."),
    (
        "balanced_accuracy",
        "lower",
        "Mean recall over the classes present, as sklearn balanced_accuracy_score.",
    ),
)

_SCORE_BASES: tuple[tuple[str, BoundDirection, str], ...] = (
    (
        "roc_auc",
        "lower",
        "Area under the ROC curve of the scores in the group, as sklearn roc_auc_score.",
    ),
    (
        "brier_score",
        "upper",
        "Mean squared difference of probability and label, as sklearn brier_score_loss.",
    ),
    (
        "calibration_error",
        "upper",
        "Calibration in the large: |mean probability - share of positives| in the group.",
    ),
)
SCORE_METRICS: frozenset[str] = frozenset(name for name, _b, _d in _SCORE_BASES)
"""Base metrics computed from scores, not from predicted labels."""

_REGRESSION_BASES: tuple[tuple[str, str, BoundDirection, str], ...] = (
    ("mean_absolute_error", "mae", "upper", "Weighted mean absolute error in the group."),
    ("root_mean_squared_error", "rmse", "upper", "Weighted root mean squared error in the group."),
)


def _disparity(
    name: str, task: Task, bases: tuple[str, ...], transform: Transform, description: str
) -> MetricInfo:
    bound: BoundDirection = "upper" if transform == "difference" else "lower"
    return MetricInfo(name, "disparity", bound, task, bases, transform, description)


def _build() -> dict[str, MetricInfo]:
    metrics: dict[str, MetricInfo] = {}
    for name, bound, description in _CLASSIFICATION_BASES:
        metrics[name] = MetricInfo(
            name, "base", bound, "classification", (name,), None, description
        )
    for name, _stem, bound, description in _REGRESSION_BASES:
        metrics[name] = MetricInfo(name, "base", bound, "regression", (name,), None, description)

    named = (
        ("demographic_parity", ("selection_rate",), "selection rates"),
        ("equalized_odds", ("true_positive_rate", "false_positive_rate"), "TPR and FPR"),
        ("equal_opportunity", ("true_positive_rate",), "true positive rates"),
    )
    for stem, bases, what in named:
        metrics[f"{stem}_difference"] = _disparity(
            f"{stem}_difference",
            "classification",
            bases,
            "difference",
            f"Largest absolute difference in {what} between groups (or to overall/reference).",
        )
        metrics[f"{stem}_ratio"] = _disparity(
            f"{stem}_ratio",
            "classification",
            bases,
            "ratio",
            f"Smallest ratio (at most 1) of {what} between groups (or to overall/reference).",
        )
    for name, _bound, _description in _CLASSIFICATION_BASES:
        for transform in _TRANSFORMS:
            full = f"{name}_{transform}"
            metrics[full] = _disparity(
                full,
                "classification",
                (name,),
                transform,
                f"The {transform} of {name} between groups, as fairlearn's {full}.",
            )
    for name, stem, _bound, _description in _REGRESSION_BASES:
        for transform in _TRANSFORMS:
            full = f"{stem}_{transform}"
            metrics[full] = _disparity(
                full,
                "regression",
                (name,),
                transform,
                f"The {transform} of {name} between groups.",
            )
    metrics.update(_directional_metrics())
    _score_metrics(metrics)
    return metrics


def _directional_metrics() -> dict[str, MetricInfo]:
    """AIF360's directional metrics: every group against the reference (privileged) group,
    signed or unclipped, the worst case being the smallest value (a lower bound)."""
    entries: tuple[tuple[str, tuple[str, ...], Transform, str], ...] = (
        (
            "statistical_parity_difference",
            ("selection_rate",),
            "difference",
            "Selection rate minus the reference group's (AIF360); worst: the most negative.",
        ),
        (
            "disparate_impact",
            ("selection_rate",),
            "ratio",
            "Selection rate over the reference group's, not clipped to 1 (AIF360; the "
            "four-fifths rule is disparate_impact >= 0.8); worst: the smallest.",
        ),
        (
            "average_odds_difference",
            ("true_positive_rate", "false_positive_rate"),
            "difference",
            "Mean of the FPR and TPR differences to the reference group (AIF360); worst: "
            "the most negative.",
        ),
    )
    return {
        name: MetricInfo(
            name, "disparity", "lower", "classification", bases, transform, text, signed=True
        )
        for name, bases, transform, text in entries
    }


def _score_metrics(metrics: dict[str, MetricInfo]) -> None:
    """Add the metrics of scores and probabilities (binary tasks only)."""
    for name, bound, description in _SCORE_BASES:
        metrics[name] = MetricInfo(
            name, "base", bound, "classification", (name,), None, description
        )
        for transform in _TRANSFORMS:
            full = f"{name}_{transform}"
            metrics[full] = _disparity(
                full,
                "classification",
                (name,),
                transform,
                f"The {transform} of {name} between groups (or to overall/reference).",
            )


METRICS: Mapping[str, MetricInfo] = MappingProxyType(_build())
"""Every metric that thresholds may name, keyed by catalogue name, in a stable order."""


def is_known_metric(name: str) -> bool:
    """Return whether ``name`` is in the catalogue.

    Parameters
    ----------
    name : str
        A metric name, as stored in a threshold.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_known_metric("demographic_parity_difference")
    True
    >>> is_known_metric("roc_auc_score")
    False
    """
    return name in METRICS


def metric_info(name: str) -> MetricInfo:
    """Return the catalogue entry for ``name``.

    Parameters
    ----------
    name : str
        A catalogue metric name.

    Returns
    -------
    MetricInfo

    Raises
    ------
    UnknownMetricError
        If ``name`` is not in the catalogue.

    Examples
    --------
    >>> metric_info("equalized_odds_ratio").bound
    'lower'
    """
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetricError(metric=name) from None
