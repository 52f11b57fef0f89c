"""Per-group metrics and disparities equal Fairlearn's on the same inputs (to 1e-9).

One deliberate departure: a rate whose denominator is empty (TPR without positives, ...) is
undefined (NaN) here, where Fairlearn reports 0. The references below say so too, so every
defined value is still compared with Fairlearn's.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics as skm
from fairlearn import metrics as flm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import UndefinedMetricWarning

from bias_checks import AuditResult, EvidenceRule, audit_predictions

TOL = 1e-9

BASE_REFERENCES: dict[str, Callable[..., Any]] = {
    "selection_rate": flm.selection_rate,
    "accuracy": skm.accuracy_score,
    "true_positive_rate": flm.true_positive_rate,
    "false_positive_rate": flm.false_positive_rate,
    "false_negative_rate": flm.false_negative_rate,
    "true_negative_rate": flm.true_negative_rate,
    "precision": skm.precision_score,
    "balanced_accuracy": skm.balanced_accuracy_score,
}


def false_discovery_rate(y_true: Any, y_pred: Any, sample_weight: Any = None) -> float:
    """FDR as 1 - precision, 0 when nothing is predicted positive (Fairlearn's rate rule)."""
    return 1.0 - float(
        skm.precision_score(y_true, y_pred, sample_weight=sample_weight, zero_division=1.0)
    )


BASE_REFERENCES["false_discovery_rate"] = false_discovery_rate

_DENOMINATOR: dict[str, Callable[[Any, Any], Any]] = {
    "true_positive_rate": lambda t, p: t == 1,
    "false_negative_rate": lambda t, p: t == 1,
    "false_positive_rate": lambda t, p: t == 0,
    "true_negative_rate": lambda t, p: t == 0,
    "precision": lambda t, p: p == 1,
    "false_discovery_rate": lambda t, p: p == 1,
}


def _undefined_as_nan(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """Fairlearn's metric, but NaN when the rate's denominator has no rows (or no weight)."""

    @functools.wraps(function)
    def wrapped(y_true: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        rows = _DENOMINATOR[name](np.asarray(y_true), np.asarray(y_pred))
        weight = rows.sum() if sample_weight is None else np.asarray(sample_weight)[rows].sum()
        if weight == 0:
            return np.nan
        return function(y_true, y_pred, sample_weight=sample_weight)

    return wrapped


for _name in _DENOMINATOR:
    BASE_REFERENCES[_name] = _undefined_as_nan(_name, BASE_REFERENCES[_name])


@contextmanager
def fairlearn_warnings_ignored() -> Iterator[None]:
    """Fairlearn/sklearn warn on zero denominators; that is their behaviour, not ours."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UndefinedMetricWarning)
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        warnings.filterwarnings(
            "ignore", message="invalid value encountered", category=RuntimeWarning
        )
        yield


@st.composite
def binary_data(draw: st.DrawFn, *, two_features: bool = True) -> dict[str, Any]:
    n = draw(st.integers(1, 60))
    bits = st.lists(st.integers(0, 1), min_size=n, max_size=n)
    y_true = np.array(draw(bits))
    y_pred = np.array(draw(bits))
    features = {"sex": np.array(draw(st.lists(st.sampled_from("FM"), min_size=n, max_size=n)))}
    if two_features and draw(st.booleans()):
        features["race"] = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    weights = None
    if draw(st.booleans()):
        weights = np.array(
            draw(st.lists(st.floats(0.1, 5.0, allow_nan=False), min_size=n, max_size=n))
        )
    return {"y_true": y_true, "y_pred": y_pred, "features": features, "weights": weights}


def reference_frame(data: dict[str, Any], **kwargs: Any) -> flm.MetricFrame:
    weights = data["weights"]
    params = None
    if weights is not None:
        params = {name: {"sample_weight": weights} for name in BASE_REFERENCES}
    with fairlearn_warnings_ignored():
        return flm.MetricFrame(
            metrics=BASE_REFERENCES,
            y_true=data["y_true"],
            y_pred=data["y_pred"],
            sensitive_features=pd.DataFrame(data["features"]),
            sample_params=params,
            **kwargs,
        )


def ours(data: dict[str, Any], **kwargs: Any) -> AuditResult:
    return audit_predictions(
        data["y_true"],
        data["y_pred"],
        sensitive_features=pd.DataFrame(data["features"]),
        sample_weight=data["weights"],
        n_boot=0,
        evidence=EvidenceRule(min_group_size=0, min_denominator=0),
        **kwargs,
    )


def _close(a: float, b: float) -> bool:
    return (np.isnan(a) and np.isnan(b)) or abs(a - b) <= TOL


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binary_data())
def test_base_metrics_by_group_and_overall_equal_metricframe(data: dict[str, Any]) -> None:
    frame = reference_frame(data)
    result = ours(data)
    by_group = frame.by_group
    for metric in BASE_REFERENCES:
        entries = result.group_metrics(metric)
        assert entries, metric
        for entry in entries:
            key = tuple(v for _, v in entry.group)
            expected = by_group.loc[key if len(key) > 1 else key[0], metric]
            assert _close(entry.value, float(expected)), (metric, key, entry.value, expected)
        overall = [m for m in result.overall if m.metric == metric]
        assert _close(overall[0].value, float(frame.overall[metric])), metric
    counts = {tuple(v for _, v in g.group): g.count for g in result.groups}
    for key, n in pd.DataFrame(data["features"]).value_counts().items():
        assert counts[key if isinstance(key, tuple) else (key,)] == n


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binary_data())
def test_every_base_disparity_equals_metricframe_difference_and_ratio(data: dict[str, Any]) -> None:
    frame = reference_frame(data)
    result = ours(data)
    for method in ("between_groups", "to_overall"):
        with fairlearn_warnings_ignored():
            differences = frame.difference(method=method)
            ratios = frame.ratio(method=method)
        for metric in BASE_REFERENCES:
            (diff,) = result.disparity(f"{metric}_difference", method=method)
            (ratio,) = result.disparity(f"{metric}_ratio", method=method)
            assert _close(diff.value, float(differences[metric])), (metric, method)
            assert _close(ratio.value, float(ratios[metric])), (metric, method)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binary_data())
def test_named_fairness_metrics_equal_fairlearn_functions(data: dict[str, Any]) -> None:
    result = ours(data)
    groups = pd.DataFrame(data["features"]).astype(str).agg("|".join, axis=1)
    truth = pd.Series(data["y_true"])
    # Fairlearn's named functions count an undefined TPR or FPR as 0; compare where defined.
    rates_defined = bool((truth.groupby(groups).nunique() == 2).all())
    args = (data["y_true"], data["y_pred"])
    common = {
        "sensitive_features": pd.DataFrame(data["features"]),
        "sample_weight": data["weights"],
    }
    for method in ("between_groups", "to_overall"):
        expected: dict[tuple[str, str | None], float] = {}
        with fairlearn_warnings_ignored():
            for name in ("demographic_parity", "equal_opportunity"):
                for transform in ("difference", "ratio"):
                    function = getattr(flm, f"{name}_{transform}")
                    expected[(f"{name}_{transform}", None)] = function(
                        *args, method=method, **common
                    )
            for agg in ("worst_case", "mean"):
                for transform in ("difference", "ratio"):
                    function = getattr(flm, f"equalized_odds_{transform}")
                    expected[(f"equalized_odds_{transform}", agg)] = function(
                        *args, method=method, agg=agg, **common
                    )
        for (metric, agg), value in expected.items():
            if not rates_defined and not metric.startswith("demographic_parity"):
                continue
            (entry,) = result.disparity(metric, method=method, agg=agg)
            assert _close(entry.value, float(value)), (metric, agg, method, entry.value, value)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(binary_data(two_features=False), st.lists(st.sampled_from("pq"), min_size=60, max_size=60))
def test_control_features_match_metricframe_per_control_level(
    data: dict[str, Any], control: list[str]
) -> None:
    control_values = np.array(control[: len(data["y_true"])])
    frame = reference_frame(data, control_features=pd.Series(control_values, name="region"))
    result = ours(data, control_features=pd.Series(control_values, name="region"))
    with fairlearn_warnings_ignored():
        differences = frame.difference(method="to_overall")
        ratios = frame.ratio(method="between_groups")
    for metric in BASE_REFERENCES:
        for entry in result.disparity(f"{metric}_difference", method="to_overall"):
            level = entry.control[0][1]
            assert _close(entry.value, float(differences.loc[level, metric])), metric
        for entry in result.disparity(f"{metric}_ratio"):
            level = entry.control[0][1]
            assert _close(entry.value, float(ratios.loc[level, metric])), metric
        for overall in (m for m in result.overall if m.metric == metric):
            level = overall.control[0][1]
            assert _close(overall.value, float(frame.overall.loc[level, metric])), metric


def test_marginal_groups_equal_a_metricframe_over_that_feature_alone() -> None:
    rng = np.random.default_rng(3)
    n = 400
    data = {
        "y_true": rng.integers(0, 2, n),
        "y_pred": rng.integers(0, 2, n),
        "features": {"sex": rng.choice(["F", "M"], n), "age": rng.choice(["<30", "30+"], n)},
        "weights": rng.uniform(0.5, 2.0, n),
    }
    result = ours(data)
    marginal = {**data, "features": {"age": data["features"]["age"]}}
    frame = reference_frame(marginal)
    for metric in BASE_REFERENCES:
        entries = result.group_metrics(metric, grouping=["age"])
        assert [e.group[0][1] for e in entries] == ["30+", "<30"]
        for entry in entries:
            assert _close(entry.value, float(frame.by_group.loc[entry.group[0][1], metric]))
        (diff,) = result.disparity(f"{metric}_difference", grouping=["age"])
        assert _close(diff.value, float(frame.difference()[metric]))


@pytest.mark.parametrize(
    ("y_true", "y_pred", "sex"),
    [
        ([1, 0, 1, 1], [1, 1, 0, 1], ["F", "F", "F", "F"]),  # a single group
        ([1, 1, 1, 0, 0, 1], [1, 0, 1, 0, 1, 1], ["F", "F", "F", "M", "M", "M"]),  # F: no negatives
        ([0, 0, 1, 1], [0, 0, 0, 0], ["F", "F", "M", "M"]),  # nothing predicted positive
    ],
)
def test_edge_cases_match_fairlearn(y_true: list[int], y_pred: list[int], sex: list[str]) -> None:
    data = {
        "y_true": np.array(y_true),
        "y_pred": np.array(y_pred),
        "features": {"sex": np.array(sex)},
        "weights": None,
    }
    frame = reference_frame(data)
    result = ours(data)
    for metric in BASE_REFERENCES:
        for entry in result.group_metrics(metric):
            expected = float(frame.by_group.loc[entry.group[0][1], metric])
            assert _close(entry.value, expected), (metric, entry.group)
        with fairlearn_warnings_ignored():
            expected_ratio = float(frame.ratio()[metric])
        (ratio,) = result.disparity(f"{metric}_ratio")
        assert _close(ratio.value, expected_ratio), metric


def test_multiclass_rates_are_one_vs_rest_and_match_fairlearn_on_binarised_labels() -> None:
    rng = np.random.default_rng(5)
    n = 300
    y_true = rng.choice(["cat", "dog", "eel"], n)
    y_pred = rng.choice(["cat", "dog", "eel"], n)
    sex = rng.choice(["F", "M"], n)
    result = audit_predictions(y_true, y_pred, sensitive_features=sex, n_boot=0)
    assert result.task == "multiclass"
    for label in ("cat", "dog", "eel"):
        with fairlearn_warnings_ignored():
            frame = flm.MetricFrame(
                metrics={k: BASE_REFERENCES[k] for k in ("selection_rate", "true_positive_rate")},
                y_true=(y_true == label).astype(int),
                y_pred=(y_pred == label).astype(int),
                sensitive_features=sex,
            )
        for metric in ("selection_rate", "true_positive_rate"):
            for entry in result.group_metrics(metric):
                if entry.label == label:
                    expected = float(frame.by_group.loc[entry.group[0][1], metric])
                    assert _close(entry.value, expected)
        (dpd,) = [d for d in result.disparity("demographic_parity_difference") if d.label == label]
        assert _close(dpd.value, float(frame.difference()["selection_rate"]))
    accuracy = flm.MetricFrame(
        metrics={"acc": skm.accuracy_score, "bacc": skm.balanced_accuracy_score},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=sex,
    )
    for entry in result.group_metrics("balanced_accuracy"):
        assert _close(entry.value, float(accuracy.by_group.loc[entry.group[0][1], "bacc"]))
    for entry in result.group_metrics("accuracy"):
        assert _close(entry.value, float(accuracy.by_group.loc[entry.group[0][1], "acc"]))


def test_regression_mae_and_rmse_match_metricframe() -> None:
    rng = np.random.default_rng(9)
    n = 500
    y_true = rng.normal(size=n)
    y_pred = y_true + rng.normal(scale=0.5, size=n)
    group = rng.choice(["a", "b", "c"], n)
    weights = rng.uniform(0.5, 2, n)
    result = audit_predictions(
        y_true, y_pred, sensitive_features=group, sample_weight=weights, n_boot=0
    )
    assert result.task == "regression"
    functions = {
        "mean_absolute_error": skm.mean_absolute_error,
        "root_mean_squared_error": skm.root_mean_squared_error,
    }
    frame = flm.MetricFrame(
        metrics=functions,
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=group,
        sample_params={k: {"sample_weight": weights} for k in functions},
    )
    for metric, stem in (("mean_absolute_error", "mae"), ("root_mean_squared_error", "rmse")):
        for entry in result.group_metrics(metric):
            assert _close(entry.value, float(frame.by_group.loc[entry.group[0][1], metric]))
        (diff,) = result.disparity(f"{stem}_difference")
        assert _close(diff.value, float(frame.difference()[metric]))
        (ratio,) = result.disparity(f"{stem}_ratio", method="to_overall")
        assert _close(ratio.value, float(frame.ratio(method="to_overall")[metric]))


def test_non_count_metrics_fall_back_to_metricframe() -> None:
    rng = np.random.default_rng(11)
    n = 200
    y_true = rng.integers(0, 2, n)
    scores = np.clip(y_true * 0.3 + rng.uniform(size=n), 0, 1)
    sex = rng.choice(["F", "M"], n)
    roc_auc = functools.partial(skm.roc_auc_score)
    result = audit_predictions(
        y_true,
        (scores > 0.5).astype(int),
        sensitive_features=sex,
        n_boot=0,
        custom_metrics={"roc_auc": roc_auc},
        y_score=scores,
    )
    frame = flm.MetricFrame(
        metrics=skm.roc_auc_score, y_true=y_true, y_pred=scores, sensitive_features=sex
    )
    (custom,) = result.custom_metrics
    assert custom.metric == "roc_auc"
    by_group = {group[0][1]: value for _, group, value in custom.by_group}
    assert by_group == pytest.approx(frame.by_group.to_dict(), abs=TOL)
    difference = {(t, m): v for t, m, _, v in custom.disparities}
    assert difference[("difference", "between_groups")] == pytest.approx(frame.difference())
