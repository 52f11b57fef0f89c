"""Benchmark: a federated audit on real processes equals the pooled audit, and what it costs (#16).

Ten providers each hold 100,000 rows (``audit.synthetic.make_loans``, a different seed per
node) and run a real Flower SuperNode; a real SuperLink and anvil with the whole stack
deployed sit beside them on loopback. One federated run (admission, ``--rounds`` rounds of
FedAvg, the audit) goes through ``audit.federated.processes.run_federated``; the audit is
``bias_checks.audit_counts`` of the summed counts under a voted bound on demographic parity.

In the same run, the reference: the pooled audit, i.e. every node's held-out rows (split as
the nodes split them) read centrally, scored by the same final model and audited with
``bias_checks.audit_predictions``. Printed:

- whether the two audits are equal (canonical bytes), and the largest difference of any
  number in them;
- wall time of the federated audit phase (from the end of training to the counts being
  summed and audited) beside the pooled audit (reading the files, splitting, scoring,
  auditing), their ratio, and the whole federated run;
- bytes each node sent (admission, every round's update, the counts) beside the size of
  its data file, and their ratio.

Run: ``python benchmarks/federated_audit.py`` (about 5 minutes on 2 cores;
``--nodes 3 --rows 20000`` for a quick look). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from audit.federated import learning
from audit.federated.node import NodeConfig, load_checked
from audit.federated.processes import free_port, run_federated, superlink, supernode
from audit.federated.protocol import RunPlan, Schema
from audit.synthetic import make_loans
from bias_checks import EvidenceRule, GroupCounts, Threshold, audit_counts, audit_predictions
from core.canonical import sha256_hex
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import Action, dataset_id_of
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.policy.models import FederationPolicy
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, TEST_CONFIG, allow_raw
from tests.integration.audit.audit_support import govern

SCHEMA = Schema(
    label="approved",
    positive_label="1",
    inputs=("income", "debt_ratio", "credit_years"),
    sensitive=("group",),
)
CHECKS = [Threshold("demographic_parity_difference", 0.1)]
RULE = EvidenceRule()
N_BOOT = 200


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


def _pooled(configs: list[NodeConfig], params: list[Any], summary: Any) -> Any:
    preprocessor = learning.global_preprocessor(summary)
    parts = [load_checked(c, SCHEMA) for c in configs]
    x = pd.concat([p.x_test for p in parts], ignore_index=True)
    a = pd.concat([p.a_test for p in parts], ignore_index=True)
    y = np.concatenate([p.y_test for p in parts])
    y_pred = learning.predict(params, preprocessor.transform(x))
    return audit_predictions(
        y, y_pred, sensitive_features=a, thresholds=CHECKS, evidence=RULE, n_boot=N_BOOT
    )


def _write_files(work: Path, names: list[str], rows: int) -> list[Path]:
    print(f"writing {len(names)} files of {rows:,} rows", flush=True)
    files = []
    for i, name in enumerate(names):
        path = work / f"{name}.csv"
        make_loans(rows, seed=100 + i).to_csv(path, index=False)
        files.append(path)
    return files


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the pooled audit")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="fairgov-federated-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        anvil = localchain.find_anvil()
        chain = stack.enter_context(localchain.running(anvil=anvil, chain_dir=work, persist=False))
        w3 = chain_client.connect(chain.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        names = [f"provider-{i:02d}" for i in range(args.nodes)]
        keys = [PROVIDER_KEY if i % 2 == 0 else SECOND_PROVIDER_KEY for i in range(args.nodes)]
        files = _write_files(work, names, args.rows)
        actions: list[Action] = [
            allow_raw(w3, deployment, n, sha256_hex(p.read_bytes()), "0x" + "cd" * 32, p.name, k)
            for n, p, k in zip(names, files, keys, strict=True)
        ]
        govern(w3, deployment, actions, "allow the benchmark's datasets")
        policy = deployment.addresses.training_policy
        port = free_port()
        address = f"127.0.0.1:{port}"
        stack.enter_context(superlink(port=port, state_dir=work / "superlink"))
        configs = []
        for name, path, key in zip(names, files, keys, strict=True):
            key_file = work / f"{name}.key"
            key_file.write_text(key)
            config = NodeConfig(path, dataset_id_of(name), key_file, chain.rpc_url, policy)
            configs.append(config)
            stack.enter_context(
                supernode(config, superlink=address, port=free_port(), log=work / f"{name}.log")
            )
        plan = RunPlan(
            policy=FederationPolicy(min_nodes=args.nodes),
            schema=SCHEMA,
            rpc_url=chain.rpc_url,
            policy_address=policy,
            dataset_ids=tuple(c.dataset_id for c in configs),
            rounds=args.rounds,
            epochs=5,
            wait_seconds=120,
            reply_timeout=600,
        )
        stamps: list[tuple[float, str]] = []

        def progress(line: str) -> None:
            stamps.append((time.perf_counter(), line))
            print(f"  {line}", flush=True)

        start = time.perf_counter()
        outcome = run_federated(
            plan, superlink=address, work_dir=work / "run", timeout=3600, progress=progress
        )
        counted = time.perf_counter()
        federated = audit_counts(
            GroupCounts.combine([n.counts for n in outcome.nodes]),
            thresholds=CHECKS,
            evidence=RULE,
            n_boot=N_BOOT,
        )
        audited = time.perf_counter()
        last_round = max(
            (t for t, line in stamps if line.startswith(f"round {args.rounds}")), default=start
        )
        federated_audit = (counted - last_round) + (audited - counted)
        summary = learning.FrameSummary.model_validate(outcome.preprocessor)
        pooled_times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            pooled = _pooled(configs, list(outcome.params), summary)
            pooled_times.append(time.perf_counter() - t0)
        pooled_time = statistics.median(pooled_times)

        _report(args, federated, pooled, (federated_audit, audited - start, pooled_time))
        _report_bytes(outcome, configs)


def _report(args: Any, federated: Any, pooled: Any, times: tuple[float, float, float]) -> None:
    federated_audit, whole, pooled_time = times
    ours = json.loads(federated.to_canonical_json())
    theirs = json.loads(pooled.to_canonical_json())
    a, b = _numbers(ours), _numbers(theirs)
    gap = max((abs(x - y) for x, y in zip(a, b, strict=True)), default=0.0)
    print()
    print(f"{args.nodes} nodes x {args.rows:,} rows, {args.rounds} FedAvg rounds")
    print(
        f"audits equal byte for byte: {ours == theirs}; numbers compared: {len(a)}; "
        f"largest difference: {gap:.3g}"
    )
    print(
        f"federated audit phase: {federated_audit:.2f} s  (whole run {whole:.1f} s: "
        "admission, training, audit)"
    )
    print(
        f"pooled audit (read, split, score, audit; median of {args.repeats}): {pooled_time:.2f} s"
    )
    print(f"ratio federated / pooled: {federated_audit / pooled_time:.2f}x")


def _report_bytes(outcome: Any, configs: list[NodeConfig]) -> None:
    print()
    print(f"{'dataset':>12} {'rows':>8} {'file bytes':>12} {'sent bytes':>11} {'sent/file':>9}")
    by_id = {c.dataset_id: c for c in configs}
    for node in sorted(outcome.nodes, key=lambda n: n.dataset_id):
        size = by_id[node.dataset_id].data.stat().st_size
        print(
            f"{node.dataset_id[:12]:>12} {node.train_rows + node.heldout_rows:>8} "
            f"{size:>12,} {node.bytes_sent:>11,} {node.bytes_sent / size:>9.4f}"
        )


if __name__ == "__main__":
    main()
