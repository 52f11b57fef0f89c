"""Report downloads and verification over HTTP: a swapped, forged or corrupt stored file is
never served or called verified."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from audit.service import run_audit
from audit.spec import ModelSpec
from governance.chain import deploy
from tests.helpers import Governance, signed_offer
from tests.integration.api.api_support import error_code
from tests.integration.api.siwe_support import bearer
from tests.integration.audit.audit_support import (
    AUDITOR_KEY,
    audit_env,
    dp_threshold,
    govern,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _runs(engine: Engine, gov: Governance, deployment: deploy.Deployment, tmp: Path):
    manifest = register_loans(engine, tmp)
    govern(
        gov.w3,
        deployment,
        [signed_offer(gov.w3, deployment, manifest), dp_threshold("0.1")],
        "allow loans",
    )
    return [
        run_audit(
            audit_env(engine, gov.w3, deployment, tmp / "data"),
            ModelSpec(name=name, dataset="loans"),
        )
        for name in ("model-a", "model-b")
    ]


def _corrupt(response, file: str) -> None:
    assert (response.status_code, error_code(response)) == (500, "report_corrupt"), response.text
    assert response.json()["error"]["details"]["file"] == file


def test_swapped_forged_and_corrupt_reports(
    client: TestClient,
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
    tmp_path: Path,
):
    a, b = _runs(engine, gov, deployment, tmp_path)
    auditor = bearer(client, AUDITOR_KEY)
    verification = client.get(f"/v1/reports/{a.run_id}/verification").json()
    assert (verification["status"], verification["ok"]) == ("verified", True)
    assert {r["status"] for r in verification["renderings"]} == {"ok"}
    assert len(verification["renderings"]) == 4

    # Run B's report.json in run A's directory.
    a_json = a.report_dir / "report.json"
    original = a_json.read_bytes()
    a_json.write_bytes((b.report_dir / "report.json").read_bytes())
    swapped = client.get(f"/v1/reports/{a.run_id}/verification").json()
    assert (swapped["status"], swapped["ok"], swapped["run_id"]) == (
        "run_mismatch",
        False,
        a.run_id,
    )
    _corrupt(client.get(f"/v1/reports/{a.run_id}.json", headers=auditor), "report.json")
    _corrupt(client.get(f"/v1/reports/{a.run_id}.html", headers=auditor), "report.json")
    a_json.write_bytes(original)

    # The verdict swapped in report.html.
    html_path = a.report_dir / "report.html"
    html = html_path.read_bytes()
    verdict = a.verdict.encode()
    html_path.write_bytes(html.replace(verdict, b"PASS" if verdict != b"PASS" else b"FAIL"))
    forged = client.get(f"/v1/reports/{a.run_id}/verification").json()
    assert (forged["status"], forged["ok"]) == ("rendering_mismatch", False)
    assert {r["name"]: r["status"] for r in forged["renderings"]}["report.html"] == "mismatch"
    _corrupt(client.get(f"/v1/reports/{a.run_id}.html", headers=auditor), "report.html")
    assert client.get(f"/v1/reports/{a.run_id}.pdf", headers=auditor).status_code == 200
    html_path.write_bytes(html)

    # A stored report.json that is not JSON at all: the server's fault, not the client's.
    a_json.write_bytes(b"\x00 not json")
    _corrupt(client.get(f"/v1/reports/{a.run_id}/verification"), "report.json")
    _corrupt(client.get(f"/v1/reports/{a.run_id}.json", headers=auditor), "report.json")
    a_json.write_bytes(original)
    assert client.get(f"/v1/reports/{a.run_id}/verification").json()["ok"] is True
    assert client.get(f"/v1/reports/{a.run_id}.html", headers=auditor).content == html
