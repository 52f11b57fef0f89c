"""The README's commands fail with one actionable line when a prerequisite is missing."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def _run_without(tmp_path: Path, missing: str, command: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tools = {t: shutil.which(t) for t in ("node", "npm", "sha256sum", "cat", "cut", "dirname")}
    # The real interpreter, not a version manager's shim that needs more of PATH.
    tools["python3"] = os.path.realpath(sys.executable)
    for tool, found in tools.items():
        if tool != missing and found:
            (bin_dir / tool).symlink_to(found)
    env = {**os.environ, "PATH": str(bin_dir)}
    env.pop("FAIRGOV_PYTHON", None)
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", str(ROOT / "dev.sh"), command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["run", "check", "test"])
@pytest.mark.parametrize(
    ("missing", "message"),
    [("node", "node was not found"), ("npm", "npm was not found"), ("python3", "Python 3.11")],
)
def test_missing_prerequisite_is_one_line(tmp_path: Path, command: str, missing: str, message: str):
    result = _run_without(tmp_path, missing, command)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


def _run_tests_with(
    tmp_path: Path, *, pytest_exit: int, brownie: str, lint: str = "echo lint-ran"
) -> subprocess.CompletedProcess[str]:
    """``./dev.sh test``'s orchestration with its steps replaced by small commands: what
    runs in the background, what is printed, and which exit status wins. (The real steps are
    the suite itself; CI runs them.)"""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\necho "pytest-ran $*"\nexit {pytest_exit}\n')
    python.chmod(0o755)
    script = f"""
source {ROOT / "dev.sh"}
VENV={venv}
bootstrap() {{ :; }}
ensure_brownie() {{ :; }}
ensure_chromium() {{ :; }}
lint() {{ {lint}; }}
brownie() {{ {brownie}; }}
run_tests
"""
    return subprocess.run(
        [shutil.which("bash") or "/bin/bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_full_run_passes_when_pytest_and_brownie_pass(tmp_path: Path):
    result = _run_tests_with(tmp_path, pytest_exit=0, brownie="echo brownie-passed")
    assert result.returncode == 0, result.stderr + result.stdout
    out = result.stdout
    assert out.index("lint-ran") < out.index("pytest-ran") < out.index("brownie-passed")
    assert "pytest-ran -m pytest -n logical --dist loadfile" in out
    assert "failed" not in result.stderr


@pytest.mark.parametrize(
    ("pytest_exit", "brownie_exit", "expected", "messages"),
    [
        (1, 0, 1, ["pytest failed (exit 1)"]),
        (0, 3, 3, ["brownie contract tests failed (exit 3)"]),
        (2, 3, 2, ["pytest failed (exit 2)", "brownie contract tests failed (exit 3)"]),
    ],
)
def test_the_full_run_fails_when_either_fails(
    tmp_path: Path, pytest_exit: int, brownie_exit: int, expected: int, messages: list[str]
):
    result = _run_tests_with(
        tmp_path, pytest_exit=pytest_exit, brownie=f"echo brownie-output; exit {brownie_exit}"
    )
    assert result.returncode == expected, result.stderr + result.stdout
    assert "brownie-output" in result.stdout  # the background output is shown even then
    for message in messages:
        assert message in result.stderr


def test_a_lint_failure_stops_the_background_brownie_run_and_what_it_started(tmp_path: Path):
    pid_file = tmp_path / "sleeper.pid"
    brownie = f"sleep 300 & echo $! > {pid_file}; wait"
    wait_for_pid = f"until [ -s {pid_file} ]; do sleep 0.05; done"
    result = _run_tests_with(
        tmp_path, pytest_exit=0, brownie=brownie, lint=f"{wait_for_pid}; false"
    )
    assert result.returncode == 1, result.stderr + result.stdout
    assert "pytest-ran" not in result.stdout
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sleeper}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{sleeper}").exists(), "the background brownie run outlived dev.sh"
