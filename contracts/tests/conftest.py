"""Shared fixtures for the fairgov contract tests: one fully wired DAO per test module."""

import pytest
from brownie import (
    AuditRegistry,
    FairnessGovernor,
    GovernanceToken,
    TimelockController,
    TrainingPolicy,
    accounts,
    chain,
)

VOTING_DELAY = 2  # blocks
VOTING_PERIOD = 20  # blocks
QUORUM_PERCENT = 4
VOTE_EXTENSION = 5  # blocks
TIMELOCK_DELAY = 3600  # seconds
SUPPLY = 1_000_000 * 10**18

ZERO = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="module")
def deployer():
    return accounts[0]


@pytest.fixture(scope="module")
def holders():
    """Three holders with 40%, 35% and 25% of the supply, each self-delegated."""
    return [accounts[1], accounts[2], accounts[3]]


@pytest.fixture(scope="module")
def token(deployer, holders):
    amounts = [SUPPLY * 40 // 100, SUPPLY * 35 // 100, SUPPLY * 25 // 100]
    token = GovernanceToken.deploy(
        "Fairgov", "FAIR", [h.address for h in holders], amounts, {"from": deployer}
    )
    for h in holders:
        token.delegate(h, {"from": h})
    return token


@pytest.fixture(scope="module")
def timelock(deployer):
    return TimelockController.deploy(TIMELOCK_DELAY, [], [], deployer, {"from": deployer})


@pytest.fixture(scope="module")
def governor(deployer, token, timelock):
    governor = FairnessGovernor.deploy(
        "FairnessGovernor",
        token,
        timelock,
        VOTING_DELAY,
        VOTING_PERIOD,
        0,
        QUORUM_PERCENT,
        VOTE_EXTENSION,
        {"from": deployer},
    )
    timelock.grantRole(timelock.PROPOSER_ROLE(), governor, {"from": deployer})
    timelock.grantRole(timelock.CANCELLER_ROLE(), governor, {"from": deployer})
    timelock.grantRole(timelock.EXECUTOR_ROLE(), governor, {"from": deployer})
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer, {"from": deployer})
    return governor


@pytest.fixture(scope="module")
def auditor():
    return accounts[5]


@pytest.fixture(scope="module")
def policy(deployer, timelock):
    return TrainingPolicy.deploy(timelock, {"from": deployer})


@pytest.fixture(scope="module")
def registry(deployer, timelock, auditor):
    return AuditRegistry.deploy(timelock, [auditor], {"from": deployer})


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the same chain state."""


class Lifecycle:
    """Drives a proposal through its whole life, so each test states only what it is about."""

    def __init__(self, governor, holders):
        self.governor = governor
        self.holders = holders

    def propose(self, targets, calldatas, description="fairgov proposal", proposer=None):
        proposer = proposer or self.holders[0]
        values = [0] * len(targets)
        tx = self.governor.propose(
            [t.address if hasattr(t, "address") else t for t in targets],
            values,
            calldatas,
            description,
            {"from": proposer},
        )
        return tx.events["ProposalCreated"]["proposalId"]

    def start_voting(self, proposal_id):
        snapshot = self.governor.proposalSnapshot(proposal_id)
        chain.mine(max(0, snapshot - chain.height + 1))
        assert self.governor.state(proposal_id) == 1  # Active

    def vote(self, proposal_id, support=1, voters=None):
        for voter in voters if voters is not None else self.holders:
            self.governor.castVote(proposal_id, support, {"from": voter})

    def end_voting(self, proposal_id):
        deadline = self.governor.proposalDeadline(proposal_id)
        chain.mine(max(0, deadline - chain.height + 1))

    def queue_and_execute(self, targets, calldatas, description="fairgov proposal"):
        targets = [t.address if hasattr(t, "address") else t for t in targets]
        values = [0] * len(targets)
        description_hash = _keccak_text(description)
        self.governor.queue(targets, values, calldatas, description_hash, {"from": self.holders[0]})
        chain.sleep(TIMELOCK_DELAY + 1)
        chain.mine()
        return self.governor.execute(
            targets, values, calldatas, description_hash, {"from": self.holders[0]}
        )

    def pass_and_execute(self, targets, calldatas, description="fairgov proposal"):
        proposal_id = self.propose(targets, calldatas, description)
        self.start_voting(proposal_id)
        self.vote(proposal_id)
        self.end_voting(proposal_id)
        assert self.governor.state(proposal_id) == 4  # Succeeded
        tx = self.queue_and_execute(targets, calldatas, description)
        assert self.governor.state(proposal_id) == 7  # Executed
        return proposal_id, tx


def _keccak_text(text):
    from brownie import web3

    return web3.keccak(text=text)


@pytest.fixture(scope="module")
def lifecycle(governor, holders):
    return Lifecycle(governor, holders)
