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
from audit.db_models import RunKind
from audit.external import ExternalAuditSpec, plan_external_run, run_external_audit
from audit.service import AuditEnv, plan_run, run_audit
from audit.spec import ModelSpec
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
        onnx_max_seconds=ctx.settings.onnx_max_seconds,
    )


def start_run(ctx: ApiContext, spec: ModelSpec) -> str:
    """Queue a run of ``spec`` on the audit worker; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    env = audit_env(ctx)
    run_id = plan_run(env, spec).run_id
    return _submit(ctx, run_id, spec.name, RunKind.TRAINING_RUN, lambda: run_audit(env, spec))


def start_external_run(ctx: ApiContext, spec: ExternalAuditSpec) -> str:
    """Queue an external audit of ``spec`` on the audit worker; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    env = audit_env(ctx)
    run_id = plan_external_run(env, spec)
    return _submit(ctx, run_id, spec.name, RunKind.EXTERNAL, lambda: run_external_audit(env, spec))


def _submit(
    ctx: ApiContext, run_id: str, name: str, kind: RunKind, run: Callable[[], object]
) -> str:
    ctx.accepted_audits[run_id] = (name, kind)

    def work() -> None:
        try:
            run()
        except Exception:  # the run's row records the failure; the log keeps the trace
            log.exception("audit run %s failed", run_id)
        finally:
            ctx.accepted_audits.pop(run_id, None)

    ctx.audits.submit(work)
    return run_id
