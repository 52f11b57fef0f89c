"""A data provider's consent, checked before any gas is spent: offers and withdrawals.

The TrainingPolicy is the judge. Rather than re-implement its rules (a valid EOA or EIP-1271
signature, the deadline, who the provider is, newer than the consent in force and than the
provider's last withdrawal), every check here asks the contract itself with an ``eth_call``:
an offer as the timelock would execute it, a withdrawal as the relayer would send it. A
refusal becomes the matching :mod:`governance.errors` consent error, the code the contract's
revert would carry later. One rule is not the contract's: an offer must still be valid
when a proposal made now could first execute it (:func:`earliest_execution`), or every
vote on it is spent on an execution that must revert.

Examples
--------
>>> offer = DatasetOffer.for_name("loans", content_hash=..., manifest_hash=..., ...)
>>> action = sign_offer(offer, provider_key, deployment, name="loans")
>>> check_offers(w3, deployment, [action])  # raises OfferSignatureInvalid, OfferExpired, ...
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_account import Account
from eth_utils.abi import function_signature_to_4byte_selector
from web3 import Web3
from web3.exceptions import ContractLogicError

from core.types import to_address
from governance.actions import Action, AllowDataset, DatasetOffer, DatasetWithdrawal, encode
from governance.chain.contracts import bind
from governance.chain.deploy import Deployment
from governance.chain.reverts import decode_revert
from governance.errors import (
    CONSENT_ERRORS,
    ConsentRefused,
    ContentRegistered,
    OfferExpiresBeforeExecution,
)
from governance.protection import classify, read_protection

#: The block time assumed to turn the governor's block counts into seconds: Ethereum's 12 s
#: slot. A faster chain only makes the real wait shorter, so no offer that could be executed
#: on Ethereum is refused.
SECONDS_PER_BLOCK: Final = 12

_WITHDRAW_BY_SIG = "withdrawDatasetBySig(bytes32,address,uint64,bytes)"
_WITHDRAW = "withdrawDataset(bytes32)"


def _sign(typed_data: dict[str, Any], key: str | bytes) -> str:
    signed = Account.sign_typed_data(key, full_message=typed_data)
    return "0x" + bytes(signed.signature).hex()


def offer_typed_data(offer: DatasetOffer, deployment: Deployment) -> dict[str, Any]:
    """The typed data the provider's wallet signs to make ``offer`` in ``deployment``."""
    return offer.typed_data(deployment.chain_id, deployment.addresses.training_policy)


def withdrawal_typed_data(withdrawal: DatasetWithdrawal, deployment: Deployment) -> dict[str, Any]:
    """The typed data the provider's wallet signs to withdraw consent."""
    return withdrawal.typed_data(deployment.chain_id, deployment.addresses.training_policy)


def sign_offer(
    offer: DatasetOffer, key: str | bytes, deployment: Deployment, *, name: str | None = None
) -> AllowDataset:
    """The ``allow_dataset`` action carrying ``offer`` signed with the provider's ``key``."""
    signature = _sign(offer_typed_data(offer, deployment), key)
    return AllowDataset(offer=offer, provider_signature=signature, name=name)


def sign_withdrawal(withdrawal: DatasetWithdrawal, key: str | bytes, deployment: Deployment) -> str:
    """The provider's signature (0x hex) of ``withdrawal``."""
    return _sign(withdrawal_typed_data(withdrawal, deployment), key)


def _refusal(exc: ContractLogicError) -> Exception:
    revert = decode_revert(exc.data if isinstance(exc.data, str | bytes) else None)
    error = CONSENT_ERRORS.get(revert.name)
    if error is None or not revert.args:
        return ConsentRefused(revert.message(), revert.code)
    # eth_abi gives addresses checksummed already; only bytes32 need hex.
    return error(*("0x" + a.hex() if isinstance(a, bytes) else a for a in revert.args))


def _simulate(w3: Web3, sender: str, to: str, data: bytes) -> None:
    try:
        w3.eth.call({"from": to_address(sender), "to": to_address(to), "data": data})
    except ContractLogicError as exc:
        raise _refusal(exc) from exc


def earliest_execution(w3: Web3, deployment: Deployment, *, loosening: bool = False) -> int:
    """The earliest unix time a proposal made in the next block could execute: its voting
    delay and voting period (the loosening one if ``loosening``) in blocks of
    :data:`SECONDS_PER_BLOCK`, then the timelock's delay, all read from the chain.

    Examples
    --------
    >>> earliest_execution(w3, deployment) - w3.eth.get_block("latest")["timestamp"]
    382
    """
    a = deployment.addresses
    protection = read_protection(w3, a)
    voting_delay = int(bind(w3, "FairnessGovernor", a.governor).functions.votingDelay().call())
    blocks = 1 + voting_delay + protection.voting_period_for(loosening)
    now = int(w3.eth.get_block("latest")["timestamp"])
    return now + blocks * SECONDS_PER_BLOCK + protection.timelock_delay


def check_offer(
    w3: Web3, deployment: Deployment, action: AllowDataset, *, loosening: bool = False
) -> None:
    """Refuse an offer the policy would refuse if the DAO executed it now, or that expires
    before a proposal made now (loosening the policy, if ``loosening``) could execute it.

    Raises
    ------
    OfferSignatureInvalid, OfferExpired, NotDatasetProvider, OfferStale, ConsentWithdrawn,
    OfferExpiresBeforeExecution
    """
    a = deployment.addresses
    _simulate(w3, a.timelock, a.training_policy, action.calldata())
    earliest = earliest_execution(w3, deployment, loosening=loosening)
    offer = action.offer
    if offer.deadline < earliest:
        raise OfferExpiresBeforeExecution(offer.dataset_id, offer.deadline, earliest=earliest)


def check_offers(w3: Web3, deployment: Deployment, actions: Sequence[Action]) -> None:
    """:func:`check_offer` for every ``allow_dataset`` action among ``actions``, one
    proposal's: a proposal that loosens the policy votes for the longer period. Two offers of
    the same file under two ids are refused together (:class:`ContentRegistered`): each
    passes alone, and the second would revert the whole execution."""
    offers = [action for action in actions if isinstance(action, AllowDataset)]
    if not offers:
        return
    first_id: dict[str, str] = {}  # each is checked against the chain alone: check them together
    for action in offers:
        content, dataset = action.offer.content_hash.lower(), action.offer.dataset_id.lower()
        if first_id.setdefault(content, dataset) != dataset:
            raise ContentRegistered(content, first_id[content])
    targets, _, calldatas = encode(actions, deployment.addresses)
    loosening = classify(w3, deployment.addresses, targets, calldatas).loosening
    for action in offers:
        check_offer(w3, deployment, action, loosening=loosening)


def withdrawal_calldata(withdrawal: DatasetWithdrawal, signature: str) -> bytes:
    """The calldata of ``withdrawDatasetBySig`` for a signed withdrawal (anyone may send it)."""
    args = [
        bytes.fromhex(withdrawal.dataset_id[2:]),
        withdrawal.provider,
        withdrawal.issued_at,
        bytes.fromhex(signature.removeprefix("0x")),
    ]
    types = ["bytes32", "address", "uint64", "bytes"]
    return bytes(function_signature_to_4byte_selector(_WITHDRAW_BY_SIG)) + abi_encode(types, args)


def check_withdrawal(
    w3: Web3, deployment: Deployment, withdrawal: DatasetWithdrawal, signature: str, *, sender: str
) -> bytes:
    """Refuse a signed withdrawal the policy would refuse from ``sender``; its calldata if not.

    Raises
    ------
    WithdrawalSignatureInvalid, NotDatasetProvider, WithdrawalStale
    """
    data = withdrawal_calldata(withdrawal, signature)
    _simulate(w3, sender, deployment.addresses.training_policy, data)
    return data


def withdraw_directly(w3: Web3, deployment: Deployment, key: str | bytes, dataset_id: str) -> str:
    """The provider withdraws ``dataset_id`` with a transaction from their own ``key`` (they
    pay the gas); checked first, so a refused withdrawal spends nothing. Its hash, once mined.

    Raises
    ------
    NotDatasetProvider, WithdrawalStale
    """
    account = Account.from_key(key)
    data = bytes(function_signature_to_4byte_selector(_WITHDRAW)) + abi_encode(
        ["bytes32"], [bytes.fromhex(dataset_id.removeprefix("0x"))]
    )
    policy = deployment.addresses.training_policy
    _simulate(w3, account.address, policy, data)
    tx = {
        "from": account.address,
        "to": to_address(policy),
        "data": data,
        "chainId": deployment.chain_id,
        "nonce": w3.eth.get_transaction_count(account.address, "pending"),
    }
    gas = w3.eth.estimate_gas(tx)  # type: ignore[arg-type]
    base_fee = w3.eth.get_block("latest").get("baseFeePerGas", 0)
    tx |= {"gas": gas * 5 // 4, "maxFeePerGas": 2 * base_fee + 10**9, "maxPriorityFeePerGas": 10**9}
    signed = account.sign_transaction(tx)
    tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return tx_hash.to_0x_hex()
