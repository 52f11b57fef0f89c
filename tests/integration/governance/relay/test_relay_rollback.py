"""The relayer and the index converge with a chain that rolled back under them.

The chain is a persisted anvil that crashes (SIGKILL) and comes back from an older state
file: what a crash between two state saves does, and what a reorg does on a real network.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import Engine
from sqlmodel import Session, select
from tests.integration.governance.index.test_indexer import dump
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance.actions import SetMitigation
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.chain.rpc import RpcBatch
from governance.chain.view import RpcChainView
from governance.index.indexer import Indexer
from governance.intake.service import governor_domain, submit_ballot, submit_raw_proposal
from governance.messages.proposals import prepare_proposal
from governance.relay.outbox import RelayerAccount, RelayItem, RelayStatus
from governance.relay.relayer import Relayer
from tests.helpers import HOLDER_KEYS, TEST_CONFIG, Governance, address_of
from tests.integration.governance.relay_support import RELAYER_KEY, open_proposal, relayer_for
from tests.voters import make_voters, signed_ballot

pytestmark = [pytest.mark.chain, pytest.mark.slow]

VOTERS = 40
#: Every ballot is its own block on an automining chain: room for all of them, twice.
CONFIG = TEST_CONFIG.model_copy(update={"voting_period": 1_000})


@dataclass
class Node:
    """A persisted anvil that can crash and come back from any saved state, on one port."""

    anvil: Path
    chain_dir: Path
    chain: localchain.LocalChain

    @property
    def w3(self) -> Web3:
        return chain_client.connect(self.chain.rpc_url)

    def save(self, name: str) -> Path:
        """Stop cleanly (anvil writes its state), keep a copy, start again."""
        localchain.stop(self.chain)
        copy = self.chain_dir.parent / name
        shutil.copy(self.chain.state_file, copy)
        self.chain = self._start()
        return copy

    def crash_and_restore(self, saved: Path) -> None:
        self.chain.process.kill()
        self.chain.process.wait()
        shutil.copy(saved, self.chain.state_file)
        self.chain = self._start()

    def _start(self) -> localchain.LocalChain:
        port = self.chain.port if hasattr(self, "chain") else 0
        return localchain.start(anvil=self.anvil, chain_dir=self.chain_dir, port=port)


@pytest.fixture
def node(anvil_path: Path, tmp_path: Path) -> Iterator[Node]:
    chain_dir = tmp_path / "chain"
    started = localchain.start(anvil=anvil_path, chain_dir=chain_dir)
    running = Node(anvil_path, chain_dir, started)
    try:
        yield running
    finally:
        localchain.stop(running.chain)


@dataclass
class Election:
    deployment: deploy.Deployment
    proposal_id: int
    voter_keys: list[str]


def _election(node: Node) -> Election:
    w3 = node.w3
    deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], CONFIG)
    voters = make_voters(w3, deployment, VOTERS)
    proposal_id = open_proposal(Governance(w3, deployment))
    return Election(deployment, proposal_id, voters)


def _accept_all(engine: Engine, w3: Web3, election: Election) -> None:
    view = RpcChainView.for_deployment(w3, election.deployment)
    domain = governor_domain(election.deployment)
    with Session(engine) as session:
        for key in election.voter_keys:
            ballot = signed_ballot(domain, key, election.proposal_id)
            submit_ballot(session, ballot, deployment=election.deployment, chain=view)


def _vote_casts(w3: Web3, election: Election) -> Counter[str]:
    governor = Governance(w3, election.deployment).governor
    events = governor.events.VoteCast().get_logs(from_block=election.deployment.deploy_block)
    return Counter(e["args"]["voter"] for e in events)


def _assert_converged(engine: Engine, w3: Web3, election: Election, relayer: Relayer) -> None:
    """Every accepted ballot is on chain exactly once, and the outbox says where."""
    voters = [address_of(k) for k in election.voter_keys]
    casts = _vote_casts(w3, election)
    assert {v: casts[v] for v in voters} == dict.fromkeys(voters, 1)
    rpc = RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    with Session(engine) as session:
        items = session.exec(select(RelayItem)).all()
        account = session.exec(select(RelayerAccount)).one()
    assert len(items) == VOTERS
    assert {i.status for i in items} == {RelayStatus.CONFIRMED}
    receipts = rpc.call([("eth_getTransactionReceipt", [i.tx_hash]) for i in items])
    for item, receipt in zip(items, receipts, strict=True):
        assert receipt.result is not None, item.tx_hash
        assert int(receipt.result["blockNumber"], 16) == item.block_number
        assert receipt.result["blockHash"] == item.block_hash
    relayer_address = address_of(RELAYER_KEY)
    assert account.next_nonce == w3.eth.get_transaction_count(relayer_address, "pending")
    assert relayer.tick().confirmed == 0  # nothing left to find


def _assert_index_matches_a_fresh_one(engine: Engine, w3: Web3, election: Election) -> None:
    indexer = Indexer(engine, w3, election.deployment)
    indexer.sync()
    followed = dump(engine)
    indexer.resync()
    assert dump(engine) == followed


def test_ballots_confirmed_then_rolled_back_end_on_chain_exactly_once(
    node: Node, engine: Engine
) -> None:
    election = _election(node)
    saved = node.save("before-votes.json")
    w3 = node.w3
    _accept_all(engine, w3, election)
    # As on the embedded chain: nothing is final before a save has surely covered it (the
    # crash below comes well within that time).
    relayer = relayer_for(engine, w3, election.deployment, final_after=timedelta(minutes=5))
    relayer.start()
    assert relayer.run_until_idle().confirmed == VOTERS
    Indexer(engine, w3, election.deployment).sync()
    assert sum(_vote_casts(w3, election).values()) == VOTERS

    node.crash_and_restore(saved)  # the chain forgets every ballot; the DB does not
    w3 = node.w3
    assert sum(_vote_casts(w3, election).values()) == 0

    report = relayer.tick()
    assert report.vanished == VOTERS
    relayer.run_until_idle()
    _assert_converged(engine, w3, election, relayer)
    _assert_index_matches_a_fresh_one(engine, w3, election)


def test_a_vanished_ballot_whose_nonce_was_taken_is_signed_again(
    node: Node, engine: Engine
) -> None:
    election = _election(node)
    saved = node.save("before-votes.json")
    w3 = node.w3
    _accept_all(engine, w3, election)
    relayer = relayer_for(engine, w3, election.deployment, final_after=timedelta(minutes=5))
    relayer.run_until_idle()

    node.crash_and_restore(saved)
    w3 = node.w3
    # Before the relayer looks, another transaction from its key takes its first nonces.
    gov = Governance(w3, election.deployment)
    for _ in range(3):
        gov.send(RELAYER_KEY, gov.token, "delegate", address_of(RELAYER_KEY))

    report = relayer.tick()
    assert report.vanished == VOTERS
    assert report.requeued == 3  # their nonces were taken: signed again with fresh ones
    relayer.run_until_idle()
    _assert_converged(engine, w3, election, relayer)


def test_a_nonce_gap_is_filled_not_skipped(node: Node, engine: Engine) -> None:
    """Signed items whose first nonce no item holds any more: the gap is filled, and every
    later transaction is mined."""
    election = _election(node)
    w3 = node.w3
    _accept_all(engine, w3, election)
    relayer = relayer_for(engine, w3, election.deployment)
    relayer_address = Account.from_key(RELAYER_KEY).address
    first_nonce = w3.eth.get_transaction_count(relayer_address)
    w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
    try:
        relayer.submit_queued(report := relayer.tick())
        assert report.submitted == VOTERS
        # The node loses its pool (a restart), and the item with the first nonce is given
        # up on (as after max_send_errors): nobody holds that nonce now.
        w3.provider.make_request("anvil_dropAllTransactions", [])  # type: ignore[arg-type]
        with Session(engine) as session:
            first = session.exec(
                select(RelayItem).where(RelayItem.relayer_nonce == first_nonce)
            ).one()
            first.status = RelayStatus.FAILED
            first.error_code = "relay_rejected"
            session.add(first)
            session.commit()
    finally:
        w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
    report = relayer.tick()
    assert report.gaps_filled == 1
    assert report.rebroadcast == VOTERS - 1
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    relayer.run_until_idle()
    assert w3.eth.get_transaction_count(relayer_address) == first_nonce + VOTERS
    with Session(engine) as session:
        statuses = Counter(i.status for i in session.exec(select(RelayItem)).all())
    assert statuses == {RelayStatus.CONFIRMED: VOTERS - 1, RelayStatus.FAILED: 1}


def test_a_vanished_proposal_is_sent_again_from_its_own_bytes(node: Node, engine: Engine) -> None:
    """The proposer signed it: the relayer can only resend those bytes, and does."""
    w3 = node.w3
    deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], CONFIG)
    Governance(w3, deployment).delegate_all_to_self()
    saved = node.save("before-proposal.json")
    w3 = node.w3
    prepared = prepare_proposal(
        w3,
        deployment,
        proposer=address_of(HOLDER_KEYS[0]),
        actions=[SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity")],
        description="Mitigate",
    )
    raw = bytes(Account.sign_transaction(prepared.transaction, HOLDER_KEYS[0]).raw_transaction)
    with Session(engine) as session:
        item, _ = submit_raw_proposal(session, raw, w3=w3, deployment=deployment)
    relayer = relayer_for(engine, w3, deployment, final_after=timedelta(minutes=5))
    relayer.run_until_idle()
    governor = Governance(w3, deployment).governor
    assert governor.functions.proposalSnapshot(prepared.proposal_id).call() > 0

    node.crash_and_restore(saved)
    w3 = node.w3
    governor = Governance(w3, deployment).governor
    assert governor.functions.proposalSnapshot(prepared.proposal_id).call() == 0  # gone

    report = relayer.tick()
    assert (report.vanished, report.rebroadcast) == (1, 1)
    relayer.run_until_idle()
    assert governor.functions.proposalSnapshot(prepared.proposal_id).call() > 0
    created = governor.events.ProposalCreated().get_logs(from_block=deployment.deploy_block)
    assert [e["args"]["proposalId"] for e in created] == [prepared.proposal_id]
    with Session(engine) as session:
        stored = session.get(RelayItem, item.id)
        assert stored is not None
        assert stored.status == RelayStatus.CONFIRMED
        assert stored.tx_hash == w3.keccak(raw).to_0x_hex()
