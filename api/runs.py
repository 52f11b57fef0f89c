"""Starting audit runs from HTTP: the run id now, the run itself in the background.

The run id is fixed by the run's inputs (the spec, the dataset's content hash and the frozen
policy snapshot), so it is known before the run starts. The run is stored as a ``queued``
row (with its spec) before the 202 is sent, and executes on the app's single audit worker
thread (:meth:`api.context.ApiContext.run_queued`); if the process stops first, the next
one runs it.
"""

from __future__ import annotations

from api.context import ApiContext
from api.errors import ApiError
from audit.external import ExternalAuditSpec, queue_external_run
from audit.runs import queue_run
from audit.service import AuditEnv
from audit.spec import ModelSpec
from core.errors import ErrorCategory


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
    return ctx.audit_env()


def start_run(ctx: ApiContext, spec: ModelSpec) -> str:
    """Store a run of ``spec`` as queued and queue it on the audit worker; returns its id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    queued = queue_run(ctx.audit_env(), spec)
    ctx.run_queued(queued)
    return queued.run_id


def start_external_run(ctx: ApiContext, spec: ExternalAuditSpec) -> str:
    """Store an external audit of ``spec`` as queued and queue it; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    queued = queue_external_run(ctx.audit_env(), spec)
    ctx.run_queued(queued)
    return queued.run_id
