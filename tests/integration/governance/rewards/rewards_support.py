"""Shared steps of the rewards tests: a funded ProviderRewards and a posted statement."""

from __future__ import annotations

import secrets
from pathlib import Path

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import Engine
from web3 import Web3

from audit.anchor import publish_audit
from audit.rewards.service import post_statement
from core.settings import DEV_PRIVATE_KEYS
from governance import actions as act
from governance.chain import deploy
from governance.rewards import (
    Contribution,
    EpochContext,
    RewardStatement,
    SignedClaim,
    SplitRule,
    build_statement,
    claim_typed_data,
    reward_proof,
    rewards_domain,
)
from tests.helpers import Governance, address_of, pass_and_execute_encoded
from tests.integration.audit.audit_support import AUDITOR_KEY, audit_env

TOKEN = 10**18
ALICE_KEY, BOB_KEY = DEV_PRIVATE_KEYS[2], DEV_PRIVATE_KEYS[3]
ALICE, BOB = address_of(ALICE_KEY), address_of(BOB_KEY)
GUARDIAN_KEY = DEV_PRIVATE_KEYS[6]


def fund(w3: Web3, deployment: deploy.Deployment, tokens: int = 2_500) -> None:
    """The DAO moves ``tokens`` from its treasury to ProviderRewards by a real proposal."""
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    a = deployment.addresses
    pass_and_execute_encoded(gov, *act.encode([act.FundRewards.of(a, tokens)], a), "fund")


def rows_statement(
    deployment: deploy.Deployment, *, reward: int = 1_000 * TOKEN
) -> RewardStatement:
    """Alice contributed 700 rows and Bob 300 to a fresh run."""
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
    return build_statement(
        context,
        split_rule=SplitRule.ROWS,
        reward=reward,
        contributions=[
            Contribution(dataset_id="0x" + "01" * 32, provider=ALICE, rows=700),
            Contribution(dataset_id="0x" + "02" * 32, provider=BOB, rows=300),
        ],
    )


def approve(w3: Web3, deployment: deploy.Deployment, statement: RewardStatement) -> None:
    """The auditor anchors ``statement``'s run in the AuditRegistry as passed."""
    context = statement.context
    publish_audit(
        w3,
        deployment.addresses.audit_registry,
        AUDITOR_KEY,
        run_id=context.run_id,
        model_hash=context.model_hash,
        dataset_id=statement.contributions[0].dataset_id,
        report_hash=context.report_hash,
        policy_version=context.policy_version,
        passed=True,
    )


def post(
    engine: Engine,
    w3: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    statement: RewardStatement,
) -> int:
    """Post ``statement`` as the service does (stored first, from the auditor key), once its
    run is anchored as passed (ProviderRewards pays approved runs only)."""
    approve(w3, deployment, statement)
    return post_statement(audit_env(engine, w3, deployment, tmp_path), statement)


def sign_claim(
    deployment: deploy.Deployment,
    statement: RewardStatement,
    epoch: int,
    *,
    key: str,
    account: str,
    amount: int | None = None,
    deadline: int = 2**40,
) -> SignedClaim:
    """A claim of ``account``'s amount (or ``amount``) signed with ``key``."""
    allocation = statement.allocation_of(account)
    assert allocation is not None
    amount = allocation.amount if amount is None else amount
    domain = rewards_domain(deployment.chain_id, deployment.addresses.rewards)
    typed = claim_typed_data(domain, epoch=epoch, account=account, amount=amount, deadline=deadline)
    signature = Account.sign_message(encode_typed_data(full_message=typed), key).signature
    return SignedClaim(
        epoch=epoch,
        account=account,
        amount=amount,
        deadline=deadline,
        proof=reward_proof(statement.pairs(), account) or (),
        signature="0x" + bytes(signature).hex(),
    )
