"""Accepting a provider's signed withdrawal for the relayer: checked by the policy, then queued.

The provider signs a ``DatasetWithdrawal`` in their wallet and pays nothing: the relayer sends
``withdrawDatasetBySig``. Before anything is stored, the policy contract itself judges the
withdrawal in an ``eth_call`` (:func:`governance.consent.check_withdrawal`), so a forged,
stale or foreign withdrawal is refused with its own code and spends no gas. One withdrawal
(dataset, provider, time) is one outbox item; the same one again returns it.
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session, col, select
from web3 import Web3

from governance.actions import DatasetWithdrawal
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.consent import check_withdrawal
from governance.errors import WithdrawalChangesNothing
from governance.index.models import Proposal
from governance.relay.outbox import RelayItem
from governance.relay.signed_calls import SignedCall, accept_signed_call

#: Who the check runs as: anyone may send a signed withdrawal.
_ANYONE: Final = "0x0000000000000000000000000000000000000001"


def withdrawal_key(withdrawal: DatasetWithdrawal) -> str:
    """The outbox key of one signed withdrawal (see ``outbox.signed_call_key``)."""
    return (
        f"withdrawal:{withdrawal.dataset_id}:{withdrawal.provider.lower()}:{withdrawal.issued_at}"
    )


#: The states in which a proposal's offer may still be executed (OpenZeppelin's names).
_OPEN_STATES: Final = ("Pending", "Active", "Succeeded", "Queued")


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
    policy = bind(w3, "TrainingPolicy", deployment.addresses.training_policy).functions
    if policy.isAllowed(bytes.fromhex(wanted.removeprefix("0x"))).call():
        return
    for proposal in session.exec(select(Proposal).where(col(Proposal.state).in_(_OPEN_STATES))):
        for action in proposal.actions_list():
            offer = action.get("offer") if action.get("kind") == "allow_dataset" else None
            if isinstance(offer, dict) and str(offer.get("dataset_id", "")).lower() == wanted:
                return
    raise WithdrawalChangesNothing(dataset_id)


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
    WithdrawalChangesNothing
        Not allowed now, and no open proposal offers it (:func:`check_withdrawal_target`).
    WithdrawalSignatureInvalid, NotDatasetProvider, WithdrawalStale, ConsentRefused
        The policy would refuse it now; nothing was queued.
    """
    data = check_withdrawal(w3, deployment, withdrawal, signature, sender=_ANYONE)
    check_withdrawal_target(session, w3, deployment, withdrawal.dataset_id)
    call = SignedCall(
        to=w3.to_checksum_address(deployment.addresses.training_policy),
        data="0x" + data.hex(),
        signer=withdrawal.provider,
        label=f"withdraw dataset {withdrawal.dataset_id}",
        key=withdrawal_key(withdrawal),
    )
    item, _ = accept_signed_call(session, rpc, call, chain_id=deployment.chain_id)
    return item
