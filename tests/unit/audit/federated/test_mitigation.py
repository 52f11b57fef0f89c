from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.errors import UnsupportedMitigation
from audit.federated.learning import (
    combine as combine_summaries,
)
from audit.federated.learning import (
    global_preprocessor,
    initial_params,
    local_fit,
    predict_proba,
    summarize,
    to_model_artifact,
)
from audit.federated.mitigation import (
    CONSTRAINTS,
    InvalidNodeHistogram,
    ScoreHistogram,
    combine,
    fit,
    histogram,
    rounded,
    score_passthrough,
    thresholds,
    with_thresholds,
)
from audit.models import load_model, save_model
from audit.synthetic import FEATURES, make_loans
from audit.training import group_keys, positive_probability, thresholds_of
from audit.training import predict as predict_model


def _pooled_rounded_fit(
    scores: np.ndarray, y: np.ndarray, groups: np.ndarray, *, bins: int, constraint: str
) -> ThresholdOptimizer:
    optimizer = ThresholdOptimizer(
        estimator=score_passthrough(), constraints=constraint, prefit=True, predict_method="predict"
    )
    return optimizer.fit(rounded(scores, bins)[:, None], y, sensitive_features=groups)


def _population(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    groups = rng.choice(np.array(["A", "B", "C"], dtype=object), n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < np.where(groups == "A", 0.6, 0.35)).astype(np.int64)
    scores = np.clip(0.35 * y + 0.15 * (groups == "A") + 0.6 * rng.random(n), 0.0, 1.0)
    return scores, y, groups


@settings(max_examples=12, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(300, 1500),
    nodes=st.integers(1, 6),
    bins=st.sampled_from([7, 20, 100, 1000]),
    constraint=st.sampled_from(CONSTRAINTS),
)
def test_the_summed_histograms_fit_what_the_pooled_rounded_scores_fit(
    seed: int, n: int, nodes: int, bins: int, constraint: str
) -> None:
    scores, y, groups = _population(seed, n)
    node_of = np.random.default_rng(seed + 1).integers(0, nodes, n)
    parts = [
        histogram(scores[node_of == k], y[node_of == k], groups[node_of == k], bins=bins)
        for k in range(nodes)
    ]
    pooled = combine(ScoreHistogram.from_json(part.to_json()) for part in parts)
    reference = _pooled_rounded_fit(scores, y, groups, bins=bins, constraint=constraint)
    assert thresholds(pooled, constraint=constraint) == thresholds_of(reference)
    fresh = _population(seed + 2, 400)
    ours = fit(pooled, constraint=constraint).predict(
        fresh[0][:, None], sensitive_features=fresh[2], random_state=5
    )
    theirs = reference.predict(fresh[0][:, None], sensitive_features=fresh[2], random_state=5)
    np.testing.assert_array_equal(ours, theirs)


def test_rounding_changes_the_fit_on_a_coarse_grid() -> None:
    scores, y, groups = _population(3, 2000)
    raw = ThresholdOptimizer(
        estimator=score_passthrough(),
        constraints="demographic_parity",
        prefit=True,
        predict_method="predict",
    ).fit(scores[:, None], y, sensitive_features=groups)
    coarse = thresholds(histogram(scores, y, groups, bins=5), constraint="demographic_parity")
    assert coarse != thresholds_of(raw)


def test_a_federated_model_with_thresholds_predicts_saves_and_loads(tmp_path: Path) -> None:
    frame = make_loans(1200, seed=5)
    inputs, nodes = list(FEATURES), [frame.iloc[:500], frame.iloc[500:900]]
    test = frame.iloc[900:]
    pre = global_preprocessor(combine_summaries(summarize(node[inputs]) for node in nodes))
    xs = [pre.transform(node[inputs]) for node in nodes]
    params = initial_params(xs[0].shape[1])
    for _ in range(3):
        fits = [
            local_fit(params, x, n["approved"].to_numpy(), epochs=5, seed=0)
            for x, n in zip(xs, nodes, strict=True)
        ]
        params = [np.mean(arrays, axis=0) for arrays in zip(*fits, strict=True)]
    parts = [
        histogram(
            predict_proba(params, x)[:, 1],
            node["approved"].to_numpy(),
            group_keys(node[["group"]]),
            bins=200,
        )
        for x, node in zip(xs, nodes, strict=True)
    ]
    pooled = combine(parts)
    model = with_thresholds(
        to_model_artifact(params, pre, inputs=inputs, sensitive=["group"], seed=0),
        pooled,
        constraint="demographic_parity",
    )
    assert model["kind"] == "threshold_optimizer"

    test_scores = predict_proba(params, pre.transform(test[inputs]))[:, 1]
    keys = group_keys(test[["group"]])
    expected = fit(pooled, constraint="demographic_parity").predict(
        test_scores[:, None], sensitive_features=keys, random_state=3
    )
    ours = predict_model(model, test, test[["group"]], random_state=3)
    np.testing.assert_array_equal(ours, expected)

    def gap(selection: np.ndarray) -> float:
        return float(abs(selection[keys == "A"].mean() - selection[keys == "B"].mean()))

    unmitigated = (test_scores > 0.5).astype(float)
    mitigated = positive_probability(model, test, test[["group"]])
    assert gap(mitigated) < gap(unmitigated) / 2

    path, model_hash = save_model(model, tmp_path)
    loaded = load_model(path, expected_hash=model_hash)
    np.testing.assert_array_equal(
        predict_model(loaded, test, test[["group"]], random_state=3), ours
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[]", "Input should be an object"),
        ('{"bins": 2, "counts": {"A": [[1, 2, 3], [0, 0, -1]]}}', "greater than or equal to 0"),
        ('{"bins": 2, "counts": {"A": [[1, 2], [0, 0]]}}', "'A' has 2 grid points, not 3"),
        ('{"bins": 0, "counts": {}}', "greater than or equal to 1"),
    ],
)
def test_a_malformed_histogram_is_rejected_with_a_code(text: str, problem: str) -> None:
    with pytest.raises(InvalidNodeHistogram, match=problem) as caught:
        ScoreHistogram.from_json(text)
    assert caught.value.code == "invalid_node_histogram"


def test_histograms_on_different_grids_do_not_combine() -> None:
    one = histogram(np.array([0.2]), np.array([1]), np.array(["A"]), bins=10)
    other = histogram(np.array([0.2]), np.array([1]), np.array(["A"]), bins=20)
    with pytest.raises(InvalidNodeHistogram, match=r"grids of \[10, 20\] steps"):
        combine([one, other])
    with pytest.raises(InvalidNodeHistogram, match="no node"):
        combine([])


def test_an_unsupported_constraint_is_refused() -> None:
    scores, y, groups = _population(0, 200)
    with pytest.raises(UnsupportedMitigation):
        fit(histogram(scores, y, groups, bins=10), constraint="error_rate_parity")
