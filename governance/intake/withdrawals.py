"""Accepting a provider's signed withdrawal for the relayer: checked by the policy, then queued.

The provider signs a ``DatasetWithdrawal`` in their wallet and pays nothing: the relayer sends
``withdrawDatasetBySig``. Before anything is stored, the policy contract itself judges the
withdrawal in an ``eth_call`` (:func:`governance.consent.check_withdrawal`), so a forged,
stale or foreign withdrawal is refused with its own code and spends no gas. One withdrawal
(dataset, provider, time) is one outbox item; the same one again returns it.
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session
from web3 import Web3

from governance.actions import DatasetWithdrawal
from governance.chain.deploy import Deployment
from governance.chain.rpc import RpcBatch
from governance.consent import check_withdrawal
from governance.relay.outbox import RelayItem
from governance.relay.signed_calls import SignedCall, accept_signed_call

#: Who the check runs as: anyone may send a signed withdrawal.
_ANYONE: Final = "0x0000000000000000000000000000000000000001"


def withdrawal_key(withdrawal: DatasetWithdrawal) -> str:
    """The outbox key of one signed withdrawal (see ``outbox.signed_call_key``)."""
    return (
        f"withdrawal:{withdrawal.dataset_id}:{withdrawal.provider.lower()}:{withdrawal.issued_at}"
    )


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
    WithdrawalSignatureInvalid, NotDatasetProvider, WithdrawalStale, ConsentRefused
        The policy would refuse it now; nothing was queued.
    """
    data = check_withdrawal(w3, deployment, withdrawal, signature, sender=_ANYONE)
    call = SignedCall(
        to=w3.to_checksum_address(deployment.addresses.training_policy),
        data="0x" + data.hex(),
        signer=withdrawal.provider,
        label=f"withdraw dataset {withdrawal.dataset_id}",
        key=withdrawal_key(withdrawal),
    )
    item, _ = accept_signed_call(session, rpc, call, chain_id=deployment.chain_id)
    return item
