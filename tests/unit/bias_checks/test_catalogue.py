"""The metric catalogue: names governance can store on chain, and what each metric means."""

from __future__ import annotations

import doctest

import pytest
from fairlearn import metrics as flm

from bias_checks import (
    METRICS,
    BiasChecksError,
    UnknownMetricError,
    catalogue,
    is_known_metric,
    metric_info,
)
from bias_checks._errors import UNKNOWN_METRIC

BASES = (
    "count",
    "selection_rate",
    "accuracy",
    "true_positive_rate",
    "false_positive_rate",
    "false_negative_rate",
    "true_negative_rate",
    "precision",
    "false_discovery_rate",
    "balanced_accuracy",
)


def test_every_name_fits_in_bytes32_as_ascii() -> None:
    for name in METRICS:
        encoded = name.encode("ascii")
        assert len(encoded) <= 32, name


def test_issue_catalogue_is_complete() -> None:
    for base in BASES:
        assert metric_info(base).kind == "base"
        for transform in ("difference", "ratio"):
            info = metric_info(f"{base}_{transform}")
            assert info.kind == "disparity"
            assert info.bases == (base,)
    for name in (
        "demographic_parity_difference",
        "demographic_parity_ratio",
        "equalized_odds_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "equal_opportunity_ratio",
    ):
        assert is_known_metric(name)
    assert metric_info("equalized_odds_ratio").bases == (
        "true_positive_rate",
        "false_positive_rate",
    )
    for name in ("mean_absolute_error", "root_mean_squared_error", "mae_difference", "rmse_ratio"):
        assert metric_info(name).task == "regression"


def test_names_that_fairlearn_defines_are_fairlearn_functions() -> None:
    fairlearn_names = {
        "demographic_parity_difference",
        "equalized_odds_ratio",
        "equal_opportunity_difference",
        "true_positive_rate_difference",
        "false_negative_rate_ratio",
        "selection_rate_difference",
        "accuracy_score_difference",
    }
    for name in fairlearn_names - {"accuracy_score_difference"}:
        assert is_known_metric(name)
        assert callable(getattr(flm, name))


@pytest.mark.parametrize(
    ("name", "bound"),
    [
        ("demographic_parity_difference", "upper"),
        ("demographic_parity_ratio", "lower"),
        ("false_positive_rate", "upper"),
        ("false_discovery_rate", "upper"),
        ("accuracy", "lower"),
        ("balanced_accuracy_ratio", "lower"),
        ("mae_difference", "upper"),
    ],
)
def test_sensible_bound_direction(name: str, bound: str) -> None:
    assert metric_info(name).bound == bound
    assert metric_info(name).higher_is_better is (bound == "lower")


def test_unknown_metric_raises_a_value_error_with_the_constant_message() -> None:
    assert not is_known_metric("roc_auc_score")
    with pytest.raises(UnknownMetricError) as caught:
        metric_info("roc_auc_score")
    assert str(caught.value) == UNKNOWN_METRIC
    assert caught.value.code == "unknown_metric"
    assert caught.value.details == {"metric": "roc_auc_score"}
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, BiasChecksError)


def test_catalogue_is_read_only_and_its_examples_run() -> None:
    with pytest.raises(TypeError):
        METRICS["x"] = METRICS["count"]  # type: ignore[index]
    assert doctest.testmod(catalogue).failed == 0


def test_exact_counts_and_their_disparities_have_no_interval() -> None:
    exact = {name for name, info in METRICS.items() if not info.has_interval}
    assert exact == {"count", "count_difference", "count_ratio"}
