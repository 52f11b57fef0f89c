"""A governed external audit: a registered ONNX model scored on voted data, anchored, gated.

Like a central run (:mod:`audit.runs`) it freezes the policy, records its row, verifies
the dataset against the chain by hash (refusing exactly as a central run refuses), audits
under the voted thresholds and evidence rules, and publishes with
:func:`audit.runs.publish_run`. Instead of training, it scores the registered file with
onnxruntime. Its run id covers the spec, the dataset's content hash, the snapshot's hash
and the model's hash; its row and report say ``external``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import InvalidModelSpec, OnnxOutputKindMissing, UnexpectedOnnxSignature
from audit.evidence import audit_under_policy, gate_rule
from audit.external._provenance import external_model_info
from audit.external._registry import ExternalModel, read_model_bytes, registered_model
from audit.external._sandbox import Scorer, ScoringLimits, score_sandboxed
from audit.external._scoring import ScoredRows, column_for
from audit.external._spec import ExternalAuditSpec
from audit.manifest import DatasetManifest, latest_manifest, load_frame
from audit.plan import current_content_hash
from audit.provenance import dataset_info, policy_info
from audit.report import build_report
from audit.runs import REFUSALS, AuditRun, Publication, finish_run, publish_run
from audit.training import labels, sensitive_groups
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
    env: AuditEnv, spec: ExternalAuditSpec, *, progress: Progress | None = None
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
    return _run(env, spec, RunKind.EXTERNAL, progress)


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
    env: AuditEnv, spec: ExternalAuditSpec, kind: RunKind, progress: Progress | None
) -> AuditRun:
    auditor_key = env.require_auditor_key()

    def step(name: str) -> None:
        if progress is not None:
            progress(name, STAGES.index(name), len(STAGES))

    step("policy")
    plan = _plan(env, spec, kind)
    row_id = _record(env, spec, plan)
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
    snapshot = plan.snapshot
    with session_scope(env.engine) as session:
        row = AuditRunRecord(
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
            status=RunStatus.RUNNING,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def model_inputs(
    spec: ExternalAuditSpec, model: ExternalModel, manifest: DatasetManifest
) -> tuple[str, ...]:
    """The columns the model is given: by input name, or ``spec.inputs`` (default: the
    manifest's features) in order for a single tensor.

    Raises
    ------
    UnexpectedOnnxSignature
        An input names no feature or sensitive column.
    InvalidModelSpec
        ``spec.inputs`` names a column that is not a feature or sensitive column.
    """
    allowed = readable_columns(manifest)
    if model.signature.layout == "columns":
        named = tuple(column_for(spec.name, v.name, allowed) for v in model.signature.inputs)
        if spec.inputs is not None and spec.inputs != named:
            raise InvalidModelSpec(
                f"inputs: this model takes one input per column, by name ({', '.join(named)}); "
                "leave inputs out of the spec"
            )
        return named
    inputs = spec.inputs if spec.inputs is not None else tuple(manifest.features)
    unknown = [c for c in inputs if c not in allowed]
    if unknown:
        raise InvalidModelSpec(
            f"inputs: {', '.join(unknown)} is not a feature or sensitive column of dataset "
            f"{manifest.name} (the label is never given to a model)"
        )
    width = model.signature.features
    if width is not None and width != len(inputs):
        raise UnexpectedOnnxSignature(
            spec.name,
            f"a float tensor [N, {len(inputs)}] (one column per input: {', '.join(inputs)})",
            model.signature.inputs[0].describe(),
        )
    return inputs


def readable_columns(manifest: DatasetManifest) -> tuple[str, ...]:
    """The columns a model may be given: the features and the sensitive ones, never the
    label."""
    return tuple(dict.fromkeys((*manifest.features, *manifest.sensitive_features)))


def heldout(
    frame: pd.DataFrame, manifest: DatasetManifest, spec: ExternalAuditSpec
) -> pd.DataFrame:
    """Every row, or (with ``spec.test_size``) the seeded label-stratified held-out rows: the
    same rows :func:`audit.training.split` holds out with that test size and seed."""
    if spec.test_size is None:
        return frame
    y = labels(frame, manifest)
    _, test = train_test_split(
        np.arange(len(frame)), test_size=spec.test_size, random_state=spec.seed, stratify=y
    )
    rows: pd.DataFrame = frame.iloc[test]
    return rows


def score_dataset(
    spec: ExternalAuditSpec,
    model: ExternalModel,
    data: bytes,
    manifest: DatasetManifest,
    *,
    limits: ScoringLimits = ScoringLimits(),  # noqa: B008 - frozen, immutable
) -> ScoredRows:
    """Load the dataset, take the rows to score and score them with onnxruntime in a child
    process within ``limits`` (:func:`audit.external.score_sandboxed`), started first so
    that it imports onnxruntime while the dataset loads."""
    scorer = Scorer()
    try:
        frame = load_frame(manifest)
        rows = heldout(frame, manifest, spec)
        inputs = model_inputs(spec, model, manifest)
        scores = score_sandboxed(
            spec.name,
            data,
            model.signature,
            rows[list(readable_columns(manifest))],
            inputs=inputs,
            positive_label=manifest.positive_label,
            output=spec.output,
            cutoff=spec.cutoff,
            limits=limits,
            scorer=scorer,
        )
    finally:
        scorer.close()
    groups = sensitive_groups(rows[list(manifest.sensitive_features)])
    return ScoredRows(labels(rows, manifest), groups, scores, inputs, len(frame))


def audit_scores(
    snapshot: PolicySnapshot,
    scored: ScoredRows,
    *,
    n_boot: int,
    seed: int,
    reference_group: Mapping[str, str] | None = None,
) -> AuditResult:
    """:func:`audit.evidence.audit_under_policy` on the predictions, with the probabilities
    as ``y_score`` where that keyword exists, against the manifest's voted privileged group
    (``reference_group``; None: the largest group)."""
    extra: dict[str, Any] = {}
    if (
        scored.scores.probability is not None
        and "y_score" in inspect.signature(audit_under_policy).parameters
    ):
        extra["y_score"] = scored.scores.probability
    return audit_under_policy(
        snapshot,
        scored.y_true,
        scored.scores.positive,
        sensitive_features=scored.groups,
        n_boot=n_boot,
        random_state=seed,
        reference_group=reference_group,
        **extra,
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
