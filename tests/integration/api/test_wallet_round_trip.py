"""A wallet's whole path: typed data from the API, signed as a wallet signs, counted on chain."""

from __future__ import annotations

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance
from tests.integration.api.api_support import sync_index
from tests.integration.governance.relay_support import open_proposal, relayer_for
from tests.voters import sign_typed


def test_a_wallet_signed_ballot_is_accepted_relayed_and_counted(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    sync_index(engine, gov.w3, deployment)
    key = HOLDER_KEYS[1]
    voter = Account.from_key(key).address

    shown = client.get(f"/v1/proposals/{proposal_id}")
    assert shown.status_code == 200
    assert shown.json()["state"] == "Active"

    typed = client.get(
        f"/v1/proposals/{proposal_id}/ballot",
        params={"voter": voter, "support": 1, "reason": "fair enough"},
    )
    assert typed.status_code == 200, typed.text
    body = typed.json()
    assert body["typed_data"]["primaryType"] == "ExtendedBallot"
    assert body["nonce_source"] == "chain"

    signature = sign_typed(key, body["typed_data"])
    vote = {
        "voter": voter,
        "support": 1,
        "nonce": body["nonce"],
        "reason": "fair enough",
        "signature": signature,
    }
    accepted = client.post(f"/v1/proposals/{proposal_id}/votes", json=vote)
    assert accepted.status_code == 202, accepted.text
    relay = accepted.json()
    assert relay["status"] == "queued"
    assert relay["proposal_id"] == str(proposal_id)

    again = client.post(f"/v1/proposals/{proposal_id}/votes", json=vote)
    assert again.status_code == 202
    assert again.json()["id"] == relay["id"]

    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert report.confirmed == 1
    assert gov.governor.functions.hasVoted(proposal_id, voter).call()
    _, for_votes, _ = gov.governor.functions.proposalVotes(proposal_id).call()
    assert for_votes == gov.token.functions.getVotes(voter).call()

    status = client.get(f"/v1/relay/{relay['id']}")
    assert status.json()["status"] == "confirmed"
    sync_index(engine, gov.w3, deployment)
    tallied = client.get(f"/v1/proposals/{proposal_id}").json()["tallies"]
    assert tallied["for_votes"] == str(for_votes)
