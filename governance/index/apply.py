"""Applying decoded events to the index tables, and deriving proposal states.

The same functions serve the forward path (a chunk of new blocks) and the replay after a
reorg (the surviving events of the proposals and delegators the reorg touched), so both
paths produce the same rows by construction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

from sqlalchemy import Table, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, col, select

from governance.actions import decode
from governance.chain.deploy import Addresses
from governance.index.log_decoder import FOLLOWED, LogEvent
from governance.index.models import (
    AuditPublication,
    Delegate,
    IndexEvent,
    PolicyEvent,
    Proposal,
    ProtectionEvent,
    RoleChange,
    Vote,
    VotesCheckpoint,
)
from governance.protection import Change, majority_reached

#: The governor's events that change its protection of loosening, not one proposal.
PROTECTION_EVENTS: Final = frozenset(
    {"SupermajoritySet", "LooseningVotingPeriodSet", "ProposalGuardianSet"}
)
#: The governor's other events: each is about one proposal.
PROPOSAL_EVENTS: Final = frozenset(FOLLOWED["FairnessGovernor"]) - PROTECTION_EVENTS
#: Every TrainingPolicy event the indexer follows changes the policy.
POLICY_EVENTS: Final = frozenset(FOLLOWED["TrainingPolicy"])
#: States a proposal never leaves while the chain only grows.
FINAL_STATES: Final = ("Executed", "Canceled", "Defeated")
_TALLY_COLUMNS: Final = {0: "against_votes", 1: "for_votes", 2: "abstain_votes"}
_CHUNK_ROWS = 5_000
_EVENT_COLUMNS: Final = [
    "block_number",
    "log_index",
    "block_hash",
    "tx_hash",
    "contract",
    "name",
    "proposal_id",
    "account",
    "args",
]


def _table(model: type[SQLModel]) -> Table:
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _insert_rows(session: Session, model: type[SQLModel], rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        columns = list(rows[0])
        _insert_tuples(session, model, columns, [tuple(r[c] for c in columns) for r in rows])


def _insert_tuples(
    session: Session, model: type[SQLModel], columns: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Bulk insert through the driver's ``executemany``: the ORM's per-row work is the
    bottleneck of a fast indexer, and these rows need no defaults or conversions."""
    if not rows:
        return
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {_table(model).name} ({', '.join(columns)}) "
        f"VALUES ({', '.join([marker] * len(columns))})"
    )
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(sql, rows)
    finally:
        cursor.close()


def _key_of(event: LogEvent) -> tuple[str | None, str | None]:
    args = event.args
    proposal_id = args.get("proposalId") if event.name in PROPOSAL_EVENTS else None
    account = args.get("delegator") or args.get("voter") or args.get("delegate")
    return (None if proposal_id is None else str(proposal_id)), account


def insert_events(session: Session, events: Sequence[LogEvent]) -> None:
    """Append ``events`` to ``index_event``."""
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    rows = [
        (
            e.block_number,
            e.log_index,
            e.block_hash,
            e.tx_hash,
            e.contract,
            e.name,
            *_key_of(e),
            dumps(e.args),
        )
        for e in events
    ]
    _insert_tuples(session, IndexEvent, _EVENT_COLUMNS, rows)


def stored_event(row: IndexEvent) -> LogEvent:
    """The :class:`LogEvent` an ``index_event`` row was made from."""
    return LogEvent(
        block_number=row.block_number,
        log_index=row.log_index,
        block_hash=row.block_hash,
        tx_hash=row.tx_hash,
        contract=row.contract,  # type: ignore[arg-type]
        name=row.name,
        args=row.args_dict(),
    )


def _new_proposal(event: LogEvent, addresses: Addresses) -> Proposal:
    a = event.args
    calldatas = [bytes.fromhex(c[2:]) for c in a["calldatas"]]
    actions = decode(a["targets"], a["values"], calldatas, addresses)
    return Proposal(
        proposal_id=str(a["proposalId"]),
        proposer=a["proposer"],
        description=a["description"],
        description_hash="0x" + _keccak_text(a["description"]),
        calls=json.dumps(
            {
                "targets": a["targets"],
                "values": [str(v) for v in a["values"]],
                "calldatas": a["calldatas"],
            }
        ),
        actions=json.dumps([action.model_dump(mode="json") for action in actions]),
        snapshot=a["voteStart"],
        vote_end=a["voteEnd"],
        deadline=a["voteEnd"],
        state="Pending",
        created_block=event.block_number,
        created_log_index=event.log_index,
        tx_hash=event.tx_hash,
    )


def _keccak_text(text: str) -> str:
    from eth_utils.crypto import keccak

    return str(keccak(text=text).hex())


def apply_proposals(session: Session, events: Iterable[LogEvent], addresses: Addresses) -> None:
    """Create proposals, record votes and follow queueing, execution and extensions."""
    governor_events = [e for e in events if e.name in PROPOSAL_EVENTS]
    if not governor_events:
        return
    for e in governor_events:
        if e.name == "ProposalCreated":
            session.add(_new_proposal(e, addresses))
    session.flush()
    ids = {str(e.args["proposalId"]) for e in governor_events}
    found = session.exec(select(Proposal).where(col(Proposal.proposal_id).in_(ids))).all()
    proposals = {p.proposal_id: p for p in found}
    votes = []
    for e in governor_events:
        p = proposals.get(str(e.args["proposalId"]))
        if p is None:
            continue  # an event of a proposal made before the index began: nothing to update
        if e.name in {"VoteCast", "VoteCastWithParams"}:
            votes.append(_vote_row(e))
            column = _TALLY_COLUMNS[e.args["support"]]
            setattr(p, column, str(int(getattr(p, column)) + e.args["weight"]))
        elif e.name == "ProposalQueued":
            p.eta, p.queued_block = e.args["etaSeconds"], e.block_number
        elif e.name == "ProposalExecuted":
            p.executed_block = e.block_number
        elif e.name == "ProposalCanceled":
            p.canceled_block = e.block_number
        elif e.name == "ProposalExtended":
            p.deadline = max(p.vote_end, e.args["extendedDeadline"])
        elif e.name == "ProposalClassified":
            _classify(p, e.args)
        session.add(p)
    _insert_rows(session, Vote, votes)
    session.flush()


def _classify(p: Proposal, args: dict[str, Any]) -> None:
    p.loosening = bool(args["loosening"])
    p.changes = json.dumps([Change(code).label for code in args["changes"]])
    p.supermajority_numerator = str(args["numerator"])
    p.supermajority_denominator = str(args["denominator"])


def _vote_row(e: LogEvent) -> dict[str, Any]:
    a = e.args
    return {
        "proposal_id": str(a["proposalId"]),
        "voter": a["voter"],
        "support": a["support"],
        "weight": str(a["weight"]),
        "reason": a["reason"],
        "params": a.get("params", "0x"),
        "block_number": e.block_number,
        "log_index": e.log_index,
        "tx_hash": e.tx_hash,
    }


def _upsert(session: Session, model: type[SQLModel], key: str, rows: list[dict[str, Any]]) -> None:
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    for start in range(0, len(rows), _CHUNK_ROWS):
        statement = module.insert(_table(model))
        updates = {c: statement.excluded[c] for c in rows[0] if c != key}
        session.execute(
            statement.on_conflict_do_update(index_elements=[key], set_=updates),
            rows[start : start + _CHUNK_ROWS],
        )


def apply_delegates(session: Session, events: Iterable[LogEvent]) -> None:
    """Record each delegator's latest delegate."""
    latest: dict[str, dict[str, Any]] = {}
    for e in events:
        if e.name == "DelegateChanged":
            latest[e.args["delegator"]] = {
                "delegator": e.args["delegator"],
                "delegate": e.args["toDelegate"],
                "block_number": e.block_number,
                "log_index": e.log_index,
            }
    if latest:
        _upsert(session, Delegate, "delegator", list(latest.values()))


def apply_append_only(session: Session, events: Iterable[LogEvent]) -> None:
    """Voting power checkpoints, policy and protection changes, audit publications and role
    changes."""
    checkpoints, policy, protection, audits, roles = [], [], [], [], []
    for e in events:
        a, where = e.args, {"block_number": e.block_number, "log_index": e.log_index}
        if e.name == "DelegateVotesChanged":
            checkpoints.append({**where, "delegate": a["delegate"], "votes": str(a["newVotes"])})
        elif e.name in POLICY_EVENTS:
            policy.append(
                {
                    **where,
                    "name": e.name,
                    "subject": a.get("datasetId") or a.get("metric"),
                    "policy_version": a["policyVersion"],
                    "args": json.dumps(a, separators=(",", ":")),
                    "tx_hash": e.tx_hash,
                }
            )
        elif e.name in PROTECTION_EVENTS:
            protection.append(
                {
                    **where,
                    "name": e.name,
                    "args": json.dumps(a, separators=(",", ":")),
                    "tx_hash": e.tx_hash,
                }
            )
        elif e.name == "AuditPublished":
            audits.append(
                {
                    **where,
                    "run_id": a["runId"],
                    "model_hash": a["modelHash"],
                    "dataset_id": a["datasetId"],
                    "report_hash": a["reportHash"],
                    "policy_version": a["policyVersion"],
                    "passed": a["passed"],
                    "auditor": a["auditor"],
                    "tx_hash": e.tx_hash,
                }
            )
        elif e.name in {"RoleGranted", "RoleRevoked"}:
            roles.append(
                {
                    **where,
                    "role": a["role"],
                    "account": a["account"],
                    "sender": a["sender"],
                    "granted": e.name == "RoleGranted",
                    "tx_hash": e.tx_hash,
                }
            )
    for model, rows in (
        (VotesCheckpoint, checkpoints),
        (PolicyEvent, policy),
        (ProtectionEvent, protection),
        (AuditPublication, audits),
        (RoleChange, roles),
    ):
        _insert_rows(session, model, rows)


def apply_all(session: Session, events: Sequence[LogEvent], addresses: Addresses) -> None:
    """Append ``events`` and apply them to every projection."""
    insert_events(session, events)
    apply_proposals(session, events, addresses)
    apply_delegates(session, events)
    apply_append_only(session, events)


def delete_above(session: Session, block: int) -> tuple[set[str], set[str]]:
    """Delete every event and row above ``block``; returns the touched proposals and delegators.

    The proposals and delegate rows of what was touched are deleted too, to be replayed
    from the surviving events by :func:`replay`.
    """
    gone = session.exec(select(IndexEvent).where(col(IndexEvent.block_number) > block)).all()
    proposal_ids = {e.proposal_id for e in gone if e.proposal_id is not None}
    delegators = {e.account for e in gone if e.name == "DelegateChanged" and e.account}
    for model in (
        VotesCheckpoint,
        PolicyEvent,
        ProtectionEvent,
        AuditPublication,
        RoleChange,
        IndexEvent,
    ):
        session.execute(delete(_table(model)).where(_table(model).c.block_number > block))
    session.execute(delete(_table(Vote)).where(col(Vote.proposal_id).in_(proposal_ids)))
    session.execute(delete(_table(Proposal)).where(col(Proposal.proposal_id).in_(proposal_ids)))
    session.execute(delete(_table(Delegate)).where(col(Delegate.delegator).in_(delegators)))
    return proposal_ids, delegators


def replay(
    session: Session, proposal_ids: set[str], delegators: set[str], addresses: Addresses
) -> None:
    """Rebuild the proposals and delegate rows of ``proposal_ids`` and ``delegators``."""
    rows = list(
        session.exec(
            select(IndexEvent)
            .where(col(IndexEvent.proposal_id).in_(proposal_ids))
            .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
        ).all()
    )
    rows += session.exec(
        select(IndexEvent)
        .where(IndexEvent.name == "DelegateChanged", col(IndexEvent.account).in_(delegators))
        .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
    ).all()
    events = [stored_event(r) for r in rows]
    apply_proposals(session, events, addresses)
    apply_delegates(session, events)


def recorded_supermajority(p: Proposal) -> Fraction:
    """The supermajority ``p`` needs if loosening, as recorded when it was made (1/1 before
    it is classified: a loosening proposal is never classified without it)."""
    if p.supermajority_numerator is None or p.supermajority_denominator is None:
        return Fraction(1)
    return Fraction(int(p.supermajority_numerator), int(p.supermajority_denominator))


def derive_state(p: Proposal, block: int) -> str:
    """``Governor.state`` of ``p`` in a call at block ``block`` (OpenZeppelin 5 rules)."""
    if p.executed_block is not None:
        return "Executed"
    if p.canceled_block is not None:
        return "Canceled"
    if p.snapshot >= block:
        return "Pending"
    if p.deadline >= block:
        return "Active"
    for_votes, against = int(p.for_votes), int(p.against_votes)
    quorum = int(p.quorum) if p.quorum is not None else None
    reached = quorum is not None and quorum <= for_votes + int(p.abstain_votes)
    if not reached or not majority_reached(
        for_votes, against, loosening=bool(p.loosening), supermajority=recorded_supermajority(p)
    ):
        return "Defeated"
    return "Succeeded" if p.eta is None else "Queued"
