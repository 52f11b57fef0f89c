"""The composition root passes the operator's estimator allow-list to the audit service and
to the scheduler's jobs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from cli.compose import Context, job_context
from core.settings import Settings


def test_the_estimator_allow_list_reaches_every_audit_environment(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, estimator_modules="sklearn.ensemble,sklearn.tree")  # type: ignore[arg-type]
    deployment: Any = SimpleNamespace(chain_id=31337)
    ctx = Context(settings=settings, deployment=deployment, w3=None, engine=None, rpc_url="")  # type: ignore[arg-type]
    assert ctx.audit_env.estimator_modules == ("sklearn.ensemble", "sklearn.tree")
    jobs = job_context(ctx, embedded_chain=False)
    assert jobs.audit.estimator_modules == ("sklearn.ensemble", "sklearn.tree")
