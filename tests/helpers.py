"""Test helpers for driving a real anvil chain through web3.py."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD

from audit.manifest import DatasetManifest
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import AllowDataset, DatasetOffer
from governance.chain import deploy
from governance.chain.contracts import bind
from governance.chain.node import Sender, call_data
from governance.consent import sign_offer

#: Fast governance parameters for tests on an automining chain.
TEST_CONFIG = deploy.DeploymentConfig(
    voting_delay=1, voting_period=10, vote_extension=2, timelock_delay=60, quorum_percent=4
)

#: Private keys of the holders in TEST_CONFIG (development accounts 1 to 4).
HOLDER_KEYS = DEV_PRIVATE_KEYS[1:5]

#: Data providers: development accounts 8 and 7 (they hold no tokens).
PROVIDER_KEY = DEV_PRIVATE_KEYS[8]
SECOND_PROVIDER_KEY = DEV_PRIVATE_KEYS[7]
#: How long a test offer stays valid.
OFFER_LIFETIME = 30 * 24 * 3600

PENDING, ACTIVE, CANCELED, DEFEATED, SUCCEEDED, QUEUED, EXPIRED, EXECUTED = range(8)


def mine(w3: Web3, blocks: int = 1) -> None:
    w3.provider.make_request("anvil_mine", [hex(blocks)])  # type: ignore[arg-type]


def advance_time(w3: Web3, seconds: int) -> None:
    w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
    mine(w3)


def address_of(private_key: str) -> str:
    return str(Account.from_key(private_key).address)


def issue_time(w3: Web3) -> int:
    """An ``issuedAt`` for a new offer or withdrawal: the latest block's time (the policy
    refuses offers dated after the block that accepts them)."""
    return int(w3.eth.get_block("latest")["timestamp"])


def signed_offer(
    w3: Web3, deployment: deploy.Deployment, manifest: DatasetManifest, key: str = PROVIDER_KEY
) -> AllowDataset:
    """The ``allow_dataset`` action for ``manifest``, offered and signed by ``key``."""
    issued_at = issue_time(w3)
    offer = manifest.offer(
        provider=address_of(key), issued_at=issued_at, deadline=issued_at + OFFER_LIFETIME
    )
    return sign_offer(offer, key, deployment, name=manifest.name)


def allow_raw(  # noqa: PLR0917 (test shorthand: the hashes in their on-chain order)
    w3: Web3,
    deployment: deploy.Deployment,
    name: str,
    content_hash: str,
    manifest_hash: str,
    uri: str,
    key: str = PROVIDER_KEY,
) -> AllowDataset:
    """An ``allow_dataset`` action for bare hashes (no file), signed by the provider ``key``;
    its records root is a fixed non-zero value."""
    issued_at = issue_time(w3)
    offer = DatasetOffer.for_name(
        name,
        content_hash=content_hash,
        manifest_hash=manifest_hash,
        records_root="0x" + "ab" * 32,
        uri=uri,
        provider=address_of(key),
        issued_at=issued_at,
        deadline=issued_at + OFFER_LIFETIME,
    )
    return sign_offer(offer, key, deployment, name=name)


class Governance:
    """Drives proposals through their whole life with real signed transactions."""

    def __init__(self, w3: Web3, deployment: deploy.Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        a = deployment.addresses
        self.governor: Contract = bind(w3, "FairnessGovernor", a.governor)
        self.token: Contract = bind(w3, "GovernanceToken", a.token)
        self.policy: Contract = bind(w3, "TrainingPolicy", a.training_policy)
        self.registry: Contract = bind(w3, "AuditRegistry", a.audit_registry)

    def send(self, key: str, contract: Contract, function: str, *args: Any) -> Any:
        return Sender.from_key(self.w3, key).transact(function, call_data(contract, function, args))

    def delegate_all_to_self(self) -> None:
        for key in HOLDER_KEYS:
            self.send(key, self.token, "delegate", address_of(key))

    def pass_and_execute(
        self, calls: list[tuple[Contract, str, list[Any]]], description: str
    ) -> int:
        targets = [c.address for c, _, _ in calls]
        values = [0] * len(calls)
        datas = [c.encode_abi(f, args=args) for c, f, args in calls]
        receipt = self.send(
            HOLDER_KEYS[0], self.governor, "propose", targets, values, datas, description
        )
        (created,) = self.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
        proposal_id: int = created["args"]["proposalId"]
        mine(self.w3, TEST_CONFIG.voting_delay + 1)
        assert self.governor.functions.state(proposal_id).call() == ACTIVE
        for key in HOLDER_KEYS:
            self.send(key, self.governor, "castVote", proposal_id, 1)
        deadline = self.governor.functions.proposalDeadline(proposal_id).call()
        mine(self.w3, deadline - self.w3.eth.block_number + 1)
        assert self.governor.functions.state(proposal_id).call() == SUCCEEDED
        description_hash = Web3.keccak(text=description)
        self.send(HOLDER_KEYS[0], self.governor, "queue", targets, values, datas, description_hash)
        assert self.governor.functions.state(proposal_id).call() == QUEUED
        advance_time(self.w3, TEST_CONFIG.timelock_delay + 1)
        self.send(
            HOLDER_KEYS[0], self.governor, "execute", targets, values, datas, description_hash
        )
        assert self.governor.functions.state(proposal_id).call() == EXECUTED
        return proposal_id


def pass_and_execute_encoded(
    gov: Governance,
    targets: list[str],
    values: list[int],
    calldatas: list[bytes],
    description: str,
    *,
    proposer_key: str = HOLDER_KEYS[0],
) -> int:
    """Like :meth:`Governance.pass_and_execute`, for calls that are already encoded."""
    calls = (targets, values, calldatas)
    receipt = gov.send(proposer_key, gov.governor, "propose", *calls, description)
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    proposal_id: int = created["args"]["proposalId"]
    vote_queue_execute(gov, proposal_id, calls, description)
    return proposal_id


def vote_queue_execute(
    gov: Governance,
    proposal_id: int,
    calls: tuple[list[str], list[int], list[bytes]],
    description: str,
) -> None:
    """Carry a proposal already made with ``calls`` through its vote, queue and execution."""
    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    assert gov.governor.functions.state(proposal_id).call() == ACTIVE
    for key in HOLDER_KEYS:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    assert gov.governor.functions.state(proposal_id).call() == SUCCEEDED
    description_hash = Web3.keccak(text=description)
    gov.send(HOLDER_KEYS[0], gov.governor, "queue", *calls, description_hash)
    assert gov.governor.functions.state(proposal_id).call() == QUEUED
    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    gov.send(HOLDER_KEYS[0], gov.governor, "execute", *calls, description_hash)
    assert gov.governor.functions.state(proposal_id).call() == EXECUTED
