"""Starting audit runs from HTTP: the run id now, the run itself in the background.

The run id is fixed by the run's inputs (the spec, the dataset's content hash and the frozen
policy snapshot), so :func:`audit.runs.plan_run` gives it before the run starts; it is
returned at once (202), and the run executes on the app's single audit worker thread.
Until the run's row exists, the run shows as queued.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlmodel import Session, col, select

from api.context import ApiContext
from api.errors import ApiError
from audit.db_models import AuditRunRecord
from audit.runs import plan_run, run_audit
from audit.training import ModelSpec
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


def planned_run_id(ctx: ApiContext, spec: ModelSpec) -> str:
    """The id the run of ``spec`` will have under the current policy."""
    return plan_run(ctx.engine, ctx.w3, ctx.deployment, spec).run_id


def start_run(ctx: ApiContext, spec: ModelSpec) -> str:
    """Queue a run of ``spec`` on the audit worker; returns its run id."""
    if ctx.auditor_key is None:
        raise AuditsDisabled
    run_id = planned_run_id(ctx, spec)
    ctx.accepted_audits[run_id] = spec.name
    key = ctx.auditor_key

    def work() -> None:
        try:
            run_audit(
                ctx.engine,
                ctx.w3,
                ctx.deployment,
                spec=spec,
                data_dir=Path(ctx.settings.data_dir),
                auditor_key=key,
            )
        except Exception:  # the run's row records the failure; the log keeps the trace
            log.exception("audit run %s failed", run_id)
        finally:
            ctx.accepted_audits.pop(run_id, None)

    ctx.audits.submit(work)
    return run_id


def latest_attempt(session: Session, run_id: str) -> AuditRunRecord | None:
    """The newest recorded attempt of ``run_id``."""
    return session.exec(
        select(AuditRunRecord)
        .where(AuditRunRecord.run_id == run_id.lower())
        .order_by(col(AuditRunRecord.id).desc())
    ).first()
