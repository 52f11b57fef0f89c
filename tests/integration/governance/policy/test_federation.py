"""The federation policy (#16) voted through the real governor and timelock on anvil, read back
from the contract's state (read_snapshot), from its events (policy_at) and from the index."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from governance.actions import Aggregation, SetFederationPolicy, SetThreshold, encode
from governance.chain import deploy
from governance.errors import PolicyLacksFederationPolicy
from governance.index.indexer import Indexer
from governance.policy import history as policy_history
from governance.policy.snapshot import FederationPolicy, read_snapshot
from governance.protection import Change, classify
from tests.helpers import Governance
from tests.integration.governance.policy.test_snapshot import DP, execute

pytestmark = pytest.mark.chain

OLD_POLICY = Path(__file__).parents[1] / "data" / "TrainingPolicy-before-federation.json"
KRUM = SetFederationPolicy(aggregation="krum", krum_f=1, epsilon=Decimal("0.5"), min_nodes=5)
TRIMMED = SetFederationPolicy(aggregation="fedtrimmedavg", trim_beta=Decimal("0.34"), min_nodes=3)


def test_a_fresh_policy_has_the_default_federation_policy(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    snap = read_snapshot(isolated_chain, deployment.addresses.training_policy)
    assert snap.schema_version == 4
    assert snap.federation == FederationPolicy()
    assert snap.federation.epsilon_value is None


def test_a_voted_federation_policy_reads_back_from_state_events_and_index(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine
) -> None:
    w3, policy = isolated_chain, deployment.addresses.training_policy
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    before = read_snapshot(w3, policy)

    execute(gov, deployment, KRUM, SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper"))
    krum = read_snapshot(w3, policy)
    execute(gov, deployment, TRIMMED)
    trimmed = read_snapshot(w3, policy)

    assert krum.federation == FederationPolicy(
        aggregation=Aggregation.KRUM, krum_f=1, epsilon="0.500000", min_nodes=5
    )
    assert krum.federation.epsilon_value == Decimal("0.5")
    assert trimmed.federation == FederationPolicy(
        aggregation=Aggregation.FEDTRIMMEDAVG, trim_beta="0.340000", min_nodes=3
    )
    assert [s.policy_version for s in (before, krum, trimmed)] == [0, 2, 3]
    assert len({before.hash, krum.hash, trimmed.hash}) == 3
    Indexer(engine, w3, deployment).sync()
    for state in (before, krum, trimmed):
        from_events = policy_history.policy_at(w3, policy, block=state.block_number)
        assert from_events.canonical_json() == state.canonical_json()
        with Session(engine) as session:
            changes = policy_history.changes_from_index(session, up_to_block=state.block_number)
        from_index = policy_history.replay(changes).snapshot(
            chain_id=state.chain_id,
            policy=state.policy,
            block_number=state.block_number,
            block_hash=state.block_hash,
        )
        assert from_index.federation == state.federation


def test_the_governor_classifies_federation_changes(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()

    def changes(action: SetFederationPolicy) -> tuple[Change, ...]:
        targets, _, calldatas = encode([action], deployment.addresses)
        return classify(w3, deployment.addresses, targets, calldatas).changes

    assert changes(KRUM) == (Change.NONE,)  # FedAvg to a robust strategy, with noise
    execute(gov, deployment, KRUM)
    assert changes(SetFederationPolicy(aggregation="fedavg", min_nodes=5)) == (
        Change.FEDERATION_WEAKENED,
    )
    assert changes(KRUM.model_copy(update={"min_nodes": 4, "krum_f": 0})) == (
        Change.FEDERATION_WEAKENED,
    )
    assert changes(KRUM.model_copy(update={"epsilon": Decimal("0.25")})) == (Change.NONE,)
    assert changes(KRUM.model_copy(update={"epsilon": None})) == (Change.FEDERATION_WEAKENED,)


def _deploy_old_policy(w3: Web3, owner: str) -> str:
    old = json.loads(OLD_POLICY.read_text("utf-8"))
    contract = w3.eth.contract(abi=old["abi"], bytecode=old["bytecode"])
    tx = contract.constructor(owner).transact({"from": w3.eth.accounts[0]})
    return str(w3.eth.wait_for_transaction_receipt(tx)["contractAddress"])


def test_a_policy_from_before_the_federation_policy_is_one_clear_line(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    address = _deploy_old_policy(w3, deployment.addresses.timelock)
    deployed_at = w3.eth.block_number

    for read in (
        lambda: read_snapshot(w3, address),
        lambda: policy_history.policy_at(w3, address, block=deployed_at),
        lambda: deploy.check_policy_current(w3, address),
    ):
        with pytest.raises(PolicyLacksFederationPolicy) as caught:
            read()
        assert caught.value.code == "policy_lacks_federation_policy"
        message = str(caught.value)
        assert "predates the federation policy" in message
        assert "`fairgov run`" in message
        assert "\n" not in message
