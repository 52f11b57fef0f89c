"""Prepared transactions (a proposal, the guardian's cancel) sign unchanged in ethers v6 and
viem, and are mined and indexed.

The libraries are real: npm installs the pinned versions of ``tests/wallets/package.json``
(nothing else is downloaded), and Node signs with a development key.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from core.settings import DEV_PRIVATE_KEYS
from governance.actions import ClearThreshold
from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, address_of
from tests.integration.api.api_support import sync_index
from tests.integration.api.test_proposals import THRESHOLD
from tests.integration.governance.protection_support import propose
from tests.integration.governance.relay_support import relayer_for

WALLETS = Path(__file__).resolve().parents[2] / "wallets"


@pytest.fixture(scope="module")
def node_signer() -> Path:
    node, npm = shutil.which("node"), shutil.which("npm")
    assert node is not None, "Node.js 20+ is needed (./dev.sh checks for it)"
    assert npm is not None, "npm is needed (it ships with Node.js)"
    if (
        not (WALLETS / "node_modules" / "viem").is_dir()
        or not (WALLETS / "node_modules" / "ethers").is_dir()
    ):
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=WALLETS,
            check=True,
            timeout=600,
        )
    return WALLETS / "sign.mjs"


def _sign_in_node(signer: Path, key: str, transaction: dict) -> dict[str, str]:
    done = subprocess.run(
        ["node", str(signer)],
        input=json.dumps({"key": key, "transaction": transaction}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    signed: dict[str, str] = json.loads(done.stdout)
    return signed


def test_ethers_and_viem_sign_the_prepared_transaction_unchanged(
    node_signer: Path,
    client: TestClient,
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
):
    key = HOLDER_KEYS[0]
    prepared = client.post(
        "/v1/proposals/prepare",
        json={"proposer": address_of(key), "description": "Signed in Node", "actions": [THRESHOLD]},
    ).json()
    signed = _sign_in_node(node_signer, key, prepared["transaction"])
    reference = Account.sign_transaction(prepared["rpc_transaction"], key).raw_transaction
    # Deterministic (RFC 6979) signatures: the same transaction gives the same bytes.
    assert signed["ethers"] == signed["viem"] == reference.to_0x_hex()

    submitted = client.post("/v1/proposals", json={"raw_transaction": signed["viem"]})
    assert submitted.status_code == 202, submitted.text
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    sync_index(engine, gov.w3, deployment)
    shown = client.get(f"/v1/proposals/{prepared['proposal_id']}").json()
    assert (shown["proposer"], shown["tx_hash"]) == (
        address_of(key),
        submitted.json()["tx_hash"],
    )


def test_the_guardians_prepared_cancel_signs_unchanged_in_ethers_and_viem(
    node_signer: Path,
    client: TestClient,
    engine: Engine,
    gov: Governance,
    deployment: deploy.Deployment,
):
    """The fairness guardian's wallet (dev account 6 in the default deployment) signs the
    prepared ``cancel`` in ethers and viem; the relayed cancel ends the loosening proposal."""
    guardian_key = DEV_PRIVATE_KEYS[6]
    clear = ClearThreshold(metric="demographic_parity_difference")
    proposal_id, _ = propose(gov, [clear], "Clear the bound, to be cancelled")
    sync_index(engine, gov.w3, deployment)
    prepared = client.post(
        f"/v1/proposals/{proposal_id}/guardian-cancel/prepare",
        json={"guardian": address_of(guardian_key)},
    )
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    signed = _sign_in_node(node_signer, guardian_key, body["transaction"])
    reference = Account.sign_transaction(body["rpc_transaction"], guardian_key).raw_transaction
    assert signed["ethers"] == signed["viem"] == reference.to_0x_hex()

    submitted = client.post(
        f"/v1/proposals/{proposal_id}/guardian-cancel", json={"raw_transaction": signed["ethers"]}
    )
    assert submitted.status_code == 202, submitted.text
    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    sync_index(engine, gov.w3, deployment)
    assert client.get(f"/v1/proposals/{proposal_id}").json()["state"] == "Canceled"
