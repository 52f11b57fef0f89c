"""Benchmark: one governed audit run on the full UCI Adult data, against a bare reference.

Starts its own anvil, deploys the stack, allows ``adult.data`` (32,561 rows, from
``../shared/data``; skipped with a message when absent) with a demographic parity threshold,
and times in the same run:

* ours: ``run_audit`` end to end (frozen snapshot, dataset verification, training, skops
  model, bias_checks audit with bootstrap intervals, report + renderings, anchoring, gate),
  without mitigation and with ThresholdOptimizer(demographic_parity);
* reference: the same scikit-learn pipeline fit and predict plus Fairlearn's MetricFrame
  over the same base metrics, with no verification, reports or anchoring.

Prints the median over ``--repeats`` runs and the ratio. Target: under 5 s without
mitigation. Nothing is asserted. Run: ``python benchmarks/audit_pipeline.py``.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fairlearn.metrics import MetricFrame, false_positive_rate, selection_rate, true_positive_rate
from sklearn.metrics import accuracy_score

from audit.env import AuditEnv
from audit.manifest import build_manifest, store_manifest
from audit.manifest_data import load_frame
from audit.runs import run_audit
from audit.spec import ModelSpec
from audit.training import predict, split, train
from core import db
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import SetMitigation, encode
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from tests.helpers import TEST_CONFIG, Governance, pass_and_execute_encoded, signed_offer
from tests.integration.audit.audit_support import dp_threshold

ADULT = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "adult.data"
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status",
    "occupation", "relationship", "race", "sex", "capital-gain", "capital-loss",
    "hours-per-week", "native-country", "income",
]  # fmt: skip


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not ADULT.exists():
        print(f"skipped: {ADULT} is absent (UCI Adult is never committed)")
        return
    # Removed at exit: an anvil chain folder can hold gigabytes.
    work = Path(tempfile.mkdtemp(prefix="fairgov-bench-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    manifest = build_manifest(
        ADULT.resolve(), name="uci-adult", label="income", positive_label=">50K",
        sensitive_features=["sex"], columns=COLUMNS,
        features=[c for c in COLUMNS if c not in ("income", "sex", "race", "fnlwgt")],
        salts_path=work / "adult.salts",
    )  # fmt: skip
    engine = db.make_engine(f"sqlite:///{work / 'fairgov.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as session:
        store_manifest(session, manifest)
    anvil = localchain.find_anvil()
    with localchain.running(anvil=anvil, chain_dir=work / "chain", persist=False) as node:
        w3 = chain_client.connect(node.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        gov = Governance(w3, deployment)
        gov.delegate_all_to_self()
        env = AuditEnv(
            engine=engine,
            w3=w3,
            deployment=deployment,
            data_dir=work / "data",
            auditor_key=DEV_PRIVATE_KEYS[9],
        )

        def govern(actions: list, description: str) -> None:  # type: ignore[type-arg]
            pass_and_execute_encoded(gov, *encode(actions, deployment.addresses), description)

        govern([signed_offer(w3, deployment, manifest), dp_threshold("0.1")], "allow adult")
        frame = load_frame(manifest)
        spec = ModelSpec(name="adult-lr", dataset="uci-adult", n_boot=200)
        rows: list[tuple[str, float, float]] = []
        for label, strategy in (("none", "none"), ("threshold_optimizer", "threshold_optimizer")):
            if strategy != "none":
                mitigation = SetMitigation(strategy=strategy, constraint="demographic_parity")
                govern([mitigation], f"mitigate {strategy}")
            seeds = iter(range(10_000))

            def ours(seeds: Iterator[int] = seeds) -> object:
                s = spec.model_copy(update={"seed": next(seeds)})  # new run id each time
                return run_audit(env, s)

            def reference(strategy: str = strategy) -> object:
                data = split(frame, manifest, spec)
                constraint = "demographic_parity" if strategy != "none" else ""
                model = train(spec, data, strategy=strategy, constraint=constraint)
                y_pred = predict(model, data.x_test, data.a_test, random_state=0)
                metrics = {"selection_rate": selection_rate, "accuracy": accuracy_score,
                           "tpr": true_positive_rate, "fpr": false_positive_rate}  # fmt: skip
                return MetricFrame(metrics=metrics, y_true=data.y_test, y_pred=y_pred,
                                   sensitive_features=data.a_test["sex"]).difference()  # fmt: skip

            rows.append((label, _median(ours, args.repeats), _median(reference, args.repeats)))
    print(f"UCI Adult, {len(frame):,} rows, median of {args.repeats} runs")
    print(f"{'mitigation':<22}{'ours (s)':>10}{'reference (s)':>15}{'ratio':>8}")
    for label, ours_s, ref_s in rows:
        print(f"{label:<22}{ours_s:>10.2f}{ref_s:>15.2f}{ours_s / ref_s:>8.1f}")
    print("target: ours under 5 s without mitigation")


if __name__ == "__main__":
    main()
