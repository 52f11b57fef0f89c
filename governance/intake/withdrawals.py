"""Accepting a provider's signed withdrawal for the relayer: checked by the policy, then queued.

The provider signs a ``DatasetWithdrawal`` in their wallet and pays nothing: the relayer sends
``withdrawDatasetBySig``. Before anything is stored, the policy contract itself judges the
withdrawal in an ``eth_call`` (:func:`governance.consent.check_withdrawal`), so a forged,
stale or foreign withdrawal is refused with its own code and spends no gas. One withdrawal
(dataset, provider, time) is one outbox item; the same one again returns it, and while one of
a signer's withdrawals of a dataset is on its way another is queued only if it voids more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, select
from web3 import Web3

from core.db import exclusive_transaction
from core.types import to_address
from governance.actions import DatasetWithdrawal
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.consent import check_withdrawal
from governance.errors import (
    WithdrawalAlreadyHeld,
    WithdrawalChangesNothing,
    WithdrawalNotProvider,
)
from governance.index.models import Proposal
from governance.relay.outbox import PENDING_STATUSES, RelayItem, signed_call_key
from governance.relay.signed_calls import (
    SignedCall,
    queue_signed_call,
    queued_call,
    vet_signed_call,
)

#: Who the check runs as: anyone may send a signed withdrawal.
_ANYONE: Final = "0x0000000000000000000000000000000000000001"


def withdrawal_key(withdrawal: DatasetWithdrawal) -> str:
    """The outbox key of one signed withdrawal (see ``outbox.signed_call_key``)."""
    return (
        f"withdrawal:{withdrawal.dataset_id}:{withdrawal.provider.lower()}:{withdrawal.issued_at}"
    )


#: The states in which a proposal's offer may still be executed (OpenZeppelin's names).
_OPEN_STATES: Final = ("Pending", "Active", "Succeeded", "Queued")


@dataclass(frozen=True)
class _OpenOffer:
    """An offer of the dataset in an open proposal, as fairgov's index decoded it."""

    provider: str
    issued_at: int


def _open_offers(session: Session, dataset_id: str) -> list[_OpenOffer]:
    """The offers of ``dataset_id`` (lower-case) in proposals that may still execute."""
    found = []
    for proposal in session.exec(select(Proposal).where(col(Proposal.state).in_(_OPEN_STATES))):
        for action in proposal.actions_list():
            offer = action.get("offer") if action.get("kind") == "allow_dataset" else None
            if isinstance(offer, dict) and str(offer.get("dataset_id", "")).lower() == dataset_id:
                provider = str(offer.get("provider", "")).lower()
                found.append(_OpenOffer(provider, int(offer.get("issued_at") or 0)))
    return found


def _allowed(w3: Web3, deployment: Deployment, dataset_id: str) -> bool:
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy).functions
    return bool(policy.isAllowed(bytes.fromhex(dataset_id.removeprefix("0x"))).call())


def check_withdrawal_target(
    session: Session, w3: Web3, deployment: Deployment, dataset_id: str
) -> None:
    """Refuse a withdrawal that would change nothing: of a dataset that is not allowed now
    (never registered, revoked, or withdrawn already) and that no open proposal (in
    fairgov's index) offers. The contract takes such a withdrawal and only voids offers not
    yet proposed, so a mistyped name spent gas and left the dataset the provider meant
    allowed, and a signed withdrawal repeated each second had the relayer pay for nothing.

    Raises
    ------
    WithdrawalChangesNothing
    """
    wanted = dataset_id.lower()
    if _allowed(w3, deployment, wanted) or _open_offers(session, wanted):
        return
    raise WithdrawalChangesNothing(dataset_id)


def check_gasless_withdrawal_target(
    session: Session, w3: Web3, deployment: Deployment, withdrawal: DatasetWithdrawal
) -> None:
    """:func:`check_withdrawal_target` for a withdrawal the relayer pays for: of a dataset
    that is not allowed now, only its signer's own offer in an open proposal makes it worth
    sending, and only while the withdrawal would void it (the offer is dated after the
    signer's last withdrawal of the id, and not after this one).

    The contract takes a withdrawal of an unregistered id from any address. Before this
    check, anyone who signed with fresh keys (each a new "provider", so no per-provider
    budget applied) had the relayer send one such withdrawal after another, for nothing
    (review: about 63,000 gas each, without limit).

    Raises
    ------
    WithdrawalChangesNothing
        Not allowed now, and no open proposal offers it.
    WithdrawalNotProvider
        Not allowed now, and no open offer of it is the signer's and still in force.
    """
    wanted = withdrawal.dataset_id.lower()
    if _allowed(w3, deployment, wanted):
        return
    offers = _open_offers(session, wanted)
    if not offers:
        raise WithdrawalChangesNothing(withdrawal.dataset_id)
    signer = withdrawal.provider.lower()
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy).functions
    last = int(
        policy.withdrawnAt(bytes.fromhex(wanted[2:]), to_address(withdrawal.provider)).call()
    )
    if any(o.provider == signer and last < o.issued_at <= withdrawal.issued_at for o in offers):
        return
    raise WithdrawalNotProvider(withdrawal.dataset_id, withdrawal.provider)


def _own_key(deployment: Deployment, withdrawal: DatasetWithdrawal) -> str:
    return signed_call_key(
        deployment.chain_id, deployment.addresses.training_policy, withdrawal_key(withdrawal)
    )


def _signers_withdrawals(deployment: Deployment, withdrawal: DatasetWithdrawal) -> str:
    """The outbox key prefix of every withdrawal of the dataset by the same signer."""
    return _own_key(deployment, withdrawal).rsplit(":", 1)[0] + ":"


def _held_withdrawal(
    session: Session, deployment: Deployment, withdrawal: DatasetWithdrawal
) -> tuple[RelayItem, int] | None:
    """The signer's latest other withdrawal of the same dataset still on its way (queued or
    sent), with its ``issued_at``; None when there is none."""
    own = _own_key(deployment, withdrawal)
    prefix = _signers_withdrawals(deployment, withdrawal)
    rows = session.exec(
        select(RelayItem)
        .where(col(RelayItem.dedupe_key).startswith(prefix, autoescape=True))
        .where(col(RelayItem.status).in_(PENDING_STATUSES))
        .where(col(RelayItem.dedupe_key) != own)
    ).all()
    held = [(row, int(row.dedupe_key.rsplit(":", 1)[1])) for row in rows]
    return max(held, key=lambda pair: pair[1], default=None)


def check_not_held(session: Session, deployment: Deployment, withdrawal: DatasetWithdrawal) -> None:
    """Refuse a gasless withdrawal while another of the signer's withdrawals of the same
    dataset is on its way and voids every open offer of theirs this one would (an open offer
    dated after it and not after this one is worth a second withdrawal). Review (session 25):
    four signed withdrawals 1.2 s apart were all relayed and mined, three of them changing
    nothing, because the checks read the chain, where the first was not mined yet.

    Raises
    ------
    WithdrawalAlreadyHeld
    """
    held = _held_withdrawal(session, deployment, withdrawal)
    if held is None:
        return
    item, held_at = held
    signer = withdrawal.provider.lower()
    offers = _open_offers(session, withdrawal.dataset_id.lower())
    if any(o.provider == signer and held_at < o.issued_at <= withdrawal.issued_at for o in offers):
        return
    raise WithdrawalAlreadyHeld(withdrawal.dataset_id, withdrawal.provider, item.id)


def accept_withdrawal(
    session: Session,
    w3: Web3,
    rpc: RpcBatch,
    deployment: Deployment,
    *,
    withdrawal: DatasetWithdrawal,
    signature: str,
) -> RelayItem:
    """Check a signed withdrawal with the policy and queue ``withdrawDatasetBySig``.

    Raises
    ------
    WithdrawalChangesNothing, WithdrawalNotProvider
        Not allowed now, and no open offer of the signer's makes the withdrawal worth
        sending (:func:`check_gasless_withdrawal_target`).
    WithdrawalSignatureInvalid, NotDatasetProvider, WithdrawalStale, ConsentRefused
        The policy would refuse it now; nothing was queued.
    WithdrawalAlreadyHeld
        Another withdrawal of the signer's on its way voids all this one would
        (:func:`check_not_held`).

    Notes
    -----
    Commits the session: the check and the insert run in one transaction that excludes every
    other withdrawal of the dataset by the same signer, from any process on the database
    (:func:`core.db.exclusive_transaction`; on SQLite, every other writer).
    """
    data = check_withdrawal(w3, deployment, withdrawal, signature, sender=_ANYONE)
    check_gasless_withdrawal_target(session, w3, deployment, withdrawal)
    call = SignedCall(
        to=w3.to_checksum_address(deployment.addresses.training_policy),
        data="0x" + data.hex(),
        signer=withdrawal.provider,
        label=f"withdraw dataset {withdrawal.dataset_id}",
        key=withdrawal_key(withdrawal),
    )
    # The check and the insert in one transaction that the signer's other withdrawals of the
    # dataset wait for, in any thread or process: sent at once, they each passed the check
    # (review, session 25), and under a lock of one process each API process relayed one.
    # The node is asked first: on SQLite the lock below holds every writer back.
    if (same := queued_call(session, call, chain_id=deployment.chain_id)) is not None:
        return same
    vet_signed_call(session, rpc, call)
    with exclusive_transaction(session, _signers_withdrawals(deployment, withdrawal)):
        check_not_held(session, deployment, withdrawal)
        item, _ = queue_signed_call(session, call, chain_id=deployment.chain_id)
    session.refresh(item)  # the transaction's commit expired it
    return item
