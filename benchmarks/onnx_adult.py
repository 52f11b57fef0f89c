"""Benchmark: an external ONNX model governed end to end on UCI Adult, step by step.

Starts its own anvil, deploys the stack and allows ``adult.data`` (32,561 rows, from
``../shared/data``, or ``--adult PATH``; skipped with a message when absent) with a
demographic parity threshold. A team's scikit-learn Pipeline (ColumnTransformer + logistic
regression) is trained on the seeded training split, exported with skl2onnx and registered;
the external audit scores the held-out split (``test_size: 0.25``, the rows a central run
holds out). It prints, in the same run:

* the time of each step: export, register, then the audit's policy, verify, score, audit,
  report, anchor and gate (medians over ``--repeats`` audits);
* scoring: onnxruntime on the held-out rows against the same Pipeline's native
  ``predict_proba`` (ratio), and the largest difference between their probabilities;
* scoring as audits do it, in a child process under the memory and time limits
  (``score_sandboxed``), against the same scoring in process (``score_frame`` on a session
  made each time, as audits did before the sandbox): what the sandbox costs;
* the whole external audit against a native governed ``run_audit`` (training included) on
  the same data and split.

Nothing is asserted. Run: ``python benchmarks/onnx_adult.py [--adult PATH]``.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from audit.env import AuditEnv
from audit.external import (
    ExternalAuditSpec,
    inspect_onnx,
    register_onnx,
    run_external_audit,
    score_frame,
    score_sandboxed,
    session,
)
from audit.external._scored import heldout
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.manifest_data import load_frame
from audit.runs import run_audit
from audit.spec import ModelSpec
from audit.training import labels, split
from core import db
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import encode
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
FEATURES = [c for c in COLUMNS if c not in ("income", "sex", "race", "fnlwgt")]
STEPS = ("policy", "verify", "score", "audit", "report", "anchor", "gate")


def _median(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _team_model(frame: pd.DataFrame, manifest: DatasetManifest) -> tuple[Any, bytes, float]:
    """The team's Pipeline, trained on the seeded training split, and its ONNX export."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    data = split(frame, manifest, ModelSpec(name="adult", dataset="uci-adult"))
    text = [c for c in FEATURES if not pd.api.types.is_numeric_dtype(frame[c])]
    numbers = [c for c in FEATURES if c not in text]
    pipe = Pipeline(
        [
            (
                "columns",
                ColumnTransformer(
                    [
                        ("text", OneHotEncoder(handle_unknown="ignore"), text),
                        ("numbers", StandardScaler(), numbers),
                    ]
                ),
            ),
            ("lr", LogisticRegression(max_iter=1000)),
        ]
    ).fit(data.x_train, data.y_train)
    start = time.perf_counter()
    types = [
        (c, StringTensorType([None, 1]) if c in text else Int64TensorType([None, 1]))
        for c in FEATURES
    ]
    proto = convert_sklearn(pipe, initial_types=types, target_opset={"": 17, "ai.onnx.ml": 3})
    data_bytes = proto.SerializeToString()
    return pipe, data_bytes, time.perf_counter() - start


def main() -> None:  # noqa: PLR0915  (one benchmark, read top to bottom)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--adult", type=Path, default=ADULT)
    args = parser.parse_args()
    if not args.adult.exists():
        print(f"skipped: {args.adult} is absent (UCI Adult is never committed); pass --adult")
        return
    work = Path(tempfile.mkdtemp(prefix="fairgov-bench-onnx-"))
    atexit.register(shutil.rmtree, work, ignore_errors=True)
    manifest = build_manifest(
        args.adult.resolve(), name="uci-adult", label="income", positive_label=">50K",
        sensitive_features=["sex"], columns=COLUMNS, features=FEATURES,
        salts_path=work / "adult.salts",
    )  # fmt: skip
    engine = db.make_engine(f"sqlite:///{work / 'fairgov.db'}")
    db.upgrade(engine)
    with db.session_scope(engine) as s:
        store_manifest(s, manifest)
    frame = load_frame(manifest)
    pipe, onnx_bytes, export_s = _team_model(frame, manifest)
    anvil = localchain.find_anvil()
    with localchain.running(anvil=anvil, chain_dir=work / "chain", persist=False) as node:
        w3 = chain_client.connect(node.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        gov = Governance(w3, deployment)
        gov.delegate_all_to_self()
        actions = [signed_offer(w3, deployment, manifest), dp_threshold("0.1")]
        pass_and_execute_encoded(gov, *encode(actions, deployment.addresses), "allow adult")
        env = AuditEnv(
            engine=engine,
            w3=w3,
            deployment=deployment,
            data_dir=work / "data",
            auditor_key=DEV_PRIVATE_KEYS[9],
        )
        start = time.perf_counter()
        model = register_onnx(env, name="adult-onnx", data=onnx_bytes)
        register_s = time.perf_counter() - start

        steps: dict[str, list[float]] = defaultdict(list)
        totals, verdicts = [], []
        for i in range(args.repeats):
            marks: list[tuple[str, float]] = []

            def mark(stage: str, *_: int, marks: list[tuple[str, float]] = marks) -> None:
                marks.append((stage, time.perf_counter()))

            spec = ExternalAuditSpec(
                name="adult-onnx",
                model_hash=model.model_hash,
                dataset="uci-adult",
                test_size=0.25,
                cutoff=0.5 + i * 1e-9,  # a new run id each time, the same predictions
            )
            begin = time.perf_counter()
            run = run_external_audit(env, spec, progress=mark)
            end = time.perf_counter()
            totals.append(end - begin)
            verdicts.append(f"{run.verdict}/{run.model_status}")
            for (stage, at), (_, after) in zip(marks, [*marks[1:], ("end", end)], strict=True):
                steps[stage].append(after - at)

        seeds = iter(range(1, 10_000))
        central = ModelSpec(name="adult-lr", dataset="uci-adult", n_boot=200, test_size=0.25)

        def native_run() -> object:
            return run_audit(env, central.model_copy(update={"seed": next(seeds)}))

        native_run_s = _median(native_run, args.repeats)

    rows = heldout(frame, manifest, spec)
    x = rows[FEATURES]
    signature = inspect_onnx("adult-onnx", onnx_bytes)
    ort_session = session("adult-onnx", onnx_bytes)

    def onnx_scores() -> Any:
        return score_frame(
            "adult-onnx",
            ort_session,
            signature,
            rows,
            inputs=tuple(FEATURES),
            positive_label=">50K",
        )

    def in_process() -> Any:  # before the sandbox: a session per audit, in the process
        return score_frame(
            "adult-onnx",
            session("adult-onnx", onnx_bytes),
            signature,
            rows,
            inputs=tuple(FEATURES),
            positive_label=">50K",
        )

    def sandboxed() -> Any:
        return score_sandboxed(
            "adult-onnx",
            onnx_bytes,
            signature,
            rows,
            inputs=tuple(FEATURES),
            positive_label=">50K",
        )

    in_process_s = _median(in_process, args.repeats)
    sandboxed_s = _median(sandboxed, args.repeats)
    same = np.array_equal(sandboxed().probability, in_process().probability)
    onnx_s = _median(onnx_scores, args.repeats)
    native_s = _median(lambda: pipe.predict_proba(x), args.repeats)
    diff = np.max(np.abs(onnx_scores().probability - pipe.predict_proba(x)[:, 1]))
    y = labels(rows, manifest)

    print(
        f"UCI Adult, {len(frame):,} rows; {len(rows):,} held-out rows scored ({y.mean():.1%} >50K)"
    )
    print(f"ONNX file {len(onnx_bytes):,} bytes; verdicts {', '.join(verdicts)}")
    print(f"{'step':<28}{'seconds':>10}")
    print(f"{'export (skl2onnx)':<28}{export_s:>10.3f}")
    print(f"{'register':<28}{register_s:>10.3f}")
    for stage in STEPS:
        print(f"{stage:<28}{statistics.median(steps[stage]):>10.3f}")
    print(f"{'external audit, total':<28}{statistics.median(totals):>10.3f}")
    print()
    print(f"{'comparison':<40}{'ours (s)':>10}{'reference (s)':>15}{'ratio':>8}")
    print(
        f"{'scoring: onnxruntime vs predict_proba':<40}{onnx_s:>10.3f}{native_s:>15.3f}"
        f"{onnx_s / native_s:>8.2f}"
    )
    label = "scoring: sandboxed child vs in process"
    print(f"{label:<40}{sandboxed_s:>10.3f}{in_process_s:>15.3f}{sandboxed_s / in_process_s:>8.2f}")
    ext = statistics.median(totals)
    label = "external audit vs native run_audit"
    print(f"{label:<40}{ext:>10.3f}{native_run_s:>15.3f}{ext / native_run_s:>8.2f}")
    print(f"largest |p_onnx - p_sklearn| on the held-out rows: {diff:.2e}")
    print(f"sandboxed probabilities identical to in-process ones: {same}")


if __name__ == "__main__":
    main()
