"""With the node down, signed ballots are still accepted against the index, and none is lost."""

from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web3 import Web3

from governance.chain import deploy
from governance.intake.service import governor_domain
from tests.helpers import HOLDER_KEYS, Governance
from tests.integration.api.api_support import error_code, sync_index
from tests.integration.governance.relay_support import open_proposal, relayer_for
from tests.voters import sign_typed, signed_ballot

pytestmark = pytest.mark.chain

DEAD = "http://127.0.0.1:9"


def test_ballots_are_accepted_while_the_node_is_down_and_counted_after(
    make_app, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    proposal_id = open_proposal(gov)
    sync_index(engine, gov.w3, deployment)
    dead_w3 = Web3(Web3.HTTPProvider(DEAD, request_kwargs={"timeout": 2}))
    voters = HOLDER_KEYS[:3]
    with TestClient(make_app(w3=dead_w3, rpc_url=DEAD)) as client:
        assert client.get("/v1/health").json()["chain"]["status"] == "unreachable"
        assert client.get(f"/v1/proposals/{proposal_id}").json()["state"] == "Active"
        relay_ids = []
        for key in voters:
            voter = Account.from_key(key).address
            typed = client.get(
                f"/v1/proposals/{proposal_id}/ballot", params={"voter": voter, "support": 1}
            ).json()
            assert typed["nonce_source"] == "index"
            body = {
                "voter": voter,
                "support": 1,
                "nonce": typed["nonce"],
                "signature": sign_typed(key, typed["typed_data"]),
            }
            accepted = client.post(f"/v1/proposals/{proposal_id}/votes", json=body)
            assert accepted.status_code == 202, accepted.text
            relay_ids.append(accepted.json()["id"])
        stranger = signed_ballot(
            governor_domain(deployment), Account.create().key.to_0x_hex(), proposal_id
        )
        refused = client.post(
            f"/v1/proposals/{proposal_id}/votes",
            json=stranger.model_dump(include={"voter", "support", "nonce", "signature"}),
        )
        assert (refused.status_code, error_code(refused)) == (409, "no_voting_power")
        down = client.get("/v1/governance")
        assert (down.status_code, error_code(down)) == (503, "chain_unreachable")

    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert report.confirmed == len(voters)
    for key in voters:
        assert gov.governor.functions.hasVoted(proposal_id, Account.from_key(key).address).call()
    with TestClient(make_app()) as client:
        statuses = {client.get(f"/v1/relay/{i}").json()["status"] for i in relay_ids}
    assert statuses == {"confirmed"}
