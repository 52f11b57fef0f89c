"""``fairgov audit run``: a governed training run from the command line, as a CI gate."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

import audit.publish
from cli.compose import migrated_engine
from cli.main import app
from core.settings import Settings
from governance.chain import deploy
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import dp_threshold, govern, mitigate, register_loans

runner = CliRunner()


@pytest.fixture
def data_dir(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FAIRGOV_RPC_URL", isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def test_audit_run_fails_then_passes_once_mitigation_is_voted(
    data_dir: Path, isolated_chain: Web3, deployment: deploy.Deployment
):
    manifest = register_loans(migrated_engine(Settings()), data_dir)
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1")],
        "allow",
    )
    spec = data_dir / "spec.json"
    spec.write_text(json.dumps({"name": "loans-lr", "dataset": "loans", "seed": 0}))

    failed = runner.invoke(app, ["audit", "run", str(spec)])
    assert failed.exit_code == 1, failed.output
    assert "FAIL" in failed.output
    assert "report hash 0x" in failed.output

    govern(isolated_chain, deployment, [mitigate()], "mitigate")
    passed = runner.invoke(app, ["audit", "run", str(spec)])
    assert passed.exit_code == 0, passed.output
    assert "PASS" in passed.output
    assert "approved" in passed.output


def test_a_bad_spec_is_one_line(data_dir: Path):
    spec = data_dir / "spec.yaml"
    spec.write_text("name: [unclosed\n")
    result = runner.invoke(app, ["audit", "run", str(spec)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_audit_federated_refuses_bad_specs_in_one_line_before_any_node_is_asked(
    data_dir: Path, isolated_chain: Web3, deployment: deploy.Deployment
):
    spec = data_dir / "federated.json"
    spec.write_text(json.dumps({"name": "fed", "federated": True, "datasets": []}))
    bad = runner.invoke(app, ["audit", "federated", str(spec)])
    assert bad.exit_code == 2, bad.output
    assert "datasets" in bad.output
    assert "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1

    spec.write_text(
        json.dumps(
            {
                "name": "fed",
                "federated": True,
                "datasets": ["0x" + "12" * 32],
                "label": "approved",
                "features": ["income"],
                "sensitive_features": ["group"],
            }
        )
    )
    refused = runner.invoke(app, ["audit", "federated", str(spec), "--superlink", "127.0.0.1:1"])
    assert refused.exit_code == 2, refused.output
    assert "not allowed" in refused.output
    assert "Traceback" not in refused.output

    central = runner.invoke(app, ["audit", "run", str(spec)])
    assert central.exit_code == 2, central.output
    assert "fairgov audit federated" in central.output


def test_a_reports_folder_it_cannot_write_is_one_line_and_exit_2(
    data_dir: Path,
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    monkeypatch: pytest.MonkeyPatch,
):
    manifest = register_loans(migrated_engine(Settings()), data_dir)
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1")],
        "allow",
    )
    spec = data_dir / "spec.json"
    spec.write_text(json.dumps({"name": "loans-lr", "dataset": "loans", "n_boot": 20}))

    def read_only(report: object, directory: Path) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(directory))

    monkeypatch.setattr(audit.publish, "render_all", read_only)
    result = runner.invoke(app, ["audit", "run", str(spec)])
    assert result.exit_code == 2, result.output
    (line,) = [x for x in result.output.splitlines() if x.startswith("fairgov:")]
    assert line.endswith("[report_write_failed]")
    assert str(data_dir / "reports") in line
    assert "Traceback" not in result.output
