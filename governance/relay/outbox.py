"""The durable relay outbox: every accepted ballot, delegation, raw transaction and signed
call.

A message is accepted by committing one row. From then on it is never lost: the relayer
works from these rows only, and every transaction it signs is stored before it is sent.
Each message has a dedupe key, unique in the table, so the same ballot sent twice (or
twenty times at once, or with another valid signature) yields one row and one transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    false,
    insert,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, func, select
from sqlmodel.sql.sqltypes import AutoString

from governance.messages.ballots import Ballot, Delegation
from governance.messages.kinds import RelayKind
from governance.messages.signed_proposals import parse_signed


def utcnow() -> datetime:
    return datetime.now(UTC)


class RelayStatus(StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"


#: Statuses whose message still needs a nonce from the signer's contract nonce sequence.
PENDING_STATUSES = (RelayStatus.QUEUED, RelayStatus.SUBMITTED)


class RelayItem(SQLModel, table=True):
    """One accepted message and where it is on its way to the chain.

    ``confirmed`` means its receipt was seen in block ``block_number`` (``block_hash``);
    ``final`` that this block lay the configured depth below the head when last checked.
    Until then a reorg or a chain restored from an older save can take the transaction away,
    and the relayer checks it again on every pass.
    """

    __tablename__ = "relay_item"
    __table_args__ = (Index("ix_relay_item_status_final", "status", "final"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: RelayKind = Field(index=True, sa_type=AutoString(length=20))
    dedupe_key: str = Field(unique=True, max_length=200)
    chain_id: int = Field(sa_type=BigInteger)
    contract: str = Field(max_length=42, description="governor or token the message is for")
    signer: str = Field(index=True, max_length=42, description="voter, delegator or proposer")
    proposal_id: str | None = Field(default=None, index=True, max_length=80)
    nonce: int | None = Field(
        default=None, sa_type=BigInteger, description="the signer's contract nonce"
    )
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: RelayStatus = Field(
        default=RelayStatus.QUEUED, index=True, sa_type=AutoString(length=12)
    )
    tx_hash: str | None = Field(default=None, max_length=66)
    relayer_nonce: int | None = Field(default=None, sa_type=BigInteger)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    error_code: str | None = Field(default=None, max_length=60)
    error: str | None = Field(default=None, sa_column=Column(Text))
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = Field(default=None, max_length=66)
    final: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)

    def payload_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.payload)
        return data


class RelayAttempt(SQLModel, table=True):
    """A signed transaction for an item, stored before it is sent.

    All attempts of one item share its relayer nonce, so at most one of them is mined.
    """

    __tablename__ = "relay_attempt"

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(
        sa_column=Column(Integer, ForeignKey("relay_item.id", ondelete="CASCADE"), index=True)
    )
    tx_hash: str = Field(unique=True, max_length=66)
    raw_transaction: str = Field(sa_column=Column(Text, nullable=False))
    nonce: int = Field(sa_type=BigInteger)
    gas: int = Field(sa_type=BigInteger)
    max_fee_per_gas: int = Field(sa_type=BigInteger)
    max_priority_fee_per_gas: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow)


class RelayerAccount(SQLModel, table=True):
    """The next nonce of a relayer key, managed locally and reconciled with the chain."""

    __tablename__ = "relayer_account"
    __table_args__ = (UniqueConstraint("chain_id", "address"),)

    id: int | None = Field(default=None, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    address: str = Field(max_length=42)
    next_nonce: int = Field(sa_type=BigInteger)


def raw_attempt(item: RelayItem) -> RelayAttempt:
    """The one attempt of a sender-signed transaction: its own bytes and nonce. Legacy
    (EIP-155) transactions too: intake accepts them, and their fee is ``gasPrice``."""
    raw = item.payload_dict()["raw_transaction"]
    signed = parse_signed(bytes.fromhex(raw[2:]))
    return RelayAttempt(
        item_id=item.id or 0,
        tx_hash=item.tx_hash or "",
        raw_transaction=raw,
        nonce=signed.nonce,
        gas=signed.gas,
        max_fee_per_gas=signed.max_fee_per_gas,
        max_priority_fee_per_gas=signed.max_priority_fee_per_gas,
    )


def ballot_key(chain_id: int, governor: str, voter: str, proposal_id: int) -> str:
    return f"ballot:{chain_id}:{governor.lower()}:{voter.lower()}:{proposal_id}"


def delegation_key(chain_id: int, token: str, delegator: str, nonce: int) -> str:
    return f"delegation:{chain_id}:{token.lower()}:{delegator.lower()}:{nonce}"


def raw_transaction_key(chain_id: int, tx_hash: str) -> str:
    return f"raw_transaction:{chain_id}:{tx_hash.lower()}"


def signed_call_key(chain_id: int, to: str, key: str) -> str:
    """A signed call's dedupe key: its contract and a key its kind chooses (a claim's is the
    epoch and the account, so an account has one claim per epoch in the outbox)."""
    return f"signed_call:{chain_id}:{to.lower()}:{key}"


def find(session: Session, dedupe_key: str) -> RelayItem | None:
    return session.exec(select(RelayItem).where(RelayItem.dedupe_key == dedupe_key)).first()


def retire_failed(session: Session, item: RelayItem) -> None:
    """Free a failed item's dedupe key for a new message of the same signer (its record stays
    readable by id). A failed ballot or delegation kept its key, so every later one from the
    voter on that proposal (or with that nonce) was answered with the failed record or a
    conflict, and the voter could never vote or delegate through fairgov again."""
    item.dedupe_key = f"{item.dedupe_key}#{item.id}"  # the longest key (a ballot) stays < 200
    session.add(item)
    session.commit()


def live(session: Session, item: RelayItem | None) -> RelayItem | None:
    """``item`` unless it failed, in which case its key is freed (:func:`retire_failed`)."""
    if item is not None and item.status == RelayStatus.FAILED:
        retire_failed(session, item)
        return None
    return item


def find_many(session: Session, dedupe_keys: list[str]) -> dict[str, RelayItem]:
    found: dict[str, RelayItem] = {}
    for start in range(0, len(dedupe_keys), 500):
        chunk = dedupe_keys[start : start + 500]
        rows = session.exec(select(RelayItem).where(col(RelayItem.dedupe_key).in_(chunk))).all()
        found.update({row.dedupe_key: row for row in rows})
    return found


def pending_nonces_by_signer(
    session: Session, *, kind: RelayKind, contract: str, signers: list[str], excluding: list[str]
) -> dict[str, int]:
    """:func:`pending_nonces` for many signers in one grouped query per 500 signers."""
    counts = dict.fromkeys(signers, 0)
    unique = sorted(set(signers))
    for start in range(0, len(unique), 500):
        statement = (
            select(RelayItem.signer, func.count())
            .where(
                RelayItem.kind == kind,
                RelayItem.contract == contract.lower(),
                col(RelayItem.signer).in_(unique[start : start + 500]),
                col(RelayItem.status).in_(PENDING_STATUSES),
                col(RelayItem.nonce).is_not(None),
                col(RelayItem.dedupe_key).not_in(excluding),
            )
            .group_by(col(RelayItem.signer))
        )
        for signer, count in session.exec(statement).all():
            counts[signer] = int(count)
    return counts


def insert_all(session: Session, items: list[RelayItem]) -> bool:
    """Commit all ``items`` at once; False (and nothing stored) if any key already exists.

    One multi-row ``INSERT … RETURNING id`` rather than the ORM's unit of work, which spent
    more time on bookkeeping than the database on the rows. The items stay detached, with
    their new ids set.
    """
    if not items:
        return True
    table = RelayItem.__table__  # type: ignore[attr-defined]
    columns = [c.name for c in table.columns if c.name != "id"]
    rows = [{name: getattr(item, name) for name in columns} for item in items]
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    try:
        ids = session.connection().execute(statement, rows).scalars().all()
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    for item, new_id in zip(items, ids, strict=True):
        item.id = new_id
    return True


def confirmed_count(session: Session, *, kind: RelayKind, contract: str, signer: str) -> int:
    """How many of ``signer``'s messages for ``contract`` fairgov relayed and saw mined."""
    statement = select(func.count()).where(
        RelayItem.kind == kind,
        RelayItem.status == RelayStatus.CONFIRMED,
        RelayItem.contract == contract.lower(),
        RelayItem.signer == signer,
    )
    return int(session.exec(statement).one())


def stuck_items(session: Session, *, accepted_before: datetime) -> tuple[int, datetime | None]:
    """How many items accepted before ``accepted_before`` are still not on chain, and when
    the oldest of them was accepted."""
    count, oldest = session.exec(
        select(func.count(), func.min(RelayItem.created_at)).where(
            col(RelayItem.status).in_(PENDING_STATUSES),
            col(RelayItem.created_at) < accepted_before,
        )
    ).one()
    return int(count), oldest


def pending_nonces(
    session: Session, *, kind: RelayKind, contract: str, signer: str, excluding: str | None = None
) -> int:
    """How many of ``signer``'s messages for ``contract`` are accepted but not yet mined.

    ``excluding`` names a dedupe key not to count: the message being checked, which a
    concurrent submission of the same message may have stored a moment ago.
    """
    statement = select(func.count()).where(
        RelayItem.kind == kind,
        RelayItem.contract == contract.lower(),
        RelayItem.signer == signer,
        col(RelayItem.status).in_(PENDING_STATUSES),
        col(RelayItem.nonce).is_not(None),
    )
    if excluding is not None:
        statement = statement.where(RelayItem.dedupe_key != excluding)
    return int(session.exec(statement).one())


def submitted_items(session: Session, *, chain_id: int) -> list[RelayItem]:
    """The items sent and not yet seen mined on chain ``chain_id``, oldest first."""
    statement = (
        select(RelayItem)
        .where(RelayItem.status == RelayStatus.SUBMITTED, RelayItem.chain_id == chain_id)
        .order_by(col(RelayItem.id))
    )
    return list(session.exec(statement).all())


def signers_in_flight(session: Session) -> set[tuple[str, str, str]]:
    """(kind, contract, signer) of every submitted item: their next message must wait."""
    rows = session.exec(
        select(RelayItem.kind, RelayItem.contract, RelayItem.signer).where(
            RelayItem.status == RelayStatus.SUBMITTED
        )
    ).all()
    return {(k, c, s) for k, c, s in rows}


def latest_attempt(session: Session, item: RelayItem) -> RelayAttempt | None:
    """The item's last signed transaction, if any."""
    return session.exec(
        select(RelayAttempt)
        .where(RelayAttempt.item_id == item.id)
        .order_by(col(RelayAttempt.id).desc())
    ).first()


def attempt_count(session: Session, item: RelayItem) -> int:
    """How many transactions were signed for the item (the first plus its fee bumps)."""
    return int(session.exec(select(func.count()).where(RelayAttempt.item_id == item.id)).one())


def relayer_account(session: Session, *, chain_id: int, address: str) -> RelayerAccount:
    """The relayer key's nonce row, created (with nonce 0) on first use."""
    row = session.exec(
        select(RelayerAccount).where(
            RelayerAccount.chain_id == chain_id, RelayerAccount.address == address
        )
    ).first()
    if row is None:
        row = RelayerAccount(chain_id=chain_id, address=address, next_nonce=0)
        session.add(row)
        session.flush()
    return row


def insert_once(session: Session, item: RelayItem) -> tuple[RelayItem, bool]:
    """Commit ``item``, or return the row that already holds its dedupe key.

    Returns the stored row and whether it is new. Safe under concurrency: the unique
    dedupe key decides which writer wins, and the others read the winner's row.
    """
    existing = find(session, item.dedupe_key)
    if existing is not None:
        return existing, False
    session.add(item)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        winner = find(session, item.dedupe_key)
        if winner is None:
            raise
        return winner, False
    session.refresh(item)
    return item, True


def _new_item(**fields: Any) -> RelayItem:
    """A new relay record stamped now.

    The timestamps are passed rather than left to ``default_factory``: SQLModel inspects a
    factory's signature on every construction, a tenth of the API's time at 1,000 ballots/s.
    """
    now = utcnow()
    return RelayItem(**fields, created_at=now, updated_at=now)


def ballot_item(ballot: Ballot, *, chain_id: int, governor: str) -> RelayItem:
    return _new_item(
        kind=RelayKind.BALLOT,
        dedupe_key=ballot_key(chain_id, governor, ballot.voter, ballot.proposal_id),
        chain_id=chain_id,
        contract=governor.lower(),
        signer=ballot.voter,
        proposal_id=str(ballot.proposal_id),
        nonce=ballot.nonce,
        payload=ballot.model_dump_json(),
    )


def delegation_item(delegation: Delegation, *, chain_id: int, token: str) -> RelayItem:
    return _new_item(
        kind=RelayKind.DELEGATION,
        dedupe_key=delegation_key(chain_id, token, delegation.delegator, delegation.nonce),
        chain_id=chain_id,
        contract=token.lower(),
        signer=delegation.delegator,
        nonce=delegation.nonce,
        payload=delegation.model_dump_json(),
    )


def raw_transaction_item(
    raw: bytes, *, chain_id: int, governor: str, sender: str, tx_hash: str, proposal_id: int
) -> RelayItem:
    return _new_item(
        kind=RelayKind.RAW_TRANSACTION,
        dedupe_key=raw_transaction_key(chain_id, tx_hash),
        chain_id=chain_id,
        contract=governor.lower(),
        signer=sender,
        proposal_id=str(proposal_id),
        payload=json.dumps({"raw_transaction": "0x" + raw.hex()}),
        tx_hash=tx_hash,
    )


def signed_call_item(
    *, chain_id: int, to: str, data: str, signer: str, label: str, key: str
) -> RelayItem:
    """An outbox item for a verified signed call: ``to`` and ``data`` as the relayer sends
    them; ``signer`` is the account whose signature the call carries."""
    return _new_item(
        kind=RelayKind.SIGNED_CALL,
        dedupe_key=signed_call_key(chain_id, to, key),
        chain_id=chain_id,
        contract=to.lower(),
        signer=signer,
        payload=signed_call_payload(to=to, data=data, label=label),
    )


def signed_call_payload(*, to: str, data: str, label: str) -> str:
    """What a signed call's item stores: the call as the relayer sends it, and a label."""
    return json.dumps({"to": to, "data": data, "label": label})
