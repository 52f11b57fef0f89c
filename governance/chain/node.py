"""Connecting to a chain node and sending the service's own transactions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TimeExhausted, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from core import fence
from governance.chain.rejections import is_nonce_too_low
from governance.errors import ChainUnreachable, TransactionFailed

_PRIORITY_FEE_WEI = 10**9
#: How many times :meth:`Sender.send` signs again after "nonce too low".
NONCE_RETRIES = 3


def max_fee_per_gas(base_fee: int, priority: int) -> int:
    """Room for the base fee to double, and at least one priority fee's worth on top: where
    the base fee is near zero (a quiet chain) doubling it alone leaves no room at all, and a
    batch that fills a few blocks would strand the rest of the batch in the pool."""
    return 2 * base_fee + 2 * priority


def connect(rpc_url: str, *, timeout: float = 10.0) -> Web3:
    """A web3 client for ``rpc_url`` that has answered once; :class:`ChainUnreachable` if not."""
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": timeout}))
    try:
        w3.eth.chain_id  # noqa: B018 - the first call tells whether the node answers
    except Exception as exc:
        raise ChainUnreachable(rpc_url, type(exc).__name__) from exc
    return w3


@dataclass
class Sender:
    """Signs and sends transactions from one key, numbering nonces locally.

    Transactions are sent without waiting, so a batch lands in as few blocks as the node
    allows; :meth:`wait` collects the receipts and fails on the first revert.
    """

    w3: Web3
    account: LocalAccount
    chain_id: int
    nonce: int = -1
    pending: list[tuple[str, HexBytes]] = field(default_factory=list)

    @classmethod
    def from_key(cls, w3: Web3, private_key: str) -> Sender:
        account: LocalAccount = Account.from_key(private_key)
        nonce = w3.eth.get_transaction_count(account.address, "pending")
        return cls(w3=w3, account=account, chain_id=w3.eth.chain_id, nonce=nonce)

    @property
    def address(self) -> str:
        return str(self.account.address)

    def send(self, what: str, tx: TxParams) -> HexBytes:
        """Fill fees, gas and nonce, sign and send ``tx``; returns its hash.

        A nonce the node says is used (another sender of the same key got there first: an
        API audit and a scheduled job both anchor with the auditor's key) is read again from
        the node and the transaction signed again, up to :data:`NONCE_RETRIES` times; the
        refused transaction was never accepted, so nothing is sent twice.
        """
        base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
        tx = {
            **tx,
            "from": self.address,
            "chainId": self.chain_id,
            "maxPriorityFeePerGas": Wei(_PRIORITY_FEE_WEI),
            "maxFeePerGas": Wei(max_fee_per_gas(base_fee, _PRIORITY_FEE_WEI)),
            "nonce": Nonce(self.nonce),
        }
        if "gas" not in tx:
            tx["gas"] = self.w3.eth.estimate_gas(tx)
        retries = 0
        while True:
            tx["nonce"] = Nonce(self.nonce)
            signed = self.account.sign_transaction(tx)  # type: ignore[arg-type]
            fence.check(f"sending {what}")
            try:
                tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
                break
            except Web3RPCError as exc:
                retries += 1
                if retries > NONCE_RETRIES or not is_nonce_too_low(str(exc)):
                    raise
                self.nonce = self.w3.eth.get_transaction_count(self.account.address, "pending")
        self.nonce += 1
        self.pending.append((what, tx_hash))
        return tx_hash

    def wait(self, *, timeout: float = 120.0) -> list[TxReceipt]:
        """Receipts of everything sent since the last wait, in order."""
        receipts = []
        pending, self.pending = self.pending, []
        for what, tx_hash in pending:
            try:
                receipt = self.w3.eth.wait_for_transaction_receipt(
                    tx_hash, timeout=timeout, poll_latency=0.1
                )
            except TimeExhausted as exc:
                raise TransactionFailed(
                    f"{what} (not mined in {timeout:.0f} s)", tx_hash.hex()
                ) from exc
            if receipt["status"] != 1:
                raise TransactionFailed(what, tx_hash.hex())
            receipts.append(receipt)
        return receipts

    def transact(self, what: str, tx: TxParams) -> TxReceipt:
        """Send one transaction and wait for its receipt."""
        self.send(what, tx)
        return self.wait()[0]


def call_data(contract: Any, function: str, args: Iterable[Any]) -> TxParams:
    """The ``to`` and ``data`` of a call to ``contract.function(*args)``."""
    data = contract.encode_abi(function, args=list(args))
    return {"to": contract.address, "data": data}
