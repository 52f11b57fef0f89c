"""The README's commands fail with one actionable line when a prerequisite is missing."""

import os
import shutil
import subprocess
import sys
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
