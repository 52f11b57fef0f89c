"""onnxruntime's scores equal the native model's predict_proba, for every exporter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from audit.errors import OnnxOutputKindMissing, UnexpectedOnnxSignature
from audit.external import inspect_onnx, score_frame, session
from audit.external._scoring import column_for
from tests.unit.audit.external import onnx_models as models
from tests.unit.audit.external.onnx_models import NUMERIC, Exported


@pytest.fixture(scope="module")
def train() -> tuple[object, object]:
    return models.loans(600, seed=1)


@pytest.fixture(scope="module")
def fresh():  # type: ignore[no-untyped-def]
    return models.loans(400, seed=2)[0]


def _score(exported: Exported, frame, **kw):  # type: ignore[no-untyped-def]
    sig = inspect_onnx("m", exported.data)
    return score_frame(
        "m", session("m", exported.data), sig, frame, inputs=NUMERIC, positive_label="1", **kw
    )


EXPORTERS: list[Callable[..., Exported]] = [
    models.sklearn_pipeline,
    models.logistic_tensor,
    models.xgboost_tensor,
    models.lightgbm_tensor,
]


@pytest.mark.parametrize("export", EXPORTERS, ids=lambda f: f.__name__)
def test_scores_equal_the_native_predict_proba(train, fresh, export) -> None:
    exported = export(*train)
    scores = _score(exported, fresh)
    assert scores.probability is not None
    np.testing.assert_allclose(scores.probability, exported.proba(fresh), atol=1e-5, rtol=0)
    assert scores.source == "label_output"
    np.testing.assert_array_equal(scores.positive, exported.proba(fresh) > 0.5)


def test_a_cutoff_overrides_the_label_output(train, fresh) -> None:
    exported = models.sklearn_pipeline(*train)
    scores = _score(exported, fresh, cutoff=0.8)
    assert scores.source == "cutoff"
    np.testing.assert_array_equal(scores.positive, exported.proba(fresh) >= 0.8)


@pytest.mark.parametrize(
    ("sigmoid", "width", "output"),
    [(False, 1, "logit"), (False, 2, "logit"), (True, 1, "probability")],
)
def test_a_torch_style_output_is_read_as_the_spec_says(fresh, sigmoid, width, output) -> None:
    exported = models.torch_like_mlp(sigmoid=sigmoid, width=width)
    scores = _score(exported, fresh, output=output)
    assert scores.probability is not None
    np.testing.assert_allclose(scores.probability, exported.proba(fresh), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(scores.positive, scores.probability >= 0.5)


def test_a_single_float_output_needs_the_spec_to_say_what_it_holds(fresh) -> None:
    with pytest.raises(OnnxOutputKindMissing) as caught:
        _score(models.torch_like_mlp(), fresh)
    assert caught.value.code == "onnx_output_kind_missing"
    assert "'output: probability' or 'output: logit'" in caught.value.message


def test_a_column_the_dataset_lacks_is_an_unexpected_signature(train, fresh) -> None:
    exported = models.sklearn_pipeline(*train)
    with pytest.raises(UnexpectedOnnxSignature) as caught:
        _score(exported, fresh.drop(columns=["region"]))
    assert "input 'region', for which the dataset has no column" in caught.value.message


def test_inputs_renamed_by_the_exporter_find_their_column() -> None:
    columns = ["education-num", "age", "hours per week"]
    assert column_for("m", "education_num", columns) == "education-num"
    assert column_for("m", "hours_per_week", columns) == "hours per week"
    assert column_for("m", "age", columns) == "age"
    with pytest.raises(UnexpectedOnnxSignature, match="several columns"):
        column_for("m", "a_b", ["a-b", "a b"])


def test_a_tensor_of_another_width_than_the_inputs_is_an_unexpected_signature(train, fresh) -> None:
    exported = models.logistic_tensor(*train)
    sig = inspect_onnx("m", exported.data)
    with pytest.raises(UnexpectedOnnxSignature) as caught:
        score_frame(
            "m", session("m", exported.data), sig, fresh, inputs=NUMERIC[:2], positive_label="1"
        )
    assert "expected a float tensor [N, 2]" in caught.value.message
    assert "X: float[?, 3]" in caught.value.message
