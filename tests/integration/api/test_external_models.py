"""``POST /v1/models/external`` and ``POST /v1/audits/external``: an ONNX model registered
and audited over HTTP, governed like the CLI's external audit (operators only)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.canonical import sha256_hex
from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, signed_offer
from tests.integration.api.api_support import error_code
from tests.integration.api.conftest import MakeApp
from tests.integration.api.siwe_support import bearer
from tests.integration.audit.audit_support import dp_threshold, govern, register_loans
from tests.unit.audit.external import onnx_models as models

pytestmark = [pytest.mark.chain, pytest.mark.slow]
OPERATOR_KEY = HOLDER_KEYS[3]


def _finished(client: TestClient, run_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/v1/audits/{run_id}").json()
        if body["status"] not in {"queued", "running"}:
            return body
        time.sleep(0.2)
    raise AssertionError(f"run {run_id} did not finish")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the run's writes are the CLI's
def test_an_onnx_model_is_registered_audited_anchored_and_verified_over_http(
    make_app: MakeApp,
    gov: Governance,
    deployment: deploy.Deployment,
    engine: Engine,
    tmp_path: Path,
) -> None:
    manifest = register_loans(engine, tmp_path)
    actions = [signed_offer(gov.w3, deployment, manifest), dp_threshold("0.1")]
    govern(gov.w3, deployment, actions, "allow loans, dp <= 0.1")
    onnx = models.xgboost_tensor(*models.loans(3000, seed=7)).data
    operator = Account.from_key(OPERATOR_KEY).address
    with TestClient(make_app(operators=[operator])) as client:
        auth = bearer(client, OPERATOR_KEY)
        headers = {**auth, "Content-Type": "application/octet-stream"}
        url = "/v1/models/external"
        holder = client.post(
            url, params={"name": "x"}, content=onnx, headers=bearer(client, HOLDER_KEYS[0])
        )
        assert (holder.status_code, error_code(holder)) == (403, "forbidden")
        junk = client.post(url, params={"name": "x"}, content=b"not onnx", headers=headers)
        assert (junk.status_code, error_code(junk)) == (422, "invalid_onnx_model")
        empty = client.post(url, params={"name": "x"}, content=b"", headers=headers)
        assert (empty.status_code, error_code(empty)) == (422, "empty_upload")

        created = client.post(url, params={"name": "loans-xgb"}, content=onnx, headers=headers)
        assert created.status_code == 201, created.text
        model = created.json()
        assert model["model_hash"] == sha256_hex(onnx)
        assert (model["size"], model["signature"]["layout"]) == (len(onnx), "tensor")
        listed = client.get(url).json()
        assert [m["model_hash"] for m in listed["data"]] == [model["model_hash"]]

        spec = {
            "name": "loans-xgb",
            "model_hash": model["model_hash"],
            "dataset": "loans",
            "inputs": list(models.NUMERIC),
            "n_boot": 0,
        }
        unknown = client.post(
            "/v1/audits/external", json={**spec, "model_hash": "0x" + "ab" * 32}, headers=auth
        )
        assert (unknown.status_code, error_code(unknown)) == (404, "model_not_registered")
        unfed = client.post(
            "/v1/audits/external", json={**spec, "inputs": ["approved"]}, headers=auth
        )
        assert (unfed.status_code, error_code(unfed)) == (422, "invalid_model_spec")
        worker_busy = threading.Event()  # the audit worker runs one job: queue behind it
        client.app.state.ctx.audits.submit(worker_busy.wait)  # type: ignore[attr-defined]
        accepted = client.post("/v1/audits/external", json=spec, headers=auth)
        assert accepted.status_code == 202, accepted.text
        run_id = accepted.json()["run_id"]
        queued = client.get(f"/v1/audits/{run_id}").json()  # regression: it said training_run
        assert (queued["status"], queued["kind"], queued["model_name"]) == (
            "queued",
            "external",
            "loans-xgb",
        )
        worker_busy.set()
        run = _finished(client, run_id)
        assert (run["status"], run["kind"], run["verdict"]) == ("completed", "external", "PASS")
        assert run["model_hash"] == model["model_hash"]
        verification = client.get(f"/v1/reports/{run_id}/verification").json()
        assert (verification["status"], verification["ok"]) == ("verified", True)

    with TestClient(make_app(operators=[operator], api_max_upload_bytes=1024)) as client:
        headers = bearer(client, OPERATOR_KEY)
        large = client.post(url, params={"name": "big"}, content=onnx, headers=headers)
        assert (large.status_code, error_code(large)) == (413, "body_too_large")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_model_that_scores_past_the_time_limit_is_a_failed_run_with_one_line(
    make_app: MakeApp,
    gov: Governance,
    deployment: deploy.Deployment,
    engine: Engine,
    tmp_path: Path,
) -> None:
    """A Loop of 10^12 trips, under FAIRGOV_ONNX_MAX_SECONDS=1.5: the scoring process is
    killed, the run is recorded failed with the code, and nothing is approved or anchored."""
    manifest = register_loans(engine, tmp_path)
    govern(gov.w3, deployment, [signed_offer(gov.w3, deployment, manifest)], "allow loans")
    operator = Account.from_key(OPERATOR_KEY).address
    with TestClient(make_app(operators=[operator], onnx_max_seconds=1.5)) as client:
        auth = bearer(client, OPERATOR_KEY)
        headers = {**auth, "Content-Type": "application/octet-stream"}
        created = client.post(
            "/v1/models/external",
            params={"name": "spinner"},
            content=models.looping(10**12),
            headers=headers,
        )
        assert created.status_code == 201, created.text
        spec = {
            "name": "spinner",
            "model_hash": created.json()["model_hash"],
            "dataset": "loans",
            "inputs": list(models.NUMERIC),
            "output": "logit",
            "n_boot": 0,
        }
        accepted = client.post("/v1/audits/external", json=spec, headers=auth)
        assert accepted.status_code == 202, accepted.text
        run = _finished(client, accepted.json()["run_id"])
        assert (run["status"], run["error_code"]) == ("failed", "onnx_scoring_timeout")
        assert run["error"] == (
            "spinner was still scoring after 1.5 s, the scoring time limit, and was stopped: "
            "export a model that scores the dataset faster, or ask the operator to raise "
            "FAIRGOV_ONNX_MAX_SECONDS"
        )
        assert run["verdict"] is None
        assert run["anchor_tx"] is None
        models_now = client.get("/v1/models").json()["data"]
        assert [m for m in models_now if m["name"] == "spinner"] == []
