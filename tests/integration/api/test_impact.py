"""The impact preview over HTTP, checked against executing the proposal and re-auditing."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3.logs import DISCARD

from governance.actions import encode
from governance.chain import deploy
from governance.protection import read_protection
from governance.relay.outbox import RelayItem
from tests.helpers import (
    HOLDER_KEYS,
    Governance,
    address_of,
    vote_queue_execute,
)
from tests.integration.api.api_support import error_code, sync_index
from tests.integration.api.siwe_support import bearer
from tests.integration.audit.audit_support import DP, dp_threshold
from tests.integration.audit.impact_support import FAIR, PLAIN, reaudit_all, two_audited_models

pytestmark = [pytest.mark.chain, pytest.mark.slow]

OPERATOR_KEY = HOLDER_KEYS[3]
RAISE = {"kind": "set_threshold", "metric": DP, "value": "0.35", "direction": "upper"}


def _models(impact: dict) -> dict[str, tuple[str | None, str | None, str]]:
    return {
        m["model_name"]: (m["previewed_verdict"], m["previewed_status"], m["change"])
        for m in impact["models"]
    }


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(operators=[Account.from_key(OPERATOR_KEY).address])


def test_prepare_and_proposal_previews_agree_with_the_executed_outcome(
    app, gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    models = two_audited_models(gov.w3, deployment, engine, tmp_path)
    proposer = address_of(HOLDER_KEYS[0])
    with TestClient(app) as client:
        prepared = client.post(
            "/v1/proposals/prepare",
            json={"proposer": proposer, "description": "Looser parity", "actions": [RAISE]},
        )
        assert prepared.status_code == 200, prepared.text
        impact = prepared.json()["impact"]
        assert _models(impact) == {
            FAIR.name: ("PASS", "approved", "unchanged"),
            PLAIN.name: ("PASS", "approved", "fail_to_pass"),
        }
        rules = impact["rules"]
        assert (rules["loosening"], rules["changes"], rules["majority_needed"]) == (
            True,
            ["threshold_weakened"],
            "2/3",
        )
        guardian = read_protection(gov.w3, deployment.addresses).guardian
        assert guardian is not None
        assert (rules["guardian"], rules["guardian_may_cancel"]) == (guardian, True)
        assert rules["summary"] == (
            "loosening (threshold_weakened): needs at least 2/3 of the FOR and AGAINST votes; "
            f"the guardian {guardian} may cancel it until it executes"
        )
        assert rules["vote_ends_block"] > gov.w3.eth.block_number
        draft = client.post("/v1/proposals/impact", json={"actions": [RAISE]}).json()
        assert draft["models"] == impact["models"]
        assert {m["judged_from"] for m in impact["models"]} == {"stored_evidence"}
        stricter = {"kind": "set_evidence_rule", "confidence_level": "0.999"}
        recomputed = client.post("/v1/proposals/impact", json={"actions": [stricter]}).json()
        assert {
            (m["judged_from"], m["needs_full_preview"], m["change"] == "unknown")
            for m in recomputed["models"]
        } == {("recomputed", False, False)}

        actions = [dp_threshold("0.35")]
        calls = encode(actions, deployment.addresses)
        gov.delegate_all_to_self()
        receipt = gov.send(HOLDER_KEYS[0], gov.governor, "propose", *calls, "Looser parity")
        (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        proposal_id = created["args"]["proposalId"]
        sync_index(engine, gov.w3, deployment)
        shown = client.get(f"/v1/proposals/{proposal_id}/impact")
        assert shown.status_code == 200, shown.text
        assert shown.json()["models"] == impact["models"]
        assert shown.json()["rules"]["loosening_when_proposed"] is True
        full = client.post(
            f"/v1/proposals/{proposal_id}/impact/full", headers=bearer(client, OPERATOR_KEY)
        )
        assert full.status_code == 200, full.text
        vote_queue_execute(gov, proposal_id, calls, "Looser parity")

    real = reaudit_all(models.env)
    assert _models(impact) == {
        name: (run.verdict, run.model_status, change)
        for (name, run), change in zip(
            sorted(real.items()), ("unchanged", "fail_to_pass"), strict=True
        )
    }
    assert {m["model_name"]: (m["verdict"], m["status"]) for m in full.json()["full"]} == {
        name: (run.verdict, run.model_status) for name, run in real.items()
    }


def test_a_malformed_draft_gets_its_code_and_nothing_is_sent(
    app, gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    proposer = address_of(HOLDER_KEYS[0])
    block = gov.w3.eth.block_number
    clear = {"kind": "clear_threshold", "metric": "equalized_odds_difference"}
    with TestClient(app) as client:
        refused = client.post(
            "/v1/proposals/prepare",
            json={"proposer": proposer, "description": "Clear EO", "actions": [clear]},
        )
        assert (refused.status_code, error_code(refused)) == (409, "action_not_applicable")
        assert refused.json()["error"]["message"] == (
            "action 1 (Clear threshold equalized_odds_difference) cannot apply to the current "
            "policy: there is no threshold on equalized_odds_difference to clear; fix or drop "
            "it before proposing"
        )
        again = client.post("/v1/proposals/impact", json={"actions": [clear]})
        assert (again.status_code, error_code(again)) == (409, "action_not_applicable")
        empty = client.post("/v1/proposals/impact", json={"actions": []})
        assert (empty.status_code, error_code(empty)) == (422, "invalid_request")
        unknown = client.post("/v1/proposals/impact", json={"actions": [{"kind": "x"}]})
        assert (unknown.status_code, error_code(unknown)) == (422, "invalid_request")
        missing = client.get("/v1/proposals/12345/impact")
        assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert gov.w3.eth.block_number == block
    with Session(engine) as session:
        assert session.exec(select(RelayItem)).all() == []


def test_the_full_preview_is_for_operators_and_runs_beside_the_quick_one(
    app, gov: Governance, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    two_audited_models(gov.w3, deployment, engine, tmp_path)
    body = {"actions": [RAISE]}
    with TestClient(app) as client:
        anonymous = client.post("/v1/proposals/impact/full", json=body)
        assert (anonymous.status_code, error_code(anonymous)) == (401, "not_authenticated")
        holder = client.post(
            "/v1/proposals/impact/full", json=body, headers=bearer(client, HOLDER_KEYS[0])
        )
        assert (holder.status_code, error_code(holder)) == (403, "forbidden")
        full = client.post(
            "/v1/proposals/impact/full", json=body, headers=bearer(client, OPERATOR_KEY)
        )
        assert full.status_code == 200, full.text
    result = full.json()
    quick = {m["model_name"]: m["previewed_verdict"] for m in result["quick"]["models"]}
    assert {m["model_name"]: m["verdict"] for m in result["full"]} == quick
    assert {m["agrees_with_quick"] for m in result["full"]} == {True}
    plain = next(m for m in result["full"] if m["model_name"] == PLAIN.name)
    ((check),) = plain["checks"]
    assert (check["metric"], check["verdict"]) == (DP, "PASS")
    assert check["ci_high"] <= 0.35 < check["ci_high"] + 0.2
