"""``fairgov run`` as a user runs it: a real process, a real anvil, Ctrl-C to stop."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from governance import localchain

ROOT = Path(__file__).resolve().parents[3]
FAIRGOV = [sys.executable, "-m", "cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAIRGOV_")}
    env.update(
        {
            "FAIRGOV_DATA_DIR": str(data_dir),
            "FAIRGOV_ANVIL_PORT": "0",
            "FAIRGOV_API_PORT": "0",
            "FAIRGOV_SYNC_INTERVAL_SECONDS": "1",
            "COLUMNS": "120",
        }
    )
    env.update(extra)
    return env


class Running:
    """A ``fairgov run`` process whose output is collected by a thread."""

    def __init__(self, data_dir: Path, **extra: str) -> None:
        self.process = subprocess.Popen(
            [*FAIRGOV, "run"],
            cwd=ROOT,
            env=_env(data_dir, **extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, marker: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while marker not in self.output:
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.process.kill()
                self.process.wait()
                pytest.fail(f"no {marker!r} in the output:\n{self.output}")
            time.sleep(0.05)
        return self.output

    def interrupt(self) -> str:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.output


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _wait_for_jobs(api_url: str, timeout: float = 30) -> list[dict]:
    """The scheduler's job history as the API shows it, once a job has run."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = _get_json(api_url + "/v1/jobs")["data"]
        if data:
            return data
        time.sleep(0.2)
    pytest.fail("no scheduled job ran")


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
    jobs = _wait_for_jobs(run_file["api_url"])
    assert "sync_chain" in {j["job"] for j in jobs}
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
        env=_env(tmp_path),
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
        env=_env(tmp_path, FAIRGOV_RPC_URL=url),
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
        env=_env(tmp_path, FAIRGOV_ANVIL_PORT="seventy"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("fairgov: FAIRGOV_ANVIL_PORT:"), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
