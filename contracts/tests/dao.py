"""The DAO's parameters, a driver that takes a proposal through its whole life, and the signed
dataset offers that proposals carry."""

import dataclasses
import hashlib
from dataclasses import dataclass
from enum import IntEnum

from brownie import chain, web3
from eth_utils import keccak
from signing import DATASET_OFFER, sign_offer

VOTING_DELAY = 2  # blocks
VOTING_PERIOD = 20  # blocks
QUORUM_PERCENT = 4
VOTE_EXTENSION = 5  # blocks
SUPERMAJORITY = (2, 3)  # of FOR + AGAINST, for loosening proposals
LOOSENING_VOTING_PERIOD = 30  # blocks
TIMELOCK_DELAY = 3600  # seconds
TOKEN = 10**18
SUPPLY = 1_000_000 * TOKEN
QUORUM = SUPPLY * QUORUM_PERCENT // 100

ZERO_ADDRESS = "0x" + "00" * 20
ZERO_HASH = "0x" + "00" * 32


class State(IntEnum):
    """IGovernor.ProposalState."""

    PENDING = 0
    ACTIVE = 1
    CANCELED = 2
    DEFEATED = 3
    SUCCEEDED = 4
    QUEUED = 5
    EXPIRED = 6
    EXECUTED = 7


class Vote(IntEnum):
    """GovernorCountingSimple.VoteType."""

    AGAINST = 0
    FOR = 1
    ABSTAIN = 2


class Change(IntEnum):
    """IPolicyChangeClassifier.Change: why a call is (or is not) loosening."""

    NONE = 0
    THRESHOLD_WEAKENED = 1
    THRESHOLD_CLEARED = 2
    MITIGATION_WEAKENED = 3
    EVIDENCE_WEAKENED = 4
    PROTECTION_CHANGED = 5
    AUDITORS_CHANGED = 6
    UNRECOGNISED = 7
    FEDERATION_WEAKENED = 8
    MANIFEST_REPLACED = 9
    TREASURY_MOVED = 10
    REWARDS_LOOSENED = 11


OFFER_VALIDITY = 30 * 24 * 3600  # seconds: an offer outlives a proposal's vote and the timelock

# bytes32 values are written as 0x-prefixed hex strings: brownie compares its return values
# with those, not with raw bytes. Structs and tuples it returns are compared after `tuple()`
# or `.dict()`: brownie 1.22's own comparison raises TypeError on their str and int fields.


def b32(text):
    """A short string as bytes32, the way the contracts store metric and strategy names."""
    return "0x" + text.encode().ljust(32, b"\0").hex()


def text_id(text):
    """keccak256 of a name, the way fairgov derives dataset ids."""
    return "0x" + keccak(text=text).hex()


def sha256_hex(data):
    return "0x" + hashlib.sha256(data).hexdigest()


def state_bitmap(*states):
    """Governor and timelock encode a set of expected states as a bitmap in a bytes32."""
    return "0x" + sum(1 << state for state in states).to_bytes(32, "big").hex()


def action(method, *args):
    """One call of a proposal: (target, calldata) for a brownie contract method."""
    return method._address, method.encode_input(*args)


def latest_time():
    """The latest block's timestamp: an offer issued then is accepted by any later block."""
    return web3.eth.get_block("latest")["timestamp"]


@dataclass(frozen=True)
class Offer:
    """A provider's DatasetOffer, field for field (ITrainingPolicy.DatasetOffer)."""

    dataset_id: str
    content_hash: str
    manifest_hash: str
    records_root: str
    uri: str
    licence: str
    terms_hash: str
    provider: str
    issued_at: int
    deadline: int

    def args(self):
        """The struct as brownie encodes it: a tuple in field order."""
        return dataclasses.astuple(self)

    def message(self):
        """The struct as the EIP-712 message its provider signs."""
        names = [field["name"] for field in DATASET_OFFER]
        return dict(zip(names, self.args(), strict=True))

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def record(self, *, allowed=True):
        """What getDataset returns once the DAO accepted this offer."""
        return {
            "contentHash": self.content_hash,
            "manifestHash": self.manifest_hash,
            "recordsRoot": self.records_root,
            "termsHash": self.terms_hash,
            "provider": self.provider,
            "consentedAt": self.issued_at,
            "allowed": allowed,
            "uri": self.uri,
            "licence": self.licence,
        }


def offer(name, provider, *, issued_at=None, version=1, **changes):
    """An offer of dataset `name` (its id is keccak256(name)) by `provider`, issued at the latest
    block's time unless `issued_at` says otherwise. `version` varies the hashes."""
    issued_at = latest_time() if issued_at is None else issued_at
    made = Offer(
        dataset_id=text_id(name),
        content_hash=sha256_hex(f"{name}.csv v{version}".encode()),
        manifest_hash=sha256_hex(f'{{"name":"{name}","version":{version}}}'.encode()),
        records_root="0x" + keccak(text=f"{name} records v{version}").hex(),
        uri=f"ipfs://{name}/v{version}",
        licence="CC-BY-4.0",
        terms_hash=sha256_hex(b"fairgov data terms v1"),
        provider=str(provider),
        issued_at=issued_at,
        deadline=issued_at + OFFER_VALIDITY,
    )
    return made.replace(**changes)


def signed_offer(signer, policy, name, *, provider=None, **changes):
    """An offer of `name` by `provider` (default: the signer's own address) and the signer's
    signature of it: the two arguments of allowDataset."""
    made = offer(name, provider or signer.address, **changes)
    return made, sign_offer(signer, policy, made)


@dataclass(frozen=True)
class Proposal:
    id: int
    targets: tuple[str, ...]
    calldatas: tuple[str, ...]
    description: str

    @property
    def description_hash(self):
        return keccak(text=self.description)

    def args(self):
        """(targets, values, calldatas, descriptionHash), as queue and execute take them."""
        values = [0] * len(self.targets)
        return list(self.targets), values, list(self.calldatas), self.description_hash


class Lifecycle:
    """Drives a proposal through its whole life, so each test states only what it is about."""

    def __init__(self, governor, holders):
        self.governor = governor
        self.holders = holders

    def propose(self, actions, description="fairgov proposal", *, proposer=None):
        return self.submit(actions, description, proposer=proposer)[0]

    def submit(self, actions, description="fairgov proposal", *, proposer=None):
        """Proposes, and returns the proposal with the propose transaction (for its events)."""
        targets = tuple(target for target, _ in actions)
        calldatas = tuple(calldata for _, calldata in actions)
        tx = self.governor.propose(
            list(targets),
            [0] * len(targets),
            list(calldatas),
            description,
            {"from": proposer or self.holders[0]},
        )
        proposal_id = tx.events["ProposalCreated"]["proposalId"]
        return Proposal(proposal_id, targets, calldatas, description), tx

    def vote_split(self, proposal, for_=(), against=(), abstain=()):
        """Casts the given holders' (or any accounts') votes: FOR, then AGAINST, then ABSTAIN."""
        for support, voters in ((Vote.FOR, for_), (Vote.AGAINST, against), (Vote.ABSTAIN, abstain)):
            self.vote(proposal, support, voters=list(voters))

    def start_voting(self, proposal):
        """Mines past the snapshot, so the next transaction can vote."""
        mine_until(self.governor.proposalSnapshot(proposal.id) + 1)
        assert self.governor.state(proposal.id) == State.ACTIVE

    def vote(self, proposal, support=Vote.FOR, voters=None):
        return [
            self.governor.castVote(proposal.id, support, {"from": voter})
            for voter in (self.holders if voters is None else voters)
        ]

    def end_voting(self, proposal):
        mine_until(self.governor.proposalDeadline(proposal.id) + 1)

    def queue(self, proposal, sender=None):
        return self.governor.queue(*proposal.args(), {"from": sender or self.holders[0]})

    def wait_for_timelock(self):
        chain.sleep(TIMELOCK_DELAY + 1)
        chain.mine()

    def execute(self, proposal, sender=None):
        return self.governor.execute(*proposal.args(), {"from": sender or self.holders[0]})

    def pass_proposal(self, actions, description="fairgov proposal"):
        """Proposes and votes the proposal through: it ends Succeeded, not yet queued."""
        proposal = self.propose(actions, description)
        self.start_voting(proposal)
        self.vote(proposal)
        self.end_voting(proposal)
        assert self.governor.state(proposal.id) == State.SUCCEEDED
        return proposal

    def pass_and_execute(self, actions, description="fairgov proposal"):
        """The whole life of a proposal every holder votes for; returns it and the execute tx."""
        proposal = self.pass_proposal(actions, description)
        self.queue(proposal)
        self.wait_for_timelock()
        tx = self.execute(proposal)
        assert self.governor.state(proposal.id) == State.EXECUTED
        return proposal, tx


def read_many(calls):
    """Runs view calls as one raw JSON-RPC batch: brownie and web3's formatting would cost
    more than the calls themselves in a stateful test's every step."""
    requests = [
        ("eth_call", [{"to": method._address, "data": method.encode_input(*args)}, "latest"])
        for method, *args in calls
    ]
    responses = web3.provider.make_batch_request(requests)
    return [
        method.decode_output(response["result"])
        for (method, *_), response in zip(calls, responses, strict=True)
    ]


def mine_until(height):
    """Mines empty blocks until the latest block is `height` (no-op if already past it).

    One anvil_mine request rather than brownie's chain.mine, which sends one request per block
    (0.1 s for the 30 blocks of a loosening vote, a third of a stateful test's step).
    """
    if height > chain.height:
        web3.provider.make_request("anvil_mine", [height - chain.height])
