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


def test_the_onnx_memory_setting_reaches_every_audit_environment(tmp_path: Path) -> None:
    from api.context import ApiContext

    settings = Settings(data_dir=tmp_path, onnx_max_memory="16777216")  # type: ignore[arg-type]
    deployment: Any = SimpleNamespace(chain_id=31337)
    ctx = Context(settings=settings, deployment=deployment, w3=None, engine=None, rpc_url="")  # type: ignore[arg-type]
    assert ctx.audit_env.onnx_max_memory == 16 * 1024**2
    assert job_context(ctx, embedded_chain=False).audit.onnx_max_memory == 16 * 1024**2
    api: Any = SimpleNamespace(
        engine=None, w3=None, deployment=deployment, settings=settings, auditor_key=None
    )
    assert ApiContext.audit_env(api).onnx_max_memory == 16 * 1024**2


def test_the_onnx_time_setting_reaches_every_audit_environment(tmp_path: Path) -> None:
    from api.context import ApiContext

    settings = Settings(data_dir=tmp_path, onnx_max_seconds="12.5")  # type: ignore[arg-type]
    deployment: Any = SimpleNamespace(chain_id=31337)
    ctx = Context(settings=settings, deployment=deployment, w3=None, engine=None, rpc_url="")  # type: ignore[arg-type]
    assert ctx.audit_env.onnx_max_seconds == 12.5
    assert job_context(ctx, embedded_chain=False).audit.onnx_max_seconds == 12.5
    api: Any = SimpleNamespace(
        engine=None, w3=None, deployment=deployment, settings=settings, auditor_key=None
    )
    assert ApiContext.audit_env(api).onnx_max_seconds == 12.5
