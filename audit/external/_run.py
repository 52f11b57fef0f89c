"""A governed external audit: a registered ONNX model scored on voted data, anchored, gated.

Like a central run (:mod:`audit.runs`) it freezes the policy, records its row, verifies
the dataset against the chain by hash (refusing exactly as a central run refuses), audits
under the voted thresholds and evidence rules, and publishes with
:func:`audit.publish.publish_run`. Instead of training, it scores the registered file with
onnxruntime. Its run id covers the spec, the dataset's content hash, the snapshot's hash
and the model's hash; its row and report say ``external``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import OnnxOutputKindMissing, UnexpectedOnnxSignature
from audit.evidence import gate_rule
from audit.external._provenance import external_model_info
from audit.external._registry import ExternalModel, read_model_bytes, registered_model
from audit.external._sandbox import ScoringLimits
from audit.external._scored import (
    audit_scores,
    model_inputs,
    score_dataset,
)
from audit.external._spec import ExternalAuditSpec
from audit.manifest import DatasetManifest, latest_manifest
from audit.plan import current_content_hash
from audit.provenance import dataset_info, policy_info
from audit.publish import AuditRun, Publication, finish_run, publish_run
from audit.report import build_report
from audit.run_recovery import QueuedRun, queued_row, start_queued
from audit.runs import REFUSALS
from audit.verify import frozen_snapshot, verify_datasets
from bias_checks import AuditResult
from core.canonical import canonical_hash
from core.db import session_scope
from core.types import Hash32
from governance.policy.snapshot import PolicySnapshot

#: ``progress(stage, step, total)``: called as each stage starts.
Progress = Callable[[str, int, int], None]
STAGES = ("policy", "verify", "score", "audit", "report", "anchor", "gate")


def external_run_id(
    spec: ExternalAuditSpec,
    content_hash: str,
    snapshot_hash: str,
    model_hash: str,
    *,
    kind: RunKind = RunKind.EXTERNAL,
) -> Hash32:
    """The canonical hash of the spec, the dataset's content hash, the snapshot's hash and
    the model's hash; a re-audit's (``kind`` ``reaudit``) also covers its kind, so it never
    takes the id of the external run it follows."""
    data: dict[str, Any] = {
        "external_spec": spec.model_dump(mode="json") | {"model_hash": model_hash},
        "dataset_content_hash": content_hash,
        "policy_snapshot_hash": snapshot_hash,
        "model_hash": model_hash,
    }
    if kind != RunKind.EXTERNAL:
        data["kind"] = kind.value
    return canonical_hash(data)


@dataclass(frozen=True)
class _Plan:
    snapshot: PolicySnapshot
    manifest: DatasetManifest
    content_hash: str
    model: ExternalModel
    run_id: Hash32
    kind: RunKind


def _plan(env: AuditEnv, spec: ExternalAuditSpec, kind: RunKind) -> _Plan:
    model_hash = spec.model_hash.lower()
    with session_scope(env.engine) as session:
        model = registered_model(session, spec.name, model_hash)
        manifest = latest_manifest(session, spec.dataset)
    check_readable(spec, model)
    model_inputs(spec, model, manifest)  # refused here, before a run is recorded
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    content_hash = current_content_hash(manifest)
    run_id = external_run_id(spec, content_hash, snapshot.hash, model_hash, kind=kind)
    return _Plan(snapshot, manifest, content_hash, model, run_id, kind)


def plan_external_run(env: AuditEnv, spec: ExternalAuditSpec) -> Hash32:
    """The run id :func:`run_external_audit` will give ``spec`` now, after the checks it makes
    before it records anything; lets an adapter answer with the id before the run starts.

    Raises
    ------
    ModelNotRegistered, DatasetNotRegistered
        Nothing to audit.
    OnnxOutputKindMissing, UnexpectedOnnxSignature, InvalidModelSpec
        The spec cannot feed or read the model.
    """
    return _plan(env, spec, RunKind.EXTERNAL).run_id


def queue_external_run(env: AuditEnv, spec: ExternalAuditSpec) -> QueuedRun:
    """Plan an external run of ``spec`` now and store it as a ``queued`` row, to be run
    later with :func:`run_external_audit` (``queued=``), here or after a crash.

    Raises what :func:`plan_external_run` raises; nothing is stored then.
    """
    env.require_auditor_key()
    plan = _plan(env, spec, RunKind.EXTERNAL)
    with session_scope(env.engine) as session:
        return queued_row(session, _row(spec, plan))


def check_readable(spec: ExternalAuditSpec, model: ExternalModel) -> None:
    """Refuse, before anything is recorded, a spec that cannot read the model's outputs.

    Raises
    ------
    OnnxOutputKindMissing
        One float output, no label output, and no ``output`` in the spec.
    UnexpectedOnnxSignature
        A ``cutoff`` for a model that gives labels only.
    """
    signature = model.signature
    if signature.label_output is None and spec.output is None:
        raise OnnxOutputKindMissing(spec.name, str(signature.score_output))
    if signature.score_output is None and spec.cutoff is not None:
        raise UnexpectedOnnxSignature(
            spec.name, "probabilities to apply the spec's cutoff to", "a label output only"
        )


def run_external_audit(
    env: AuditEnv,
    spec: ExternalAuditSpec,
    *,
    progress: Progress | None = None,
    queued: int | None = None,
) -> AuditRun:
    """Score a registered ONNX model on a voted dataset, audit it under the voted policy,
    anchor the report and approve or block the model's hash.

    Parameters
    ----------
    env : AuditEnv
        The database, chain, contracts, data directory and auditor key.
    spec : ExternalAuditSpec
        The registered model (name and hash), the dataset and how to read the model.
    progress : callable, optional
        ``progress(stage, step, total)`` as each of :data:`STAGES` starts.
    queued : int, optional
        The row :func:`queue_external_run` stored for this run: the run takes it instead
        of recording a new attempt (and closes it ``failed`` if it cannot start).

    Returns
    -------
    AuditRun
        ``kind`` is ``external``; ``model_hash`` is the ONNX file's hash.

    Raises
    ------
    AuditorKeyMissing, ModelNotRegistered, DatasetNotRegistered, OnnxOutputKindMissing
        Nothing is recorded.
    DatasetNotAllowed, ManifestMismatch, DatasetFileMissing, DatasetHashMismatch
        Verification failed: the run is recorded ``refused`` and nothing is scored.
    UnexpectedOnnxSignature, OnnxOutputKindMissing, ExternalModelFailed, AnchorRefused
        The run is recorded ``failed``; the model's gate status does not change.
    OnnxMemoryLimitExceeded, OnnxScoringOutOfMemory, OnnxScoringTimeout
        The scoring process hit its memory or time limit and was stopped: the run is
        recorded ``failed``, nothing is anchored and the gate status does not change.

    Examples
    --------
    >>> run = run_external_audit(env, ExternalAuditSpec(name="loans-xgb",
    ...     model_hash=model.model_hash, dataset="loans"))  # doctest: +SKIP
    >>> run.verdict, run.model_status  # doctest: +SKIP
    ('PASS', 'approved')
    """
    return _run(env, spec, RunKind.EXTERNAL, progress, queued)


def reaudit_external(
    env: AuditEnv, spec: ExternalAuditSpec, *, progress: Progress | None = None
) -> AuditRun:
    """Audit an approved external model again under the current policy, with its stored
    spec: fairgov holds the registered file and the voted dataset, so it needs no one.

    Everything is as in :func:`run_external_audit` (the same refusals, scoring, report,
    anchor and gate: a FAIL blocks the model) except that the run's row and report say
    ``reaudit``, as a central model's re-audit does, and its run id also covers that kind.

    Examples
    --------
    >>> run = reaudit_external(env, spec)  # doctest: +SKIP
    >>> run.kind, run.model_status  # doctest: +SKIP
    ('reaudit', 'blocked')
    """
    return _run(env, spec, RunKind.REAUDIT, progress)


def _run(
    env: AuditEnv,
    spec: ExternalAuditSpec,
    kind: RunKind,
    progress: Progress | None,
    queued: int | None = None,
) -> AuditRun:
    def step(name: str) -> None:
        if progress is not None:
            progress(name, STAGES.index(name), len(STAGES))

    try:
        auditor_key = env.require_auditor_key()
        step("policy")
        plan = _plan(env, spec, kind)
    except BaseException as exc:
        if queued is not None:  # the accepted run cannot start: say so in its row
            finish_run(env.engine, queued, RunStatus.FAILED, exc)
        raise
    if queued is None:
        row_id = _record(env, spec, plan)
    else:
        start_queued(env.engine, queued, plan.run_id)
        row_id = queued
    try:
        step("verify")
        verify_datasets(plan.snapshot, (plan.manifest,))
    except REFUSALS as exc:
        finish_run(env.engine, row_id, RunStatus.REFUSED, exc)
        raise
    try:
        return _score_audit_publish(env, auditor_key, spec, plan=plan, row_id=row_id, step=step)
    except BaseException as exc:
        finish_run(env.engine, row_id, RunStatus.FAILED, exc)
        raise


def audit_again(
    env: AuditEnv,
    spec: ExternalAuditSpec,
    snapshot: PolicySnapshot,
    *,
    on_score: Callable[[], None] | None = None,
) -> AuditResult:
    """Score a registered model with its stored spec and audit it under ``snapshot`` (a
    proposed policy), writing, anchoring and gating nothing: the impact previews' view of
    the re-audit a vote would cause. ``on_score`` is called once the dataset is verified.

    Raises
    ------
    ModelNotRegistered, DatasetNotRegistered
        The model or dataset is no longer registered here.
    DatasetNotAllowed, ManifestMismatch, DatasetFileMissing, DatasetHashMismatch
        The re-audit would be refused (:data:`audit.runs.REFUSALS`).
    ModelFileMissing, ModelHashMismatch, UnexpectedOnnxSignature, OnnxOutputKindMissing,
    InvalidOnnxOutput, ExternalModelFailed, OnnxMemoryLimitExceeded, OnnxScoringOutOfMemory,
    OnnxScoringTimeout
        The stored file cannot be scored.

    Examples
    --------
    >>> audit_again(env, spec, proposed.snapshot).verdict  # doctest: +SKIP
    <Verdict.FAIL: 'FAIL'>
    """
    with session_scope(env.engine) as session:
        model = registered_model(session, spec.name, spec.model_hash.lower())
        manifest = latest_manifest(session, spec.dataset)
    check_readable(spec, model)
    verify_datasets(snapshot, (manifest,))
    if on_score is not None:
        on_score()
    limits = ScoringLimits(env.onnx_max_memory, env.onnx_max_seconds)
    scored = score_dataset(spec, model, read_model_bytes(model), manifest, limits=limits)
    return audit_scores(
        snapshot,
        scored,
        n_boot=spec.n_boot,
        seed=spec.seed,
        reference_group=manifest.reference_group,
    )


def _record(env: AuditEnv, spec: ExternalAuditSpec, plan: _Plan) -> int:
    with session_scope(env.engine) as session:
        row = _row(spec, plan)
        row.status = RunStatus.RUNNING
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def _row(spec: ExternalAuditSpec, plan: _Plan) -> AuditRunRecord:
    snapshot = plan.snapshot
    return AuditRunRecord(
        run_id=plan.run_id,
        kind=plan.kind,
        model_name=spec.name,
        dataset_name=plan.manifest.name,
        dataset_id=plan.manifest.dataset_id,
        spec_json=spec.canonical_json().decode("utf-8"),
        chain_id=snapshot.chain_id,
        policy_version=snapshot.policy_version,
        policy_block=snapshot.block_number,
        policy_snapshot_hash=snapshot.hash,
        content_hash=plan.content_hash,
        model_hash=plan.model.model_hash,
    )


def _score_audit_publish(
    env: AuditEnv,
    auditor_key: str,
    spec: ExternalAuditSpec,
    *,
    plan: _Plan,
    row_id: int,
    step: Callable[[str], None],
) -> AuditRun:
    snapshot, manifest, model = plan.snapshot, plan.manifest, plan.model
    step("score")
    data = read_model_bytes(model)
    limits = ScoringLimits(env.onnx_max_memory, env.onnx_max_seconds)
    scored = score_dataset(spec, model, data, manifest, limits=limits)
    step("audit")
    result = audit_scores(
        snapshot,
        scored,
        n_boot=spec.n_boot,
        seed=spec.seed,
        reference_group=manifest.reference_group,
    )
    when_inconclusive, warnings = gate_rule(snapshot, result)
    step("report")
    report = build_report(
        kind=plan.kind,
        run_id=plan.run_id,
        audit=result,
        model=external_model_info(spec, model, scored, snapshot),
        dataset=dataset_info((manifest,), (scored.dataset_rows,)),
        policy=policy_info(snapshot),
        seeds={"split": spec.seed, "bootstrap": spec.seed},
        warnings=[*warnings, *_mitigation_warning(snapshot)],
    )
    return publish_run(
        env,
        auditor_key,
        Publication(
            row_id=row_id,
            kind=plan.kind,
            model_name=spec.name,
            report=report,
            model_path=model.path,
            model_hash=model.model_hash,
            dataset_id=manifest.dataset_id,
            snapshot=snapshot,
            on_inconclusive=when_inconclusive,
        ),
        step=step,
    )


def _mitigation_warning(snapshot: PolicySnapshot) -> list[str]:
    strategy = snapshot.mitigation.strategy
    if strategy in ("", "none"):
        return []
    return [
        f"the voted mitigation ({strategy}) was not applied: fairgov did not train this "
        "external model, it audited the model as submitted"
    ]
