"""``fairgov jobs`` shows the scheduler's history from the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli.compose import migrated_engine
from cli.main import app
from core.settings import Settings
from scheduler import history
from scheduler.db_models import JobStatus

runner = CliRunner()


def test_jobs_lists_runs_and_the_heartbeat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    assert "no job has run yet" in runner.invoke(app, ["jobs"]).output
    engine = migrated_engine(Settings())
    with Session(engine) as session:
        run = history.start(session, "keeper", holder="host-1")
        history.finish(session, run.id, JobStatus.SKIPPED, detail="nothing to queue or execute")
        session.commit()
    result = runner.invoke(app, ["jobs"])
    assert result.exit_code == 0, result.output
    assert "keeper" in result.output
    assert "nothing to queue or execute" in result.output
    assert "last heartbeat" in result.output
    assert (
        "no job has run yet as sync_chain"
        in runner.invoke(app, ["jobs", "--job", "sync_chain"]).output
    )
