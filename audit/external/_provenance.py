"""The model block of an external audit's report: what fairgov verified, and what it could not."""

from __future__ import annotations

from audit.external._registry import ExternalModel
from audit.external._scoring import ScoredRows
from audit.external._spec import ExternalAuditSpec
from audit.report_model import ExternalModelInfo, ModelInfo
from governance.policy.snapshot import PolicySnapshot

#: What fairgov could not check about a model it did not train; the report says so.
NOT_VERIFIED = (
    "how the model was trained, and on which data",
    "that the model served in production is this file (the gate approves this hash only)",
    "the exporter named in the file",
)


def verified(spec: ExternalAuditSpec, model: ExternalModel, scored: ScoredRows) -> list[str]:
    """The facts a reader of the report can rely on: each one was checked by fairgov."""
    rows = (
        "every row"
        if spec.test_size is None
        else f"the held-out split (test_size {spec.test_size}, seed {spec.seed})"
    )
    return [
        "the scoring data's sha256 equals the content hash the DAO allowed on chain",
        f"the model file's sha256 is {model.model_hash}",
        "the file holds only standard ONNX operators (ai.onnx, ai.onnx.ml) and was scored by "
        "onnxruntime on the CPU; no code from the model's owner ran",
        f"the model was given {rows} of the dataset: columns {', '.join(scored.inputs)}",
    ]


def _output(model: ExternalModel, spec: ExternalAuditSpec) -> str:
    signature = model.signature
    if signature.score_output is None:
        return f"labels from {signature.label_output}"
    if signature.label_output is not None:
        return f"probabilities from {signature.score_output} ({signature.score_form})"
    return f"{spec.output} from {signature.score_output}"


def external_model_info(
    spec: ExternalAuditSpec, model: ExternalModel, scored: ScoredRows, snapshot: PolicySnapshot
) -> ModelInfo:
    """The report's model block for an external model (``estimator`` says it was not
    trained by fairgov; ``mitigation`` is ``none``: the voted one was not applied)."""
    del snapshot  # the voted mitigation is a report warning, not part of the model block
    cutoff = spec.cutoff
    if scored.scores.source == "cutoff" and cutoff is None:
        cutoff = 0.5
    return ModelInfo(
        name=spec.name,
        hash=model.model_hash,
        estimator="external ONNX model (not trained by fairgov)",
        mitigation="none",
        spec=spec.model_dump(mode="json") | {"model_hash": model.model_hash},
        external=ExternalModelInfo(
            producer=model.producer,
            signature=model.signature.describe(),
            opsets=dict(model.signature.opsets),
            inputs=list(scored.inputs),
            output=_output(model, spec),
            predictions=scored.scores.source,
            cutoff=cutoff,
            scored_rows=len(scored.y_true),
            verified=verified(spec, model, scored),
            not_verified=list(NOT_VERIFIED),
        ),
    )
