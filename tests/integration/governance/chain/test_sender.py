"""Two senders of one key (an API audit and a scheduled job both anchor with the auditor's
key): the one whose nonce was taken signs again instead of failing the audit."""

from __future__ import annotations

import pytest
from web3 import Web3
from web3.exceptions import Web3RPCError
from web3.types import Wei

from core.devchain import DEV_PRIVATE_KEYS
from governance.chain.node import NONCE_RETRIES, Sender

pytestmark = pytest.mark.chain

KEY = DEV_PRIVATE_KEYS[7]
TO = "0x" + "42" * 20


def test_a_sender_whose_nonce_another_used_signs_again(isolated_chain: Web3) -> None:
    """Before: 'nonce too low' failed the demo's audit in CI (session 27)."""
    w3 = isolated_chain
    first, second = Sender.from_key(w3, KEY), Sender.from_key(w3, KEY)
    assert first.nonce == second.nonce
    first.transact("first", {"to": TO, "value": Wei(1)})
    receipt = second.transact("second", {"to": TO, "value": Wei(2)})
    assert receipt["status"] == 1
    assert second.nonce == first.nonce + 1 == w3.eth.get_transaction_count(first.account.address)


def test_other_refusals_are_not_retried(
    isolated_chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = Sender.from_key(isolated_chain, KEY)
    calls: list[bytes] = []

    def refuse(raw: bytes) -> None:
        calls.append(raw)
        raise Web3RPCError("{'code': -32003, 'message': 'insufficient funds for gas'}")

    monkeypatch.setattr(isolated_chain.eth, "send_raw_transaction", refuse)
    with pytest.raises(Web3RPCError, match="insufficient funds"):
        sender.send("refused", {"to": TO, "value": Wei(1), "gas": 21_000})
    assert len(calls) == 1


def test_a_nonce_taken_every_time_gives_up(
    isolated_chain: Web3, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender = Sender.from_key(isolated_chain, KEY)
    calls: list[bytes] = []

    def taken(raw: bytes) -> None:
        calls.append(raw)
        raise Web3RPCError("{'code': -32003, 'message': 'nonce too low'}")

    monkeypatch.setattr(isolated_chain.eth, "send_raw_transaction", taken)
    with pytest.raises(Web3RPCError, match="nonce too low"):
        sender.send("taken", {"to": TO, "value": Wei(1), "gas": 21_000})
    assert len(calls) == NONCE_RETRIES + 1
