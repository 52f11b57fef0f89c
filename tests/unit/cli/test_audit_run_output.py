"""``fairgov audit run`` shows why: the verdict's sentence, the evidence rule, every check with
its value, interval and bound (and, when INCONCLUSIVE, the rows that would decide it), the run
id and the report's folder; the exit status stays the verdict's."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import audit.service
import cli.audit
from audit.db_models import ModelStatus, RunKind
from audit.publish import AuditRun
from bias_checks import Verdict
from cli.main import app

FIXTURES = Path(__file__).parents[2] / "unit" / "audit" / "fixtures"
runner = CliRunner()


def _run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str, verdict: Verdict
) -> tuple[int, str]:
    reports = tmp_path / "reports" / "run"
    shutil.copytree(FIXTURES / fixture, reports)
    outcome = AuditRun(
        run_id="0x" + "ef" * 32,
        kind=RunKind.TRAINING_RUN,
        model_name="loans-lr",
        verdict=verdict,
        model_hash="0x" + "11" * 32,
        report_hash="0x" + "22" * 32,
        report_dir=reports,
        policy_version=3,
        anchor=None,  # type: ignore[arg-type]
        model_status=ModelStatus.BLOCKED if verdict is not Verdict.PASS else ModelStatus.APPROVED,
    )
    monkeypatch.setattr(cli.audit, "load_context", lambda: SimpleNamespace(audit_env=None))
    monkeypatch.setattr(audit.service, "run_audit", lambda env, spec, progress: outcome)
    monkeypatch.setenv("COLUMNS", "200")
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: loans-lr\ndataset: loans\n")
    result = runner.invoke(app, ["audit", "run", str(spec)])
    return result.exit_code, " ".join(result.output.split())


def test_an_inconclusive_run_shows_its_checks_the_rows_needed_and_why_it_is_blocked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Regression (review, session 26): it printed only "INCONCLUSIVE model loans-lr: blocked".
    code, output = _run(tmp_path, monkeypatch, "inconclusive_small", Verdict.INCONCLUSIVE)
    assert code == 3, output
    assert "INCONCLUSIVE model loans-lr: blocked" in output
    assert "No check failed, but 2 of 2 cannot be decided" in output
    assert "INCONCLUSIVE at a gate: block" in output
    for metric, bound, interval, needed in [
        ("demographic_parity_difference", "<= 0.200", "0.000 to 0.356 (95%)", "~1,664"),
        ("false_positive_rate", "<= 0.700", "0.470 to 0.862 (95%)", "~11,656"),
    ]:
        assert metric in output
        assert bound in output
        assert interval in output
        assert f"{needed} rows per group" in output
    assert f"run 0x{'ef' * 32}" in output
    assert f"reports in {tmp_path / 'reports' / 'run'}" in output


def test_a_passing_run_shows_its_checks_without_rows_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    code, output = _run(tmp_path, monkeypatch, "training_pass", Verdict.PASS)
    assert code == 0, output
    assert "PASS model loans-lr: approved" in output
    assert "balanced_accuracy" in output
    assert ">= 0.600" in output
    assert "rows per group" not in output
