"""GET /v1/jobs and the scheduler heartbeat in GET /v1/health, fed by the job history."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from scheduler import history
from scheduler.db_models import JobStatus


def _history_reader(session: Session, job: str | None, limit: int) -> list[object]:
    return list(history.recent(session, job=job, limit=limit))


def test_jobs_list_the_scheduler_history_newest_first(make_app, engine: Engine):
    with Session(engine) as session:
        sync = history.start(session, "sync_chain", holder="host-1")
        history.finish(session, sync.id, JobStatus.SUCCEEDED, detail="indexed blocks 1-3")
        relay = history.start(session, "relay_outbox", holder="host-1")
        history.finish(session, relay.id, JobStatus.FAILED, error="chain_unreachable")
        session.commit()
    app = make_app(heartbeat=history.last_heartbeat, job_history=_history_reader)
    with TestClient(app) as client:
        everything = client.get("/v1/jobs").json()
        only_sync = client.get("/v1/jobs", params={"job": "sync_chain"}).json()
        health = client.get("/v1/health").json()
    assert [r["job"] for r in everything["data"]] == ["relay_outbox", "sync_chain"]
    assert everything["count"] == 2
    assert everything["data"][0]["status"] == "failed"
    assert everything["data"][0]["error"] == "chain_unreachable"
    assert [r["detail"] for r in only_sync["data"]] == ["indexed blocks 1-3"]
    assert health["scheduler"]["status"] == "ok"
    assert health["scheduler"]["last_heartbeat"] is not None


def test_without_a_scheduler_jobs_are_empty_and_the_heartbeat_unknown(client: TestClient):
    assert client.get("/v1/jobs").json() == {"data": [], "count": 0}
    assert client.get("/v1/health").json()["scheduler"]["status"] == "unknown"
