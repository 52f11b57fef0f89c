"""The policy at a past block, rebuilt from events, on chains that keep no old state."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.verify import frozen_snapshot
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import (
    Action,
    ClearEvidenceRule,
    ClearThreshold,
    RevokeDataset,
    SetEvidenceRule,
    SetMitigation,
    SetThreshold,
)
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.consent import withdraw_directly
from governance.index.indexer import Indexer
from governance.policy import history as policy_history
from governance.policy.snapshot import PolicySnapshot, read_snapshot
from tests.helpers import PROVIDER_KEY, TEST_CONFIG, Governance
from tests.integration.governance.policy.test_snapshot import DP, execute, loans, old

pytestmark = pytest.mark.chain

EO = "equalized_odds_difference"


def _change_everything(gov: Governance, deployment: deploy.Deployment) -> list[PolicySnapshot]:
    """Seven proposals and a provider's withdrawal that use every policy event; the state
    read right after each."""
    w3, policy = gov.w3, deployment.addresses.training_policy
    allow_loans, allow_old = loans(w3, deployment), old(w3, deployment)
    steps: list[list[Action] | str] = [
        [allow_loans, SetThreshold(metric=DP, value=Decimal("0.2"), direction="upper")],
        [allow_old, SetThreshold(metric=EO, value=Decimal("0.9"), direction="lower")],
        allow_old.dataset_id,  # its provider withdraws it, no vote
        [RevokeDataset(dataset_id=allow_loans.dataset_id), ClearThreshold(metric=DP)],
        [SetMitigation(strategy="threshold_optimizer", constraint="demographic_parity")],
        [SetThreshold(metric=EO, value=Decimal("0.85"), direction="upper")],
        [
            SetEvidenceRule(confidence_level=Decimal("0.99"), min_group_size=50),
            SetEvidenceRule(metric=EO, on_inconclusive="approve_with_warning"),
            SetEvidenceRule(metric=DP, min_denominator=20),
        ],
        [ClearEvidenceRule(metric=DP)],
    ]
    seen = [read_snapshot(w3, policy)]
    for step in steps:
        if isinstance(step, str):
            withdraw_directly(w3, deployment, PROVIDER_KEY, step)
        else:
            execute(gov, deployment, *step)
        seen.append(read_snapshot(w3, policy))
    return seen


def test_events_rebuild_the_state_read_at_every_past_block(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    seen = _change_everything(gov, deployment)
    policy = deployment.addresses.training_policy
    assert [s.policy_version for s in seen] == [0, 2, 4, 5, 7, 8, 9, 12, 13]
    assert [d.dataset_id for d in seen[3].datasets if d.withdrawn] == [
        old(isolated_chain, deployment).dataset_id
    ]
    assert [len(s.evidence_overrides) for s in seen[-3:]] == [0, 2, 1]
    for state in seen:
        rebuilt = policy_history.policy_at(isolated_chain, policy, block=state.block_number)
        assert rebuilt.canonical_json() == state.canonical_json()


def test_the_index_rebuilds_the_same_policy_as_the_logs(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine
) -> None:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    seen = _change_everything(gov, deployment)
    Indexer(engine, isolated_chain, deployment).sync()
    with Session(engine) as session:
        for state in seen:
            from_index = policy_history.replay(
                policy_history.changes_from_index(session, up_to_block=state.block_number)
            )
            rebuilt = from_index.snapshot(
                chain_id=state.chain_id,
                policy=state.policy,
                block_number=state.block_number,
                block_hash=state.block_hash,
            )
            assert rebuilt.canonical_json() == state.canonical_json()


def test_the_frozen_snapshot_names_the_block_of_its_version(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    policy = deployment.addresses.training_policy
    execute(gov, deployment, loans(isolated_chain, deployment))
    changed_at = isolated_chain.eth.block_number  # the execute transaction's block
    gov.delegate_all_to_self()  # more blocks, no policy change
    frozen = frozen_snapshot(isolated_chain, policy)
    assert frozen.block_number == changed_at
    assert frozen.block_hash == isolated_chain.eth.get_block(changed_at)["hash"].to_0x_hex()
    assert frozen.policy_version == 1
    assert frozen == frozen_snapshot(isolated_chain, policy)


@pytest.mark.slow
def test_old_policy_is_read_after_a_restart_that_kept_no_old_state(
    anvil_path: Path, tmp_path: Path
) -> None:
    """A persisted anvil loads only its latest state: calls at old blocks fail, events work."""
    chain_dir = tmp_path / "chain"
    with localchain.running(anvil=anvil_path, chain_dir=chain_dir) as node:
        w3 = chain_client.connect(node.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        gov = Governance(w3, deployment)
        gov.delegate_all_to_self()
        policy = deployment.addresses.training_policy
        allow_loans = loans(w3, deployment)
        execute(gov, deployment, allow_loans)
        before = read_snapshot(w3, policy)
        execute(gov, deployment, RevokeDataset(dataset_id=allow_loans.dataset_id))
        after = read_snapshot(w3, policy)
    with localchain.running(anvil=anvil_path, chain_dir=chain_dir) as node:
        w3 = chain_client.connect(node.rpc_url)
        contract = Governance(w3, deployment).policy
        with pytest.raises(Exception):  # noqa: B017, PT011 - the node's own error for pruned state
            contract.functions.policyVersion().call(block_identifier=before.block_number)
        again = read_snapshot(w3, policy, block=before.block_number)
        assert again.canonical_json() == before.canonical_json()
        assert read_snapshot(w3, policy).policy_version == after.policy_version == 2
