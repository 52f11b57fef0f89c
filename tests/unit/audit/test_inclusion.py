"""A record owner is told which models trained on their dataset: only completed training
runs count. An external (ONNX) model's audit only scored the data, with a model trained
elsewhere, and is listed apart as such; failed runs and re-audits trained nothing.

Rows and reports as the runs write them (a report.json on disk), in a real migrated database.
"""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from audit.db_models import AuditRunRecord, RunKind, RunStatus
from audit.external import ExternalAuditSpec
from audit.inclusion import models_scored_on, models_trained_on
from audit.report import Report
from audit.spec import ModelSpec
from bias_checks import Verdict
from core.db import session_scope
from governance.policy.models import DatasetEntry

FIXTURE = Path(__file__).parent / "fixtures" / "training_pass" / "report.json"

#: The training_pass fixture report's dataset version: its content and manifest hashes.
ENTRY = DatasetEntry(
    dataset_id="0x" + "77" * 32,
    content_hash="0x" + "12" * 32,
    manifest_hash="0x" + "34" * 32,
    records_root="0x" + "ab" * 32,
    uri="file:loans.csv",
    licence="CC0-1.0",
    terms_hash="0x" + "00" * 32,
    provider="0x" + "99" * 20,
    consented_at=1_700_000_000,
    allowed=True,
)
ROWS = 1_000
_ids = count(1)


def _report(tmp_path: Path, run_id: str, *, scored_rows: int | None = None) -> str:
    """A report of ``run_id`` on ENTRY's version; an external audit's if ``scored_rows``."""
    data: dict[str, Any] = json.loads(FIXTURE.read_bytes())
    data["run_id"] = run_id
    data["dataset"] |= {"dataset_id": ENTRY.dataset_id, "rows": ROWS}
    if scored_rows is not None:
        data["kind"] = "external"
        data["model"] |= {
            "estimator": "external ONNX model (not trained by fairgov)",
            "mitigation": "none",
            "external": {
                "kind": "external_onnx",
                "producer": "skl2onnx 1.17",
                "signature": "one float tensor input",
                "opsets": {"": 17},
                "inputs": ["age"],
                "output": "probabilities from probabilities (zipmap)",
                "predictions": "label",
                "scored_rows": scored_rows,
                "verified": [],
                "not_verified": ["how the model was trained, and on which data"],
            },
        }
    directory = tmp_path / "reports" / run_id
    directory.mkdir(parents=True)
    (directory / "report.json").write_bytes(Report(data).canonical_bytes())
    return str(directory)


def _run(
    session: Session,
    tmp_path: Path,
    name: str,
    *,
    kind: RunKind = RunKind.TRAINING_RUN,
    status: RunStatus = RunStatus.COMPLETED,
    scored_rows: int | None = None,
) -> str:
    """A run of model ``name`` on ENTRY's version: completed ones with their report."""
    run_id = "0x" + f"{next(_ids):064x}"
    external = kind == RunKind.EXTERNAL or scored_rows is not None
    model_hash = "0x" + f"{next(_ids):064x}"
    spec = (
        ExternalAuditSpec(name=name, model_hash=model_hash, dataset="loans")
        if external
        else ModelSpec(name=name, dataset="loans")
    )
    completed = status == RunStatus.COMPLETED
    session.add(
        AuditRunRecord(
            run_id=run_id,
            kind=kind,
            model_name=name,
            dataset_name="loans",
            dataset_id=ENTRY.dataset_id,
            status=status,
            spec_json=spec.canonical_json().decode(),
            chain_id=31337,
            policy_version=1,
            policy_block=1,
            policy_snapshot_hash="0x" + "00" * 32,
            content_hash=ENTRY.content_hash,
            model_hash=model_hash,
            verdict=Verdict.PASS if completed else None,
            report_dir=_report(tmp_path, run_id, scored_rows=scored_rows) if completed else None,
        )
    )
    return run_id


def test_external_models_scored_on_the_data_are_never_said_to_have_trained_on_it(
    engine: Engine, tmp_path: Path
) -> None:
    """Outside review: ONNX models fairgov only scored on the dataset were listed as
    "trained … in run …", failed runs ("no verdict") and a held-out-only run among them."""
    with session_scope(engine) as session:
        trained = _run(session, tmp_path, "loans-lr")
        every_row = _run(session, tmp_path, "lr-onnx", kind=RunKind.EXTERNAL, scored_rows=ROWS)
        heldout = _run(session, tmp_path, "xgb-onnx", kind=RunKind.EXTERNAL, scored_rows=300)
        for status in (RunStatus.FAILED, RunStatus.FAILED, RunStatus.REFUSED):
            _run(session, tmp_path, "bigmem", kind=RunKind.EXTERNAL, status=status)
    with Session(engine) as session:
        listed = [m.run_id for m in models_trained_on(session, ENTRY)]
        scored = models_scored_on(session, ENTRY)
    assert listed == [trained]
    assert [(m.run_id, m.scored_rows, m.dataset_rows) for m in scored] == [
        (heldout, 300, ROWS),
        (every_row, ROWS, ROWS),
    ]


def test_runs_that_trained_nothing_here_are_not_listed_as_training(
    engine: Engine, tmp_path: Path
) -> None:
    with session_scope(engine) as session:
        trained = _run(session, tmp_path, "loans-lr")
        _run(session, tmp_path, "loans-lr", kind=RunKind.REAUDIT)  # audited the same file again
        _run(session, tmp_path, "loans-gb", status=RunStatus.FAILED)
        external_reaudit = _run(
            session, tmp_path, "lr-onnx", kind=RunKind.REAUDIT, scored_rows=ROWS
        )
    with Session(engine) as session:
        assert [m.run_id for m in models_trained_on(session, ENTRY)] == [trained]
        assert [m.run_id for m in models_scored_on(session, ENTRY)] == [external_reaudit]
