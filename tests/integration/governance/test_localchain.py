import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from governance import chain as chain_client
from governance import localchain
from governance.errors import AnvilNotFound, AnvilStartFailed, PortInUse


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for every purpose that matters here.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_start_answers_and_stop_ends_the_process(anvil_path: Path, tmp_path: Path):
    node = localchain.start(anvil=anvil_path, chain_dir=tmp_path)
    try:
        assert chain_client.connect(node.rpc_url).eth.chain_id == 31337
    finally:
        localchain.stop(node)
    assert node.process.poll() is not None
    with pytest.raises(Exception):  # noqa: B017, PT011 - any connection failure will do
        chain_client.connect(node.rpc_url, timeout=1)


def test_state_survives_a_restart(anvil_path: Path, tmp_path: Path):
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path) as node:
        w3 = chain_client.connect(node.rpc_url)
        w3.provider.make_request("anvil_mine", ["0x5"])  # type: ignore[arg-type]
        head = w3.eth.get_block("latest")
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path) as node:
        again = chain_client.connect(node.rpc_url).eth.get_block("latest")
    assert again["number"] == head["number"] == 5
    assert again["hash"] == head["hash"]


def test_a_taken_port_is_reported(anvil_path: Path, tmp_path: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} is already in use"):
            localchain.start(anvil=anvil_path, chain_dir=tmp_path, port=port)


def test_missing_anvil_is_one_actionable_line(tmp_path: Path):
    with pytest.raises(AnvilNotFound, match="FAIRGOV_ANVIL_PATH"):
        localchain.find_anvil(tmp_path / "no-such-anvil")


def test_an_anvil_that_exits_is_reported_with_its_log(tmp_path: Path):
    fake = tmp_path / "anvil"
    fake.write_text("#!/bin/sh\necho 'bad flag' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(AnvilStartFailed, match="exited with status 3") as info:
        localchain.start(anvil=fake, chain_dir=tmp_path / "chain")
    assert "bad flag" in Path(info.value.details["log_file"]).read_text()


def test_no_orphan_when_the_parent_is_killed(anvil_path: Path, tmp_path: Path):
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from governance import localchain\n"
        f"anvil, chain_dir = Path({str(anvil_path)!r}), Path({str(tmp_path)!r})\n"
        "node = localchain.start(anvil=anvil, chain_dir=chain_dir)\n"
        "print(node.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    anvil_pid = int(parent.stdout.readline())
    assert _alive(anvil_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    parent.stdout.close()
    assert _wait_gone(anvil_pid), "anvil outlived the process that started it"
