import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from governance.chain import localchain
from governance.chain import node as chain_client
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


def test_the_checkouts_own_anvil_is_found_from_any_directory(tmp_path: Path):
    """Run from elsewhere (a benchmark, ``fairgov run`` in a data directory), anvil is the
    npm package's binary in the checkout the code runs from."""
    root = Path(localchain.__file__).resolve().parents[2]
    found = localchain.find_anvil(search_from=tmp_path)
    assert found.is_relative_to(root / "contracts" / "node_modules")


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
        "from governance.chain import localchain\n"
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


def test_a_crash_loses_at_most_the_last_unsaved_second(anvil_path: Path, tmp_path: Path):
    """SIGKILL: no dump at exit; the periodic save has the chain as it was a moment ago."""
    node = localchain.start(anvil=anvil_path, chain_dir=tmp_path)
    try:
        w3 = chain_client.connect(node.rpc_url)
        w3.provider.make_request("anvil_mine", ["0x5"])  # type: ignore[arg-type]
        head = w3.eth.get_block("latest")
        time.sleep(localchain.DURABLE_AFTER_SECONDS)
    finally:
        node.process.kill()
        node.process.wait()
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path) as again:
        restored = chain_client.connect(again.rpc_url).eth.get_block("latest")
    assert restored["number"] == head["number"] == 5
    assert restored["hash"] == head["hash"]


def test_the_supervisor_restarts_a_dead_chain_on_the_same_port(anvil_path: Path, tmp_path: Path):
    said: list[str] = []
    supervisor = localchain.Supervisor(
        lambda port: localchain.start(anvil=anvil_path, chain_dir=tmp_path, port=port),
        backoff_base=0.1,
        notify=said.append,
    )
    first = supervisor.start()
    try:
        w3 = chain_client.connect(first.rpc_url)
        w3.provider.make_request("anvil_mine", ["0x3"])  # type: ignore[arg-type]
        time.sleep(localchain.DURABLE_AFTER_SECONDS)
        first.process.kill()
        deadline = time.monotonic() + 30
        while supervisor.restarts == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert supervisor.restarts == 1
        assert supervisor.chain.rpc_url == first.rpc_url
        assert supervisor.chain.process.pid != first.process.pid
        assert chain_client.connect(first.rpc_url).eth.block_number == 3
        assert said[0].startswith("the local chain exited with status -9; starting it again")
        assert said[-1] == f"the local chain is running again on {first.rpc_url}"
    finally:
        supervisor.stop()
    assert supervisor.chain.process.poll() is not None


def test_the_chain_lock_admits_one_holder_and_is_freed_by_its_death(tmp_path: Path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from governance.chain import localchain; "
            "lock = localchain.ChainLock(Path(sys.argv[1])); "
            "print(lock.try_acquire(), flush=True); time.sleep(60)",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    lock = localchain.ChainLock(tmp_path)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "True"
        assert not lock.try_acquire()
        holder.kill()  # no clean release: the kernel frees the lock
        holder.wait()
        assert lock.try_acquire()
    finally:
        lock.release()
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_the_clock_mines_only_while_something_waits(anvil_path: Path, tmp_path: Path):
    waiting = False
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path) as node:
        w3 = chain_client.connect(node.rpc_url)
        clock = localchain.ChainClock(node.rpc_url, block_time=1, waiting=lambda: waiting)
        clock.check()
        start = w3.eth.block_number
        time.sleep(2.5)
        assert w3.eth.block_number == start  # idle: no blocks, nothing grows
        waiting = True
        clock.check()
        assert w3.provider.make_request("anvil_getAutomine", [])["result"] is False  # type: ignore[arg-type]
        deadline = time.monotonic() + 30
        while w3.eth.block_number < start + 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert w3.eth.block_number >= start + 2  # timed blocks while a proposal waits
        waiting = False
        clock.check()
        assert w3.provider.make_request("anvil_getAutomine", [])["result"] is True  # type: ignore[arg-type]
        stopped = w3.eth.block_number
        time.sleep(2.5)
        assert w3.eth.block_number == stopped


def test_anvil_holds_the_chain_lock_until_it_exits(anvil_path: Path, tmp_path: Path):
    """Whoever started anvil may be gone; the state file stays locked until anvil, which
    writes it last, has exited."""
    lock = localchain.ChainLock(tmp_path)
    assert lock.try_acquire()
    node = localchain.start(anvil=anvil_path, chain_dir=tmp_path, lock=lock)
    (fd,) = lock.inheritable_fds()
    os.close(fd)  # the starter's own descriptor is gone, as when its process dies
    other = localchain.ChainLock(tmp_path)
    try:
        assert not other.try_acquire()
        localchain.stop(node)
        assert other.try_acquire()
    finally:
        other.release()
        localchain.stop(node)
