"""A local anvil chain whose state survives restarts, crashes and a second ``fairgov run``.

anvil comes from the npm package ``@foundry-rs/anvil`` (its native binary ships inside the
package). The chain's state is dumped to ``--state`` every second and on a clean stop
(SIGTERM), and loaded on the next start, so a crash loses at most the last second of blocks:
the relayer finds what vanished and sends it again. No historical states are kept (the
dump and anvil's memory stay flat on an idle chain); old policy comes from events, not from
archive state. anvil is tied to the process that starts it: it gets SIGTERM when its parent
dies, so no orphan outlives a crash.

:class:`ChainLock` lets one process at a time run a chain on a state file, and
:class:`Supervisor` restarts a chain that died, with backoff, on the same port.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from core.devchain import DEV_MNEMONIC
from governance.errors import AnvilNotFound, AnvilStartFailed, PortInUse

_log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
#: Seconds between state dumps: what a crash can lose at most.
STATE_INTERVAL_SECONDS = 1
#: A block older than this has been saved (several dumps ago): a crash no longer loses it.
DURABLE_AFTER_SECONDS = 5 * STATE_INTERVAL_SECONDS
#: Recent states anvil keeps in memory (for calls at recent blocks); older ones are dropped.
KEPT_STATES = 256


@dataclass(frozen=True)
class LocalChain:
    """A running anvil process."""

    process: subprocess.Popen[bytes]
    rpc_url: str
    port: int
    chain_id: int
    state_file: Path
    log_file: Path


def find_anvil(explicit: Path | None = None, *, search_from: Path | None = None) -> Path:
    """The anvil binary: ``explicit``, the npm package's native binary, or ``anvil`` on PATH."""
    if explicit is not None:
        if explicit.is_file() and os.access(explicit, os.X_OK):
            return explicit
        raise AnvilNotFound()
    # The checkout this package runs from: governance/chain/localchain.py -> the root.
    roots = [search_from or Path.cwd(), Path(__file__).resolve().parents[2]]
    for root in roots:
        for candidate in sorted(root.glob("contracts/node_modules/@foundry-rs/anvil-*/bin/anvil")):
            if os.access(candidate, os.X_OK):
                return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise AnvilNotFound()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_taken(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _die_with_parent() -> None:
    # Linux only: anvil gets SIGTERM (and dumps its state) when the starting process dies.
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start(
    *,
    anvil: Path,
    chain_dir: Path,
    port: int = 0,
    chain_id: int = 31337,
    block_time: float | None = None,
    accounts: int = 10,
    persist: bool = True,
    timeout: float = 30.0,
    lock: ChainLock | None = None,
) -> LocalChain:
    """Start anvil with its state in ``chain_dir`` and wait until it answers.

    ``port=0`` picks a free port. ``block_time=None`` mines one block per transaction.
    ``persist=False`` keeps the chain in memory only (tests and benchmarks): dumping the
    state every few seconds costs a large share of anvil's time on a busy chain.
    ``lock``, held by the caller, is inherited by anvil: the directory stays locked until
    anvil has exited (and written its state), even when the caller dies first.
    """
    if port == 0:
        port = free_port()
    elif _port_taken(port):
        raise PortInUse(port)
    chain_dir.mkdir(parents=True, exist_ok=True)
    state_file = chain_dir / "state.json"
    log_file = chain_dir / "anvil.log"
    command = [
        str(anvil),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--chain-id", str(chain_id),
        "--mnemonic", DEV_MNEMONIC,
        "--accounts", str(accounts),
    ]  # fmt: skip
    if persist:
        command += [
            "--state", str(state_file),
            "--state-interval", str(STATE_INTERVAL_SECONDS),
        ]  # fmt: skip
    command += ["--prune-history", str(KEPT_STATES)]
    if block_time is not None:
        command += ["--block-time", str(block_time)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl must run in the child
            pass_fds=() if lock is None else lock.inheritable_fds(),
        )
    chain = LocalChain(process, f"http://127.0.0.1:{port}", port, chain_id, state_file, log_file)
    try:
        wait_until_ready(chain, timeout)
    except BaseException:
        stop(chain)
        raise
    return chain


def wait_until_ready(chain: LocalChain, timeout: float) -> None:
    """Return once anvil answers; :class:`AnvilStartFailed` if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    payload = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    while time.monotonic() < deadline:
        code = chain.process.poll()
        if code is not None:
            raise AnvilStartFailed(f"anvil exited with status {code}", chain.log_file)
        with contextlib.suppress(requests.ConnectionError, requests.Timeout):
            response = requests.post(chain.rpc_url, json=payload, timeout=1)
            if response.ok and "result" in response.json():
                return
        time.sleep(0.05)
    raise AnvilStartFailed(f"no answer on {chain.rpc_url} within {timeout:.0f} s", chain.log_file)


def stop(chain: LocalChain, *, timeout: float = 15.0) -> None:
    """Stop anvil cleanly (it dumps its state), killing it if it does not exit in time."""
    if chain.process.poll() is not None:
        return
    chain.process.send_signal(signal.SIGTERM)
    try:
        chain.process.wait(timeout)
    except subprocess.TimeoutExpired:
        chain.process.kill()
        chain.process.wait()


@contextlib.contextmanager
def running(
    *,
    anvil: Path,
    chain_dir: Path,
    port: int = 0,
    chain_id: int = 31337,
    block_time: float | None = None,
    persist: bool = True,
) -> Iterator[LocalChain]:
    """Context manager around :func:`start` and :func:`stop`."""
    chain = start(
        anvil=anvil,
        chain_dir=chain_dir,
        port=port,
        chain_id=chain_id,
        block_time=block_time,
        persist=persist,
    )
    try:
        yield chain
    finally:
        stop(chain)


class ChainLock:
    """An OS lock on a chain directory: one process at a time runs anvil on its state file.

    The lock is an ``flock`` on ``chain_dir/anvil.lock``; the kernel releases it when the
    holder exits, however it exits, so a crashed holder never blocks the next start.
    """

    def __init__(self, chain_dir: Path) -> None:
        chain_dir.mkdir(parents=True, exist_ok=True)
        self.path = chain_dir / "anvil.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def inheritable_fds(self) -> tuple[int, ...]:
        """The lock's descriptor, for a child that must hold the lock while it lives."""
        if self._fd is None:
            raise RuntimeError("the chain lock is not held")
        return (self._fd,)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class Supervisor:
    """Keeps one anvil running: a chain that dies is started again on the same port.

    The first start happens in :meth:`start` (its errors reach the caller); after that a
    thread watches the process and restarts it with exponential backoff, so the RPC URL
    stays the same for every client. While the chain is down the rest of the service
    keeps working: ballots queue in the outbox and relay after the restart.
    """

    def __init__(
        self,
        launch: Callable[[int], LocalChain],
        *,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        poll_seconds: float = 0.2,
        notify: Callable[[str], None] = _log.warning,
    ) -> None:
        self._launch = launch
        self._notify = notify
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._chain: LocalChain | None = None
        self._lock = threading.Lock()
        #: How many times the chain was started again after dying.
        self.restarts = 0

    @property
    def chain(self) -> LocalChain:
        if self._chain is None:
            raise RuntimeError("the supervisor was not started")
        return self._chain

    def start(self, port: int = 0) -> LocalChain:
        """Start the chain now, then watch it in a background thread."""
        self._chain = self._launch(port)
        self._thread = threading.Thread(target=self._watch, name="fairgov-anvil", daemon=True)
        self._thread.start()
        return self._chain

    def stop(self) -> None:
        """Stop watching, then stop the chain cleanly (it dumps its state)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        with self._lock:
            if self._chain is not None:
                stop(self._chain)

    def _watch(self) -> None:
        failures = 0
        while not self._stopping.wait(self._poll):
            chain = self.chain
            code = chain.process.poll()
            if code is None:
                failures = 0
                continue
            delay = min(self._backoff_base * 2**failures, self._backoff_max)
            self._notify(
                f"the local chain exited with status {code}; starting it again in "
                f"{delay:.1f} s (log: {chain.log_file})"
            )
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                try:
                    self._chain = self._launch(chain.port)
                except (AnvilStartFailed, PortInUse) as exc:
                    failures += 1
                    self._notify(f"could not start the local chain again: {exc}")
                    continue
            self.restarts += 1
            failures = 0
            self._notify(f"the local chain is running again on {self.chain.rpc_url}")


class ChainClock:
    """Mines blocks only while something waits for them.

    The chain mines one block per transaction (automine) while idle, so an idle chain
    grows by nothing; while ``waiting()`` says that a proposal needs blocks to pass (its
    voting window, or its timelock ETA), the chain mines every ``block_time`` seconds.
    The mode is read back from anvil on every check, so a restarted anvil (which starts in
    automine) is switched again.
    """

    def __init__(
        self,
        rpc_url: str,
        *,
        block_time: float,
        waiting: Callable[[], bool],
        poll_seconds: float = 1.0,
    ) -> None:
        self.rpc_url = rpc_url
        self.interval = max(1, round(block_time))
        self._waiting = waiting
        self._poll = poll_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="fairgov-clock", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()

    def check(self) -> None:
        """Switch the chain to interval mining or back to automine, as needed now."""
        automine = self._call("anvil_getAutomine", [])
        if self._waiting():
            if automine:
                self._call("evm_setIntervalMining", [self.interval])
        elif automine is False:
            self._call("evm_setAutomine", [True])

    def _run(self) -> None:
        while not self._stopping.wait(self._poll):
            try:
                self.check()
            except (requests.RequestException, ValueError, KeyError) as exc:
                _log.debug("chain clock: %s", exc)  # the node is down: the supervisor acts
            except Exception:
                _log.exception("chain clock failed; it tries again")

    def _call(self, method: str, params: list[object]) -> object:
        payload = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        response = requests.post(self.rpc_url, json=payload, timeout=5)
        answer = response.json()
        if "error" in answer:
            raise ValueError(str(answer["error"]))
        return answer["result"]
