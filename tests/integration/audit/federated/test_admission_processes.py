"""Admission on real processes: a node cannot shut a provider out by refusing in its name.

Review of #16 (finding 3): an admission refused before its signature was checked settled
the dataset it named, so any node could name an honest provider's dataset, be refused,
and the run went on without that provider. Here an impostor node holds a copy of
clinic-x's file under another provider's key; the real clinic-x node starts only once the
server says it is still waiting for it (finding 5: a waiting line at least every 15 s).
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
from web3 import Web3

from audit.federated.errors import NodeNotProvider
from audit.federated.node import NodeConfig
from audit.federated.processes import free_port, run_federated, superlink, supernode
from audit.federated.protocol import RunPlan
from audit.synthetic import make_loans
from core.canonical import sha256_hex
from governance.actions import dataset_id_of
from governance.chain import deploy, localchain
from governance.policy.models import FederationPolicy
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import govern
from tests.integration.audit.federated.federated_support import LOANS

pytestmark = [pytest.mark.chain, pytest.mark.slow]

NAMES = ("clinic-x", "bank-y")
KEYS = (PROVIDER_KEY, SECOND_PROVIDER_KEY)


def test_a_refusal_in_another_providers_name_does_not_settle_its_dataset(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path: Path,
) -> None:
    w3 = isolated_chain
    files = []
    for i, name in enumerate(NAMES):
        path = tmp_path / f"{name}.csv"
        make_loans(240, seed=30 + i).to_csv(path, index=False)
        files.append(path)
    offers = [
        allow_raw(w3, deployment, name, sha256_hex(p.read_bytes()), "0x" + "cd" * 32, name, key)
        for name, p, key in zip(NAMES, files, KEYS, strict=True)
    ]
    govern(w3, deployment, offers, "allow two provider datasets")
    policy = deployment.addresses.training_policy
    clinic, bank = (dataset_id_of(n) for n in NAMES)

    def config(data: Path, dataset_id: str, key: str, label: str) -> NodeConfig:
        key_file = tmp_path / f"{label}.key"
        key_file.write_text(key)
        return NodeConfig(data, dataset_id, key_file, local_chain.rpc_url, policy)

    copy = tmp_path / "copy.csv"
    shutil.copy(files[0], copy)
    port = free_port()
    address = f"127.0.0.1:{port}"
    lines: list[str] = []
    with ExitStack() as stack:
        stack.enter_context(superlink(port=port, state_dir=tmp_path / "superlink"))
        for label, cfg in (
            ("bank", config(files[1], bank, KEYS[1], "bank")),
            ("impostor", config(copy, clinic, SECOND_PROVIDER_KEY, "impostor")),
        ):
            stack.enter_context(
                supernode(cfg, superlink=address, port=free_port(), log=tmp_path / f"{label}.log")
            )
        real = config(files[0], clinic, KEYS[0], "clinic")

        def progress(line: str) -> None:
            lines.append(line)
            if line.startswith("waiting for the provider nodes") and "clinic started" not in lines:
                lines.append("clinic started")
                stack.enter_context(
                    supernode(real, superlink=address, port=free_port(), log=tmp_path / "c.log")
                )

        plan = RunPlan(
            policy=FederationPolicy(min_nodes=2),
            schema=LOANS,
            rpc_url=local_chain.rpc_url,
            policy_address=policy,
            dataset_ids=(clinic, bank),
            rounds=1,
            epochs=3,
            wait_seconds=120.0,
        )
        outcome = run_federated(
            plan, superlink=address, work_dir=tmp_path / "run", timeout=300, progress=progress
        )
    assert {n.dataset_id for n in outcome.nodes} == {clinic, bank}
    (refused,) = outcome.refusals
    assert refused.code == NodeNotProvider.code
    # Listed under the node, never under the dataset of the provider it claimed to be.
    assert refused.dataset_id is None
    assert f"the node named dataset {clinic}, unverified" in refused.message
    assert any(
        line.startswith(f"node {refused.node_id} (no verified dataset) refused at the admission")
        for line in lines
    ), lines
    assert "clinic started" in lines
