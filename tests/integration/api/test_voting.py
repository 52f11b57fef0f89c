"""Ballots over HTTP: every refusal has its code and status, and nothing refused is stored."""

from __future__ import annotations

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from governance.chain import deploy
from governance.intake.service import governor_domain
from governance.relay.outbox import RelayItem
from tests.helpers import HOLDER_KEYS, Governance, mine
from tests.integration.api.api_support import error_code
from tests.integration.governance.relay_support import open_proposal, relayer_for
from tests.voters import signed_ballot


def _post(client: TestClient, proposal_id: int, ballot, **changes):
    body = {
        "voter": ballot.voter,
        "support": ballot.support,
        "nonce": ballot.nonce,
        "reason": ballot.reason,
        "signature": ballot.signature,
        **changes,
    }
    return client.post(f"/v1/proposals/{proposal_id}/votes", json=body)


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RelayItem)).one())


def test_every_ballot_refusal_has_its_code(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    good = signed_ballot(domain, HOLDER_KEYS[1], proposal_id)
    cases = {
        "wrong_nonce": (409, signed_ballot(domain, HOLDER_KEYS[1], proposal_id, nonce=5), {}),
        "signer_mismatch": (400, good, {"voter": Account.from_key(HOLDER_KEYS[2]).address}),
        "invalid_signature": (400, good, {"signature": "0x" + "00" * 65}),
        "wrong_chain": (400, good, {"chain_id": 1}),
        "wrong_verifying_contract": (400, good, {"verifying_contract": deployment.addresses.token}),
        "signature_malleable": (400, good, {"signature": _high_s(good.signature)}),
        "invalid_support": (422, signed_ballot(domain, HOLDER_KEYS[1], proposal_id, support=7), {}),
        "unknown_proposal": (404, signed_ballot(domain, HOLDER_KEYS[1], 42), {}),
        "no_voting_power": (
            409,
            signed_ballot(domain, Account.create().key.to_0x_hex(), proposal_id),
            {},
        ),
    }
    for code, (status, ballot, changes) in cases.items():
        target = 42 if code == "unknown_proposal" else proposal_id
        response = _post(client, target, ballot, **changes)
        assert (response.status_code, error_code(response)) == (status, code), response.text
    bad_body = client.post(f"/v1/proposals/{proposal_id}/votes", json={"voter": "me"})
    assert (bad_body.status_code, error_code(bad_body)) == (422, "invalid_request")
    assert _stored(engine) == 0

    assert _post(client, proposal_id, good).status_code == 202
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    late = signed_ballot(domain, HOLDER_KEYS[1], proposal_id, nonce=1, support=0)
    with Session(engine) as session:
        session.exec(select(RelayItem)).one()
    voted = _post(client, proposal_id, late)
    assert (voted.status_code, error_code(voted)) == (409, "ballot_conflict")
    mine(gov.w3, 20)
    closed = _post(client, proposal_id, signed_ballot(domain, HOLDER_KEYS[2], proposal_id))
    assert (closed.status_code, error_code(closed)) == (409, "proposal_not_active")


def test_a_conflicting_ballot_is_409_with_the_first_choice_and_a_repeat_is_202(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    domain = governor_domain(deployment)
    first = signed_ballot(domain, HOLDER_KEYS[2], proposal_id, support=2, reason="not sure")
    accepted = _post(client, proposal_id, first)
    assert accepted.status_code == 202, accepted.text
    record = accepted.json()
    assert (record["kind"], record["support"], record["reason"]) == ("ballot", 2, "not sure")
    repeat = _post(client, proposal_id, first)
    assert (repeat.status_code, repeat.json()["id"]) == (202, record["id"])
    changed = signed_ballot(domain, HOLDER_KEYS[2], proposal_id, support=1, nonce=1)
    conflict = _post(client, proposal_id, changed)
    assert (conflict.status_code, error_code(conflict)) == (409, "ballot_conflict")
    details = conflict.json()["error"]["details"]
    assert (details["support"], details["reason"], details["relay_id"]) == (
        2,
        "not sure",
        record["id"],
    )
    assert client.get(f"/v1/relay/{record['id']}").json()["support"] == 2
    assert _stored(engine) == 1


def test_already_voted_on_chain_is_refused(
    client: TestClient, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    gov.send(HOLDER_KEYS[3], gov.governor, "castVote", proposal_id, 1)
    nonce = gov.governor.functions.nonces(Account.from_key(HOLDER_KEYS[3]).address).call()
    ballot = signed_ballot(governor_domain(deployment), HOLDER_KEYS[3], proposal_id, nonce=nonce)
    response = _post(client, proposal_id, ballot)
    assert (response.status_code, error_code(response)) == (409, "already_voted")


def test_relay_records_are_found_by_id(client: TestClient):
    missing = client.get("/v1/relay/999")
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert client.get("/v1/relay/0").status_code == 422


def _high_s(signature: str) -> str:
    n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
    raw = bytes.fromhex(signature[2:])
    s = int.from_bytes(raw[32:64], "big")
    v = 27 + 28 - raw[64] if raw[64] >= 27 else 1 - raw[64]
    return "0x" + (raw[:32] + (n - s).to_bytes(32, "big") + bytes([v])).hex()


def test_a_proposal_id_past_uint256_is_422_on_every_route(client: TestClient):
    """Review (session 23): 2**256 passed the 78-digit pattern and gave a 500 (and typed data
    no wallet could sign)."""
    too_big = str(2**256)
    voter = Account.from_key(HOLDER_KEYS[0]).address
    ballot = {"voter": voter, "support": 1, "nonce": 0, "signature": "0x" + "11" * 65}
    answers = [
        client.post(f"/v1/proposals/{too_big}/votes", json=ballot),
        client.get(f"/v1/proposals/{too_big}/ballot", params={"voter": voter, "support": 1}),
        client.get(f"/v1/proposals/{too_big}"),
    ]
    for answer in answers:
        assert (answer.status_code, error_code(answer)) == (422, "invalid_request"), answer.text
    largest = str(2**256 - 1)
    assert client.get(f"/v1/proposals/{largest}").status_code == 404
