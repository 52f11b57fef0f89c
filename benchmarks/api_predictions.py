"""``POST /v1/audits/predictions`` against the CLI's work on the same file.

Starts its own anvil (for Sign-In with Ethereum), writes a predictions file of ``--rows``
rows (two sensitive features, ten intersectional groups, scores with a cutoff) as Parquet,
and measures, per repeat:

- ours: the upload through the app in process (Starlette's TestClient): the body streamed
  to disk, the audit, the report files rendered and stored, the JSON answer;
- the reference: what ``fairgov audit predictions`` does with the file already on disk,
  ``audit_predictions_file`` and ``render_all``, in this process.

Prints the medians over ``--repeats`` runs and the ratio ours / reference (the cost of
serving it over HTTP). Nothing is asserted.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/api_predictions.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.main import create_app  # noqa: E402
from audit.predictions import audit_predictions_file  # noqa: E402
from audit.render import render_all  # noqa: E402
from core import db  # noqa: E402
from core.settings import DEV_PRIVATE_KEYS  # noqa: E402
from governance.chain import deploy, localchain  # noqa: E402
from governance.chain import node as chain_client  # noqa: E402
from tests.helpers import TEST_CONFIG  # noqa: E402
from tests.integration.api.conftest import api_settings  # noqa: E402
from tests.integration.api.siwe_support import bearer  # noqa: E402

OPTIONS = {"label": "y", "prediction": "score", "sensitive": "sex,band", "cutoff": 0.5}


def predictions(rows: int, seed: int = 0) -> pd.DataFrame:
    """``rows`` scored predictions; sex (2) x band (5) gives ten intersectional groups."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(np.array(["f", "m"]), rows)
    band = rng.choice(np.array(["a", "b", "c", "d", "e"]), rows)
    score = np.clip(rng.random(rows) + np.where(sex == "m", 0.1, 0.0), 0.0, 1.0)
    y = (rng.random(rows) < score).astype(np.int8)
    return pd.DataFrame({"y": y, "score": score.astype(np.float32), "sex": sex, "band": band})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fairgov-predictions-bench-"))
    try:
        path = work / "predictions.parquet"
        predictions(args.rows).to_parquet(path)
        size = path.stat().st_size
        ours, reference = [], []
        with localchain.running(
            anvil=localchain.find_anvil(), chain_dir=work / "chain", persist=False
        ) as node:
            w3 = chain_client.connect(node.rpc_url)
            deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
            engine = db.make_engine(f"sqlite:///{work / 'fairgov.db'}")
            db.upgrade(engine)
            settings = api_settings(work / "data")
            app = create_app(settings=settings, engine=engine, w3=w3, deployment=deployment)
            with TestClient(app) as client:
                headers = {
                    **bearer(client, DEV_PRIVATE_KEYS[3]),
                    "Content-Type": "application/vnd.apache.parquet",
                }
                body = path.read_bytes()
                for repeat in range(args.repeats):
                    start = time.perf_counter()
                    answer = client.post(
                        "/v1/audits/predictions", params=OPTIONS, content=body, headers=headers
                    )
                    ours.append(time.perf_counter() - start)
                    assert answer.status_code == 200, answer.text
                    start = time.perf_counter()
                    outcome = audit_predictions_file(
                        path, label="y", prediction="score", sensitive=["sex", "band"], cutoff=0.5
                    )
                    render_all(outcome.report, work / f"cli-{repeat}")
                    reference.append(time.perf_counter() - start)
                    assert outcome.report.hash == answer.json()["report_hash"]
            engine.dispose()
        ours_s, ref_s = statistics.median(ours), statistics.median(reference)
        print(
            f"{args.rows:,} rows of predictions ({size / 1e6:.1f} MB Parquet), median of "
            f"{args.repeats}:"
        )
        print(f"  ours, POST /v1/audits/predictions:          {ours_s:8.3f} s")
        print(f"  reference, audit_predictions_file + render: {ref_s:8.3f} s")
        print(f"  ratio ours / reference:                     {ours_s / ref_s:8.3f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
