"""Starting audit runs from HTTP: the run id now, the run itself in the background.

The run id is fixed by the run's inputs (the spec, the dataset's content hash and the frozen
policy snapshot), so :func:`audit.service.plan_run` gives it before the run starts; it is
returned at once (202), and the run executes on the app's single audit worker thread.
Until the run's row exists, the run shows as queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from api.context import ApiContext
from api.errors import ApiError
from audit.external import (
    ExternalAuditSpec,
    external_run_id,
    registered_model,
    run_external_audit,
)
from audit.external._run import check_readable, model_inputs
from audit.manifest import latest_manifest
from audit.service import AuditEnv, plan_run, run_audit
from audit.spec import ModelSpec
from audit.verify import frozen_snapshot
from core.canonical import file_sha256
from core.db import session_scope
from core.errors import ErrorCategory

log = logging.getLogger("fairgov.api.audits")


class AuditsDisabled(ApiError):
    """The API has no auditor key, so it cannot anchor reports."""

    code = "audits_disabled"
    category = ErrorCategory.UNAVAILABLE

    def __init__(self) -> None:
        super().__init__(
            "this server has no auditor key: set FAIRGOV_AUDITOR_KEY to a key holding "
            "AUDITOR_ROLE to start audits over HTTP"
        )


def audit_env(ctx: ApiContext) -> AuditEnv:
    """The audit service's environment, made of the API context's parts."""
    return AuditEnv(
        engine=ctx.engine,
        w3=ctx.w3,
        deployment=ctx.deployment,
        data_dir=Path(ctx.settings.data_dir),
        auditor_key=ctx.auditor_key,
        estimator_modules=tuple(ctx.settings.estimator_modules),
        onnx_max_memory=ctx.settings.onnx_max_memory,
    )


def start_run(ctx: ApiContext, spec: ModelSpec) -> str:
    """Queue a run of ``spec`` on the audit worker; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    env = audit_env(ctx)
    run_id = plan_run(env, spec).run_id
    return _submit(ctx, run_id, spec.name, lambda: run_audit(env, spec))


def external_plan_id(env: AuditEnv, spec: ExternalAuditSpec) -> str:
    """The run id :func:`audit.external.run_external_audit` will give ``spec`` now: that of
    the registered model, the dataset's content and the current policy snapshot, after the
    checks that run makes before it records anything (the same steps; ``audit.external``
    exports no planning function yet, so they are taken from its run module).

    Raises
    ------
    ModelNotRegistered, DatasetNotRegistered
        Nothing to audit (nothing is queued).
    OnnxOutputKindMissing, UnexpectedOnnxSignature, InvalidModelSpec
        The spec cannot feed or read the model (nothing is queued).
    """
    model_hash = spec.model_hash.lower()
    with session_scope(env.engine) as session:
        model = registered_model(session, spec.name, model_hash)
        manifest = latest_manifest(session, spec.dataset)
    check_readable(spec, model)
    model_inputs(spec, model, manifest)
    snapshot = frozen_snapshot(env.w3, env.deployment.addresses.training_policy)
    try:
        content_hash: str = file_sha256(manifest.local_path())
    except OSError:
        content_hash = manifest.sha256
    return external_run_id(spec, content_hash, snapshot.hash, model_hash)


def start_external_run(ctx: ApiContext, spec: ExternalAuditSpec) -> str:
    """Queue an external audit of ``spec`` on the audit worker; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    env = audit_env(ctx)
    run_id = external_plan_id(env, spec)
    return _submit(ctx, run_id, spec.name, lambda: run_external_audit(env, spec))


def _submit(ctx: ApiContext, run_id: str, name: str, run: Callable[[], object]) -> str:
    ctx.accepted_audits[run_id] = name

    def work() -> None:
        try:
            run()
        except Exception:  # the run's row records the failure; the log keeps the trace
            log.exception("audit run %s failed", run_id)
        finally:
            ctx.accepted_audits.pop(run_id, None)

    ctx.audits.submit(work)
    return run_id
