"""Rewards over HTTP: a provider lists their epochs, downloads the anchored statement, signs
the served Claim in their wallet and posts it; the service relays it and pays the gas."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web3 import Web3

from governance.chain import deploy
from governance.chain.contracts import bind
from governance.rewards import read_epoch
from tests.helpers import TEST_CONFIG, Governance, advance_time
from tests.integration.api.api_support import error_code
from tests.integration.api.test_wallet_libraries import node_signer  # noqa: F401 (fixture)
from tests.integration.governance.relay_support import relayer_for
from tests.integration.governance.rewards.rewards_support import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    TOKEN,
    fund,
    post,
    rows_statement,
)


def _signed(typed: dict[str, object], key: str) -> str:
    signature = Account.sign_message(encode_typed_data(full_message=typed), key).signature
    return "0x" + bytes(signature).hex()


def test_a_provider_claims_through_the_api_without_gas(
    client: TestClient,
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
    tmp_path: Path,
):
    w3: Web3 = gov.w3
    fund(w3, deployment)
    statement = rows_statement(deployment)
    epoch = post(engine, w3, deployment, tmp_path, statement)

    listed = client.get("/v1/rewards", params={"provider": ALICE}).json()
    assert listed["count"] == 1
    assert listed["data"][0]["status"] == "pending_window"
    assert listed["data"][0]["amount"] == str(700 * TOKEN)

    downloaded = client.get(f"/v1/rewards/epochs/{epoch}/statement")
    assert downloaded.status_code == 200
    anchored = read_epoch(w3, deployment.addresses.rewards, epoch).statement_hash
    assert "0x" + hashlib.sha256(downloaded.content).hexdigest() == anchored

    served = client.get(f"/v1/rewards/epochs/{epoch}/claim", params={"account": ALICE}).json()
    body = {
        "account": ALICE,
        "amount": served["amount"],
        "deadline": served["deadline"],
        "proof": served["proof"],
        "signature": _signed(served["typed_data"], ALICE_KEY),
    }
    early = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=body)
    assert (early.status_code, error_code(early)) == (409, "reward_window_open")

    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    forged = {**body, "signature": _signed(served["typed_data"], BOB_KEY)}
    refused = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=forged)
    assert (refused.status_code, error_code(refused)) == (400, "signer_mismatch")
    wrong = {**body, "proof": ["0x" + "00" * 32]}
    refused = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=wrong)
    assert (refused.status_code, error_code(refused)) == (422, "reward_invalid_proof")

    accepted = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=body)
    assert accepted.status_code == 202, accepted.json()
    assert accepted.json()["kind"] == "signed_call"
    again = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=body)
    assert (again.status_code, error_code(again)) == (409, "reward_already_claimed")
    status = client.get("/v1/rewards", params={"provider": ALICE}).json()["data"][0]["status"]
    assert status == "claiming"

    token = bind(w3, "GovernanceToken", deployment.addresses.token).functions
    before = token.balanceOf(ALICE).call()
    relayer_for(engine, w3, deployment).run_until_idle()
    assert token.balanceOf(ALICE).call() == before + 700 * TOKEN
    relay = client.get(f"/v1/relay/{accepted.json()['id']}").json()
    assert relay["status"] == "confirmed"
    rows = client.get("/v1/rewards", params={"provider": ALICE}).json()["data"]
    assert rows[0]["status"] == "claimed"
    bob = client.get(f"/v1/rewards/epochs/{epoch}/proof", params={"account": BOB}).json()
    assert bob["amount"] == str(300 * TOKEN)


def test_unknown_epochs_and_strangers_are_not_found(
    client: TestClient,
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
    tmp_path: Path,
):
    missing = client.get("/v1/rewards/epochs/99/statement")
    assert (missing.status_code, error_code(missing)) == (404, "reward_unknown_epoch")
    fund(gov.w3, deployment)
    epoch = post(engine, gov.w3, deployment, tmp_path, rows_statement(deployment))
    stranger = "0x" + "99" * 20
    response = client.get(f"/v1/rewards/epochs/{epoch}/proof", params={"account": stranger})
    assert (response.status_code, error_code(response)) == (404, "reward_not_in_statement")
    assert client.get("/v1/rewards", params={"provider": stranger}).json()["count"] == 0


@pytest.fixture
def claimable(
    engine: Engine, gov: Governance, deployment: deploy.Deployment, tmp_path: Path
) -> int:
    """A posted epoch whose challenge window is over."""
    fund(gov.w3, deployment)
    epoch = post(engine, gov.w3, deployment, tmp_path, rows_statement(deployment))
    advance_time(gov.w3, TEST_CONFIG.rewards_challenge_window + 1)
    return epoch


def test_a_claim_signed_in_ethers_and_viem_is_accepted(
    node_signer: Path,  # noqa: F811
    client: TestClient,
    claimable: int,
):
    epoch = claimable
    served = client.get(f"/v1/rewards/epochs/{epoch}/claim", params={"account": BOB}).json()
    done = subprocess.run(
        ["node", str(node_signer.with_name("sign_typed.mjs"))],
        input=json.dumps({"key": BOB_KEY, "typed_data": served["typed_data"]}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    signed = json.loads(done.stdout)
    assert signed["ethers"] == signed["viem"] == _signed(served["typed_data"], BOB_KEY)
    body = {
        "account": BOB,
        "amount": served["amount"],
        "deadline": served["deadline"],
        "proof": served["proof"],
        "signature": signed["viem"],
    }
    accepted = client.post(f"/v1/rewards/epochs/{epoch}/claims", json=body)
    assert accepted.status_code == 202, accepted.text
