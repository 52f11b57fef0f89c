"""``fairgov run --superlink-port`` hosts the Flower SuperLink beside the API and scheduler."""

from __future__ import annotations

import socket
import subprocess
import threading
from pathlib import Path

import pytest

from audit.federated.processes import free_port
from tests.integration.cli.run_support import FAIRGOV, ROOT, fairgov_env

pytestmark = pytest.mark.slow


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def test_run_hosts_a_superlink_until_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [*FAIRGOV, "run", "--superlink-port", str(port)],
        cwd=ROOT,
        env=fairgov_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "fairgov is running" in line:
                ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert ready.wait(120), "".join(lines)
        assert f"Flower SuperLink: 127.0.0.1:{port}" in "".join(lines)
        assert _listening(port)
    finally:
        process.send_signal(2)
        process.wait(60)
        reader.join(10)
        assert process.stdout is not None
        process.stdout.close()
    assert process.returncode == 0, "".join(lines)
    assert not _listening(port)
    assert (tmp_path / "superlink" / "superlink.log").exists()
