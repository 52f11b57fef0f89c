"""Models trained in PyTorch and exported with ``torch.onnx.export`` (both exporters): the
registry reads them, and onnxruntime's scores equal torch's own probabilities."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from audit.external import inspect_onnx, score_frame, session
from tests.unit.audit.external import onnx_models as models
from tests.unit.audit.external.onnx_models import NUMERIC
from tests.unit.audit.external.torch_models import torch_mlp

pytestmark = pytest.mark.slow  # torch's import and the dynamo export take seconds


@pytest.fixture(scope="module")
def train():  # type: ignore[no-untyped-def]
    return models.loans(600, seed=1)


@pytest.fixture(scope="module")
def fresh():  # type: ignore[no-untyped-def]
    return models.loans(400, seed=2)[0]


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript", "dynamo"])
@pytest.mark.parametrize(
    ("head", "output"),
    [("logit", "logit"), ("probability", "probability"), ("two_logits", "logit")],
)
def test_scores_equal_torchs_own_probabilities(train, fresh, dynamo, head, output) -> None:
    exported = torch_mlp(*train, dynamo=dynamo, head=head)
    assert onnx.load_from_string(exported.data).producer_name == "pytorch"
    signature = inspect_onnx("mlp", exported.data)
    assert signature.layout == "tensor"
    scores = score_frame(
        "mlp",
        session("mlp", exported.data),
        signature,
        fresh,
        inputs=NUMERIC,
        positive_label="1",
        output=output,
    )
    assert scores.probability is not None
    expected = exported.proba(fresh)
    np.testing.assert_allclose(scores.probability, expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(scores.positive, scores.probability >= 0.5)
    # The model learned something: its scores are not one constant.
    assert np.ptp(expected) > 0.05
