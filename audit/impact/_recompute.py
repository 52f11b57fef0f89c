"""Recomputing one model's audit under a proposed policy, shared by both previews.

The same steps as an audit run (:func:`audit.runs.evaluate`) on the same seeded split: the
dataset is verified against the proposed policy, the stored model file is audited (or, when
the mitigation changes, a model is retrained), and the gate rule gives the status the model
would get. Nothing is written: no run row, no report, no anchor, no gate decision. An
external (ONNX) model is scored again from its registered file with its stored spec
(:func:`audit.external.audit_again`); fairgov never retrains it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from audit.db_models import ModelStatus, ModelVersion
from audit.env import AuditEnv
from audit.errors import (
    DatasetNotRegistered,
    ExternalModelFailed,
    InvalidModelSpec,
    InvalidOnnxOutput,
    ModelFileMissing,
    ModelHashMismatch,
    ModelNotRegistered,
    OnnxMemoryLimitExceeded,
    OnnxOutputKindMissing,
    UnexpectedOnnxSignature,
    UntrustedModelType,
)
from audit.evidence import gate_rule
from audit.external import ExternalAuditSpec, audit_again
from audit.gate import decide
from audit.models import load_model
from audit.plan import spec_manifests
from audit.runs import Progress, evaluate
from audit.spec import ModelSpec
from audit.verify import verify_datasets
from bias_checks import AuditResult
from core.db import session_scope
from governance.policy.models import PolicySnapshot

#: The steps of one model's recomputation, as the progress callback names them.
STAGES = ("verify", "train", "audit")

#: Why a stored model file (central, or a registered ONNX file), or the stored spec that
#: reads it, cannot be audited again.
UNREADABLE_MODEL = (
    ModelFileMissing,
    ModelHashMismatch,
    UntrustedModelType,
    InvalidModelSpec,
    DatasetNotRegistered,
    ModelNotRegistered,
    UnexpectedOnnxSignature,
    OnnxOutputKindMissing,
    InvalidOnnxOutput,
    ExternalModelFailed,
    OnnxMemoryLimitExceeded,
)


@dataclass(frozen=True)
class Recomputed:
    """A model audited again under a proposed snapshot, and the gate status it would get."""

    result: AuditResult
    status: ModelStatus


def recompute(
    env: AuditEnv,
    spec: ModelSpec | ExternalAuditSpec,
    version: ModelVersion,
    snapshot: PolicySnapshot,
    *,
    retrain: bool,
    step: Progress | None = None,
) -> Recomputed:
    """Audit ``version`` again under ``snapshot``: its stored file, or retrained if ``retrain``.

    An external model (``spec`` an :class:`~audit.external.ExternalAuditSpec`) is scored
    again from its registered file; ``retrain`` is ignored (fairgov cannot retrain it) and
    its ``train`` stage is the scoring.

    ``step(stage, index, total)`` is called as each of :data:`STAGES` starts.

    Raises
    ------
    DatasetNotAllowed, ManifestMismatch, DatasetHashMismatch, DatasetFileMissing
        The audit would be refused (:data:`audit.runs.REFUSALS`).
    ModelFileMissing, ModelHashMismatch, UntrustedModelType
        The stored model file cannot be loaded (only without ``retrain``).
    ModelNotRegistered, UnexpectedOnnxSignature, InvalidOnnxOutput, ExternalModelFailed
        An external model's registered file cannot be scored (see :data:`UNREADABLE_MODEL`).

    Examples
    --------
    >>> recompute(env, spec, version, proposed, retrain=False).status  # doctest: +SKIP
    <ModelStatus.APPROVED: 'approved'>
    """

    def at(stage: int) -> None:
        if step is not None:
            step(STAGES[stage], stage, len(STAGES))

    at(0)
    if isinstance(spec, ExternalAuditSpec):
        result = audit_again(env, spec, snapshot, on_score=lambda: at(1))
        at(2)
        when, _ = gate_rule(snapshot, result)
        status, _ = decide(result.verdict, anchored=True, on_inconclusive=when)
        return Recomputed(result, status)
    with session_scope(env.engine) as session:
        manifests = spec_manifests(session, spec)
    verify_datasets(snapshot, manifests)
    at(1)
    stored = None
    if not retrain:
        stored = load_model(
            Path(version.artifact_path),
            expected_hash=version.model_hash,
            trusted_modules=env.estimator_modules,
        )
    evaluation = evaluate(
        spec,
        manifests,
        snapshot,
        model=stored,
        on_audit=lambda: at(2),
        estimator_modules=env.estimator_modules,
    )
    status, _ = decide(
        evaluation.result.verdict, anchored=True, on_inconclusive=evaluation.on_inconclusive
    )
    return Recomputed(evaluation.result, status)
