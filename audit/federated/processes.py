"""Flower's processes, started and watched by fairgov, and the driver of one run.

- :func:`superlink`: a SuperLink on ``host:port`` (one HTTP port in Flower 1.42 carries
  the Fleet, Control and ServerAppIo APIs); it starts fairgov's ServerApp for each run.
- :func:`supernode`: a provider's SuperNode running fairgov's ClientApp over its file.
- :func:`run_federated`: submit a run to a SuperLink with ``flwr run``, stream one line
  per step, wait, and read the :class:`~audit.federated.outcome.FederatedOutcome`.

Each process runs in its own session, so stopping it also stops the app processes it
spawned; a process that dies or a run that overstays its timeout raises
:class:`~audit.federated.errors.FederatedRunFailed` with the last line of its log.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO

import tomli_w

from audit.federated.errors import FederatedRunFailed, TooFewNodes
from audit.federated.node import NodeConfig
from audit.federated.outcome import FederatedOutcome, NodeRefusal
from audit.federated.protocol import RunPlan

#: The Flower App directory `flwr run` bundles (a pyproject naming fairgov's apps).
APP_DIR = Path(__file__).with_name("app")
_ROOT = Path(__file__).resolve().parents[2]
_CONNECTION = "fairgov"


def executable(name: str) -> str:
    """A Flower executable next to this interpreter (the venv), else on ``PATH``."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FederatedRunFailed(f"{name} is not installed: install flwr (pip install flwr)")
    return found


def flower_env() -> dict[str, str]:
    """The environment of Flower processes: fairgov importable, Flower's tools on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    paths = [str(_ROOT), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class FlowerProcess:
    """A running Flower executable and the file its output goes to."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def last_line(self) -> str:
        try:
            lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if ln.strip()]
        except OSError:
            return "no log"
        return lines[-1].strip()[:300] if lines else "no output"

    def check_alive(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise FederatedRunFailed(f"the {self.name} exited with code {code}: {self.last_line()}")

    def stop(self, grace: float = 10.0) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def _start(name: str, command: Sequence[str], log: Path) -> FlowerProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=flower_env(),
            start_new_session=True,
        )
    return FlowerProcess(name, process, log)


def _wait_listening(flower: FlowerProcess, host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        flower.check_alive()
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise FederatedRunFailed(
        f"the {flower.name} did not listen on {host}:{port} in {timeout:.0f} s"
    )


@dataclass(frozen=True)
class ServerCertificates:
    """The SuperLink's TLS files (PEM): the CA certificate, its own certificate and key."""

    ca_certfile: Path
    certfile: Path
    keyfile: Path

    def arguments(self) -> list[str]:
        return [
            "--ssl-ca-certfile",
            str(self.ca_certfile),
            "--ssl-certfile",
            str(self.certfile),
            "--ssl-keyfile",
            str(self.keyfile),
        ]


def superlink_command(
    *, host: str, port: int, state_dir: Path, certificates: ServerCertificates | None = None
) -> list[str]:
    """``flower-superlink`` on ``host:port``: with TLS when ``certificates`` are given,
    else insecure (loopback, or a network you control)."""
    security = certificates.arguments() if certificates else ["--insecure"]
    return [
        executable("flower-superlink"),
        *security,
        "--host",
        host,
        "--port",
        str(port),
        "--database",
        str(state_dir / "superlink.db"),
        "--disable-runtime-dependency-installation",
    ]


@contextmanager
def superlink(
    *,
    host: str = "127.0.0.1",
    port: int,
    state_dir: Path,
    certificates: ServerCertificates | None = None,
    timeout: float = 60.0,
) -> Iterator[FlowerProcess]:
    """Run a SuperLink until the block ends."""
    state_dir.mkdir(parents=True, exist_ok=True)
    command = superlink_command(
        host=host, port=port, state_dir=state_dir, certificates=certificates
    )
    flower = _start("SuperLink", command, state_dir / "superlink.log")
    try:
        _wait_listening(flower, "127.0.0.1" if host == "0.0.0.0" else host, port, timeout)
        yield flower
    finally:
        flower.stop()


def supernode_command(
    config: NodeConfig, *, superlink: str, port: int, root_certificates: Path | None = None
) -> list[str]:
    """``flower-supernode`` connected to ``superlink`` running fairgov's ClientApp with
    ``config``; ``port`` is the node's own local API (one per node on a machine). With
    ``root_certificates`` (the SuperLink's CA, PEM) the connection uses TLS."""
    security = ["--root-certificates", str(root_certificates)] if root_certificates else []
    return [
        executable("flower-supernode"),
        *(security or ["--insecure"]),
        "--superlink",
        superlink,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--node-config",
        config.to_node_config(),
    ]


@contextmanager
def supernode(
    config: NodeConfig, *, superlink: str, port: int, log: Path, timeout: float = 60.0
) -> Iterator[FlowerProcess]:
    """Run a provider's SuperNode until the block ends."""
    flower = _start(
        f"SuperNode of {config.dataset_id[:10]}…",
        supernode_command(config, superlink=superlink, port=port),
        log,
    )
    try:
        _wait_listening(flower, "127.0.0.1", port, timeout)
        yield flower
    finally:
        flower.stop()


def _flwr_home(work_dir: Path, address: str) -> Path:
    home = work_dir / "flwr-home"
    home.mkdir(parents=True, exist_ok=True)
    config = {
        "superlink": {"default": _CONNECTION, _CONNECTION: {"address": address, "insecure": True}}
    }
    (home / "config.toml").write_text(tomli_w.dumps(config))
    return home


def _pump(stream: IO[bytes], lines: queue.Queue[str | None]) -> None:
    for raw in stream:
        lines.put(raw.decode(errors="replace").rstrip())
    lines.put(None)


def run_federated(
    plan: RunPlan,
    *,
    superlink: str,
    work_dir: Path,
    timeout: float = 600.0,
    progress: Callable[[str], None] = print,
    watch: Sequence[FlowerProcess] = (),
) -> FederatedOutcome:
    """Submit ``plan`` to the SuperLink at ``superlink`` and return its outcome.

    ``progress`` gets one line per step (nodes connected, refusals, each round, the
    audit). ``watch`` lists processes this run depends on (a local SuperLink): if one dies,
    the run fails at once instead of at its timeout.

    Raises
    ------
    TooFewNodes
        Fewer nodes than the voted minimum were accepted (or remained to the audit).
    FederatedRunFailed
        ``flwr run`` failed, a watched process died, the run stopped with another code,
        or it overstayed ``timeout`` seconds.

    Examples
    --------
    >>> outcome = run_federated(plan, superlink="127.0.0.1:9093", work_dir=tmp)  # doctest: +SKIP
    >>> [n.dataset_id for n in outcome.nodes]  # doctest: +SKIP
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    outcome_path = work_dir / "outcome.json"
    outcome_path.unlink(missing_ok=True)
    plan = replace(plan, outcome=outcome_path.resolve(), superlink=superlink)
    run_config = work_dir / "run-config.toml"
    run_config.write_text(tomli_w.dumps(plan.to_run_config()))
    env = flower_env() | {"FLWR_HOME": str(_flwr_home(work_dir, superlink))}
    command = [executable("flwr"), "run", str(APP_DIR), _CONNECTION, "--stream"]
    command += ["--run-config", str(run_config)]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    try:
        with (work_dir / "flwr-run.log").open("w") as log:
            tail = _follow(process, log, timeout=timeout, progress=progress, watch=watch)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    if not outcome_path.exists():
        raise FederatedRunFailed(
            f"flwr run ended (code {process.returncode}) without an outcome: {tail} (see "
            f"{work_dir / 'flwr-run.log'})"
        )
    return read_outcome(outcome_path.read_bytes())


def _follow(
    process: subprocess.Popen[bytes],
    log: IO[str],
    *,
    timeout: float,
    progress: Callable[[str], None],
    watch: Sequence[FlowerProcess],
) -> str:
    assert process.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
    deadline = time.monotonic() + timeout
    tail = ""
    while True:
        for flower in watch:
            flower.check_alive()
        if time.monotonic() > deadline:
            raise FederatedRunFailed(f"the run did not finish in {timeout:.0f} s: {tail}")
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        if line is None:
            process.wait()
            return tail
        log.write(line + "\n")
        if line.strip():
            tail = line.strip()[:300]
        if "fairgov: " in line:
            progress(line.split("fairgov: ", 1)[1])


def read_outcome(raw: bytes) -> FederatedOutcome:
    """The outcome the ServerApp wrote, or the error that stopped the run, raised."""
    document = json.loads(raw)
    if "error" not in document:
        return FederatedOutcome.from_json(raw)
    error = document["error"]
    refusals = tuple(NodeRefusal.from_dict(r) for r in document["refusals"])
    if error["code"] == TooFewNodes.code:
        details = error["details"]
        raise TooFewNodes(
            int(details["accepted"]),
            int(details["min_nodes"]),
            refusals,
            admitted=int(details.get("admitted", details["accepted"])),
            stage=str(details.get("stage", "admission")),
        )
    raise FederatedRunFailed(f"{error['code']}: {error['message']}")
