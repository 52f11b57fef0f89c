"""``fairgov models register`` and ``fairgov audit external`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from cli.compose import migrated_engine
from cli.main import app
from core.settings import Settings
from governance.chain import deploy
from tests.helpers import signed_offer
from tests.integration.audit.audit_support import dp_threshold, govern, register_loans
from tests.unit.audit.external import onnx_models as models
from tests.unit.audit.external.torch_models import torch_mlp

pytestmark = [pytest.mark.chain, pytest.mark.slow]
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


def test_register_then_audit_a_pytorch_model(
    data_dir: Path, isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    manifest = register_loans(migrated_engine(Settings()), data_dir)
    govern(
        isolated_chain,
        deployment,
        [signed_offer(isolated_chain, deployment, manifest), dp_threshold("0.1")],
        "allow",
    )
    onnx_file = data_dir / "mlp.onnx"
    onnx_file.write_bytes(torch_mlp(*models.loans(600, seed=1), dynamo=True).data)
    registered = runner.invoke(app, ["models", "register", str(onnx_file), "--name", "mlp"])
    assert registered.exit_code == 0, registered.output
    assert "exporter   pytorch 2.13.0" in registered.output
    assert "'output: probability' or 'output: logit'" in registered.output
    model_hash = next(
        line.split()[-1] for line in registered.output.splitlines() if "model hash" in line
    )

    spec = data_dir / "external.json"
    spec.write_text(json.dumps({"name": "mlp", "model_hash": model_hash, "dataset": "loans"}))
    missing_kind = runner.invoke(app, ["audit", "external", str(spec)])
    assert missing_kind.exit_code == 2, missing_kind.output
    assert "fairgov: mlp has one float output (output) and no label output" in missing_kind.output
    assert "Traceback" not in missing_kind.output

    spec.write_text(
        json.dumps(
            {
                "name": "mlp",
                "model_hash": model_hash,
                "dataset": "loans",
                "output": "logit",
                "inputs": list(models.NUMERIC),
                "n_boot": 0,
            }
        )
    )
    audited = runner.invoke(app, ["audit", "external", str(spec)])
    assert audited.exit_code in {0, 1, 3}, audited.output
    assert "report hash 0x" in audited.output

    listed = runner.invoke(app, ["models", "list"])
    assert model_hash in listed.output


def test_registering_bytes_that_are_not_onnx_prints_one_line(data_dir: Path) -> None:
    junk = data_dir / "model.onnx"
    junk.write_bytes(b"\x00\x01 not a model")
    result = runner.invoke(app, ["models", "register", str(junk)])
    assert result.exit_code == 2, result.output
    assert "fairgov: model is not a valid ONNX model" in result.output
    assert "Traceback" not in result.output
