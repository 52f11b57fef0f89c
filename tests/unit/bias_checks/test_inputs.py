"""Bad input raises a specific ValueError subclass whose message is a module constant."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from bias_checks import (
    BiasChecksInputError,
    EmptyInputError,
    EvidenceRule,
    InvalidConfidenceLevelError,
    InvalidMinimumSizeError,
    InvalidParameterError,
    InvalidSampleWeightError,
    LengthMismatchError,
    MetricHasNoIntervalError,
    MetricNotApplicableError,
    NanInControlFeaturesError,
    NanInLabelsError,
    NanInSensitiveFeaturesError,
    NonBinaryLabelsError,
    PosLabelError,
    ScoresWithoutCutoffError,
    Threshold,
    UnknownMetricError,
    UnknownReferenceGroupError,
    audit_predictions,
)
from bias_checks import _errors as messages

Y = [0, 1, 1, 0]
SEX = ["F", "F", "M", "M"]


def audit(**overrides: Any) -> Any:
    arguments: dict[str, Any] = {
        "y_true": Y,
        "y_pred": Y,
        "sensitive_features": SEX,
        "n_boot": 0,
    }
    arguments.update(overrides)
    y_true, y_pred = arguments.pop("y_true"), arguments.pop("y_pred")
    return audit_predictions(y_true, y_pred, **arguments)


@pytest.mark.parametrize(
    ("overrides", "error", "message", "code"),
    [
        ({"y_pred": [0, 1, 1]}, LengthMismatchError, messages.LENGTH_MISMATCH, "length_mismatch"),
        (
            {"sensitive_features": ["F"]},
            LengthMismatchError,
            messages.LENGTH_MISMATCH,
            "length_mismatch",
        ),
        (
            {"sample_weight": [1.0]},
            LengthMismatchError,
            messages.LENGTH_MISMATCH,
            "length_mismatch",
        ),
        (
            {"y_true": [], "y_pred": [], "sensitive_features": []},
            EmptyInputError,
            messages.EMPTY_INPUT,
            "empty_input",
        ),
        ({"y_true": [0, 1, np.nan, 0]}, NanInLabelsError, messages.NAN_IN_LABELS, "nan_in_labels"),
        (
            {"y_pred": pd.Series([0, None, 1, 0], dtype=object)},
            NanInLabelsError,
            messages.NAN_IN_LABELS,
            "nan_in_labels",
        ),
        (
            {"sensitive_features": ["F", None, "M", "M"]},
            NanInSensitiveFeaturesError,
            messages.NAN_IN_SENSITIVE_FEATURES,
            "nan_in_sensitive_features",
        ),
        (
            {"sensitive_features": {"age": [1.0, np.nan, 2.0, 2.0]}},
            NanInSensitiveFeaturesError,
            messages.NAN_IN_SENSITIVE_FEATURES,
            "nan_in_sensitive_features",
        ),
        (
            {"control_features": ["a", "b", pd.NA, "a"]},
            NanInControlFeaturesError,
            messages.NAN_IN_CONTROL_FEATURES,
            "nan_in_control_features",
        ),
        (
            {"y_true": [0, 1, 2, 0], "task": "binary"},
            NonBinaryLabelsError,
            messages.NON_BINARY_LABELS,
            "non_binary_labels",
        ),
        (
            {"y_true": ["n", "y", "y", "n"], "y_pred": ["n", "y", "y", "n"]},
            PosLabelError,
            messages.POS_LABEL_REQUIRED,
            "invalid_pos_label",
        ),
        ({"pos_label": 7}, PosLabelError, messages.POS_LABEL_NOT_PRESENT, "invalid_pos_label"),
        (
            {"sample_weight": [1.0, -1.0, 1.0, 1.0]},
            InvalidSampleWeightError,
            messages.INVALID_SAMPLE_WEIGHT,
            "invalid_sample_weight",
        ),
        (
            {"sample_weight": [0.0, 0.0, 0.0, 0.0]},
            InvalidSampleWeightError,
            messages.INVALID_SAMPLE_WEIGHT,
            "invalid_sample_weight",
        ),
        (  # squares overflow: every effective size would be undefined
            {"sample_weight": [1e160, 1e160, 1e160, 1e160]},
            InvalidSampleWeightError,
            messages.INVALID_SAMPLE_WEIGHT,
            "invalid_sample_weight",
        ),
        (  # squares all underflow to zero
            {"sample_weight": [1e-170, 1e-170, 2e-170, 1e-170]},
            InvalidSampleWeightError,
            messages.INVALID_SAMPLE_WEIGHT,
            "invalid_sample_weight",
        ),
        (
            {"thresholds": [Threshold("mae_difference", 0.1)]},
            MetricNotApplicableError,
            messages.METRIC_NOT_APPLICABLE,
            "metric_not_applicable",
        ),
        (
            {"reference_group": {"sensitive_feature_0": "X"}},
            UnknownReferenceGroupError,
            messages.UNKNOWN_REFERENCE_GROUP,
            "unknown_reference_group",
        ),
        (
            {"n_boot": -1},
            InvalidParameterError,
            messages.invalid_parameter("n_boot", " -1"),
            "invalid_parameter",
        ),
        (  # numpy's bare ValueError from the bootstrap before session 21
            {"random_state": -5},
            InvalidParameterError,
            messages.invalid_parameter("random_state", " -5"),
            "invalid_parameter",
        ),
        (
            {"reference_group": 5},
            InvalidParameterError,
            messages.invalid_parameter("reference_group", " 5"),
            "invalid_parameter",
        ),
        (
            {"evidence": "strict"},
            InvalidParameterError,
            messages.invalid_parameter("evidence", " 'strict'"),
            "invalid_parameter",
        ),
        (
            {"control_features": pd.Series(SEX, name="sensitive_feature_0")},
            InvalidParameterError,
            messages.DUPLICATE_FEATURE_NAME,
            "invalid_parameter",
        ),
    ],
)
def test_bad_input_raises_a_specific_error(
    overrides: dict[str, Any], error: type[BiasChecksInputError], message: str, code: str
) -> None:
    with pytest.raises(error) as caught:
        audit(**overrides)
    assert str(caught.value) == message
    assert caught.value.code == code
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("scale", [1e100, 1e-100])
def test_weights_far_from_one_but_usable_give_the_same_verdicts_and_intervals(
    scale: float,
) -> None:
    rng = np.random.default_rng(5)
    n = 400
    y, pred = rng.integers(0, 2, n), rng.integers(0, 2, n)
    group = rng.choice(["a", "b"], n)
    weights = rng.lognormal(0.0, 0.5, n)
    checks = [Threshold("demographic_parity_difference", 0.1)]

    def evidence(w: Any) -> list[Any]:
        result = audit_predictions(
            y, pred, sensitive_features=group, sample_weight=w, n_boot=0, thresholds=checks
        )
        return [(c.verdict, c.value, c.ci.low, c.ci.high) for c in result.checks]

    scaled, plain = evidence(weights * scale), evidence(weights)
    assert [c[0] for c in scaled] == [c[0] for c in plain]
    assert [c[1:] for c in scaled] == [pytest.approx(c[1:], rel=1e-9) for c in plain]


@pytest.mark.parametrize(
    "missing",
    [pd.NaT, np.datetime64("NaT"), float("nan"), np.float32("nan"), pd.NA, None],
    ids=repr,
)
def test_every_missing_marker_pandas_knows_is_refused_in_a_feature(missing: object) -> None:
    # Missing values are found from the factorized codes (-1), not a separate pd.isna pass.
    values = np.array(["F", missing, "M", "M"], dtype=object)
    assert pd.isna(values).any()
    with pytest.raises(NanInSensitiveFeaturesError):
        audit(sensitive_features=values)


def test_unknown_metric_name_in_a_threshold() -> None:
    with pytest.raises(UnknownMetricError) as caught:
        audit(thresholds=[Threshold("statistical_parity", 0.1)])
    assert str(caught.value) == messages.UNKNOWN_METRIC


def test_string_labels_work_with_an_explicit_positive_label() -> None:
    result = audit(y_true=["n", "y", "y", "n"], y_pred=["y", "y", "n", "n"], pos_label="y")
    assert result.pos_label == "y"
    (selection,) = [m for m in result.overall if m.metric == "selection_rate"]
    assert selection.value == 0.5


def test_feature_names_follow_fairlearn() -> None:
    result = audit(sensitive_features=np.array([SEX, ["a", "b", "a", "b"]]).T)
    assert result.sensitive_features == ("sensitive_feature_0", "sensitive_feature_1")
    named = audit(sensitive_features=pd.DataFrame({"sex": SEX}), control_features=[1, 1, 2, 2])
    assert named.sensitive_features == ("sex",)
    assert named.control_features == ("control_feature_0",)


@pytest.mark.parametrize(
    ("make", "error", "code"),
    [
        (
            lambda: EvidenceRule(confidence_level=1.0),
            InvalidConfidenceLevelError,
            "invalid_confidence_level",
        ),
        (
            lambda: EvidenceRule(confidence_level=0.5),
            InvalidConfidenceLevelError,
            "invalid_confidence_level",
        ),
        (lambda: EvidenceRule(min_group_size=-1), InvalidMinimumSizeError, "invalid_minimum_size"),
        (lambda: EvidenceRule(min_denominator=-5), InvalidMinimumSizeError, "invalid_minimum_size"),
        (
            lambda: audit(thresholds=[Threshold("count", 3, evidence=EvidenceRule())]),
            MetricHasNoIntervalError,
            "metric_has_no_interval",
        ),
    ],
)
def test_a_bad_evidence_rule_raises_a_specific_error(
    make: Any, error: type[BiasChecksInputError], code: str
) -> None:
    with pytest.raises(error) as caught:
        make()
    assert caught.value.code == code
    assert str(caught.value) == error.default_message


@pytest.mark.parametrize("form", ["object", "str"])
def test_probabilities_in_an_object_or_text_column_need_a_cutoff(form: str) -> None:
    # Review of #17 (hole 3): these became a multiclass audit, one class per distinct score.
    rng = np.random.default_rng(0)
    n = 20
    scores = rng.random(n)
    y_pred = scores.astype(object) if form == "object" else scores.astype(str)
    with pytest.raises(ScoresWithoutCutoffError):
        audit_predictions(
            rng.integers(0, 2, n), y_pred, sensitive_features={"g": rng.choice(["a", "b"], n)}
        )


@pytest.mark.parametrize(
    "y_pred", [["1", "0"] * 5, ["yes", "no"] * 5, [1.0, 0.0] * 5, ["2.0", "b"] * 5]
)
def test_whole_numbers_or_words_in_a_text_column_stay_labels(y_pred: list[object]) -> None:
    y_pred_array = np.asarray(y_pred, dtype=object)
    result = audit_predictions(
        y_pred_array.copy(),
        y_pred_array,
        sensitive_features={"g": ["a", "b"] * 5},
        n_boot=0,
        pos_label=y_pred_array[0],
    )
    assert result is not None
