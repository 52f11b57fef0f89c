"""Verification binds the run, the report and every rendering to the anchor."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.bundle import RENDERERS
from audit.publish import AuditRun
from audit.service import run_audit
from audit.spec import ModelSpec
from audit.verify import verify_report
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    register_loans,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _files(run: AuditRun) -> dict[str, bytes | None]:
    return {name: (run.report_dir / name).read_bytes() for name in RENDERERS}


def test_the_run_the_report_and_each_rendering_are_checked(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3, registry = isolated_chain, deployment.addresses.audit_registry
    manifest = register_loans(engine, tmp_path)
    govern(
        w3, deployment, [signed_offer(w3, deployment, manifest), dp_threshold("0.1")], "allow loans"
    )
    a, b = (
        run_audit(
            audit_env(engine, w3, deployment, tmp_path / "data"),
            ModelSpec(name=name, dataset="loans"),
        )
        for name in ("model-a", "model-b")
    )
    a_json = (a.report_dir / "report.json").read_bytes()
    b_json = (b.report_dir / "report.json").read_bytes()

    genuine = verify_report(w3, registry, a_json, run_id=a.run_id, renderings=_files(a))
    assert genuine.status == "verified"
    assert [(c.name, c.status) for c in genuine.renderings] == [(n, "ok") for n in RENDERERS]

    # Run B's report, anchored and genuine itself, is not run A's.
    swapped = verify_report(w3, registry, b_json, run_id=a.run_id)
    assert (swapped.status, swapped.run_id) == ("run_mismatch", a.run_id)
    assert verify_report(w3, registry, b_json, run_id=b.run_id).ok

    # A report edited to a verdict that is none of the three is still looked up, and fails
    # on its hash (its verdict shows as none).
    edited = a_json.replace(f'"verdict":"{a.verdict}"'.encode(), b'"verdict":"MAYBE"')
    assert edited != a_json
    unknown = verify_report(w3, registry, edited)
    assert (unknown.status, unknown.verdict) == ("hash_mismatch", None)
    assert genuine.verdict == a.verdict

    html = (a.report_dir / "report.html").read_bytes()
    verdict = a.verdict.encode()
    forged = html.replace(verdict, b"PASS" if verdict != b"PASS" else b"FAIL")
    assert forged != html
    tampered = verify_report(
        w3, registry, a_json, run_id=a.run_id, renderings={**_files(a), "report.html": forged}
    )
    assert tampered.status == "rendering_mismatch"
    assert {c.name: c.status for c in tampered.renderings} == {
        "report.html": "mismatch",
        "report.csv": "ok",
        "report.pdf": "ok",
        "model-card.md": "ok",
    }
    missing = verify_report(
        w3, registry, a_json, run_id=a.run_id, renderings={**_files(a), "report.pdf": None}
    )
    assert missing.status == "rendering_mismatch"
    assert [c.status for c in missing.renderings if c.name == "report.pdf"] == ["missing"]
