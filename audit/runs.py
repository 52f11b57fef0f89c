"""Audit runs: verify, train, audit, report, anchor and gate, atomically and reproducibly.

A run freezes the policy snapshot it starts with; a vote that lands mid-run changes
nothing in it. The snapshot is read at the block where the current policy version took
effect, so the same rules always give the same snapshot hash, whenever the run happens.
The run id is fixed by the spec, the datasets' content hashes, that snapshot hash and the
seed (:mod:`audit.plan`), and nothing time-dependent enters the report, so re-running the
same inputs gives the same ``reportHash``. A re-audit's row and report both say ``reaudit``
(:class:`~audit.db_models.RunKind`). A spec naming several datasets trains on their rows
concatenated in the spec's order; a retraining after a withdrawal records, in its report,
what was withdrawn and which run it replaces.

A run's row moves ``queued`` → ``running`` → ``completed``, ``failed`` or ``refused``
(the dataset did not verify; nothing was trained). A run accepted to run later is stored
``queued`` first (:func:`queue_run`); a crash then loses nothing (:mod:`audit.run_recovery`).
The model file and the report directory are written atomically and before the anchor is
sent, so a crash leaves no half-written report and no anchor pointing at missing files.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from audit.db_models import AuditRunRecord, ModelVersion, RunKind, RunStatus
from audit.env import AuditEnv
from audit.errors import (
    DatasetFileMissing,
    DatasetHashMismatch,
    DatasetNotAllowed,
    ManifestMismatch,
)
from audit.evidence import audit_under_policy, gate_rule, governed_reference
from audit.manifest import DatasetManifest
from audit.manifest_data import load_frame
from audit.models import check_model_types, load_model, save_model
from audit.plan import RunPlan, plan_run
from audit.provenance import dataset_info, model_info, policy_info
from audit.publish import AuditRun, Publication, finish_run, publish_run, update_row
from audit.report import RetrainingInfo, build_report
from audit.run_recovery import QueuedRun, queued_row, start_queued
from audit.spec import ModelSpec, make_estimator
from audit.training import ModelArtifact, model_scores, predict, split, train
from audit.verify import verify_datasets
from bias_checks import AuditResult, OnInconclusive
from core.db import session_scope
from governance.policy.snapshot import PolicySnapshot

#: ``progress(stage, step, total)``: called as each stage starts.
Progress = Callable[[str, int, int], None]
STAGES = ("policy", "verify", "train", "audit", "report", "anchor", "gate")
REFUSALS = (DatasetNotAllowed, ManifestMismatch, DatasetHashMismatch, DatasetFileMissing)


@dataclass
class _Context:
    env: AuditEnv
    spec: ModelSpec
    auditor_key: str
    progress: Progress | None
    retraining: RetrainingInfo | None = None
    stage: int = 0

    def step(self, name: str) -> None:
        self.stage = STAGES.index(name)
        if self.progress is not None:
            self.progress(name, self.stage, len(STAGES))


def run_audit(
    env: AuditEnv,
    spec: ModelSpec,
    *,
    progress: Progress | None = None,
    retraining: RetrainingInfo | None = None,
    queued: int | None = None,
) -> AuditRun:
    """Train and audit ``spec`` under the current policy; anchor and gate the result.

    Parameters
    ----------
    env : AuditEnv
        The database, chain, contracts, data directory and auditor key.
    spec : ModelSpec
        What to train; ``spec.dataset_names`` name registered datasets.
    progress : callable, optional
        ``progress(stage, step, total)`` as each of :data:`STAGES` starts.
    retraining : RetrainingInfo, optional
        This run retrains a model blocked by a withdrawal (see
        :mod:`audit.service.withdrawals`); the report records it and the run id covers the
        run it replaces.
    queued : int, optional
        The row :func:`queue_run` stored for this run: the run takes it instead of
        recording a new attempt.

    Returns
    -------
    AuditRun

    Raises
    ------
    AuditorKeyMissing
        ``env`` has no auditor key (nothing is recorded).
    EstimatorNotAllowed, InvalidModelSpec
        The spec's estimator is outside ``env.estimator_modules`` or refuses its
        hyperparameters (nothing is recorded).
    DatasetNotRegistered
        No manifest is stored for a dataset of the spec (no run is recorded).
    DatasetSchemaMismatch
        The spec's datasets differ in schema (no run is recorded).
    DatasetNotAllowed, ManifestMismatch, DatasetFileMissing, DatasetHashMismatch
        Verification failed: the run is recorded as ``refused`` and nothing is trained.
    AnchorRefused, AnchorConflict, ReportWriteFailed
        The run is recorded as ``failed``; its model stays a candidate.
    RunInputsChanged
        ``queued`` was accepted under another policy or dataset content: its row is
        closed ``failed`` and nothing is trained.

    Examples
    --------
    >>> run = run_audit(env, spec)  # doctest: +SKIP
    >>> run.verdict, run.model_status  # doctest: +SKIP
    ('PASS', 'approved')
    """
    try:
        ctx = _Context(env, spec, env.require_auditor_key(), progress, retraining)
        make_estimator(spec, estimator_modules=env.estimator_modules)
    except BaseException as exc:
        if queued is not None:
            finish_run(env.engine, queued, RunStatus.FAILED, exc)
        raise
    return _execute(ctx, existing=None, queued=queued)


def queue_run(env: AuditEnv, spec: ModelSpec) -> QueuedRun:
    """Plan a run of ``spec`` now and store it as a ``queued`` row, to be run later with
    :func:`run_audit` (``queued=``), here or, after a crash, by the next process.

    Raises what :func:`audit.plan.plan_run` raises; nothing is stored then.

    Examples
    --------
    >>> queued = queue_run(env, spec)  # doctest: +SKIP
    >>> run_audit(env, spec, queued=queued.row_id).run_id == queued.run_id  # doctest: +SKIP
    True
    """
    env.require_auditor_key()
    make_estimator(spec, estimator_modules=env.estimator_modules)
    plan = plan_run(env, spec)
    with session_scope(env.engine) as session:
        return queued_row(session, _row(spec, plan, RunKind.TRAINING_RUN))


def _row(spec: ModelSpec, plan: RunPlan, kind: RunKind) -> AuditRunRecord:
    snapshot = plan.snapshot
    return AuditRunRecord(
        run_id=plan.run_id,
        kind=kind,
        model_name=spec.name,
        dataset_name=plan.dataset_name,
        dataset_id=plan.dataset_id,
        spec_json=spec.canonical_json().decode("utf-8"),
        chain_id=snapshot.chain_id,
        policy_version=snapshot.policy_version,
        policy_block=snapshot.block_number,
        policy_snapshot_hash=snapshot.hash,
        content_hash=plan.content_hash,
    )


def reaudit_model(
    env: AuditEnv,
    version: ModelVersion,
    spec: ModelSpec,
    *,
    progress: Progress | None = None,
) -> AuditRun:
    """Audit an existing model file again under the current policy (no retraining).

    The run's row and its report say ``reaudit``; the run id also covers the model's hash.

    Examples
    --------
    >>> run = reaudit_model(env, version, spec)  # doctest: +SKIP
    >>> run.kind  # doctest: +SKIP
    'reaudit'
    """
    ctx = _Context(env, spec, env.require_auditor_key(), progress)
    return _execute(ctx, existing=version)


def _execute(
    ctx: _Context, *, existing: ModelVersion | None, queued: int | None = None
) -> AuditRun:
    ctx.step("policy")
    model_hash = None if existing is None else existing.model_hash
    replaces = None if ctx.retraining is None else ctx.retraining.replaces_run_id
    engine = ctx.env.engine
    try:
        plan: RunPlan = plan_run(ctx.env, ctx.spec, model_hash=model_hash, replaces=replaces)
    except BaseException as exc:
        if queued is not None:  # an accepted run's dataset went away before it ran
            finish_run(engine, queued, RunStatus.FAILED, exc)
        raise
    if queued is not None:
        start_queued(engine, queued, plan.run_id)
        row_id = queued
    else:
        with session_scope(engine) as session:
            row = _row(ctx.spec, plan, _kind(existing))
            session.add(row)
            session.flush()
            assert row.id is not None
            row_id = row.id
        update_row(engine, row_id, status=RunStatus.RUNNING)
    try:
        ctx.step("verify")
        verify_datasets(plan.snapshot, plan.manifests)
    except REFUSALS as exc:
        finish_run(engine, row_id, RunStatus.REFUSED, exc)
        raise
    try:
        return _train_audit_anchor(
            ctx,
            row_id=row_id,
            plan=plan,
            existing=existing,
        )
    except BaseException as exc:
        finish_run(engine, row_id, RunStatus.FAILED, exc)
        raise


def _kind(existing: ModelVersion | None) -> RunKind:
    return RunKind.TRAINING_RUN if existing is None else RunKind.REAUDIT


@dataclass(frozen=True)
class Evaluation:
    """A model audited under a snapshot, before anything is written, anchored or gated."""

    model: ModelArtifact
    rows: tuple[int, ...]
    """The rows of each dataset, in the spec's order."""
    result: AuditResult
    on_inconclusive: OnInconclusive
    warnings: list[str]


def evaluate(
    spec: ModelSpec,
    manifests: tuple[DatasetManifest, ...],
    snapshot: PolicySnapshot,
    *,
    model: ModelArtifact | None = None,
    on_audit: Callable[[], None] | None = None,
    estimator_modules: Collection[str] = (),
) -> Evaluation:
    """Train ``spec`` with the snapshot's mitigation (or take ``model``) and audit it under the
    snapshot's thresholds and evidence rules, on the spec's seeded held-out split of the
    datasets' rows, concatenated in order (their schemas agree: :func:`~audit.verify.
    check_same_schema`).

    The core of every run; it writes, anchors and gates nothing, so a preview of a proposed
    policy (:mod:`audit.impact`) runs the very same steps as the run that follows the vote.
    The directional metrics compare with the manifests' voted privileged group
    (``reference_group``); one without held-out rows raises
    ``bias_checks.UnknownReferenceGroupError`` before anything is trained.

    Examples
    --------
    >>> evaluate(spec, (manifest,), snapshot).result.verdict  # doctest: +SKIP
    'PASS'
    """
    frames = [load_frame(m) for m in manifests]
    frame = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
    data = split(frame, manifests[0], spec)
    reference = manifests[0].reference_group
    governed_reference(reference, data.a_test)  # refused here, before any training
    if model is None:
        strategy, constraint = snapshot.mitigation.strategy, snapshot.mitigation.constraint
        model = train(
            spec,
            data,
            strategy=strategy,
            constraint=constraint,
            estimator_modules=estimator_modules,
        )
    if on_audit is not None:
        on_audit()
    y_pred = predict(model, data.x_test, data.a_test, random_state=spec.seed)
    # The voted evidence rule, frozen with the snapshot, decides group sizes and confidence.
    result = audit_under_policy(
        snapshot,
        data.y_test,
        y_pred,
        sensitive_features=data.a_test,
        n_boot=spec.n_boot,
        random_state=spec.seed,
        y_score=model_scores(model, data.x_test),
        reference_group=reference,
    )
    when_inconclusive, warnings = gate_rule(snapshot, result)
    return Evaluation(model, tuple(len(f) for f in frames), result, when_inconclusive, warnings)


def _train_audit_anchor(
    ctx: _Context,
    *,
    row_id: int,
    plan: RunPlan,
    existing: ModelVersion | None,
) -> AuditRun:
    spec, env = ctx.spec, ctx.env
    snapshot, manifests, run_id = plan.snapshot, plan.manifests, plan.run_id
    ctx.step("train")
    if existing is None:
        evaluation = evaluate(
            spec,
            manifests,
            snapshot,
            on_audit=lambda: ctx.step("audit"),
            estimator_modules=env.estimator_modules,
        )
        model_path, model_hash = save_model(evaluation.model, env.models_dir / spec.name)
        check_model_types(model_path, trusted_modules=env.estimator_modules)
    else:
        model_path, model_hash = Path(existing.artifact_path), existing.model_hash
        evaluation = evaluate(
            spec,
            manifests,
            snapshot,
            model=load_model(
                model_path, expected_hash=model_hash, trusted_modules=env.estimator_modules
            ),
            on_audit=lambda: ctx.step("audit"),
        )
    model, result = evaluation.model, evaluation.result
    when_inconclusive, gate_warnings = evaluation.on_inconclusive, evaluation.warnings
    ctx.step("report")
    kind = _kind(existing)
    report = build_report(
        kind=kind,
        run_id=run_id,
        audit=result,
        model=model_info(spec, model, model_hash),
        dataset=dataset_info(manifests, evaluation.rows),
        policy=policy_info(snapshot),
        seeds={
            "split": spec.seed,
            "training": spec.seed,
            "prediction": spec.seed,
            "bootstrap": spec.seed,
        },
        warnings=gate_warnings,
        retraining=ctx.retraining,
    )
    return publish_run(
        env,
        ctx.auditor_key,
        Publication(
            row_id=row_id,
            kind=kind,
            model_name=spec.name,
            report=report,
            model_path=model_path,
            model_hash=model_hash,
            dataset_id=plan.dataset_id,
            snapshot=snapshot,
            on_inconclusive=when_inconclusive,
        ),
        step=ctx.step,
    )
