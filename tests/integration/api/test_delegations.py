"""Delegations over HTTP: typed data, signed delegation (202), relayed; and voters."""

from __future__ import annotations

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from governance.chain import deploy
from governance.intake.service import token_domain
from tests.helpers import HOLDER_KEYS, Governance
from tests.integration.api.api_support import error_code, sync_index
from tests.integration.governance.relay_support import relayer_for
from tests.voters import sign_typed, signed_delegation


def test_a_signed_delegation_moves_voting_power(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    key = HOLDER_KEYS[2]
    delegator = Account.from_key(key).address
    delegatee = Account.from_key(HOLDER_KEYS[0]).address
    expiry = gov.w3.eth.get_block("latest")["timestamp"] + 3600
    typed = client.get(
        "/v1/delegations/typed-data",
        params={"delegator": delegator, "delegatee": delegatee, "expiry": expiry},
    )
    assert typed.status_code == 200, typed.text
    body = typed.json()
    assert body["typed_data"]["primaryType"] == "Delegation"
    posted = client.post(
        "/v1/delegations",
        json={
            "delegator": delegator,
            "delegatee": delegatee,
            "nonce": body["nonce"],
            "expiry": expiry,
            "signature": sign_typed(key, body["typed_data"]),
        },
    )
    assert posted.status_code == 202, posted.text
    assert (posted.json()["kind"], posted.json()["delegatee"]) == ("delegation", delegatee)
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    assert gov.token.functions.delegates(delegator).call() == delegatee

    voter = client.get(f"/v1/voters/{delegator}").json()
    assert voter["delegate"] == delegatee
    assert voter["voting_power"] == "0"
    assert int(voter["balance"]) > 0
    assert voter["token_nonce"] == 1
    sync_index(engine, gov.w3, deployment)
    assert client.get(f"/v1/voters/{delegatee}").json()["votes"] == []


def test_expired_and_foreign_delegations_are_refused(
    client: TestClient, gov: Governance, deployment: deploy.Deployment
):
    domain = token_domain(deployment)
    delegatee = Account.from_key(HOLDER_KEYS[0]).address
    expired = signed_delegation(domain, HOLDER_KEYS[1], delegatee, expiry=1)
    body = expired.model_dump(exclude={"chain_id", "verifying_contract"})
    response = client.post("/v1/delegations", json=body)
    assert (response.status_code, error_code(response)) == (409, "delegation_expired")
    good = signed_delegation(domain, HOLDER_KEYS[1], delegatee)
    forged = good.model_dump(exclude={"chain_id", "verifying_contract"})
    forged["delegator"] = Account.from_key(HOLDER_KEYS[2]).address
    response = client.post("/v1/delegations", json=forged)
    assert (response.status_code, error_code(response)) == (400, "signer_mismatch")
    # Another delegatee under a nonce an accepted delegation already holds.
    first = good.model_dump(exclude={"chain_id", "verifying_contract"})
    accepted = client.post("/v1/delegations", json=first)
    assert accepted.status_code == 202, accepted.text
    assert client.post("/v1/delegations", json=first).json()["id"] == accepted.json()["id"]
    elsewhere = signed_delegation(domain, HOLDER_KEYS[1], Account.from_key(HOLDER_KEYS[3]).address)
    response = client.post(
        "/v1/delegations", json=elsewhere.model_dump(exclude={"chain_id", "verifying_contract"})
    )
    assert (response.status_code, error_code(response)) == (409, "delegation_conflict")
    assert response.json()["error"]["details"]["delegatee"] == delegatee
    # Signed on another network or for another contract, and saying so in the body.
    plain = good.model_dump(exclude={"chain_id", "verifying_contract"})
    for changes, code in (
        ({"chain_id": 1}, "wrong_chain"),
        ({"verifying_contract": deployment.addresses.governor}, "wrong_verifying_contract"),
    ):
        response = client.post("/v1/delegations", json={**plain, **changes})
        assert (response.status_code, error_code(response)) == (400, code)


def test_voter_addresses_are_validated(client: TestClient):
    response = client.get("/v1/voters/0x123")
    assert (response.status_code, error_code(response)) == (422, "invalid_request")
