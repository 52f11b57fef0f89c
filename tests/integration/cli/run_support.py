"""Running ``fairgov`` as a user does, in a subprocess, for the CLI tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FAIRGOV = [sys.executable, "-m", "cli"]


def fairgov_env(data_dir: Path, **extra: str) -> dict[str, str]:
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
            env=fairgov_env(data_dir, **extra),
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
        """Ctrl-C, then the whole output; killed if it does not stop within 30 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()
        return self.output
