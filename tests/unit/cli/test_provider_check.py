"""``fairgov provider check`` tells a record owner which models trained on their dataset, and
apart from them which external models were only scored on it."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

import audit.inclusion
import cli.provider
import governance.policy.snapshot
from audit.inclusion import Inclusion, ScoredModel, TrainedModel
from cli.main import app
from core.types import Hash32
from governance.policy.models import DatasetEntry

runner = CliRunner()
ENTRY = DatasetEntry(
    dataset_id="0x" + "77" * 32,
    content_hash="0x" + "12" * 32,
    manifest_hash="0x" + "34" * 32,
    records_root="0x" + "ab" * 32,
    uri="file:adult.csv",
    licence="CC0-1.0",
    terms_hash="0x" + "00" * 32,
    provider="0x" + "99" * 20,
    consented_at=1_700_000_000,
    allowed=True,
)
_GATE: dict[str, Any] = {"report_hash": None, "verdict": "PASS", "anchored": True}


def _check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine, inclusion: Inclusion
) -> str:
    """The output of ``fairgov provider check`` when the proof verifies to ``inclusion``."""
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path / "data"))
    deployment = SimpleNamespace(addresses=SimpleNamespace(training_policy="0x" + "01" * 20))
    ctx = SimpleNamespace(engine=engine, w3=None, deployment=deployment)
    monkeypatch.setattr(cli.provider, "load_context", lambda: ctx)
    monkeypatch.setattr(governance.policy.snapshot, "read_snapshot", lambda *_: None)
    monkeypatch.setattr(audit.inclusion, "check_inclusion", lambda *_, **__: inclusion)
    claim = {"dataset_id": ENTRY.dataset_id, "record": {"age": "41"}, "salt": "0x" + "ab" * 32}
    (tmp_path / "mine.json").write_text(json.dumps(claim | {"proof": []}))
    result = runner.invoke(app, ["provider", "check", str(tmp_path / "mine.json")])
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_models_only_scored_on_the_dataset_are_not_said_to_be_trained_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    """Outside review: external ONNX models fairgov scored on the dataset were listed as
    "trained … in run …"; one of them had scored only a held-out split."""
    inclusion = Inclusion(
        dataset=ENTRY,
        record_hash=Hash32("0x" + "cd" * 32),
        models=(TrainedModel("loans-lr", "0x" + "11" * 32, "0x" + "21" * 32, **_GATE),),
        scored=(
            ScoredModel(
                "lr-onnx", "0x" + "12" * 32, "0x" + "22" * 32, **_GATE, status="approved",
                scored_rows=300, dataset_rows=1_000,
            ),
            ScoredModel(
                "xgb-onnx", "0x" + "13" * 32, "0x" + "23" * 32, **_GATE,
                scored_rows=1_000, dataset_rows=1_000,
            ),
        ),
    )  # fmt: skip
    output = _check(tmp_path, monkeypatch, engine, inclusion)
    assert f"trained loans-lr 0x{'11' * 32} in run 0x{'21' * 32}: PASS, report anchored" in output
    assert "trained lr-onnx" not in output
    assert "trained xgb-onnx" not in output
    assert (
        f"scored by external model lr-onnx 0x{'12' * 32} in run 0x{'22' * 32} (300 of its "
        "1,000 rows scored, perhaps not this one; trained elsewhere, not by fairgov): PASS, "
        "report anchored; now approved"
    ) in output
    assert (
        f"scored by external model xgb-onnx 0x{'13' * 32} in run 0x{'23' * 32} (every row "
        "scored; trained elsewhere, not by fairgov)"
    ) in output


def test_a_dataset_that_trained_nothing_says_so_even_if_models_were_scored_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, engine: Engine
) -> None:
    scored = ScoredModel("lr-onnx", "0x" + "12" * 32, "0x" + "22" * 32, **_GATE)
    inclusion = Inclusion(ENTRY, Hash32("0x" + "cd" * 32), models=(), scored=(scored,))
    output = _check(tmp_path, monkeypatch, engine, inclusion)
    assert "no audited model was trained on it here" in output
    assert "scored by external model lr-onnx" in output
    assert "(rows scored not recorded; trained elsewhere, not by fairgov)" in output
