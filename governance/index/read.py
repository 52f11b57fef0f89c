"""Reading the chain index: proposals, votes, voting power, policy versions.

Everything here answers from the database alone, as of the indexer's cursor block, so it
keeps working while the node is down.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from governance.chain.deploy import Deployment
from governance.chain.view import PROPOSAL_STATES, ProposalView
from governance.index.models import (
    IndexCursor,
    PolicyEvent,
    Proposal,
    ProtectionEvent,
    Vote,
    VotesCheckpoint,
)
from governance.messages.kinds import BALLOT, DELEGATION, MessageKind
from governance.relay.outbox import confirmed_count

ProposalState = str

#: States in which a proposal needs blocks to pass: its voting delay and period are counted
#: in blocks, and its timelock ETA is checked against the latest block's time.
WAITING_STATES = ("Pending", "Active", "Succeeded", "Queued")


def proposals_waiting(session: Session) -> int:
    """How many indexed proposals wait for blocks to pass (see :data:`WAITING_STATES`)."""
    statement = select(func.count()).where(col(Proposal.state).in_(WAITING_STATES))
    return int(session.exec(statement).one())


def get_proposal(session: Session, proposal_id: int | str) -> Proposal | None:
    """The indexed proposal ``proposal_id``, or None."""
    return session.get(Proposal, str(proposal_id))


def list_proposals(
    session: Session, *, state: ProposalState | None = None, offset: int = 0, limit: int = 50
) -> list[Proposal]:
    """Proposals, newest first, optionally only those in ``state`` (e.g. ``"Active"``)."""
    statement = select(Proposal)
    if state is not None:
        statement = statement.where(Proposal.state == state)
    statement = statement.order_by(
        col(Proposal.created_block).desc(), col(Proposal.created_log_index).desc()
    )
    return list(session.exec(statement.offset(offset).limit(limit)).all())


def count_proposals(session: Session, *, state: ProposalState | None = None) -> int:
    """How many proposals :func:`list_proposals` can page through."""
    statement = select(func.count()).select_from(Proposal)
    if state is not None:
        statement = statement.where(Proposal.state == state)
    return int(session.exec(statement).one())


def votes_at(session: Session, account: str, block: int) -> int:
    """``account``'s voting power at the end of ``block`` (``token.getPastVotes``)."""
    statement = (
        select(VotesCheckpoint.votes)
        .where(VotesCheckpoint.delegate == account, col(VotesCheckpoint.block_number) <= block)
        .order_by(col(VotesCheckpoint.block_number).desc(), col(VotesCheckpoint.log_index).desc())
        .limit(1)
    )
    votes = session.exec(statement).first()
    return 0 if votes is None else int(votes)


def has_voted(session: Session, proposal_id: int | str, voter: str) -> bool:
    """Whether ``voter`` has a vote on ``proposal_id`` in the index."""
    return session.get(Vote, (str(proposal_id), voter)) is not None


def latest_policy_version(session: Session) -> int:
    """The TrainingPolicy's ``policyVersion`` after the last indexed change (0: none yet)."""
    version = session.exec(select(func.max(PolicyEvent.policy_version))).one()
    return 0 if version is None else int(version)


@dataclass(frozen=True)
class IndexedProtection:
    """The governor's protection of loosening after the last indexed change."""

    guardian: str | None
    supermajority: Fraction
    loosening_voting_period: int


def _latest_protection_args(session: Session, name: str) -> dict[str, object] | None:
    row = session.exec(
        select(ProtectionEvent)
        .where(ProtectionEvent.name == name)
        .order_by(col(ProtectionEvent.block_number).desc(), col(ProtectionEvent.log_index).desc())
        .limit(1)
    ).first()
    return None if row is None else row.args_dict()


def indexed_protection(session: Session) -> IndexedProtection | None:
    """The guardian, supermajority and loosening voting period as of the cursor block; None
    before the deployment block (whose constructor sets all three) is indexed."""
    guardian = _latest_protection_args(session, "ProposalGuardianSet")
    fraction = _latest_protection_args(session, "SupermajoritySet")
    period = _latest_protection_args(session, "LooseningVotingPeriodSet")
    if guardian is None or fraction is None or period is None:
        return None
    address = str(guardian["newProposalGuardian"])
    return IndexedProtection(
        guardian=None if int(address, 16) == 0 else address,
        supermajority=Fraction(
            int(str(fraction["newNumerator"])), int(str(fraction["newDenominator"]))
        ),
        loosening_voting_period=int(str(period["newPeriod"])),
    )


def index_cursor(session: Session) -> IndexCursor | None:
    """The last indexed block, or None before the first sync."""
    return session.get(IndexCursor, 1)


@dataclass
class IndexedChainView:
    """A :class:`~governance.messages.ballots.ChainView` answered from the index, for a node outage.

    Proposal states, votes and voting power come from the index as of its cursor block.
    Signature nonces are not in any event, so they come from ``governor_nonce`` and
    ``token_nonce`` when given (for example a cache of the last values read from the node);
    without them they are counted from the relay outbox: the signer's confirmed ballots
    (governor) or delegations (token) that fairgov relayed. That count is exact only while
    fairgov relays all of an account's signed messages, which is why a caller that knows
    better should pass the callables.
    """

    engine: Engine
    deployment: Deployment
    governor_nonce_source: Callable[[str], int] | None = None
    token_nonce_source: Callable[[str], int] | None = None

    @property
    def chain_id(self) -> int:
        return self.deployment.chain_id

    def proposal(self, proposal_id: int) -> ProposalView | None:
        with Session(self.engine) as session:
            p = get_proposal(session, proposal_id)
        if p is None:
            return None
        return ProposalView(
            state=PROPOSAL_STATES.index(p.state), snapshot=p.snapshot, deadline=p.deadline
        )

    def has_voted(self, proposal_id: int, voter: str) -> bool:
        with Session(self.engine) as session:
            return has_voted(session, proposal_id, voter)

    def votes_at(self, account: str, timepoint: int) -> int:
        with Session(self.engine) as session:
            return votes_at(session, account, timepoint)

    def _relayed(self, message: MessageKind, account: str) -> int:
        contract = message.contract_address(self.deployment)
        with Session(self.engine) as session:
            return confirmed_count(session, kind=message.kind, contract=contract, signer=account)

    def governor_nonce(self, account: str) -> int:
        if self.governor_nonce_source is not None:
            return self.governor_nonce_source(account)
        return self._relayed(BALLOT, account)

    def token_nonce(self, account: str) -> int:
        if self.token_nonce_source is not None:
            return self.token_nonce_source(account)
        return self._relayed(DELEGATION, account)

    def timestamp(self) -> int:
        with Session(self.engine) as session:
            c = index_cursor(session)
        return 0 if c is None else c.block_timestamp

    def for_ballots(self, pairs: list[tuple[int, str]]) -> IndexedChainView:
        """The index is local: nothing to read ahead."""
        return self
