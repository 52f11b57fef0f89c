"""The chain indexer against a real anvil: lifecycle, chunking, reorgs, resync, confirmations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, SQLModel
from web3 import Web3
from web3.logs import DISCARD

from governance.actions import ClearEvidenceRule, SetEvidenceRule, encode
from governance.chain import deploy
from governance.chain.view import RpcChainView
from governance.index.indexer import (
    IndexedChainView,
    Indexer,
    get_proposal,
    has_voted,
    index_cursor,
    latest_policy_version,
    list_proposals,
    votes_at,
)
from governance.index.models import INDEX_TABLES, IndexBlock, PolicyEvent
from tests.helpers import (
    HOLDER_KEYS,
    TEST_CONFIG,
    Governance,
    address_of,
    advance_time,
    allow_raw,
    mine,
    pass_and_execute_encoded,
)

pytestmark = pytest.mark.chain

STATES = ("Pending", "Active", "Canceled", "Defeated", "Succeeded", "Queued", "Expired", "Executed")
HOLDERS = [address_of(k) for k in HOLDER_KEYS]
UPPER = 0
TABLES = SQLModel.metadata.tables


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every index table's rows, sorted (``index_block`` is bookkeeping and left out)."""
    names = [str(model.__tablename__) for model in INDEX_TABLES if model is not IndexBlock]
    with engine.connect() as connection:
        return {
            name: sorted(tuple(row) for row in connection.execute(select(TABLES[name])))
            for name in names
        }


def assert_matches_chain(engine: Engine, gov: Governance) -> None:
    """Proposals, tallies and voting power in the index equal what the contracts say."""
    head = gov.w3.eth.block_number
    with Session(engine) as session:
        assert index_cursor(session).block_number == head  # type: ignore[union-attr]
        for p in list_proposals(session, limit=100):
            pid = int(p.proposal_id)
            assert p.state == STATES[gov.governor.functions.state(pid).call()]
            against, for_, abstain = gov.governor.functions.proposalVotes(pid).call()
            assert (p.against_votes, p.for_votes, p.abstain_votes) == tuple(
                str(v) for v in (against, for_, abstain)
            )
            assert p.deadline == gov.governor.functions.proposalDeadline(pid).call()
            if p.snapshot < head:
                assert p.quorum == str(gov.governor.functions.quorum(p.snapshot).call())
        for holder in HOLDERS:
            for block in range(head - 12, head):
                expected = gov.token.functions.getPastVotes(holder, block).call()
                assert votes_at(session, holder, block) == expected


H_AA, H_BB = "0x" + "aa" * 32, "0x" + "bb" * 32


def propose(gov: Governance, description: str, key: str = HOLDER_KEYS[0]) -> tuple[int, Any]:
    metric = b"demographic_parity_difference".ljust(32, b"\0")
    allow = allow_raw(gov.w3, gov.deployment, description, H_AA, H_BB, "file://d.csv")
    targets = [gov.policy.address, gov.policy.address]
    datas = [
        "0x" + allow.calldata().hex(),
        gov.policy.encode_abi("setThreshold", args=[metric, 100_000, UPPER]),
    ]
    receipt = gov.send(key, gov.governor, "propose", targets, [0, 0], datas, description)
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    return created["args"]["proposalId"], (targets, [0, 0], datas)


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def test_the_index_follows_a_proposal_through_its_whole_life(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    indexer = Indexer(engine, gov.w3, deployment)
    gov.delegate_all_to_self()
    indexer.sync()
    assert_matches_chain(engine, gov)

    proposal_id, calls = propose(gov, "Allow d and bound demographic parity")
    report = indexer.sync()
    assert report.events_by_name == {"ProposalCreated": 1, "ProposalClassified": 1}
    with Session(engine) as session:
        p = get_proposal(session, proposal_id)
        assert p is not None
        assert p.proposer == HOLDERS[0]
        assert [a["kind"] for a in p.actions_list()] == ["allow_dataset", "set_threshold"]
        assert p.calls_dict()["calldatas"] == [d for d in calls[2]]
    assert_matches_chain(engine, gov)

    mine(gov.w3, TEST_CONFIG.voting_delay + 1)
    indexer.sync()
    assert_matches_chain(engine, gov)
    for key in HOLDER_KEYS[:3]:
        gov.send(key, gov.governor, "castVote", proposal_id, 1)
    gov.send(HOLDER_KEYS[3], gov.governor, "castVoteWithReason", proposal_id, 0, "too strict")
    indexer.sync()
    assert_matches_chain(engine, gov)
    with Session(engine) as session:
        assert has_voted(session, proposal_id, HOLDERS[3])
        assert not has_voted(session, proposal_id, address_of(deploy.DEV_PRIVATE_KEYS[0]))

    deadline = gov.governor.functions.proposalDeadline(proposal_id).call()
    mine(gov.w3, deadline - gov.w3.eth.block_number + 1)
    indexer.sync()
    assert_matches_chain(engine, gov)
    description_hash = Web3.keccak(text="Allow d and bound demographic parity")
    gov.send(HOLDER_KEYS[0], gov.governor, "queue", *calls, description_hash)
    indexer.sync()
    assert_matches_chain(engine, gov)
    with Session(engine) as session:
        p = get_proposal(session, proposal_id)
        assert p is not None
        assert p.eta == gov.governor.functions.proposalEta(proposal_id).call()

    advance_time(gov.w3, TEST_CONFIG.timelock_delay + 1)
    gov.send(HOLDER_KEYS[0], gov.governor, "execute", *calls, description_hash)
    indexer.sync()
    assert_matches_chain(engine, gov)
    with Session(engine) as session:
        assert [p.state for p in list_proposals(session, state="Executed")] == ["Executed"]
        assert latest_policy_version(session) == gov.policy.functions.policyVersion().call() == 2

    incremental = dump(engine)
    assert incremental["policy_event"]
    assert incremental["role_change"]
    indexer.resync()
    assert dump(engine) == incremental


def test_evidence_rule_changes_are_indexed_from_the_deployment_on(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    gov.delegate_all_to_self()
    dp = "demographic_parity_difference"
    rules = [
        SetEvidenceRule(metric=dp, on_inconclusive="approve_with_warning"),
        ClearEvidenceRule(metric=dp),
    ]
    pass_and_execute_encoded(gov, *encode(rules, deployment.addresses), "evidence rules")
    Indexer(engine, gov.w3, deployment).sync()

    with Session(engine) as session:
        events = session.exec(
            select(PolicyEvent)
            .where(PolicyEvent.name.in_(["EvidenceRuleSet", "EvidenceRuleCleared"]))  # type: ignore[attr-defined]
            .order_by(PolicyEvent.block_number, PolicyEvent.log_index)  # type: ignore[arg-type]
        ).all()
        version = latest_policy_version(session)
    default, override, cleared = (row[0] for row in events)
    metric = "0x" + dp.encode().ljust(32, b"\0").hex()
    assert default.block_number >= deployment.deploy_block  # the constructor's default rule
    assert (default.subject, default.policy_version) == ("0x" + "00" * 32, 0)
    assert json.loads(default.args)["confidence"] == 950_000
    assert (override.subject, json.loads(override.args)["onInconclusive"]) == (metric, 1)
    assert (cleared.name, cleared.subject, cleared.policy_version) == (
        "EvidenceRuleCleared",
        metric,
        2,
    )
    assert version == gov.policy.functions.policyVersion().call() == 2


def test_audit_publications_and_delegations_land(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    auditor_key = deploy.DEV_PRIVATE_KEYS[9]
    run_id, model, dataset, report = (bytes([i]) * 32 for i in (1, 2, 3, 4))
    gov.send(auditor_key, gov.registry, "publish", run_id, model, dataset, report, 0, True)
    gov.send(HOLDER_KEYS[0], gov.token, "delegate", HOLDERS[1])
    Indexer(engine, gov.w3, deployment).sync()
    with engine.connect() as connection:
        (audit,) = connection.execute(select(TABLES["audit_publication"]))
        delegates = dict(
            connection.execute(select(TABLES["delegate"].c["delegator", "delegate"])).all()
        )
        roles = connection.execute(select(TABLES["role_change"])).all()
    assert audit.run_id == "0x" + run_id.hex()
    assert audit.passed is True
    assert audit.auditor == address_of(auditor_key)
    assert delegates == {HOLDERS[0]: HOLDERS[1]}
    assert {r.account for r in roles} >= {address_of(auditor_key), deployment.addresses.timelock}


def test_the_cursor_stores_the_hash_and_confirmations_hold_blocks_back(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    gov.delegate_all_to_self()
    head = gov.w3.eth.block_number
    report = Indexer(engine, gov.w3, deployment, confirmations=3).sync()
    with Session(engine) as session:
        cursor = index_cursor(session)
        assert cursor is not None
        assert cursor.block_number == head - 3
        assert cursor.block_hash == gov.w3.eth.get_block(head - 3)["hash"].to_0x_hex()
        assert votes_at(session, HOLDERS[3], head) == 0  # delegated in one of the last 3 blocks
    assert report.to_block == head - 3
    Indexer(engine, gov.w3, deployment).sync()
    with Session(engine) as session:
        assert votes_at(session, HOLDERS[3], head) > 0


def test_chunk_sizes_give_the_same_tables(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    gov.delegate_all_to_self()
    proposal_id, _ = propose(gov, "Chunked")
    mine(gov.w3, 2)
    gov.send(HOLDER_KEYS[1], gov.governor, "castVote", proposal_id, 1)
    whole = Indexer(engine, gov.w3, deployment).sync()
    tables = dump(engine)
    for size in (1, 3):
        report = Indexer(engine, gov.w3, deployment, chunk_size=size).resync()
        assert report.events == whole.events
        assert report.chunks > whole.chunks
        assert dump(engine) == tables


def test_a_reorg_leaves_the_index_equal_to_a_fresh_resync(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    w3 = gov.w3
    gov.delegate_all_to_self()
    kept, _ = propose(gov, "Made before the fork")
    mine(w3, 2)
    indexer = Indexer(engine, w3, deployment)
    indexer.sync()
    fork = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    first, _ = propose(gov, "Doomed by a reorg")
    mine(w3, 2)
    gov.send(HOLDER_KEYS[0], gov.governor, "castVote", first, 1)
    gov.send(HOLDER_KEYS[0], gov.governor, "castVote", kept, 1)
    gov.send(HOLDER_KEYS[2], gov.token, "delegate", HOLDERS[0])
    indexer.sync()
    w3.provider.make_request("evm_revert", [fork])  # type: ignore[arg-type]
    second, _ = propose(gov, "The surviving fork", key=HOLDER_KEYS[1])
    mine(w3, 2)
    gov.send(HOLDER_KEYS[3], gov.governor, "castVote", second, 0)
    gov.send(HOLDER_KEYS[0], gov.governor, "castVote", kept, 0)
    gov.send(HOLDER_KEYS[1], gov.token, "delegate", HOLDERS[3])
    report = indexer.sync()
    assert report.reorgs == 1
    after_reorg = dump(engine)
    with Session(engine) as session:
        assert get_proposal(session, first) is None
        assert get_proposal(session, second) is not None
    assert_matches_chain(engine, gov)
    indexer.resync()
    assert dump(engine) == after_reorg


def test_a_reorg_deeper_than_the_kept_hashes_reindexes_everything(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    w3 = gov.w3
    indexer = Indexer(engine, w3, deployment, keep_blocks=1)
    fork = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    gov.delegate_all_to_self()
    indexer.sync()
    w3.provider.make_request("evm_revert", [fork])  # type: ignore[arg-type]
    gov.send(HOLDER_KEYS[0], gov.token, "delegate", HOLDERS[1])
    mine(w3, 3)
    report = indexer.sync()
    assert report.reorgs == 1
    assert report.rolled_back_to == deployment.deploy_block - 1
    assert_matches_chain(engine, gov)


def test_the_indexed_chain_view_answers_like_the_node(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    gov.delegate_all_to_self()
    proposal_id, _ = propose(gov, "Viewed")
    mine(gov.w3, 2)
    gov.send(HOLDER_KEYS[0], gov.governor, "castVote", proposal_id, 1)
    Indexer(engine, gov.w3, deployment).sync()
    indexed = IndexedChainView(engine, deployment)
    node = RpcChainView.for_deployment(gov.w3, deployment)
    assert indexed.chain_id == node.chain_id
    assert indexed.proposal(proposal_id) == node.proposal(proposal_id)
    assert indexed.proposal(12345) is None
    snapshot = gov.governor.functions.proposalSnapshot(proposal_id).call()
    for holder in HOLDERS:
        assert indexed.has_voted(proposal_id, holder) == node.has_voted(proposal_id, holder)
        assert indexed.votes_at(holder, snapshot) == node.votes_at(holder, snapshot)
    assert indexed.timestamp() == node.timestamp()
    assert indexed.governor_nonce(HOLDERS[0]) == 0  # nothing relayed through the outbox
    with_nonces = IndexedChainView(engine, deployment, token_nonce_source=lambda _: 7)
    assert with_nonces.token_nonce(HOLDERS[0]) == 7
