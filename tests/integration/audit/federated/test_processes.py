"""A real SuperLink and four real SuperNodes on loopback, driven by fairgov, against anvil.

Three providers' datasets are allowed and intact; a fourth was allowed, then its file
changed. The run must admit exactly the three, name the fourth with the central pipeline's
hash-mismatch code, and stop with ``too_few_nodes`` when the policy asks for more nodes
than were accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from web3 import Web3

from audit.errors import DatasetHashMismatch
from audit.federated.errors import DatasetNotInSpec, NodeDroppedOut, TooFewNodes
from audit.federated.node import NodeConfig
from audit.federated.outcome import FederatedOutcome
from audit.federated.processes import (
    FlowerProcess,
    free_port,
    run_federated,
    superlink,
    supernode,
)
from audit.federated.protocol import RunPlan
from audit.synthetic import make_loans
from core.canonical import sha256_hex
from governance.actions import Action, dataset_id_of
from governance.chain import deploy, localchain
from governance.policy.models import FederationPolicy
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import govern
from tests.integration.audit.federated.federated_support import LOANS

pytestmark = [pytest.mark.chain, pytest.mark.slow]

NAMES = ("clinic-a", "clinic-b", "bank-c", "tampered-d")
KEYS = (PROVIDER_KEY, PROVIDER_KEY, SECOND_PROVIDER_KEY, SECOND_PROVIDER_KEY)


@dataclass(frozen=True)
class Federation:
    address: str
    rpc_url: str
    policy: str
    work: Path
    nodes: dict[str, FlowerProcess]


@pytest.fixture(scope="module")
def federation(
    w3: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Federation]:
    """Four datasets allowed on chain, the last altered afterwards; a SuperLink and one
    SuperNode per dataset. The chain is reverted afterwards."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    work = tmp_path_factory.mktemp("federated")
    files = []
    for i, name in enumerate(NAMES):
        path = work / f"{name}.csv"
        make_loans(300, seed=i + 1).to_csv(path, index=False)
        files.append(path)
    offers: list[Action] = [
        allow_raw(
            w3,
            deployment,
            name,
            sha256_hex(path.read_bytes()),
            "0x" + "cd" * 32,
            f"file://{path.name}",
            key,
        )
        for name, path, key in zip(NAMES, files, KEYS, strict=True)
    ]
    govern(w3, deployment, offers, "allow four provider datasets")
    with files[-1].open("a") as tampered:
        tampered.write("99999.0,0.1,3,salaried,north,A,1\n")
    policy = deployment.addresses.training_policy
    port = free_port()
    address = f"127.0.0.1:{port}"
    nodes: dict[str, FlowerProcess] = {}
    with ExitStack() as stack:
        stack.enter_context(superlink(port=port, state_dir=work / "superlink"))
        for name, path, key in zip(NAMES, files, KEYS, strict=True):
            key_file = work / f"{name}.key"
            key_file.write_text(key)
            config = NodeConfig(path, dataset_id_of(name), key_file, local_chain.rpc_url, policy)
            nodes[name] = stack.enter_context(
                supernode(config, superlink=address, port=free_port(), log=work / f"{name}.log")
            )
        yield Federation(address, local_chain.rpc_url, policy, work, nodes)
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]


def _plan(federation: Federation, min_nodes: int) -> RunPlan:
    return RunPlan(
        policy=FederationPolicy(min_nodes=min_nodes),
        schema=LOANS,
        rpc_url=federation.rpc_url,
        policy_address=federation.policy,
        dataset_ids=tuple(dataset_id_of(name) for name in NAMES),
        rounds=1,
        epochs=5,
        # The tampered node's own refusal is unsigned: it cannot settle its dataset, so
        # admission waits for a node that can, this long. Every node is connected before a
        # run starts (the module's fixture), so the wait is only the tampered dataset's.
        wait_seconds=10.0,
    )


def test_the_run_admits_exactly_the_intact_datasets(federation: Federation) -> None:
    lines: list[str] = []
    outcome = run_federated(
        _plan(federation, 3),
        superlink=federation.address,
        work_dir=federation.work / "run-ok",
        timeout=240,
        progress=lines.append,
    )
    assert isinstance(outcome, FederatedOutcome)
    intact = {dataset_id_of(n) for n in NAMES[:3]}
    assert {n.dataset_id for n in outcome.nodes} == intact
    (refused,) = outcome.refusals
    # The node's refusal names its dataset only as its own unverified claim (finding 3 of
    # the #16 review): it is listed under the node.
    assert refused.dataset_id is None
    assert f"the node named dataset {dataset_id_of(NAMES[3])}, unverified" in refused.message
    assert refused.code == DatasetHashMismatch.code
    accepted = {n.node_id for n in outcome.nodes}
    assert [set(r.node_ids) for r in outcome.rounds] == [accepted]
    assert all(n.train_rows + n.heldout_rows == 300 for n in outcome.nodes)
    assert all(n.bytes_sent > 0 for n in outcome.nodes)
    assert all(n.counts.n_rows == n.heldout_rows for n in outcome.nodes)
    assert any("round 1: 3 node(s) aggregated" in line for line in lines)
    assert (
        f"node {refused.node_id} (no verified dataset) refused at the admission: "
        + (DatasetHashMismatch.code)
        in lines
    )


def test_the_run_stops_below_the_voted_minimum(federation: Federation) -> None:
    with pytest.raises(TooFewNodes) as stopped:
        run_federated(
            _plan(federation, 4),
            superlink=federation.address,
            work_dir=federation.work / "run-short",
            timeout=240,
            progress=lambda _: None,
        )
    assert stopped.value.code == "too_few_nodes"
    assert "only 3 node(s) were accepted at admission" in stopped.value.message
    assert [r.code for r in stopped.value.refusals] == [DatasetHashMismatch.code]


def test_a_node_holding_a_dataset_the_spec_does_not_name_is_refused(
    federation: Federation,
) -> None:
    """Finding 7 of the #16 review: clinic-b's dataset is allowed by the policy, but this
    run's spec does not name it; the server refuses its node and never trains with it."""
    named = tuple(dataset_id_of(n) for n in (NAMES[0], NAMES[2], NAMES[3]))
    plan = replace(_plan(federation, 2), dataset_ids=named)
    outcome = run_federated(
        plan,
        superlink=federation.address,
        work_dir=federation.work / "run-spec",
        timeout=240,
        progress=lambda _: None,
    )
    assert {n.dataset_id for n in outcome.nodes} == {named[0], named[1]}
    codes = {r.dataset_id: r.code for r in outcome.refusals}
    assert codes == {
        dataset_id_of(NAMES[1]): DatasetNotInSpec.code,
        None: DatasetHashMismatch.code,
    }
    left_out = {r.node_id for r in outcome.refusals}
    assert all(left_out.isdisjoint(r.node_ids) for r in outcome.rounds)


def test_a_node_that_drops_out_mid_run_is_left_out_of_the_audit(federation: Federation) -> None:
    """Runs last: it stops one node for good."""
    leaving = federation.nodes[NAMES[1]]

    def progress(line: str) -> None:
        if line.startswith("round 1:"):
            leaving.stop()

    plan = replace(_plan(federation, 2), rounds=3, reply_timeout=60.0)
    outcome = run_federated(
        plan,
        superlink=federation.address,
        work_dir=federation.work / "run-drop",
        timeout=240,
        progress=progress,
    )
    stayed = {dataset_id_of(NAMES[0]), dataset_id_of(NAMES[2])}
    assert {n.dataset_id for n in outcome.nodes} == stayed
    codes = {r.dataset_id: r.code for r in outcome.refusals}
    assert codes == {
        dataset_id_of(NAMES[1]): NodeDroppedOut.code,
        None: DatasetHashMismatch.code,
    }
    assert len(outcome.rounds[0].node_ids) == 3
    kept = {n.node_id for n in outcome.nodes}
    assert set(outcome.rounds[-1].node_ids) == kept
    assert outcome.total_counts().n_rows == sum(n.heldout_rows for n in outcome.nodes)
