"""Gasless calls signed by EIP-1271 contract wallets: simulated as the relayer will send them,
and, since a wallet may still decide otherwise on chain, relayed no more once one reverted
there (review: the same signed withdrawal reverted at the relayer's expense after each
failure, posted again and again)."""

from __future__ import annotations

import json
import secrets

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from web3 import Web3

from governance.actions import DatasetWithdrawal
from governance.chain import deploy
from governance.chain.rpc import RpcBatch
from governance.consent import withdrawal_calldata
from governance.errors import CallWouldRevert, ContractWalletMustSend
from governance.index.models import Proposal
from governance.intake.withdrawals import accept_withdrawal, withdrawal_key
from governance.messages.kinds import RelayKind
from governance.relay import outbox
from governance.relay.outbox import RelayItem, RelayStatus
from governance.relay.signed_calls import barred_wallets
from tests.helpers import address_of, issue_time
from tests.integration.governance.contract_wallets import (
    ANY_SIGNATURE,
    UNPRICED_ONLY,
    place_wallet,
    up_to_block,
)
from tests.integration.governance.relay_support import RELAYER_KEY, relayer_for

pytestmark = pytest.mark.chain

#: What a wallet's owner posts: the wallet's own code judges it.
WALLET_SIGNATURE = "0x" + "22" * 65


def _offered_by(engine: Engine, provider: str, *issued_at: int) -> str:
    """A new dataset id that an open proposal in the index offers, from ``provider``, once
    for each date in ``issued_at``."""
    dataset_id = "0x" + secrets.token_hex(32)
    offers = [{"dataset_id": dataset_id, "provider": provider, "issued_at": t} for t in issued_at]
    with Session(engine) as session:
        session.add(
            Proposal(
                proposal_id=str(int(dataset_id, 16)),
                proposer=address_of(RELAYER_KEY),
                description="allow it",
                description_hash="0x" + "22" * 32,
                calls=json.dumps({"targets": [], "values": [], "calldatas": []}),
                actions=json.dumps([{"kind": "allow_dataset", "offer": o} for o in offers]),
                snapshot=1,
                vote_end=2,
                deadline=2,
                state="Active",
                created_block=1,
                created_log_index=0,
                tx_hash="0x" + "33" * 32,
            )
        )
        session.commit()
    return dataset_id


def _accept(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, withdrawal: DatasetWithdrawal
) -> RelayItem:
    rpc = RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with Session(engine, expire_on_commit=False) as session:
        return accept_withdrawal(
            session, w3, rpc, deployment, withdrawal=withdrawal, signature=WALLET_SIGNATURE
        )


def _items(engine: Engine) -> list[RelayItem]:
    with Session(engine) as session:
        return list(session.exec(select(RelayItem).order_by(col(RelayItem.id))).all())


def _sent_by_relayer(w3: Web3) -> int:
    return w3.eth.get_transaction_count(address_of(RELAYER_KEY))


def test_a_wallet_that_accepts_only_unpriced_calls_costs_the_relayer_nothing(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    w3 = isolated_chain
    wallet = place_wallet(w3, UNPRICED_ONLY)
    now = issue_time(w3)
    withdrawal = DatasetWithdrawal(
        dataset_id=_offered_by(engine, wallet, now), provider=wallet, issued_at=now
    )
    with pytest.raises(CallWouldRevert) as refused:
        _accept(engine, w3, deployment, withdrawal)
    assert refused.value.details["revert"] == "withdrawal_signature_invalid"
    assert _items(engine) == []

    # One accepted before intake simulated with fees: the relayer's own simulation fails it.
    with Session(engine) as session:
        outbox.insert_once(
            session,
            outbox.signed_call_item(
                chain_id=deployment.chain_id,
                to=deployment.addresses.training_policy,
                data="0x" + withdrawal_calldata(withdrawal, WALLET_SIGNATURE).hex(),
                signer=wallet,
                label="withdraw",
                key=withdrawal_key(withdrawal),
            ),
        )
    before = _sent_by_relayer(w3)
    relayer_for(engine, w3, deployment).run_until_idle()
    (item,) = _items(engine)
    assert (item.status, item.error_code, item.tx_hash) == (
        RelayStatus.FAILED,
        "withdrawal_signature_invalid",
        None,
    )
    assert _sent_by_relayer(w3) == before


def test_a_contract_wallet_whose_relayed_call_reverted_on_chain_must_send_its_own(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    w3 = isolated_chain
    wallet = place_wallet(w3, ANY_SIGNATURE)
    now = issue_time(w3)
    # Two offers, so the second withdrawal voids one the first does not (else it would be
    # withdrawal_already_held while the first is queued).
    dataset_id = _offered_by(engine, wallet, now, now + 1)
    first, second = (
        DatasetWithdrawal(dataset_id=dataset_id, provider=wallet, issued_at=now + i) for i in (0, 1)
    )
    _accept(engine, w3, deployment, first)
    _accept(engine, w3, deployment, second)
    # From now on the wallet refuses in any block after this one: every simulation (on the
    # latest block) passes, and the mined transaction reverts.
    place_wallet(w3, up_to_block(w3.eth.block_number), wallet)
    before = _sent_by_relayer(w3)
    relayer_for(engine, w3, deployment).run_until_idle()

    reverted, barred = _items(engine)
    assert reverted.status == RelayStatus.FAILED
    assert reverted.block_number is not None  # mined, and reverted
    assert (barred.status, barred.error_code, barred.tx_hash) == (
        RelayStatus.FAILED,
        "contract_wallet_must_send",
        None,
    )
    assert _sent_by_relayer(w3) == before + 1  # the second was never sent
    place_wallet(w3, ANY_SIGNATURE, wallet)  # every simulation passes again
    with pytest.raises(ContractWalletMustSend) as refused:
        _accept(engine, w3, deployment, first)  # the same message again
    assert refused.value.details == {"signer": wallet, "tx_hash": reverted.tx_hash}
    assert [i.status for i in _items(engine)] == [RelayStatus.FAILED, RelayStatus.FAILED]


def test_a_key_whose_relayed_call_reverted_on_chain_is_not_barred(
    engine: Engine, isolated_chain: Web3
):
    key_holder = Account.create().address  # no code: its signature verifies or not
    with Session(engine) as session:
        item = outbox.signed_call_item(
            chain_id=1, to=key_holder, data="0x", signer=key_holder, label="claim", key="k"
        )
        item.status, item.block_number, item.kind = RelayStatus.FAILED, 7, RelayKind.SIGNED_CALL
        outbox.insert_once(session, item)
        rpc = RpcBatch(isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
        assert barred_wallets(session, rpc, [key_holder]) == {}
