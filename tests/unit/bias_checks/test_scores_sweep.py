"""The cutoff sweep, and custom metrics that are undefined in a group."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from bias_checks import InvalidParameterError, audit_predictions, cutoff_sweep


def test_sweep_equals_counting_at_each_cutoff() -> None:
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.3).astype(int)
    score = np.round(rng.random(n), 2)  # ties on the cutoffs
    group = rng.choice(["x", "y"], n)
    cutoffs = [0.0, 0.25, 0.5, 0.5, 0.9, 1.0]
    sweep = cutoff_sweep(y, score, sensitive_features=group, cutoffs=cutoffs)
    assert [g.group[0][1] for g in sweep.groups] == ["x", "y"]
    for entry in sweep.groups:
        rows = group == entry.group[0][1]
        for k, c in enumerate(sweep.cutoffs):
            chosen = score[rows] >= c
            assert entry.selection_rate[k] == pytest.approx(chosen.mean())
            assert entry.true_positive_rate[k] == pytest.approx(chosen[y[rows] == 1].mean())
            assert entry.false_positive_rate[k] == pytest.approx(chosen[y[rows] == 0].mean())


def test_audit_with_scores_carries_the_sweep() -> None:
    y = np.array([1, 0, 1, 0, 1, 0])
    score = np.array([0.9, 0.2, 0.6, 0.7, 0.4, 0.1])
    result = audit_predictions(y, score, sensitive_features=list("aabbcc"), cutoff=0.5, n_boot=0)
    assert result.cutoff_sweep is not None
    assert len(result.cutoff_sweep.cutoffs) == 21
    data = result.to_dict()["cutoff_sweep"]
    assert data["grouping"] == ["sensitive_feature_0"]
    assert [g["count"] for g in data["groups"]] == [2, 2, 2]


def test_default_cutoffs_for_unbounded_scores_are_quantiles() -> None:
    sweep = cutoff_sweep([0, 1, 0, 1], [-3.0, 5.0, 1.0, 2.0], sensitive_features=list("aabb"))
    assert sweep.cutoffs[0] == -3.0
    assert sweep.cutoffs[-1] == 5.0


def test_bad_cutoffs() -> None:
    with pytest.raises(InvalidParameterError):
        cutoff_sweep([0, 1], [0.1, 0.2], sensitive_features=["a", "b"], cutoffs=[])
    with pytest.raises(InvalidParameterError):
        cutoff_sweep([0, 1], [0.1, 0.2], sensitive_features=["a", "b"], cutoffs=[float("inf")])


def test_custom_metric_keeps_a_single_class_group_undefined() -> None:
    y = np.array([1, 0, 1, 1, 1, 0, 0])
    score = np.array([0.9, 0.1, 0.4, 0.8, 0.7, 0.3, 0.6])
    group = np.array(["a", "a", "a", "b", "b", "c", "c"])
    result = audit_predictions(
        y,
        (score > 0.5).astype(int),
        sensitive_features=group,
        custom_metrics={"auc": roc_auc_score},
        y_score=score,
        n_boot=0,
    )
    custom = result.custom_metrics[0]
    assert [g[0][1] for _c, g, _v in custom.by_group] == ["a", "b", "c"]
    values = [v for _c, _g, v in custom.by_group]
    assert values[0] == 1.0
    assert np.isnan(values[1])
    assert np.isnan(values[2])  # only negatives
    undefined = custom.to_dict()["undefined"]
    assert [u["group"] for u in undefined] == [
        {"sensitive_feature_0": "b"},
        {"sensitive_feature_0": "c"},
    ]
    assert "one class" in undefined[0]["reason"]
