"""``fairgov run`` with its API port taken refuses before it starts a chain or deploys
(new-user review, session 26: it started anvil and deployed into a new data directory,
then refused with ``port_in_use`` about ten seconds later)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest

from tests.integration.cli.run_support import FAIRGOV, ROOT, fairgov_env


@pytest.mark.slow
def test_a_taken_api_port_is_refused_before_anything_is_started(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*FAIRGOV, "run"],
            cwd=ROOT,
            env=fairgov_env(tmp_path, FAIRGOV_API_PORT=str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert f"port {port} is already in use" in result.stderr
    assert "FAIRGOV_API_PORT" in result.stderr
    assert not (tmp_path / "deployment.json").exists()
    assert not (tmp_path / "chain").exists()
