"""A local anvil chain whose state survives restarts.

anvil comes from the npm package ``@foundry-rs/anvil`` (its native binary ships inside the
package). The chain's state is dumped to ``--state`` on a clean stop and every few seconds,
and loaded on the next start. anvil is tied to the process that starts it: it gets SIGTERM
when its parent dies, so no orphan outlives a crash.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

from core.settings import DEV_MNEMONIC
from governance.errors import AnvilNotFound, AnvilStartFailed, PortInUse

_PR_SET_PDEATHSIG = 1
_STATE_INTERVAL_SECONDS = 5


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
    roots = [search_from or Path.cwd(), Path(__file__).resolve().parent.parent]
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
) -> LocalChain:
    """Start anvil with its state in ``chain_dir`` and wait until it answers.

    ``port=0`` picks a free port. ``block_time=None`` mines one block per transaction.
    ``persist=False`` keeps the chain in memory only (tests and benchmarks): dumping the
    state every few seconds costs a large share of anvil's time on a busy chain.
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
            "--state-interval", str(_STATE_INTERVAL_SECONDS),
            "--preserve-historical-states",
        ]  # fmt: skip
    if block_time is not None:
        command += ["--block-time", str(block_time)]
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - prctl must run in the child
        )
    chain = LocalChain(process, f"http://127.0.0.1:{port}", port, chain_id, state_file, log_file)
    try:
        _wait_until_ready(chain, timeout)
    except BaseException:
        stop(chain)
        raise
    return chain


def _wait_until_ready(chain: LocalChain, timeout: float) -> None:
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
