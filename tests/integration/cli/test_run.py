"""``fairgov run`` as a user runs it: a real process, a real anvil, Ctrl-C to stop."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from governance.chain import localchain
from tests.integration.cli.run_support import FAIRGOV, ROOT, Running, fairgov_env


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait_for_job(api_url: str, job: str, timeout: float = 60) -> None:
    """The scheduler's job history as the API shows it, once ``job`` has run.

    Waiting for any job was a race: ``relay_outbox`` is quick and can be recorded
    before the first ``sync_chain`` (stop 33's CI failure).
    """
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        data = _get_json(api_url + "/v1/jobs")["data"]
        seen = {j["job"] for j in data}
        if job in seen:
            return
        time.sleep(0.2)
    pytest.fail(f"{job} did not run within {timeout:.0f} s; jobs seen: {sorted(seen)}")


def _anvil_pids_under(data_dir: Path) -> list[int]:
    result = subprocess.run(
        ["pgrep", "-f", str(data_dir)], capture_output=True, text=True, check=False
    )
    return [int(p) for p in result.stdout.split()]


@pytest.mark.slow
def test_run_deploys_prints_addresses_and_resumes_after_restart(tmp_path: Path):
    first = Running(tmp_path)
    output = first.wait_for("press Ctrl-C to stop")
    deployment = json.loads((tmp_path / "deployment.json").read_text())
    for address in deployment["addresses"].values():
        assert address in output
    assert "deployed" in output
    run_file = json.loads((tmp_path / "run.json").read_text())
    assert f"API: {run_file['api_url']}" in output
    health = _get_json(run_file["api_url"] + "/v1/health")
    assert health["chain"]["status"] == "ok"
    assert health["database"] == {"status": "ok"}
    governance = _get_json(run_file["api_url"] + "/v1/governance")
    assert governance["addresses"]["governor"] == deployment["addresses"]["governor"]
    _wait_for_job(run_file["api_url"], "sync_chain")
    assert "stopping" in first.interrupt()
    assert not (tmp_path / "run.json").exists()
    assert first.process.returncode == 0
    assert _anvil_pids_under(tmp_path) == []
    assert (tmp_path / "chain" / "state.json").exists()

    again = Running(tmp_path)
    output = again.wait_for("press Ctrl-C to stop")
    assert "reusing the deployment" in output
    assert deployment["addresses"]["governor"] in output
    again.interrupt()
    assert again.process.returncode == 0


@pytest.mark.slow
def test_run_refuses_a_deployment_whose_chain_state_is_gone(tmp_path: Path):
    first = Running(tmp_path)
    first.wait_for("press Ctrl-C to stop")
    first.interrupt()
    shutil.rmtree(tmp_path / "chain")
    result = subprocess.run(
        [*FAIRGOV, "run"],
        cwd=ROOT,
        env=fairgov_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "there is no code at that address" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_run_with_an_unreachable_rpc_url_is_one_line(tmp_path: Path):
    url = f"http://127.0.0.1:{localchain.free_port()}"
    result = subprocess.run(
        [*FAIRGOV, "run"],
        cwd=ROOT,
        env=fairgov_env(tmp_path, FAIRGOV_RPC_URL=url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"the chain node at {url} does not answer" in result.stderr


def test_run_with_a_bad_setting_is_one_line(tmp_path: Path):
    result = subprocess.run(
        [*FAIRGOV, "run"],
        cwd=ROOT,
        env=fairgov_env(tmp_path, FAIRGOV_ANVIL_PORT="seventy"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("fairgov: FAIRGOV_ANVIL_PORT='seventy':"), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    # What to do, from the setting's type (review, session 26).
    assert (
        "set FAIRGOV_ANVIL_PORT to a whole number from 0 to 65535 (0 picks a free port), or "
        "unset it" in " ".join(result.stderr.split())
    )


@pytest.mark.slow
def test_run_refuses_a_data_directory_whose_policy_predates_evidence_rules(
    anvil_path: Path, tmp_path: Path
):
    from core.settings import DEV_PRIVATE_KEYS
    from governance.chain import deploy
    from governance.chain import node as chain_client
    from tests.helpers import TEST_CONFIG
    from tests.integration.governance.old_policy import deploy_old_policy

    # A data directory as fairgov deployed it before evidence rules: its TrainingPolicy is
    # the old contract (real bytecode, owned by the timelock), its chain state on disk.
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path / "chain") as node:
        w3 = chain_client.connect(node.rpc_url)
        deployment = deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)
        old = deploy_old_policy(w3, deployment.addresses.timelock)
        addresses = deployment.addresses.model_copy(update={"training_policy": old})
        deploy.save(
            deployment.model_copy(update={"addresses": addresses}), tmp_path / "deployment.json"
        )

    result = subprocess.run(
        [*FAIRGOV, "run"],
        cwd=ROOT,
        env=fairgov_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"the TrainingPolicy {old} predates evidence rules" in lines[0]
    assert "run `fairgov run` to deploy the current contracts" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert _anvil_pids_under(tmp_path) == []


def test_a_taken_api_port_names_the_api_port_setting(tmp_path: Path):
    """Chaos review (session 24): a second run on the same data directory and API port was
    told to set FAIRGOV_ANVIL_PORT."""
    import socket

    from cli.run import _api_port
    from core.settings import Settings
    from governance.errors import PortInUse

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = Settings(data_dir=tmp_path, api_port=port)
        with pytest.raises(PortInUse, match=f"port {port} is already in use") as info:
            _api_port(settings)
    assert "set FAIRGOV_API_PORT to another port" in info.value.message
