"""``fairgov provider serve`` and ``fairgov federated superlink`` as a provider runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from audit.federated.processes import flower_env, free_port
from audit.synthetic import make_loans
from cli.main import app
from core.canonical import sha256_hex
from governance.chain import deploy
from tests.helpers import allow_raw
from tests.integration.audit.audit_support import govern

runner = CliRunner()
pytestmark = pytest.mark.chain
PROVIDER_ACCOUNT = "5"  # tests.helpers.PROVIDER_KEY


@pytest.fixture
def clinic(isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path) -> Path:
    data = tmp_path / "clinic.csv"
    make_loans(200, seed=5).to_csv(data, index=False)
    offer = allow_raw(
        isolated_chain,
        deployment,
        "clinic",
        sha256_hex(data.read_bytes()),
        "0x" + "cd" * 32,
        "file://clinic.csv",
    )
    govern(isolated_chain, deployment, [offer], "allow the clinic")
    return data


def _serve(w3: Web3, deployment: deploy.Deployment, data: Path, *extra: str) -> list[str]:
    rpc_url = w3.provider.endpoint_uri  # type: ignore[attr-defined]
    return [
        "provider",
        "serve",
        "--data",
        str(data),
        "--dataset-id",
        "clinic",
        "--superlink",
        "127.0.0.1:1",
        "--rpc-url",
        rpc_url,
        "--policy",
        deployment.addresses.training_policy,
        *extra,
    ]


def test_serve_refuses_an_altered_file_in_one_line(
    isolated_chain: Web3, deployment: deploy.Deployment, clinic: Path
) -> None:
    with clinic.open("a") as data:
        data.write("1.0,0.1,3,salaried,north,A,1\n")
    args = _serve(isolated_chain, deployment, clinic, "--dev-account", PROVIDER_ACCOUNT)
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "differs from the allowed content hash" in result.output
    assert "Traceback" not in result.output


def test_serve_refuses_a_key_that_did_not_offer_the_dataset(
    isolated_chain: Web3, deployment: deploy.Deployment, clinic: Path
) -> None:
    result = runner.invoke(app, _serve(isolated_chain, deployment, clinic, "--dev-account", "7"))
    assert result.exit_code == 2
    assert "run the node with the key of the provider" in result.output


@pytest.mark.slow
def test_a_served_node_joins_a_hosted_superlink(
    isolated_chain: Web3, deployment: deploy.Deployment, clinic: Path, tmp_path: Path
) -> None:
    port = free_port()
    fairgov = [sys.executable, "-m", "cli"]
    link = subprocess.Popen(
        [*fairgov, "federated", "superlink", "--port", str(port), "--state-dir", str(tmp_path)],
        env=flower_env(),
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    node_log = tmp_path / "node.log"
    args = _serve(isolated_chain, deployment, clinic, "--dev-account", PROVIDER_ACCOUNT)
    args[args.index("127.0.0.1:1")] = f"127.0.0.1:{port}"
    args += ["--port", str(free_port())]
    with node_log.open("wb") as log:
        node = subprocess.Popen(
            [*fairgov, *args], env=flower_env(), stdout=log, stderr=log, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        while b"SuperNode ID" not in node_log.read_bytes() and time.monotonic() < deadline:
            assert node.poll() is None, node_log.read_text()
            time.sleep(0.5)
        assert b"SuperNode ID" in node_log.read_bytes()
        assert b"is allowed and its file matches" in node_log.read_bytes()
    finally:
        for process in (node, link):
            os.killpg(process.pid, signal.SIGINT)
            process.wait(30)
        assert link.stderr is not None
        link.stderr.close()
    assert link.returncode == 0


@pytest.mark.slow
def test_a_node_stopped_with_sigterm_leaves_no_decrypted_key(
    isolated_chain: Web3, deployment: deploy.Deployment, clinic: Path, tmp_path: Path
) -> None:
    """Review of #16, finding 4: the key folder was removed on Ctrl-C only."""
    keys = tmp_path / "tmp"
    keys.mkdir()
    args = _serve(isolated_chain, deployment, clinic, "--dev-account", PROVIDER_ACCOUNT)
    args += ["--port", str(free_port())]
    log = tmp_path / "node.log"
    with log.open("wb") as out:
        node = subprocess.Popen(
            [sys.executable, "-m", "cli", *args],
            env=flower_env() | {"TMPDIR": str(keys)},
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        while b"serving as" not in log.read_bytes() and time.monotonic() < deadline:
            assert node.poll() is None, log.read_text()
            time.sleep(0.5)
        (folder,) = keys.glob("fairgov-node-*")
        assert folder.name.startswith(f"fairgov-node-{node.pid}-")
        node.send_signal(signal.SIGTERM)  # the serving process only, as a service manager
        assert node.wait(30) == 0, log.read_text()
    finally:
        if node.poll() is None:
            os.killpg(node.pid, signal.SIGKILL)
            node.wait()
    assert not folder.exists()
    assert list(keys.glob("fairgov-node-*")) == []
