"""Benchmark: a federated audit over real Flower processes on loopback, beside the pooled audit.

Starts anvil with the contracts, allows one synthetic loans dataset per provider, and runs
a SuperLink and one SuperNode per dataset as separate processes. It then runs
``audit.federated.processes.run_federated`` (FedAvg, no noise) and audits the summed
counts with ``bias_checks.audit_counts``.

The reference is the pooled audit: every node's held-out rows, split here the way the node
splits them and predicted by the same final model, audited at once with
``bias_checks.audit_predictions``.

Prints:
- whether the two audits are byte for byte equal (canonical JSON);
- the federated run's wall time (processes, rounds, counts) beside the pooled audit's,
  both measured in this run, and their ratio;
- each node's bytes sent beside the size of its data file.

Nothing is asserted. Run:
``python benchmarks/federated_loopback.py [--nodes 10] [--rows 100000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from audit.federated import learning
from audit.federated.node import NodeConfig, load_checked
from audit.federated.outcome import FederatedOutcome
from audit.federated.processes import free_port, run_federated, superlink, supernode
from audit.federated.protocol import RunPlan, Schema
from audit.synthetic import make_loans
from bias_checks import GroupCounts, audit_counts, audit_predictions
from core.canonical import sha256_hex
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import Action, dataset_id_of, encode
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.policy.models import FederationPolicy
from tests.helpers import PROVIDER_KEY, TEST_CONFIG, Governance, allow_raw, pass_and_execute_encoded

SCHEMA = Schema(
    label="approved",
    positive_label="1",
    inputs=("income", "debt_ratio", "credit_years"),
    sensitive=("group",),
)
N_BOOT = 100


def pooled_audit(configs: list[NodeConfig], outcome: FederatedOutcome) -> tuple[str, float]:
    """The audit of every node's held-out rows at once, and its wall time."""
    started = time.perf_counter()
    preprocessor = learning.global_preprocessor(
        learning.FrameSummary.model_validate(outcome.preprocessor)
    )
    parts = [load_checked(config, SCHEMA) for config in configs]
    x_test = pd.concat([p.x_test for p in parts])
    y_pred = learning.predict(list(outcome.params), preprocessor.transform(x_test))
    result = audit_predictions(
        np.concatenate([p.y_test for p in parts]),
        y_pred,
        sensitive_features=pd.concat([p.a_test for p in parts]),
        pos_label=1,
        n_boot=N_BOOT,
    )
    return result.to_canonical_json().decode(), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fairgov-loopback-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    names = [f"provider-{i}" for i in range(args.nodes)]
    with localchain.running(
        anvil=localchain.find_anvil(), chain_dir=work / "chain", persist=False
    ) as chain:
        w3 = chain_client.connect(chain.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        files = []
        for i, name in enumerate(names):
            path = work / f"{name}.csv"
            make_loans(args.rows, seed=i + 1).to_csv(path, index=False)
            files.append(path)
        offers: list[Action] = [
            allow_raw(w3, deployment, n, sha256_hex(p.read_bytes()), "0x" + "cd" * 32, p.name)
            for n, p in zip(names, files, strict=True)
        ]
        gov = Governance(w3, deployment)
        gov.delegate_all_to_self()
        pass_and_execute_encoded(gov, *encode(offers, deployment.addresses), "allow providers")
        key_file = work / "provider.key"
        key_file.write_text(PROVIDER_KEY)
        policy = deployment.addresses.training_policy
        configs = [
            NodeConfig(path, dataset_id_of(name), key_file, chain.rpc_url, policy)
            for name, path in zip(names, files, strict=True)
        ]
        port = free_port()
        address = f"127.0.0.1:{port}"
        with ExitStack() as stack:
            started = time.perf_counter()
            stack.enter_context(superlink(port=port, state_dir=work / "superlink"))
            for config, name in zip(configs, names, strict=True):
                log = work / f"{name}.log"
                stack.enter_context(supernode(config, superlink=address, port=free_port(), log=log))
            startup = time.perf_counter() - started
            plan = RunPlan(
                policy=FederationPolicy(min_nodes=args.nodes),
                schema=SCHEMA,
                rpc_url=chain.rpc_url,
                policy_address=policy,
                expected_nodes=args.nodes,
                rounds=args.rounds,
            )
            started = time.perf_counter()
            outcome = run_federated(
                plan, superlink=address, work_dir=work / "run", progress=lambda _: None
            )
            federated = (
                audit_counts(GroupCounts.combine([n.counts for n in outcome.nodes]), n_boot=N_BOOT)
                .to_canonical_json()
                .decode()
            )
            federated_seconds = time.perf_counter() - started
        pooled, pooled_seconds = pooled_audit(configs, outcome)
    print(f"{args.nodes} nodes x {args.rows} rows, {args.rounds} round(s) of FedAvg, no noise")
    print(f"federated audit equals the pooled audit byte for byte: {federated == pooled}")
    print(f"process start-up (SuperLink + {args.nodes} SuperNodes): {startup:.1f} s")
    print(
        f"federated run + audit {federated_seconds:.1f} s | pooled audit {pooled_seconds:.2f} s "
        f"| ratio {federated_seconds / pooled_seconds:.0f}x"
    )
    sizes = {c.dataset_id: c.data.stat().st_size for c in configs}
    for node in outcome.nodes:
        size = sizes[node.dataset_id]
        print(
            f"node {node.dataset_id[:10]}…: sent {node.bytes_sent} bytes | data file {size} bytes "
            f"| {node.bytes_sent / size:.2%}"
        )


if __name__ == "__main__":
    main()
