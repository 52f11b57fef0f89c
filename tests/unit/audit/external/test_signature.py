"""Registering checks the file: valid ONNX, standard operators only, a readable signature."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from audit.errors import (
    CustomOperatorDomain,
    InvalidOnnxModel,
    OnnxModelTooLarge,
    UnexpectedOnnxSignature,
)
from audit.external import inspect_onnx
from tests.unit.audit.external import onnx_models as models


@pytest.fixture(scope="module")
def data() -> tuple[object, object]:
    return models.loans()


def test_a_column_transformer_pipeline_is_fed_per_column_and_read_through_zipmap(data) -> None:
    sig = inspect_onnx("loans", models.sklearn_pipeline(*data).data)
    assert sig.layout == "columns"
    assert [v.name for v in sig.inputs] == [
        "income",
        "debt_ratio",
        "credit_years",
        "employment",
        "region",
    ]
    assert [v.element for v in sig.inputs][3:] == ["string", "string"]
    assert (sig.label_output, sig.score_form) == ("output_label", "zipmap")
    assert set(sig.opsets) == {"ai.onnx", "ai.onnx.ml"}


@pytest.mark.parametrize(
    "export", [models.logistic_tensor, models.xgboost_tensor, models.lightgbm_tensor]
)
def test_tensor_models_have_one_float_input_a_label_and_probabilities(data, export) -> None:
    sig = inspect_onnx("m", export(*data).data)
    assert sig.layout == "tensor"
    assert sig.features == 3
    assert sig.label_output is not None
    assert sig.score_output is not None


def test_a_torch_style_graph_has_one_float_output_and_no_label() -> None:
    sig = inspect_onnx("mlp", models.torch_like_mlp().data)
    assert sig.layout == "tensor"
    assert sig.inputs[0].shape == ("batch", 3)
    assert (sig.label_output, sig.score_output, sig.score_form) == (None, "output", "tensor")
    assert "input: float[batch, 3]" in sig.describe()


def test_bytes_that_are_not_onnx_are_refused_with_one_line() -> None:
    with pytest.raises(InvalidOnnxModel) as caught:
        inspect_onnx("junk", b"PK\x03\x04 this is a zip file, not a model")
    assert caught.value.code == "invalid_onnx_model"
    assert "\n" not in caught.value.message
    assert "export it again" in caught.value.message


def test_custom_operator_domains_are_refused() -> None:
    with pytest.raises(CustomOperatorDomain) as caught:
        inspect_onnx("secret", models.custom_domain())
    assert caught.value.code == "custom_operator_domain"
    assert "com.example.secret" in caught.value.message


def test_an_output_that_is_neither_labels_nor_probabilities_is_an_unexpected_signature() -> None:
    with pytest.raises(UnexpectedOnnxSignature) as caught:
        inspect_onnx("wide", models.regression_graph())
    assert caught.value.code == "unexpected_onnx_signature"
    message = caught.value.message
    assert message.startswith("wide: expected a label output")
    assert "but the file has output: float[batch, 3]" in message


def test_files_over_the_size_limit_are_refused_before_parsing() -> None:
    with pytest.raises(OnnxModelTooLarge) as caught:
        inspect_onnx("big", models.torch_like_mlp().data, max_bytes=100)
    assert caught.value.code == "onnx_model_too_large"


def _external(tensor_name: str) -> onnx.TensorProto:
    """A [1, 1] float tensor whose data would be read from ``secret.bin`` next to the file."""
    tensor = numpy_helper.from_array(np.ones((1, 1), np.float32), tensor_name)
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "secret.bin"
    return tensor


def _graph_with_external(where: str) -> bytes:
    initializers = [numpy_helper.from_array(np.zeros((3, 1), np.float32), "w")]
    nodes = [helper.make_node("MatMul", ["input", "w"], ["s"])]
    if where == "initializer":
        initializers.append(_external("c"))
    else:
        nodes.append(helper.make_node("Constant", [], ["c"], value=_external("c")))
    nodes.append(helper.make_node("Add", ["s", "c"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 1])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    data: bytes = model.SerializeToString()
    return data


@pytest.mark.parametrize("where", ["initializer", "constant_node"])
def test_a_tensor_stored_in_an_external_file_is_refused(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of #17 (hole 12): only initializers were checked, and only after onnx.checker,
    which looks for the file in the server's working directory; a Constant node's tensor
    passed and failed at audit time instead."""
    monkeypatch.chdir(tmp_path)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.full(1, 42.0, np.float32).tobytes())
    with pytest.raises(InvalidOnnxModel) as caught:
        inspect_onnx("m", _graph_with_external(where))
    assert caught.value.code == "invalid_onnx_model"
    assert "tensor c is stored in an external file" in caught.value.message
    assert "\n" not in caught.value.message
