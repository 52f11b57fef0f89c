"""The decrypted provider key of ``fairgov provider serve`` does not outlive its node.

Review of #16 (finding 4): the key's temporary folder was removed on Ctrl-C only; a node
stopped with SIGTERM left the decrypted key in /tmp. Real processes, real signals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from audit.federated.keyfolder import PREFIX, private_key_folder, remove_stale

KEY = "0x" + "42" * 32
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from audit.federated.keyfolder import private_key_folder, stopped_by_signals
    try:
        with stopped_by_signals(), private_key_folder("KEY", Path(sys.argv[1])) as path:
            print(path, flush=True)
            time.sleep(120)
    except KeyboardInterrupt:
        sys.exit(0)
    """
).replace("KEY", KEY)


def _holder(root: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    path = Path(process.stdout.readline().strip())
    assert path.read_text() == KEY
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.name.startswith(f"{PREFIX}{process.pid}-")
    return process, path


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stopped_node_removes_its_key_folder(tmp_path: Path, signum: int) -> None:
    process, path = _holder(tmp_path)
    process.send_signal(signum)
    assert process.wait(30) == 0
    assert process.stdout is not None
    process.stdout.close()
    assert not path.parent.exists()


def test_the_next_node_removes_the_folder_of_a_killed_one(tmp_path: Path) -> None:
    process, path = _holder(tmp_path)
    process.kill()  # SIGKILL: nothing can run in the process
    process.wait(30)
    assert process.stdout is not None
    process.stdout.close()
    assert path.exists()
    live = tmp_path / f"{PREFIX}{os.getpid()}-live"  # this process: alive
    live.mkdir()
    unnamed = tmp_path / f"{PREFIX}abcdef"  # no pid in its name: left alone
    unnamed.mkdir()
    with private_key_folder(KEY, tmp_path) as mine:
        assert not path.parent.exists()
        assert live.exists()
        assert unnamed.exists()
    assert not mine.parent.exists()
    assert remove_stale(tmp_path) == []
