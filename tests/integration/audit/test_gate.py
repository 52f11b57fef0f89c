"""The model gate: approval needs PASS and a confirmed anchor; re-audits demote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine
from web3 import Web3

from audit.db_models import RunKind
from audit.errors import ModelNotApproved
from audit.gate import (
    INCONCLUSIVE_APPROVED_REASON,
    INCONCLUSIVE_BLOCKED_REASON,
    NOT_ANCHORED_REASON,
    record_audit,
    require_approved,
)
from audit.render import render_html
from audit.report import Report
from audit.service import latest_attempt, reaudit_after_policy_change, run_audit
from audit.spec import ModelSpec
from core.db import session_scope
from governance.actions import SetEvidenceRule
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import (
    audit_env,
    dp_threshold,
    govern,
    mitigate,
    register_loans,
)

HASH = "0x" + "ab" * 32


def test_only_a_pass_with_a_confirmed_anchor_is_approved(engine: Engine) -> None:
    with session_scope(engine) as session:
        record_audit(
            session,
            name="m",
            model_hash=HASH,
            artifact_path="m.skops",
            run_id=HASH,
            verdict="PASS",
            anchored=False,
            policy_version=1,
        )
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as caught:
        require_approved(session, "m")
    assert caught.value.details["status"] == "candidate"
    assert NOT_ANCHORED_REASON in caught.value.message
    with session_scope(engine) as session:
        record_audit(
            session,
            name="m",
            model_hash=HASH,
            artifact_path="m.skops",
            run_id=HASH,
            verdict="FAIL",
            anchored=True,
            policy_version=2,
        )
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as caught:
        require_approved(session, HASH)
    assert caught.value.details["status"] == "blocked"
    with session_scope(engine) as session:
        record_audit(
            session,
            name="m",
            model_hash=HASH,
            artifact_path="m.skops",
            run_id=HASH,
            verdict="PASS",
            anchored=True,
            policy_version=3,
        )
        assert require_approved(session, "m").model_hash == HASH
        with pytest.raises(ModelNotApproved):
            require_approved(session, "another-model")


@pytest.mark.chain
@pytest.mark.slow
def test_reaudit_demotes_a_model_after_a_stricter_threshold_passes(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    manifest = register_loans(engine, tmp_path)
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1"), mitigate()],
        "allow, mitigate",
    )
    spec = ModelSpec(name="loans-lr", dataset="loans", n_boot=50)
    env = audit_env(engine, isolated_chain, deployment, tmp_path)
    run = run_audit(env, spec)
    assert run.model_status == "approved"

    govern(isolated_chain, deployment, [dp_threshold("0.001")], "stricter parity")
    (outcome,) = reaudit_after_policy_change(env)
    assert (outcome.model_hash, outcome.status) == (run.model_hash, "blocked")
    assert outcome.run_id is not None
    assert outcome.run_id != run.run_id
    with session_scope(engine) as session, pytest.raises(ModelNotApproved):
        require_approved(session, run.model_hash)
    # The re-audit's row and its report say the same kind (the report used to say
    # training_run although nothing was trained).
    with session_scope(engine) as session:
        row = latest_attempt(session, outcome.run_id)
        assert row is not None
        assert row.report_dir is not None
        assert row.kind == RunKind.REAUDIT
        report = Report.from_bytes((Path(row.report_dir) / "report.json").read_bytes())
    assert report.kind == RunKind.REAUDIT
    assert "Audited model: loans-lr" in render_html(report)


# No group of the synthetic test split reaches this many rows, so no check can be decided.
UNDECIDABLE = 10**9


def _inconclusive_run(
    w3: Web3, deployment: Deployment, engine: Engine, tmp_path: Path, rule: SetEvidenceRule
):
    manifest = register_loans(engine, tmp_path)
    govern(
        w3, deployment, [signed_offer(w3, deployment, manifest), dp_threshold("0.1"), rule], "rule"
    )
    spec = ModelSpec(name="loans-lr", dataset="loans", n_boot=20)
    return run_audit(audit_env(engine, w3, deployment, tmp_path), spec)


@pytest.mark.chain
@pytest.mark.slow
def test_an_inconclusive_model_is_blocked_under_the_default_rule(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    rule = SetEvidenceRule(min_group_size=UNDECIDABLE)
    run = _inconclusive_run(isolated_chain, deployment, engine, tmp_path, rule)

    assert (run.verdict, run.model_status) == ("INCONCLUSIVE", "blocked")
    with session_scope(engine) as session, pytest.raises(ModelNotApproved) as caught:
        require_approved(session, run.model_hash)
    assert INCONCLUSIVE_BLOCKED_REASON in caught.value.message
    report = json.loads((run.report_dir / "report.json").read_bytes())
    assert not any("approved with a warning" in w for w in report["warnings"])


@pytest.mark.chain
@pytest.mark.slow
def test_an_inconclusive_model_is_approved_with_a_recorded_warning_when_voted_so(
    isolated_chain: Web3, deployment: Deployment, engine: Engine, tmp_path: Path
) -> None:
    rule = SetEvidenceRule(min_group_size=UNDECIDABLE, on_inconclusive="approve_with_warning")
    run = _inconclusive_run(isolated_chain, deployment, engine, tmp_path, rule)

    assert (run.verdict, run.model_status) == ("INCONCLUSIVE", "approved")
    with session_scope(engine) as session:
        version = require_approved(session, run.model_hash)
        assert INCONCLUSIVE_APPROVED_REASON in version.reason
    report = json.loads((run.report_dir / "report.json").read_bytes())
    assert any(
        w.startswith("approved with a warning: demographic_parity_difference INCONCLUSIVE")
        for w in report["warnings"]
    )
    registry = bind(isolated_chain, "AuditRegistry", deployment.addresses.audit_registry)
    anchored = registry.functions.getAudit(bytes.fromhex(run.run_id[2:])).call()
    _, _, report_hash, _, passed, *_ = anchored
    assert "0x" + report_hash.hex() == run.report_hash
    assert passed is False  # the anchored verdict says what was measured: not a PASS
