"""A provider with an EIP-1271 contract wallet: the contracts accept such a provider's offer and
its ``claimBySig``, and the gasless claim intake asks the wallet's ``isValidSignature`` too:
what the wallet accepts is queued, what it refuses is refused before any gas."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import Engine
from web3 import Web3

from core.db import session_scope
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.chain.rpc import RpcBatch
from governance.errors import WalletRefusedClaim
from governance.rewards import (
    Contribution,
    EpochContext,
    RewardStatement,
    SplitRule,
    accept_claim,
    build_statement,
    queued_claim,
)
from tests.helpers import advance_time
from tests.integration.governance.rewards.rewards_support import (
    ALICE,
    ALICE_KEY,
    BOB,
    BOB_KEY,
    TOKEN,
    fund,
    post,
    sign_claim,
)

_COMPILE = Path(__file__).with_name("compile_wallet.js")


def deploy_wallet(w3: Web3, owner_key: str) -> str:
    """A ProviderWallet (contracts/src/test) owned by ``owner_key``; its address."""
    built = json.loads(
        subprocess.run(["node", str(_COMPILE)], check=True, capture_output=True).stdout
    )
    owner = Account.from_key(owner_key).address
    factory = w3.eth.contract(abi=built["abi"], bytecode=built["bytecode"])
    tx = factory.constructor(owner).transact({"from": owner})
    address = w3.eth.wait_for_transaction_receipt(tx)["contractAddress"]
    assert address is not None
    return str(address)


def _wallet_statement(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, tmp_path: Path, wallet: str
) -> tuple[RewardStatement, int]:
    """A posted statement paying ``wallet`` 70% and Bob 30%, its window over; its epoch."""
    context = EpochContext(
        chain_id=deployment.chain_id,
        rewards_contract=deployment.addresses.rewards,
        run_id="0x" + secrets.token_hex(32),
        model_name="loans-lr",
        model_hash="0x" + "bb" * 32,
        report_hash="0x" + "cc" * 32,
        policy_version=1,
        policy_snapshot_hash="0x" + "dd" * 32,
    )
    statement = build_statement(
        context,
        split_rule=SplitRule.ROWS,
        reward=1_000 * TOKEN,
        contributions=[
            Contribution(
                dataset_id="0x" + "01" * 32, provider=w3.to_checksum_address(wallet), rows=700
            ),
            Contribution(dataset_id="0x" + "02" * 32, provider=BOB, rows=300),
        ],
    )
    epoch = post(engine, w3, deployment, tmp_path, statement)
    advance_time(w3, 3_600)
    return statement, epoch


def _rpc(w3: Web3) -> RpcBatch:
    return RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]


def test_a_contract_wallet_provider_can_claim_gaslessly(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """``claimBySig`` checks the signature with SignatureChecker (EIP-1271 for a contract
    account); the intake asks the wallet too, so a wallet provider's claim is queued."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    wallet = deploy_wallet(w3, ALICE_KEY)
    statement, epoch = _wallet_statement(engine, w3, deployment, tmp_path, wallet)
    claim = sign_claim(deployment, statement, epoch, key=ALICE_KEY, account=wallet)

    # The contract itself accepts this claim: the call succeeds in a simulation.
    contract = bind(w3, "ProviderRewards", rewards).functions
    contract.claimBySig(
        epoch,
        claim.account,
        claim.amount,
        [bytes.fromhex(p[2:]) for p in claim.proof],
        claim.deadline,
        bytes.fromhex(claim.signature[2:]),
    ).call({"from": ALICE})

    with session_scope(engine) as session:
        item = accept_claim(session, w3, _rpc(w3), claim, rewards=rewards)
    assert item.id is not None
    assert contract.claimed(epoch, wallet).call() is False  # queued, not yet sent


def test_a_signature_the_wallet_refuses_is_refused_before_any_gas(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Bob signs for Alice's wallet: the wallet's ``isValidSignature`` refuses, so does the
    intake, and nothing is queued."""
    w3, rewards = isolated_chain, deployment.addresses.rewards
    fund(w3, deployment)
    wallet = deploy_wallet(w3, ALICE_KEY)
    statement, epoch = _wallet_statement(engine, w3, deployment, tmp_path, wallet)
    claim = sign_claim(deployment, statement, epoch, key=BOB_KEY, account=wallet)

    with pytest.raises(WalletRefusedClaim) as info, session_scope(engine) as session:
        accept_claim(session, w3, _rpc(w3), claim, rewards=rewards)
    assert info.value.code == "reward_wallet_refused_signature"
    with session_scope(engine) as session:
        assert (
            queued_claim(
                session, chain_id=deployment.chain_id, rewards=rewards, epoch=epoch, account=wallet
            )
            is None
        )
