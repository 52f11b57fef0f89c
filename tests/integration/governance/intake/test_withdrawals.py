"""A withdrawal that would change nothing is refused before any gas, unless an open proposal
offers the dataset (withdrawing then voids that offer); the relayer pays only for a
withdrawal that voids an open offer of its own signer."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import queue
import threading

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from governance.actions import DatasetWithdrawal
from governance.chain import deploy
from governance.chain.rpc import RpcBatch
from governance.consent import sign_withdrawal, withdraw_directly
from governance.errors import (
    WithdrawalAlreadyHeld,
    WithdrawalChangesNothing,
    WithdrawalNotProvider,
)
from governance.index.models import Proposal
from governance.intake.withdrawals import (
    accept_withdrawal,
    check_gasless_withdrawal_target,
    check_withdrawal_target,
)
from governance.relay.outbox import RelayItem
from tests.helpers import PROVIDER_KEY, address_of, issue_time
from tests.integration.governance.intake.withdrawal_worker import send

pytestmark = pytest.mark.chain

DATASET = "0x" + "5d" * 32
PROVIDER = address_of(PROVIDER_KEY)


def _indexed_offer(
    engine: Engine, state: str, *, provider: str = PROVIDER, issued_at: int = 1
) -> None:
    offer = {
        "dataset_id": DATASET,
        "content_hash": "0x" + "12" * 32,
        "provider": provider,
        "issued_at": issued_at,
    }
    proposal = Proposal(
        proposal_id="7",
        proposer="0x" + "11" * 20,
        description="allow it",
        description_hash="0x" + "22" * 32,
        calls=json.dumps({"targets": [], "values": [], "calldatas": []}),
        actions=json.dumps([{"kind": "allow_dataset", "offer": offer}]),
        snapshot=1,
        vote_end=2,
        deadline=2,
        state=state,
        created_block=1,
        created_log_index=0,
        tx_hash="0x" + "33" * 32,
    )
    with Session(engine) as session:
        session.merge(proposal)
        session.commit()


@pytest.mark.parametrize("state", ["Pending", "Active", "Succeeded", "Queued"])
def test_a_dataset_an_open_proposal_offers_may_be_withdrawn(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, state: str
):
    with Session(engine) as session, pytest.raises(WithdrawalChangesNothing):
        check_withdrawal_target(session, isolated_chain, deployment, DATASET)
    _indexed_offer(engine, state)
    with Session(engine) as session:
        check_withdrawal_target(session, isolated_chain, deployment, DATASET)


@pytest.mark.parametrize("state", ["Executed", "Defeated", "Canceled", "Expired"])
def test_a_closed_proposal_does_not_make_a_withdrawal_useful(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, state: str
):
    _indexed_offer(engine, state)
    with Session(engine) as session, pytest.raises(WithdrawalChangesNothing) as refused:
        check_withdrawal_target(session, isolated_chain, deployment, DATASET.upper())
    assert refused.value.code == "withdrawal_target_unknown"


def _withdrawal(provider: str, issued_at: int) -> DatasetWithdrawal:
    return DatasetWithdrawal(dataset_id=DATASET, provider=provider, issued_at=issued_at)


def test_the_relayer_pays_only_for_the_provider_of_an_open_offer_of_an_unregistered_id(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    now = issue_time(isolated_chain)
    _indexed_offer(engine, "Active", issued_at=now)
    stranger = Account.create().address  # review: a fresh key per withdrawal, no limit
    with Session(engine) as session:
        check_gasless_withdrawal_target(
            session, isolated_chain, deployment, _withdrawal(PROVIDER, now)
        )
        with pytest.raises(WithdrawalNotProvider) as refused:
            check_gasless_withdrawal_target(
                session, isolated_chain, deployment, _withdrawal(stranger, now)
            )
        # Sent and paid by the sender (the CLI), any open offer still makes it worth sending.
        check_withdrawal_target(session, isolated_chain, deployment, DATASET)
    assert refused.value.code == "withdrawal_not_provider"
    assert refused.value.details == {"dataset_id": DATASET, "provider": stranger}


def test_a_signed_withdrawal_by_a_fresh_key_is_refused_before_anything_is_queued(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    now = issue_time(isolated_chain)
    _indexed_offer(engine, "Pending", issued_at=now)
    key = Account.create().key
    withdrawal = _withdrawal(Account.from_key(key).address, now)
    rpc = RpcBatch(isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
    with Session(engine) as session, pytest.raises(WithdrawalNotProvider):
        accept_withdrawal(
            session,
            isolated_chain,
            rpc,
            deployment,
            withdrawal=withdrawal,
            signature=sign_withdrawal(withdrawal, key, deployment),
        )
    with Session(engine) as session:
        assert session.exec(select(RelayItem)).all() == []


def test_a_gasless_withdrawal_that_would_void_no_offer_any_more_is_refused(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    offered = issue_time(isolated_chain)
    _indexed_offer(engine, "Active", issued_at=offered)
    with Session(engine) as session, pytest.raises(WithdrawalNotProvider):
        # dated before the offer: it would not void it
        check_gasless_withdrawal_target(
            session, isolated_chain, deployment, _withdrawal(PROVIDER, offered - 1)
        )
    withdraw_directly(isolated_chain, deployment, PROVIDER_KEY, DATASET)  # voids the offer
    later = issue_time(isolated_chain) + 10
    with Session(engine) as session, pytest.raises(WithdrawalNotProvider):
        check_gasless_withdrawal_target(
            session, isolated_chain, deployment, _withdrawal(PROVIDER, later)
        )


def _accept(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, withdrawal: DatasetWithdrawal
) -> RelayItem:
    rpc = RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with Session(engine) as session:
        return accept_withdrawal(
            session,
            w3,
            rpc,
            deployment,
            withdrawal=withdrawal,
            signature=sign_withdrawal(withdrawal, PROVIDER_KEY, deployment),
        )


def test_a_second_withdrawal_while_the_first_is_on_its_way_is_refused_unless_it_voids_more(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    """Review (session 25): four signed withdrawals 1.2 s apart were all relayed and mined,
    three of them voiding nothing, because the checks read the chain, where the first was not
    mined yet."""
    offered = issue_time(isolated_chain)
    _indexed_offer(engine, "Active", issued_at=offered)
    first = _accept(engine, isolated_chain, deployment, _withdrawal(PROVIDER, offered + 1))
    assert _accept(engine, isolated_chain, deployment, _withdrawal(PROVIDER, offered + 1)) == first
    with pytest.raises(WithdrawalAlreadyHeld) as refused:
        _accept(engine, isolated_chain, deployment, _withdrawal(PROVIDER, offered + 2))
    assert refused.value.code == "withdrawal_already_held"
    assert refused.value.details["relay_id"] == first.id
    # An offer of the provider's dated after the queued withdrawal is worth a second one.
    _indexed_offer(engine, "Active", issued_at=offered + 3)
    second = _accept(engine, isolated_chain, deployment, _withdrawal(PROVIDER, offered + 4))
    assert second.id != first.id
    with Session(engine) as session:
        assert len(session.exec(select(RelayItem)).all()) == 2


def test_withdrawals_sent_in_parallel_are_relayed_once(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    """Review (session 25): the check read the outbox, then the insert came after, so
    withdrawals sent at the same moment each passed it."""
    offered = issue_time(isolated_chain)
    _indexed_offer(engine, "Active", issued_at=offered)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def send(issued_at: int) -> None:
        barrier.wait()
        try:
            _accept(engine, isolated_chain, deployment, _withdrawal(PROVIDER, issued_at))
            outcomes.append("queued")
        except WithdrawalAlreadyHeld:
            outcomes.append("held")

    threads = [threading.Thread(target=send, args=(offered + i,)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["held", "held", "held", "queued"]


@pytest.mark.slow
def test_withdrawals_sent_from_several_processes_are_relayed_once(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment
):
    """Review: the check and the insert ran under a lock of one process, so API processes
    sharing one database each passed the check and each relayed a withdrawal. The node
    answers the relay's simulation slowly (``withdrawal_worker.SlowNode``), as a busy node
    does, so that without a lock in the database every process passes the check."""
    offered = issue_time(isolated_chain)
    _indexed_offer(engine, "Active", issued_at=offered)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    outcomes = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    rpc_url = isolated_chain.provider.endpoint_uri  # type: ignore[attr-defined]
    processes = []
    for issued_at in range(offered + 1, offered + 5):
        withdrawal = _withdrawal(PROVIDER, issued_at)
        job = {
            "deployment_json": deployment.model_dump_json(),
            "withdrawal_json": withdrawal.model_dump_json(),
            "signature": sign_withdrawal(withdrawal, PROVIDER_KEY, deployment),
            "barrier": barrier,
            "outcomes": outcomes,
        }
        processes.append(context.Process(target=send, args=(url, rpc_url), kwargs=job))
    for process in processes:
        process.start()
    answers = []
    with contextlib.suppress(queue.Empty):
        for _ in processes:
            answers.append(outcomes.get(timeout=180))
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
            process.join()
    outcomes.close()
    outcomes.join_thread()
    assert sorted(answers) == ["held", "held", "held", "queued"]
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    with Session(engine) as session:
        assert len(session.exec(select(RelayItem)).all()) == 1
