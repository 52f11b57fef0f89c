"""Datasets, audit runs, models and reports over HTTP, with the roles that guard them."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import select

from audit.db_models import AuditRunRecord, RunStatus
from audit.manifest import build_manifest
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from core.db import session_scope
from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, signed_offer
from tests.integration.api.api_support import error_code
from tests.integration.api.siwe_support import bearer
from tests.integration.audit.audit_support import (
    AUDITOR_KEY,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]

OPERATOR_KEY = HOLDER_KEYS[3]
SPEC = {"name": "loans-lr", "dataset": "loans", "n_boot": 20}
FORMATS = {
    "json": "application/json",
    "html": "text/html; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "pdf": "application/pdf",
    "md": "text/markdown; charset=utf-8",
}


def _wait_for(client: TestClient, run_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/audits/{run_id}").json()
        if body["status"] not in {"queued", "running"}:
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


def test_register_govern_audit_download_and_verify(
    make_app, gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
):
    operator = Account.from_key(OPERATOR_KEY).address
    app = make_app(operators=[operator])
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv"),
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        salts_path=tmp_path / "loans.salts",
    )
    body = json.loads(manifest.canonical_json())
    with TestClient(app) as client:
        anonymous = client.post("/v1/datasets", json=body)
        assert (anonymous.status_code, error_code(anonymous)) == (401, "not_authenticated")
        holder = bearer(client, HOLDER_KEYS[0])
        refused = client.post("/v1/datasets", json=body, headers=holder)
        assert (refused.status_code, error_code(refused)) == (403, "forbidden")
        operator_headers = bearer(client, OPERATOR_KEY)
        created = client.post("/v1/datasets", json=body, headers=operator_headers)
        assert created.status_code == 201, created.text
        assert created.json()["manifest"]["manifest_hash"] == manifest.hash
        assert client.get("/v1/datasets").json()["count"] == 1
        dataset = client.get(f"/v1/datasets/{manifest.dataset_id}").json()
        assert dataset["manifests"][0]["manifest_hash"] == manifest.hash
        missing = client.get("/v1/datasets/0x" + "00" * 32)
        assert (missing.status_code, error_code(missing)) == (404, "not_found")

        unknown = client.post(
            "/v1/audits", json={**SPEC, "dataset": "nope"}, headers=operator_headers
        )
        assert (unknown.status_code, error_code(unknown)) == (404, "dataset_not_registered")
        govern(
            gov.w3,
            deployment,
            [signed_offer(gov.w3, deployment, manifest), dp_threshold("0.1"), mitigate()],
            "x",
        )

        accepted = client.post("/v1/audits", json=SPEC, headers=operator_headers)
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        summary = _wait_for(client, run_id)
        assert summary["status"] == "completed", summary
        assert summary["verdict"] in {"PASS", "FAIL", "INCONCLUSIVE"}
        assert summary["checks"][0]["metric"] == "demographic_parity_difference"
        assert client.get("/v1/audits").json()["count"] == 1
        assert client.get("/v1/audits", params={"status": "failed"}).json()["count"] == 0

        models = client.get("/v1/models").json()
        assert models["count"] == 1
        model = client.get(f"/v1/models/{models['data'][0]['id']}").json()
        assert model["latest_run_id"] == run_id
        assert client.get("/v1/models/999").status_code == 404

        _download_every_format(client, run_id, summary, holder, deployment)

        verification = client.get(f"/v1/reports/{run_id}/verification").json()
        assert verification["status"] == "verified"
        assert verification["anchored_hash"] == summary["report_hash"]
        assert client.get(f"/v1/reports/0x{'00' * 32}/verification").status_code == 404
        auditor = bearer(client, AUDITOR_KEY)
        assert client.get(f"/v1/reports/0x{'00' * 32}.pdf", headers=auditor).status_code == 404


def _download_every_format(
    client: TestClient,
    run_id: str,
    summary: dict,
    holder: dict[str, str],
    deployment: deploy.Deployment,
) -> None:
    path = f"/v1/reports/{run_id}.json"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=holder).status_code == 403
    auditor = bearer(client, AUDITOR_KEY)
    for fmt, media in FORMATS.items():
        response = client.get(f"/v1/reports/{run_id}.{fmt}", headers=auditor)
        assert response.status_code == 200, (fmt, response.text)
        assert response.headers["content-type"] == media
        digest = "0x" + hashlib.sha256(response.content).hexdigest()
        assert response.headers["etag"] == f'"{digest}"'
        assert response.headers["x-fairgov-anchor-run-id"] == run_id
        assert response.headers["x-fairgov-anchor-tx"] == summary["anchor_tx"]
        assert response.headers["x-fairgov-anchor-registry"] == (
            deployment.addresses.audit_registry
        )
        if fmt == "json":
            assert digest == summary["report_hash"]
            assert response.headers["x-fairgov-report-hash"] == digest
        cached = client.get(
            f"/v1/reports/{run_id}.{fmt}",
            headers={**auditor, "If-None-Match": response.headers["etag"]},
        )
        assert cached.status_code == 304
        assert cached.content == b""


def test_audits_cannot_start_without_an_operator(client: TestClient):
    response = client.post("/v1/audits", json=SPEC)
    assert (response.status_code, error_code(response)) == (401, "not_authenticated")
    unknown = client.get("/v1/audits/0x" + "ab" * 32)
    assert (unknown.status_code, error_code(unknown)) == (404, "not_found")


def _dead(owner: str) -> str:
    """``owner`` (this process) as if it had been killed and its pid reused."""
    host, boot, pid, _started = owner.rsplit("/", 3)
    return f"{host}/{boot}/{pid}/1"


def test_an_accepted_run_survives_a_kill_and_runs_when_the_api_starts_again(
    make_app, gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
):
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(gov.w3, deployment, manifest), dp_threshold("0.1"), mitigate()]
    govern(gov.w3, deployment, actions, "allow loans")
    operator = Account.from_key(OPERATOR_KEY).address
    busy = threading.Event()
    with TestClient(make_app(operators=[operator])) as client:
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        ctx.audits.submit(busy.wait)  # the worker is busy: the run waits in the queue
        accepted = client.post("/v1/audits", json=SPEC, headers=bearer(client, OPERATOR_KEY))
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        assert client.get(f"/v1/audits/{run_id}").json()["status"] == "queued"
        ctx.audits.shutdown(wait=False, cancel_futures=True)  # kill -9: the queue is gone
        busy.set()
    with session_scope(engine) as session:  # ... and so is the process that accepted it
        (row,) = session.exec(select(AuditRunRecord)).all()
        assert row.status == "queued"
        row.owner = _dead(str(row.owner))
        session.add(row)
    with TestClient(make_app(operators=[operator])) as client:
        summary = _wait_for(client, run_id)
        assert summary["status"] == "completed", summary
        assert summary["anchor_tx"] is not None
        assert client.get("/v1/audits").json()["count"] == 1  # run once, in its accepted row


def test_a_run_its_killed_process_left_running_reads_failed_interrupted(make_app, engine: Engine):
    with session_scope(engine) as session:
        row = AuditRunRecord(
            run_id="0x" + "ab" * 32,
            model_name="loans-lr",
            dataset_name="loans",
            dataset_id="0x" + "01" * 32,
            spec_json=json.dumps(SPEC),
            chain_id=31337,
            policy_version=1,
            policy_block=1,
            policy_snapshot_hash="0x" + "02" * 32,
            status=RunStatus.RUNNING,
        )
        row.owner = _dead(str(row.owner))
        session.add(row)
    with TestClient(make_app()) as client:
        summary = client.get(f"/v1/audits/0x{'ab' * 32}").json()
    assert (summary["status"], summary["error_code"]) == ("failed", "interrupted")
    assert "stopped before the run finished" in summary["error"]
