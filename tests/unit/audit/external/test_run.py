"""What an external audit settles before it records a run: the rows, the inputs, the outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import InvalidModelSpec, OnnxOutputKindMissing, UnexpectedOnnxSignature
from audit.external import ExternalAuditSpec, ExternalModel, inspect_onnx
from audit.external._run import check_readable
from audit.external._scored import heldout, model_inputs
from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame
from audit.spec import ModelSpec
from audit.synthetic import FEATURES, LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from audit.training import split
from tests.unit.audit.external import onnx_models as models

HASH = "0x" + "ab" * 32


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> DatasetManifest:
    path = tmp_path_factory.mktemp("loans") / "loans.csv"
    write_loans_csv(path, 800)
    return build_manifest(
        path, name="loans", label=LABEL, positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE), licence="CC0-1.0", description="",
    )  # fmt: skip


def _model(data: bytes) -> ExternalModel:
    return ExternalModel("m", HASH, Path("m.onnx"), len(data), inspect_onnx("m", data), "")


def _spec(**kw: object) -> ExternalAuditSpec:
    return ExternalAuditSpec(name="m", model_hash=HASH, dataset="loans", **kw)  # type: ignore[arg-type]


def test_the_held_out_rows_are_those_a_central_run_holds_out(manifest: DatasetManifest) -> None:
    frame = load_frame(manifest)
    ours = heldout(frame, manifest, _spec(test_size=0.3, seed=4))
    central = split(frame, manifest, ModelSpec(name="x", dataset="loans", test_size=0.3, seed=4))
    assert list(ours.index) == list(central.x_test.index)
    assert heldout(frame, manifest, _spec()) is frame  # the default scores every row


def test_a_per_column_model_is_given_the_columns_it_names(manifest: DatasetManifest) -> None:
    train = models.loans(300)
    model = _model(models.sklearn_pipeline(*train).data)
    assert model_inputs(_spec(), model, manifest) == FEATURES
    with pytest.raises(InvalidModelSpec, match="leave inputs out of the spec"):
        model_inputs(_spec(inputs=("income",)), model, manifest)


def test_the_label_is_never_an_input(manifest: DatasetManifest) -> None:
    model = _model(models.torch_like_mlp().data)
    with pytest.raises(InvalidModelSpec, match="the label is never given to a model"):
        model_inputs(_spec(inputs=("income", "debt_ratio", LABEL)), model, manifest)


def test_a_tensor_wider_or_narrower_than_the_inputs_is_refused(manifest: DatasetManifest) -> None:
    model = _model(models.torch_like_mlp().data)  # [batch, 3]; the manifest has 5 features
    with pytest.raises(UnexpectedOnnxSignature, match=r"expected a float tensor \[N, 5\]"):
        model_inputs(_spec(), model, manifest)


def test_outputs_the_spec_cannot_read_are_refused() -> None:
    with pytest.raises(OnnxOutputKindMissing):
        check_readable(_spec(), _model(models.torch_like_mlp().data))
    check_readable(_spec(output="logit"), _model(models.torch_like_mlp().data))
