"""Errors raised by :mod:`bias_checks`.

Every input error is both a :class:`BiasChecksError` (so callers can catch the domain) and a
:class:`ValueError` (so generic callers and scikit-learn style code behave as expected). The
messages are module-level constants; tests assert on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from core.errors import ErrorCategory, FairgovError

LENGTH_MISMATCH = (
    "Inputs have different lengths; y_true, y_pred, sample_weight and every feature "
    "must have one entry per row."
)
EMPTY_INPUT = "The input is empty; an audit needs at least one row."
NAN_IN_LABELS = (
    "y_true or y_pred contains missing or non-finite values; drop or impute those rows first."
)
NAN_IN_SENSITIVE_FEATURES = (
    "A sensitive feature contains missing values; "
    "drop those rows or encode missing as its own category."
)
NAN_IN_CONTROL_FEATURES = (
    "A control feature contains missing values; "
    "drop those rows or encode missing as its own category."
)
NON_BINARY_LABELS = (
    "Binary metrics need at most two distinct label values; "
    "pass task='multiclass' for one-vs-rest metrics."
)
POS_LABEL_REQUIRED = (
    "Labels are not a subset of {0, 1} or {-1, 1}; pass pos_label to say which value is positive."
)
POS_LABEL_NOT_PRESENT = (
    "pos_label is not one of the label values; "
    "pass one of the labels that occur in y_true or y_pred."
)
UNKNOWN_METRIC = "Unknown metric name; see bias_checks.METRICS for the supported names."
METRIC_NOT_APPLICABLE = (
    "This metric does not apply to the audited task; classification metrics need "
    "class labels and regression metrics need numeric targets."
)
INVALID_SAMPLE_WEIGHT = (
    "sample_weight must be finite and non-negative with a positive total, and its squares "
    "must be finite and not all zero: divide very large or very small weights by their "
    "largest (rates and intervals do not change)."
)
INVALID_THRESHOLD = (
    "A threshold needs a finite bound, direction 'upper' or 'lower', a known method and agg, "
    "and an EvidenceRule (or None) as evidence."
)
BOUND_OUTSIDE_RANGE = (
    "The bound lies outside the values this metric can take ({low} to {high}), so the check "
    "could never pass or never fail; choose a bound within that range."
)
UNKNOWN_REFERENCE_GROUP = (
    "The named reference group does not occur in the data; "
    "name one present value for every sensitive feature."
)
INVALID_PARAMETER = (
    "Invalid parameter value; see the docstring of audit_predictions for allowed values."
)
DUPLICATE_FEATURE_NAME = (
    "Feature names must be unique across sensitive and control features, "
    "and at least one sensitive feature is needed."
)
REGRESSION_TARGETS_NOT_NUMERIC = "Regression needs numeric y_true and y_pred."
MISSING_COLUMN = (
    "A column the audit needs is not in the data; name one of the columns it has "
    "(the label, the prediction or score, and every sensitive and control feature)."
)
SCORES_WITHOUT_CUTOFF = (
    "The predictions are scores or probabilities, not labels; pass cutoff=X (a score >= X "
    "is a positive prediction), or task='regression' for numeric targets."
)

INVALID_SCORES = "y_score (or y_pred with a cutoff) must hold finite numbers, one per row."
INVALID_CUTOFF = "cutoff must be a finite number; a score >= cutoff is a positive prediction."
CUTOFF_MISSING_GROUP = (
    "A group has no cutoff; per-group cutoffs need one for every group value (a tuple of "
    "values, in feature order, with several sensitive features)."
)
CUTOFF_NEEDS_BINARY = (
    "A cutoff turns scores into binary labels; y_true needs at most two label values, and "
    "task must be 'auto' or 'binary'."
)
SCORE_METRIC_NEEDS_SCORES = (
    "This metric is computed from scores; pass y_score=... (positive-class scores), or the "
    "scores as y_pred with cutoff=X, for a binary task."
)
SCORES_OUTSIDE_UNIT_INTERVAL = (
    "brier_score and calibration_error need probabilities in [0, 1]; pass probabilities as "
    "y_score, or threshold roc_auc, which takes any real scores."
)
SCORE_METRIC_WEIGHTED = (
    "Score metrics (roc_auc, brier_score, calibration_error) do not support sample_weight "
    "yet; drop sample_weight or threshold a label metric."
)


class BiasChecksError(FairgovError):
    """Root of every error raised by :mod:`bias_checks`."""

    code: ClassVar[str] = "bias_checks_error"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID


class BiasChecksInputError(BiasChecksError, ValueError):
    """Bad input to a :mod:`bias_checks` function; the message says how to fix it."""

    code: ClassVar[str] = "bias_checks_input_error"
    default_message: ClassVar[str] = INVALID_PARAMETER

    def __init__(self, message: str | None = None, **details: Any) -> None:
        super().__init__(message if message is not None else self.default_message, **details)


#: The most groups (intersections of the sensitive and control features) an audit judges by
#: default: an identifier as a sensitive feature gave 20,000 one-row groups, 3.6 minutes and a
#: 118 MB report, every check INCONCLUSIVE.
MAX_GROUPS = 1000


class TooManyGroupsError(BiasChecksInputError):
    """The features make more groups than ``max_groups`` (an identifier, most likely)."""

    code: ClassVar[str] = "too_many_groups"

    @classmethod
    def of(cls, features: Sequence[str], groups: int, limit: int) -> TooManyGroupsError:
        names = ", ".join(features)
        return cls(
            f"Grouping by {names} makes {groups:,} groups, more than max_groups ({limit:,}): "
            "a column with a value for nearly every row (an id) is not a sensitive feature; "
            "choose coarser columns, or raise max_groups (--max-groups N).",
            features=list(features),
            groups=groups,
            max_groups=limit,
        )


class LengthMismatchError(BiasChecksInputError):
    """Inputs do not all have one entry per row."""

    code: ClassVar[str] = "length_mismatch"
    default_message: ClassVar[str] = LENGTH_MISMATCH


class EmptyInputError(BiasChecksInputError):
    """There are no rows to audit."""

    code: ClassVar[str] = "empty_input"
    default_message: ClassVar[str] = EMPTY_INPUT


class NanInLabelsError(BiasChecksInputError):
    """``y_true`` or ``y_pred`` holds a missing or non-finite value."""

    code: ClassVar[str] = "nan_in_labels"
    default_message: ClassVar[str] = NAN_IN_LABELS


class NanInSensitiveFeaturesError(BiasChecksInputError):
    """A sensitive feature holds a missing value."""

    code: ClassVar[str] = "nan_in_sensitive_features"
    default_message: ClassVar[str] = NAN_IN_SENSITIVE_FEATURES


class NanInControlFeaturesError(BiasChecksInputError):
    """A control feature holds a missing value."""

    code: ClassVar[str] = "nan_in_control_features"
    default_message: ClassVar[str] = NAN_IN_CONTROL_FEATURES


class NonBinaryLabelsError(BiasChecksInputError):
    """A binary task or metric received more than two label values."""

    code: ClassVar[str] = "non_binary_labels"
    default_message: ClassVar[str] = NON_BINARY_LABELS


class PosLabelError(BiasChecksInputError):
    """The positive label is missing or does not occur in the labels."""

    code: ClassVar[str] = "invalid_pos_label"
    default_message: ClassVar[str] = POS_LABEL_NOT_PRESENT


class MissingColumnError(BiasChecksInputError):
    """A column named for the audit is not in the frame."""

    code: ClassVar[str] = "column_not_in_frame"
    default_message: ClassVar[str] = MISSING_COLUMN


class ScoresWithoutCutoffError(BiasChecksInputError):
    """Scores or probabilities were passed as predicted labels without a cutoff."""

    code: ClassVar[str] = "scores_need_cutoff"
    default_message: ClassVar[str] = SCORES_WITHOUT_CUTOFF


# Governance finds four of the engine's mistakes too, while it validates a typed policy action.
# There the error must not be a ValueError (pydantic would turn it into a validation error),
# so each of these codes is declared once, on a base that is not a ValueError. The engine's
# error adds BiasChecksInputError (a ValueError), governance's adds GovernanceError; the base
# comes first in both, so the code is the base's.


class UnknownMetricMistake(BiasChecksError):
    """A metric name is not in the catalogue (the code the engine and governance share)."""

    code: ClassVar[str] = "unknown_metric"


class ConfidenceLevelMistake(BiasChecksError):
    """A confidence level outside (0.5, 1) (the code the engine and governance share)."""

    code: ClassVar[str] = "invalid_confidence_level"


class MinimumSizeMistake(BiasChecksError):
    """A minimum group size or denominator that is not a uint64 (shared code)."""

    code: ClassVar[str] = "invalid_minimum_size"


class OnInconclusiveMistake(BiasChecksError):
    """What INCONCLUSIVE does at the gate is neither block nor approve_with_warning (shared
    code)."""

    code: ClassVar[str] = "invalid_on_inconclusive"


class NoIntervalMistake(BiasChecksError):
    """An evidence rule for a metric without an interval (shared code)."""

    code: ClassVar[str] = "metric_has_no_interval"


class UnknownMetricError(UnknownMetricMistake, BiasChecksInputError):
    """A metric name is not in the catalogue."""

    default_message: ClassVar[str] = UNKNOWN_METRIC


class MetricNotApplicableError(BiasChecksInputError):
    """A catalogue metric does not apply to the audited task."""

    code: ClassVar[str] = "metric_not_applicable"
    default_message: ClassVar[str] = METRIC_NOT_APPLICABLE


class InvalidSampleWeightError(BiasChecksInputError):
    """Sample weights are negative, non-finite or sum to zero, or their squares (Kish's
    effective size) overflow or all underflow."""

    code: ClassVar[str] = "invalid_sample_weight"
    default_message: ClassVar[str] = INVALID_SAMPLE_WEIGHT


class InvalidThresholdError(BiasChecksInputError):
    """A threshold has an invalid bound, direction, method, agg or evidence rule."""

    code: ClassVar[str] = "invalid_threshold"
    default_message: ClassVar[str] = INVALID_THRESHOLD


class UnknownReferenceGroupError(BiasChecksInputError):
    """The named reference group does not occur in the data."""

    code: ClassVar[str] = "unknown_reference_group"
    default_message: ClassVar[str] = UNKNOWN_REFERENCE_GROUP


class InvalidParameterError(BiasChecksInputError):
    """A parameter is outside its allowed values. Without a message of its own, the message
    names the parameter (and the value given) where the details do."""

    code: ClassVar[str] = "invalid_parameter"
    default_message: ClassVar[str] = INVALID_PARAMETER

    def __init__(self, message: str | None = None, **details: Any) -> None:
        if message is None and "parameter" in details:
            given = f" {details['value']}" if "value" in details else ""
            message = invalid_parameter(str(details["parameter"]), given)
        super().__init__(message, **details)


def invalid_parameter(parameter: str, given: str = "") -> str:
    """The message of an invalid ``parameter`` (``given``: the value, with a leading space)."""
    return (
        f"Invalid value{given} for {parameter}; see the docstring of audit_predictions for "
        "allowed values."
    )


INVALID_CONFIDENCE_LEVEL = (
    "The confidence level must lie strictly between 0.5 and 1 with at most six decimals, "
    "written in ASCII digits (for example 0.95)."
)
INVALID_MINIMUM_SIZE = (
    "The minimum group size and minimum denominator must be whole numbers from 0 to "
    "18446744073709551615 (2**64 - 1), written in ASCII digits."
)
INVALID_ON_INCONCLUSIVE = (
    "What an INCONCLUSIVE verdict does at the gate must be 'block' (the safe default) or "
    "'approve_with_warning'."
)
METRIC_HAS_NO_INTERVAL = (
    "This metric has no confidence interval, so an evidence rule cannot apply to it; "
    "bound it with a plain threshold instead."
)


class InvalidConfidenceLevelError(ConfidenceLevelMistake, BiasChecksInputError):
    """An evidence rule's confidence level is outside (0.5, 1)."""

    default_message: ClassVar[str] = INVALID_CONFIDENCE_LEVEL


class InvalidMinimumSizeError(MinimumSizeMistake, BiasChecksInputError):
    """An evidence rule's minimum group size or denominator is negative or not whole."""

    default_message: ClassVar[str] = INVALID_MINIMUM_SIZE


class InvalidOnInconclusiveError(OnInconclusiveMistake, BiasChecksInputError):
    """An evidence rule's ``on_inconclusive`` is neither ``block`` nor
    ``approve_with_warning``."""

    default_message: ClassVar[str] = INVALID_ON_INCONCLUSIVE


class MetricHasNoIntervalError(NoIntervalMistake, BiasChecksInputError):
    """An evidence rule names a metric that has no confidence interval."""

    default_message: ClassVar[str] = METRIC_HAS_NO_INTERVAL
