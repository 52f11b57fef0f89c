from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from audit.federated import learning
from audit.federated.learning import (
    SCALE_FACTOR,
    Attack,
    FrameSummary,
    InvalidNodeSummary,
    InvalidNodeUpdate,
    NodeLacksBothClasses,
    attacked_fit,
    check_params,
    combine,
    global_preprocessor,
    initial_params,
    local_fit,
    predict,
    predict_proba,
    summarize,
    to_model_artifact,
)
from audit.models import load_model, save_model
from audit.synthetic import FEATURES, make_loans
from audit.training import describe_estimator, make_preprocessor
from audit.training import predict as predict_model


def _loans(n: int, seed: int, *, missing: float = 0.0) -> pd.DataFrame:
    frame = make_loans(n, seed=seed)
    rng = np.random.default_rng(seed)
    # A level only a few rows hold, so some nodes never see it.
    frame.loc[rng.random(n) < 0.03, "employment"] = "apprentice"
    if missing:
        frame.loc[rng.random(n) < missing, "income"] = np.nan
        frame.loc[rng.random(n) < missing, "region"] = np.nan
    return frame


def _nodes(frame: pd.DataFrame, cuts: list[int]) -> list[pd.DataFrame]:
    bounds = [0, *sorted(cuts), len(frame)]
    return [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def _sent(part: pd.DataFrame) -> FrameSummary:
    return FrameSummary.from_json(summarize(part).to_json())


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(30, 400),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=5),
    missing=st.sampled_from([0.0, 0.1]),
    shuffle=st.booleans(),
)
def test_global_preprocessor_equals_the_pooled_fit(
    seed: int, n: int, cuts: list[float], missing: float, shuffle: bool
) -> None:
    pooled = _loans(n, seed, missing=missing)[list(FEATURES)]
    if shuffle:
        pooled = pooled.sample(frac=1.0, random_state=seed)
    nodes = _nodes(pooled, [int(c * n) for c in cuts])
    ours = global_preprocessor(combine(_sent(node) for node in nodes))
    reference = make_preprocessor(pooled).fit(pooled)
    assert list(ours.get_feature_names_out()) == list(reference.get_feature_names_out())
    for frame in (pooled, _loans(50, seed + 1, missing=0.2)[list(FEATURES)]):
        np.testing.assert_allclose(ours.transform(frame), reference.transform(frame), atol=1e-9)


def test_a_constant_column_scales_by_one_as_in_the_pooled_fit() -> None:
    pooled = pd.DataFrame({"x": [2.5] * 7, "c": list("abcabca")})
    ours = global_preprocessor(combine([summarize(pooled[:3]), summarize(pooled[3:])]))
    reference = make_preprocessor(pooled).fit(pooled)
    np.testing.assert_allclose(ours.transform(pooled), reference.transform(pooled), atol=1e-12)


def test_combine_adds_counts_and_levels() -> None:
    frame = _loans(300, 1, missing=0.1)[list(FEATURES)]
    merged = combine(_sent(node) for node in _nodes(frame, [40, 41, 200]))
    whole = summarize(frame)
    assert merged.rows == whole.rows == 300
    for (name, ours), (_, theirs) in zip(merged.columns, whole.columns, strict=True):
        if ours.kind == "numeric":
            assert (ours.count, ours.missing) == (theirs.count, theirs.missing), name
            assert ours.total == pytest.approx(theirs.total, rel=1e-12)
        else:
            assert ours == theirs, name


def test_the_json_round_trip_is_exact() -> None:
    summary = summarize(_loans(97, 4, missing=0.1)[list(FEATURES)])
    assert FrameSummary.from_json(summary.to_json()) == summary


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "Invalid JSON"),
        (
            '{"rows": 2, "columns": [["x", {"kind": "numeric", "count": -1, "total": 0, '
            '"squares": 0, "missing": 3}]]}',
            "greater than or equal to 0",
        ),
        ('{"rows": 2, "columns": [["x", {"kind": "vector", "missing": 2}]]}', "kind"),
        (
            '{"rows": 5, "columns": [["c", {"kind": "categorical", "levels": {"a": 2}, '
            '"missing": 1}]]}',
            "covers 3 rows of 5",
        ),
    ],
)
def test_a_malformed_summary_is_rejected_with_a_code(text: str, problem: str) -> None:
    with pytest.raises(InvalidNodeSummary, match=problem) as caught:
        FrameSummary.from_json(text)
    assert caught.value.code == "invalid_node_summary"


def test_nodes_that_disagree_on_columns_are_rejected() -> None:
    frame = _loans(40, 2)[list(FEATURES)]
    with pytest.raises(InvalidNodeSummary, match="instead of"):
        combine([summarize(frame), summarize(frame[["region", "income"]])])
    as_text = frame.astype({"credit_years": str})
    with pytest.raises(InvalidNodeSummary, match="'credit_years' is numeric on some nodes"):
        combine([summarize(frame), summarize(as_text)])
    with pytest.raises(InvalidNodeSummary, match="no node"):
        combine([])


def test_a_numeric_column_without_values_is_rejected() -> None:
    frame = pd.DataFrame({"x": [np.nan, np.nan], "c": ["a", "b"]})
    with pytest.raises(InvalidNodeSummary, match="'x' has no value"):
        global_preprocessor(summarize(frame))


@pytest.fixture(scope="module")
def transformed() -> tuple[np.ndarray, np.ndarray]:
    frame = _loans(2000, 7)
    x = make_preprocessor(frame[list(FEATURES)]).fit_transform(frame[list(FEATURES)])
    return x, frame["approved"].to_numpy()


def test_local_fit_from_zero_reaches_the_central_logistic_regression(
    transformed: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = transformed
    central = LogisticRegression(max_iter=1000).fit(x, y)
    params = local_fit(initial_params(x.shape[1]), x, y, epochs=1000, seed=0)
    np.testing.assert_allclose(params[0], central.coef_, atol=1e-3)
    np.testing.assert_allclose(params[1], central.intercept_, atol=1e-3)
    np.testing.assert_array_equal(predict_proba(params, x).shape, (len(x), 2))


def test_local_fit_warm_starts_from_the_global_params(
    transformed: tuple[np.ndarray, np.ndarray],
) -> None:
    x, y = transformed
    close = local_fit(initial_params(x.shape[1]), x, y, epochs=1000, seed=0)
    one_step_from_optimum = local_fit(close, x, y, epochs=1, seed=0)
    one_step_from_zero = local_fit(initial_params(x.shape[1]), x, y, epochs=1, seed=0)
    assert np.abs(one_step_from_optimum[0] - close[0]).max() < 1e-3
    assert np.abs(one_step_from_zero[0] - close[0]).max() > 0.1


def test_predictions_equal_scikit_learn(transformed: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = transformed
    central = LogisticRegression(max_iter=1000).fit(x, y)
    params = [central.coef_, central.intercept_]
    np.testing.assert_array_equal(predict_proba(params, x), central.predict_proba(x))
    np.testing.assert_array_equal(predict(params, x), central.predict(x))


def test_a_node_with_one_label_is_refused() -> None:
    with pytest.raises(NodeLacksBothClasses, match="label 1") as caught:
        local_fit(initial_params(1), np.ones((3, 1)), np.ones(3, dtype=int), epochs=3, seed=0)
    assert caught.value.code == "node_lacks_both_classes"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ([np.zeros((1, 3))], "1 arrays instead of 2"),
        ([np.zeros((1, 2)), np.zeros(1)], r"shapes \[\(1, 2\), \(1,\)\] instead of"),
        ([np.full((1, 3), np.nan), np.zeros(1)], "not a finite number"),
    ],
)
def test_a_malformed_update_is_rejected_with_a_code(params: list, problem: str) -> None:
    with pytest.raises(InvalidNodeUpdate, match=problem) as caught:
        check_params(params, 3)
    assert caught.value.code == "invalid_node_update"


def test_the_attacks(transformed: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = transformed
    start = local_fit(initial_params(x.shape[1]), x, y, epochs=2, seed=0)
    honest = local_fit(start, x, y, epochs=3, seed=0)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(
            attacked_fit(Attack.NONE, start, x, y, epochs=3, seed=0), honest, strict=True
        )
    )
    scaled = attacked_fit(Attack.SCALE, start, x, y, epochs=3, seed=0)
    for s, g, h in zip(scaled, start, honest, strict=True):
        np.testing.assert_allclose(s - g, SCALE_FACTOR * (h - g), rtol=1e-12)
    flipped = attacked_fit(Attack.LABEL_FLIP, start, x, y, epochs=3, seed=0)
    expected = local_fit(start, x, 1 - y, epochs=3, seed=0)
    np.testing.assert_array_equal(flipped[0], expected[0])
    assert (predict(flipped, x) == y).mean() < 0.5 < (predict(honest, x) == y).mean()


def test_the_artifact_predicts_saves_and_hashes_like_a_central_model(tmp_path: Path) -> None:
    frame = _loans(600, 11, missing=0.05)
    inputs = list(FEATURES)
    nodes = _nodes(frame, [200, 400])
    pre = global_preprocessor(combine(summarize(node[inputs]) for node in nodes))
    params = initial_params(len(pre.get_feature_names_out()))
    for _ in range(3):
        fits = [
            local_fit(params, pre.transform(n[inputs]), n["approved"].to_numpy(), epochs=5, seed=0)
            for n in nodes
        ]
        params = [np.mean(arrays, axis=0) for arrays in zip(*fits, strict=True)]
    model = to_model_artifact(params, pre, inputs=inputs, sensitive=["group"], seed=0)
    expected = predict(params, pre.transform(frame[inputs]))
    assert 0.1 < expected.mean() < 0.9
    ours = predict_model(model, frame, frame[["group"]], random_state=0)
    np.testing.assert_array_equal(ours, expected)
    assert describe_estimator(model) == "LogisticRegression"

    path, model_hash = save_model(model, tmp_path / "a")
    _, again = save_model(
        to_model_artifact(params, pre, inputs=inputs, sensitive=["group"], seed=0), tmp_path / "b"
    )
    assert again == model_hash
    loaded = load_model(path, expected_hash=model_hash)
    np.testing.assert_array_equal(
        predict_model(loaded, frame, frame[["group"]], random_state=0), ours
    )
    moved = [params[0] + 1e-6, params[1]]
    _, other = save_model(
        to_model_artifact(moved, pre, inputs=inputs, sensitive=["group"], seed=0), tmp_path / "c"
    )
    assert other != model_hash


def test_params_that_do_not_fit_the_preprocessor_are_refused() -> None:
    frame = _loans(50, 0)[list(FEATURES)]
    pre = global_preprocessor(summarize(frame))
    with pytest.raises(InvalidNodeUpdate, match="shapes"):
        to_model_artifact(initial_params(3), pre, inputs=list(FEATURES), sensitive=[], seed=0)


def test_a_robust_combine_keeps_one_nodes_summary_from_rescaling_a_column() -> None:
    # Regression (#16 review): the global preprocessor was the plain sum of every node's
    # self-reported summary, so one node claiming an income mean of 1e9 flattened income
    # for every node whatever robust strategy was voted.
    from audit.synthetic import make_loans

    inputs = ["income", "debt_ratio", "credit_years"]
    frames = [make_loans(500, seed=s)[inputs] for s in range(4)]
    honest = [learning.summarize(f) for f in frames]
    hostile = honest[0].model_dump()
    for name, column in hostile["columns"]:
        if name == "income":
            column["total"] = column["count"] * 1e9
            column["squares"] = column["count"] * 1e18
    poisoned = [*honest[1:], learning.FrameSummary.model_validate(hostile)]

    def spread(parts: list[learning.FrameSummary], *, robust: bool) -> float:
        pre = learning.global_preprocessor(learning.combine(parts, robust=robust))
        return float(np.std(np.asarray(pre.transform(frames[1]))[:, 0]))

    assert spread(poisoned, robust=False) < 0.01  # the plain sum is what FedAvg gets
    assert 0.5 < spread(poisoned, robust=True) < 2.0
    assert 0.5 < spread(honest, robust=True) < 2.0
    # Honest nodes from one population: the robust statistics are close to the pooled ones.
    pooled = learning.global_preprocessor(learning.combine(honest)).transform(frames[1])
    robust = learning.global_preprocessor(learning.combine(honest, robust=True)).transform(
        frames[1]
    )
    assert np.allclose(np.asarray(pooled), np.asarray(robust), atol=0.1)
