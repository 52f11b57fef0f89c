"""GET /health, /governance and /policy."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from api.routes.status import RELAY_STUCK_AFTER
from governance.actions import SetEvidenceRule, SetThreshold, encode
from governance.chain import deploy
from governance.messages.kinds import RelayKind
from governance.relay.outbox import RelayItem, RelayStatus, utcnow
from tests.helpers import TEST_CONFIG, Governance, pass_and_execute_encoded
from tests.integration.api.api_support import error_code, sync_index


def test_health_reports_chain_database_index_and_scheduler(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    before = client.get("/v1/health").json()
    assert before["status"] == "ok"
    assert before["chain"] == {"status": "ok", "block": gov.w3.eth.block_number}
    assert before["database"] == {"status": "ok"}
    assert before["index"] == {"block": None}
    assert before["scheduler"]["status"] in {"ok", "unknown"}
    assert before["relay_queue"] == 0
    assert before["reasons"] == []
    sync_index(engine, gov.w3, deployment)
    assert client.get("/v1/health").json()["index"]["block"] == gov.w3.eth.block_number


def test_health_is_degraded_when_the_node_is_down(make_app):
    with TestClient(make_app(rpc_url="http://127.0.0.1:9")) as client:
        body = client.get("/v1/health").json()
    assert body["status"] == "degraded"
    assert body["chain"] == {"status": "unreachable", "block": None}
    assert body["reasons"] == ["the chain node does not answer"]


def test_health_is_degraded_with_a_reason_when_relay_items_are_stuck(
    client: TestClient, engine: Engine
):
    accepted = utcnow() - RELAY_STUCK_AFTER - timedelta(seconds=30)
    with Session(engine) as session:
        session.add(
            RelayItem(
                kind=RelayKind.BALLOT,
                dedupe_key="ballot:stuck",
                chain_id=31337,
                contract="0x" + "11" * 20,
                signer="0x" + "22" * 20,
                payload="{}",
                status=RelayStatus.SUBMITTED,
                created_at=accepted,
                updated_at=accepted,
            )
        )
        session.commit()
    body = client.get("/v1/health").json()
    assert body["status"] == "degraded"
    assert body["chain"]["status"] == "ok"
    (reason,) = body["reasons"]
    assert reason.startswith("1 relay items are not on chain 5 minutes after they were accepted")


def test_governance_shows_addresses_parameters_and_policy_version(
    client: TestClient, deployment: deploy.Deployment
):
    response = client.get("/v1/governance")
    assert response.status_code == 200
    body = response.json()
    assert body["chain_id"] == deployment.chain_id
    # Every contract of the deployment (new-user review, session 26: the classifier and
    # the rewards contract were left out).
    assert body["addresses"] == deployment.addresses.model_dump()
    assert body["voting"]["voting_period"] == TEST_CONFIG.voting_period
    assert body["voting"]["quorum_numerator"] == TEST_CONFIG.quorum_percent
    assert body["voting"]["timelock_delay"] == TEST_CONFIG.timelock_delay
    assert body["policy_version"] == 0


def test_policy_now_and_at_an_earlier_block(
    client: TestClient, gov: Governance, deployment: deploy.Deployment
):
    before = gov.w3.eth.block_number
    gov.delegate_all_to_self()
    action = SetThreshold(metric="demographic_parity_difference", value="0.1", direction="upper")
    pass_and_execute_encoded(gov, *encode([action], deployment.addresses), "Bound DP")
    now = client.get("/v1/policy").json()
    assert now["policy_version"] == 1
    assert now["thresholds"] == [
        {"metric": "demographic_parity_difference", "value": "0.100000", "direction": "upper"}
    ]
    assert now["hash"].startswith("0x")
    then = client.get("/v1/policy", params={"block": before}).json()
    assert then["policy_version"] == 0
    assert then["thresholds"] == []
    assert then["hash"] != now["hash"]


def test_policy_shows_the_voted_evidence_rules(
    client: TestClient, gov: Governance, deployment: deploy.Deployment
):
    default = client.get("/v1/policy").json()
    assert default["evidence"] == {
        "metric": None,
        "confidence_level": "0.950000",
        "min_group_size": 30,
        "min_denominator": 10,
        "on_inconclusive": "block",
    }
    assert default["evidence_overrides"] == []
    gov.delegate_all_to_self()
    action = SetEvidenceRule(
        metric="equalized_odds_difference",
        confidence_level="0.99",
        min_group_size=100,
        on_inconclusive="approve_with_warning",
    )
    pass_and_execute_encoded(gov, *encode([action], deployment.addresses), "Stricter EO")

    now = client.get("/v1/policy").json()
    assert now["evidence"] == default["evidence"]
    assert now["evidence_overrides"] == [
        {
            "metric": "equalized_odds_difference",
            "confidence_level": "0.990000",
            "min_group_size": 100,
            "min_denominator": 10,
            "on_inconclusive": "approve_with_warning",
        }
    ]
    assert now["hash"] != default["hash"]


def test_policy_at_a_future_block_is_404(client: TestClient, gov: Governance):
    response = client.get("/v1/policy", params={"block": gov.w3.eth.block_number + 1000})
    assert response.status_code == 404
    assert error_code(response) == "snapshot_unavailable"


def test_reads_that_need_the_node_answer_503_when_it_is_down(make_app, gov: Governance):
    from governance.chain import node as chain_client

    dead = chain_client.Web3(chain_client.Web3.HTTPProvider("http://127.0.0.1:9"))
    with TestClient(make_app(w3=dead, rpc_url="http://127.0.0.1:9")) as client:
        for path in ("/v1/governance", "/v1/policy", f"/v1/voters/{'0x' + '11' * 20}"):
            response = client.get(path)
            assert response.status_code == 503, path
            assert error_code(response) == "chain_unreachable"


def test_health_calls_a_scheduler_stale_when_no_job_finished_lately(make_app):
    """Docs review (session 25): a heartbeat six minutes old still read "ok" while the
    scheduler was disabled, so nothing synced the chain or relayed ballots."""
    old = utcnow() - timedelta(minutes=6)
    with TestClient(make_app(heartbeat=lambda _session: old)) as client:
        body = client.get("/v1/health").json()
    assert body["scheduler"]["status"] == "stale"
    assert body["status"] == "degraded"
    (reason,) = body["reasons"]
    assert reason.startswith("no scheduler job has finished for 6 minutes")
    fresh = utcnow() - timedelta(seconds=5)
    with TestClient(make_app(heartbeat=lambda _session: fresh)) as client:
        body = client.get("/v1/health").json()
    assert (body["scheduler"]["status"], body["status"]) == ("ok", "ok")
