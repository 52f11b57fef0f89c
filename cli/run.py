"""``fairgov run``: the whole service — local chain, contracts, database, API and scheduler."""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from cli import compose
from cli._errors import friendly_errors
from core.errors import FairgovError
from core.settings import Settings
from governance.chain import deploy, localchain
from governance.chain import node as chain_client
from governance.errors import AnvilStartFailed, ChainDirBusy, PortInUse

if TYPE_CHECKING:
    from audit.federated.processes import FlowerProcess

console = Console(highlight=False, soft_wrap=True)

_SERVER_START_SECONDS = 30
#: The setting a taken API port names (a standby on the same data directory needs its own).
_API_PORT_SETTING = "FAIRGOV_API_PORT"


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    stopping = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stopping
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _addresses_table(settings: Settings, rpc_url: str, d: deploy.Deployment) -> Table:
    table = Table(title="fairgov governance stack", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("RPC URL", rpc_url)
    table.add_row("chain id", str(d.chain_id))
    for name, address in d.contract_addresses().items():
        table.add_row(name, address)
    table.add_row("deployed at block", str(d.deploy_block))
    table.add_row("data directory", str(settings.data_dir))
    return table


def _api_port(settings: Settings) -> int:
    """The API's port: the setting, refused with :class:`PortInUse` when something listens
    there, or a free one for 0."""
    if settings.api_port == 0:
        return localchain.free_port()
    with socket.socket() as sock:
        if sock.connect_ex((settings.api_host, settings.api_port)) == 0:
            raise PortInUse(settings.api_port, _API_PORT_SETTING)
    return settings.api_port


@contextlib.contextmanager
def _serving_api(ctx: compose.Context) -> Iterator[str]:
    settings = ctx.settings
    app = compose.serving_api(ctx, read_scheduler=True)
    port = _api_port(settings)
    config = uvicorn.Config(
        app, host=settings.api_host, port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fairgov-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + _SERVER_START_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise PortInUse(port, _API_PORT_SETTING)
        time.sleep(0.05)
    try:
        yield f"http://{settings.api_host}:{port}"
    finally:
        server.should_exit = True
        # The API's shutdown lets the audit in progress finish, and that audit needs the node,
        # which closes after this: wait for it (chaos review: after 15 s anvil was stopped
        # under a running audit, which failed with ConnectionError). An ONNX scoring is
        # killed after FAIRGOV_ONNX_MAX_SECONDS, so that bounds the wait.
        with console.status("stopping: the audit in progress finishes first"):
            thread.join(timeout=settings.onnx_max_seconds + _SERVER_START_SECONDS)


@contextlib.contextmanager
def _scheduling(ctx: compose.Context) -> Iterator[Callable[[], bool] | None]:
    """Runs the scheduler while open, unless it is disabled; yields whether it runs the
    jobs (and so relays the outbox) at each moment, or None when it is off."""
    settings = ctx.settings
    if not settings.scheduler_enabled:
        yield None
        return
    service = compose.scheduler_service(ctx, embedded_chain=settings.rpc_url is None)
    service.start()
    try:
        yield lambda: service.is_active
    finally:
        service.stop()


def _write_run_file(ctx: compose.Context, api_url: str) -> None:
    addresses = {str(name): a for name, a in ctx.deployment.contract_addresses().items()}
    stack = compose.RunningStack(
        ctx.rpc_url, api_url=api_url, chain_id=ctx.deployment.chain_id, addresses=addresses
    )
    compose.write_run_file(ctx.settings.run_file, stack)


_STANDBY_WAIT_SECONDS = 60
#: How long past a reward window's end (wall clock) the chain keeps mining: a block lands after it.
_WINDOW_MARGIN_SECONDS = 5


def _warn(line: str) -> None:
    console.print(f"[yellow]{escape(line)}[/]")


def _launcher(
    settings: Settings, lock: localchain.ChainLock
) -> Callable[[int], localchain.LocalChain]:
    anvil = localchain.find_anvil(settings.anvil_path)

    def launch(port: int) -> localchain.LocalChain:
        # One block per transaction; the ChainClock adds timed blocks while a proposal
        # waits for them, so an idle chain does not grow. anvil holds the lock too, so a
        # standby starts no chain before this one has written its state and exited.
        return localchain.start(
            anvil=anvil,
            chain_dir=settings.chain_dir,
            port=port,
            chain_id=settings.chain_id,
            lock=lock,
        )

    return launch


def _waiting_for_blocks(engine: Engine, relaying: Callable[[], bool]) -> Callable[[], bool]:
    """Whether anything needs the chain's clock to move: a proposal in its vote or timelock,
    or a reward epoch in its challenge window (chain time must pass its end, a few blocks'
    worth of margin past the wall clock's, before anyone can claim).

    Never while ``relaying()`` is false (no scheduler of this data directory relays now: a
    restart's start-up, or a standby's wait for the dead holder's lease): blocks mined then
    closed voting windows on ballots the API had accepted (chaos review, session 24)."""
    from sqlmodel import Session

    from audit.rewards.db_models import open_windows
    from governance.index.indexer import proposals_waiting

    def waiting() -> bool:
        if not relaying():
            return False
        with Session(engine) as session:
            if proposals_waiting(session) > 0:
                return True
            return open_windows(session, time.time() - _WINDOW_MARGIN_SECONDS) > 0

    return waiting


def _holder_node(settings: Settings) -> str:
    """The RPC URL of the run that holds the chain lock, once it has written ``run.json``."""
    deadline = time.monotonic() + _STANDBY_WAIT_SECONDS
    while time.monotonic() < deadline:
        record = compose.read_run_file(settings.run_file) or {}
        if not compose.process_alive(record.get("pid")):  # none yet, or left by a run that crashed
            time.sleep(0.5)
            continue
        rpc_url = str(record["rpc_url"])
        try:
            chain_client.connect(rpc_url, timeout=5)
        except FairgovError as exc:
            raise ChainDirBusy(
                settings.chain_dir, f"its node at {rpc_url} does not answer"
            ) from exc
        return rpc_url
    raise ChainDirBusy(settings.chain_dir, f"it wrote no {settings.run_file.name} in time")


class _Node:
    """The chain this process uses: its own supervised anvil, or the lock holder's.

    A standby takes over when the holder's process ends: it gets the lock and starts the
    chain from the same state file on the same port, so every client keeps its URL.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.lock = localchain.ChainLock(settings.chain_dir)
        self.supervisor: localchain.Supervisor | None = None
        self.clock: localchain.ChainClock | None = None
        self.rpc_url = ""
        #: Whether the outbox is relayed now; until the scheduler says so, the clock stands.
        self.relaying: Callable[[], bool] = lambda: False

    @property
    def standby(self) -> bool:
        return self.supervisor is None

    def open(self) -> str:
        if self.lock.try_acquire():
            self._supervise(self.settings.anvil_port)
        else:
            self.rpc_url = _holder_node(self.settings)
        return self.rpc_url

    def _supervise(self, port: int) -> None:
        supervisor = localchain.Supervisor(_launcher(self.settings, self.lock), notify=_warn)
        self.rpc_url = supervisor.start(port).rpc_url
        self.supervisor = supervisor
        if self.settings.anvil_block_time is not None:
            self.clock = localchain.ChainClock(
                self.rpc_url,
                block_time=self.settings.anvil_block_time,
                waiting=_waiting_for_blocks(self.engine, self._relaying_now),
            )
            self.clock.start()

    def _relaying_now(self) -> bool:
        return self.relaying()  # read when asked: the scheduler is set after the chain starts

    def try_take_over(self) -> bool:
        """True when the holder is gone and this process now runs the chain."""
        if not self.lock.try_acquire():
            return False
        port = int(self.rpc_url.rsplit(":", 1)[1])
        try:
            self._supervise(port)
        except (AnvilStartFailed, PortInUse):
            self.lock.release()  # the old anvil is still dumping its state: next time
            return False
        return True

    def close(self) -> None:
        if self.clock is not None:
            self.clock.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
        self.lock.release()


def _hosting_superlink(
    stack: contextlib.ExitStack, settings: Settings, host: str, port: int
) -> FlowerProcess:
    from audit.federated.processes import superlink

    state_dir = Path(settings.data_dir) / "superlink"
    with console.status("starting the Flower SuperLink"):
        link = stack.enter_context(superlink(host=host, port=port, state_dir=state_dir))
    console.print(
        f"Flower SuperLink: {host}:{port} (insecure; providers join with `fairgov provider serve`)"
    )
    return link


@friendly_errors
def run(
    superlink_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="Also host the Flower SuperLink for federated runs on this port "
            "(`fairgov federated superlink` runs one on its own).",
        ),
    ] = None,
    superlink_host: Annotated[
        str, typer.Option(help="Where the SuperLink listens (0.0.0.0: nodes on other machines).")
    ] = "127.0.0.1",
) -> None:
    """Start the local chain (unless FAIRGOV_RPC_URL is set), deploy the contracts once,
    migrate the database, then serve the API and run the scheduler until Ctrl-C.

    A second run on the same data directory starts no second chain: it stands by on the
    first one's node and takes the chain over when the first one stops."""
    settings = Settings()
    _api_port(settings)  # taken: said before a chain is started or anything deployed
    with contextlib.ExitStack() as stack:
        stopping = stack.enter_context(_stop_on_signals())
        with console.status("migrating the database"):
            engine = compose.migrated_engine(settings)
        node: _Node | None = None
        if settings.rpc_url is None:
            node = _Node(settings, engine)
            with console.status("starting the local chain (anvil)"):
                stack.callback(node.close)
                node.open()
        rpc_url = node.rpc_url if node else str(settings.rpc_url)
        w3 = chain_client.connect(rpc_url)
        config = deploy.DeploymentConfig.load(settings.deploy_config)
        with console.status("checking the deployment") as status:
            deployment, created = deploy.ensure_deployed(
                w3,
                settings.deployer_private_key(w3.eth.chain_id),
                config,
                settings.deployment_file,
                progress=status.update,
            )
        console.print(_addresses_table(settings, rpc_url, deployment))
        verb = "deployed" if created else "reusing the deployment in"
        console.print(f"{verb} {settings.deployment_file}")
        ctx = compose.Context(settings, deployment, w3, engine, rpc_url)
        with console.status("starting the API and the scheduler"):
            api_url = stack.enter_context(_serving_api(ctx))
            scheduler = stack.enter_context(_scheduling(ctx))
        if node is not None:
            node.relaying = scheduler or (lambda: True)
        standby = node is not None and node.standby
        if not standby:
            stack.callback(settings.run_file.unlink, missing_ok=True)
            _write_run_file(ctx, api_url)
        console.print(f"API: {api_url}  (OpenAPI docs at {api_url}/docs)")
        link = None
        if superlink_port is not None:
            link = _hosting_superlink(stack, settings, superlink_host, superlink_port)
        if scheduler is None:
            console.print("scheduler: off (FAIRGOV_SCHEDULER_ENABLED=false)")
        if standby:
            console.print(
                f"standing by on the local chain of the fairgov run that holds "
                f"{settings.data_dir}: it takes the chain over when that run stops"
            )
        console.print("fairgov is running: press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            if link is not None and link.process.poll() is not None:
                _warn(f"the Flower SuperLink stopped: {link.last_line()}")
                link = None
            if standby and node is not None and node.try_take_over():
                standby = False
                stack.callback(settings.run_file.unlink, missing_ok=True)
                _write_run_file(ctx, api_url)
                console.print(f"took over the local chain at {rpc_url}")
        console.print("stopping")
