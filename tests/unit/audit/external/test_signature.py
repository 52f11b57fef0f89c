"""Registering checks the file: valid ONNX, standard operators only, a readable signature."""

from __future__ import annotations

import pytest

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
