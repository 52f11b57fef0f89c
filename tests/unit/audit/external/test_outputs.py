"""What a model returned is refused when it cannot be audited (review of #17, holes 4 to 7).

Each graph is valid ONNX with a signature fairgov reads; what it computes at run time is
wrong. Real files, real onnxruntime.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper, numpy_helper

from audit.errors import InvalidOnnxOutput
from audit.external import Scores, inspect_onnx, score_frame, session

INPUTS = ("income", "debt_ratio", "credit_years")


def _frame(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({c: rng.normal(size=n) for c in INPUTS})


def _model(nodes: list[Any], outputs: list[Any], initializers: list[Any]) -> bytes:
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        outputs,
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def _score(data: bytes, **kw: Any) -> Scores:
    sig = inspect_onnx("m", data)
    return score_frame(
        "m", session("m", data), sig, _frame(), inputs=INPUTS, positive_label="1", **kw
    )


def _constant(value: float) -> list[Any]:
    """Nodes giving ``p`` [batch, 1] = ``value`` for every row: 0 * x + value, or 0 / 0."""
    last = (
        helper.make_node("Div", ["z", "zero"], ["p"])
        if np.isnan(value)
        else helper.make_node("Add", ["z", "c"], ["p"])
    )
    return [
        helper.make_node("MatMul", ["input", "w"], ["s"]),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        last,
    ]


def _classifier(value: float, label: str = "ArgMax") -> bytes:
    """``label`` int64 [batch] (ArgMax, or ArgMin to contradict) and ``probabilities``
    [batch, 2] = (1 - value, value)."""
    nodes = [
        *_constant(value),
        helper.make_node("Sub", ["one", "p"], ["q"]),
        helper.make_node("Concat", ["q", "p"], ["probabilities"], axis=1),
        helper.make_node(label, ["probabilities"], ["label"], axis=1, keepdims=0),
    ]
    return _model(
        nodes,
        [
            helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]),
            helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 2]),
        ],
        [
            numpy_helper.from_array(np.ones((1, 1), np.float32), "one"),
            numpy_helper.from_array(np.ones((3, 1), np.float32), "w"),
            numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
            numpy_helper.from_array(np.full((1, 1), value, np.float32), "c"),
        ],
    )


def _refused(data: bytes, **kw: Any) -> str:
    with pytest.raises(InvalidOnnxOutput) as caught:
        _score(data, **kw)
    assert caught.value.code == "invalid_onnx_output"
    assert "\n" not in caught.value.message
    return caught.value.message


def test_nan_probabilities_are_refused_not_read_as_negative() -> None:
    """NaN >= 0.5 is False: every row silently became a negative prediction."""
    message = _refused(_classifier(float("nan")), cutoff=0.5)
    assert "not probabilities on 50 rows (row 0: nan, nan;" in message


@pytest.mark.parametrize("value", [1.7, -0.2])
def test_probabilities_outside_0_1_are_refused(value: float) -> None:
    message = _refused(_classifier(value))
    assert "scores in output probabilities that are not probabilities" in message
    assert "say 'output: logit'" in message


def _single(weight: float, *, reduce: bool = False) -> bytes:
    nodes = [helper.make_node("MatMul", ["input", "w"], ["s" if reduce else "output"])]
    if reduce:  # declared [batch, 1], but the mean over the batch: one row
        nodes.append(helper.make_node("ReduceMean", ["s"], ["output"], axes=[0], keepdims=1))
    return _model(
        nodes,
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(np.full((3, 1), weight, np.float32), "w")],
    )


def test_a_single_probability_output_outside_0_1_is_refused_but_read_as_a_logit() -> None:
    """Raw linear scores given as `output: probability` were read as is."""
    _refused(_single(3.0), output="probability")
    scores = _score(_single(3.0), output="logit")
    assert scores.probability is not None
    assert ((scores.probability > 0) & (scores.probability < 1)).all()


def test_a_label_output_that_contradicts_its_probabilities_is_refused() -> None:
    """Label 0 for every row (ArgMin) while P(1) = 0.9 everywhere."""
    message = _refused(_classifier(0.9, label="ArgMin"))
    assert "contradict its probabilities on 50 of 50 rows (row 0: label 0," in message
    assert "give a cutoff in the spec" in message
    # the way out it names: a cutoff predicts from the probabilities, the labels unused
    scores = _score(_classifier(0.9, label="ArgMin"), cutoff=0.5)
    assert scores.source == "cutoff"
    assert scores.positive.tolist() == [1] * 50


@pytest.mark.parametrize("value", [0.1, 0.5, 0.9])
def test_labels_that_are_the_most_probable_class_are_read(value: float) -> None:
    scores = _score(_classifier(value))
    assert scores.source == "label_output"
    assert scores.positive.tolist() == [int(value > 0.5)] * 50
    assert scores.probability is not None
    np.testing.assert_allclose(scores.probability, value, atol=1e-6)


def test_an_output_with_fewer_rows_than_the_input_is_refused() -> None:
    message = _refused(_single(1.0, reduce=True), output="logit")
    assert "1 rows in output output for 50 rows given" in message
