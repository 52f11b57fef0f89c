"""Commands find the running stack from run.json, or refuse with one line."""

from __future__ import annotations

import gc
import os
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from cli import compose
from cli.compose import NoRunningStack, RunningStack, write_run_file
from cli.main import app
from governance.chain import deploy

runner = CliRunner()


@pytest.fixture
def data_dir(
    deployment: deploy.Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A data directory with the session chain's deployment, and no FAIRGOV_RPC_URL."""
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("FAIRGOV_RPC_URL", raising=False)
    monkeypatch.setenv("FAIRGOV_ANVIL_PORT", "0")
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _refusal(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def _exited_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_without_a_running_stack_commands_refuse_instead_of_guessing_a_port(data_dir: Path):
    line = _refusal("relay")
    assert line.startswith(f"fairgov: no fairgov is running on {data_dir}")
    assert "8545" not in line
    write_run_file(data_dir / "run.json", RunningStack("http://127.0.0.1:1", pid=_exited_pid()))
    assert "has exited" in _refusal("relay")


def test_commands_use_the_node_that_run_json_names(
    data_dir: Path, isolated_chain: Web3, deployment: deploy.Deployment
):
    url = isolated_chain.provider.endpoint_uri  # type: ignore[attr-defined]
    stack = RunningStack(
        url, api_url="http://127.0.0.1:1", pid=os.getpid(), chain_id=deployment.chain_id
    )
    write_run_file(data_dir / "run.json", stack)
    result = runner.invoke(app, ["relay"])
    assert result.exit_code == 0, result.output

    other = {**deployment.contract_addresses(), "FairnessGovernor": "0x" + "11" * 20}
    write_run_file(data_dir / "run.json", RunningStack(url, pid=os.getpid(), addresses=dict(other)))
    line = _refusal("relay")
    assert "uses another FairnessGovernor" in line


def test_the_uvicorn_factory_uses_the_node_that_run_json_names(
    data_dir: Path, isolated_chain: Web3, deployment: deploy.Deployment
):
    # It used to connect to FAIRGOV_RPC_URL's default, 127.0.0.1:8545, whatever ran there.
    with pytest.raises(NoRunningStack):
        compose.api_app()
    url = isolated_chain.provider.endpoint_uri  # type: ignore[attr-defined]
    stack = RunningStack(url, pid=os.getpid(), chain_id=deployment.chain_id)
    write_run_file(data_dir / "run.json", stack)
    app = compose.api_app()
    try:
        assert app.state.ctx.rpc_url == url
        assert app.state.ctx.deployment == deployment
    finally:
        app.state.ctx.close()
        gc.unfreeze()
