"""``fairgov run``: bring up the chain and the contracts, then serve until Ctrl-C."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from rich.console import Console
from rich.table import Table

from cli._context import migrated_engine
from cli._errors import friendly_errors
from core.settings import Settings
from governance import chain as chain_client
from governance import deploy, localchain

console = Console(highlight=False, soft_wrap=True)


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


@friendly_errors
def run() -> None:
    """Start the local chain (unless FAIRGOV_RPC_URL is set), deploy the contracts once,
    print their addresses and keep running until Ctrl-C."""
    settings = Settings()
    with console.status("migrating the database"):
        migrated_engine(settings)
    with contextlib.ExitStack() as stack:
        stopping = stack.enter_context(_stop_on_signals())
        node: localchain.LocalChain | None = None
        if settings.rpc_url is None:
            with console.status("starting the local chain (anvil)"):
                node = stack.enter_context(
                    localchain.running(
                        anvil=localchain.find_anvil(settings.anvil_path),
                        chain_dir=settings.chain_dir,
                        port=settings.anvil_port,
                        chain_id=settings.chain_id,
                        block_time=settings.anvil_block_time,
                    )
                )
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
        console.print("fairgov is running: press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            if node is not None and node.process.poll() is not None:
                console.print(f"[red]the local chain stopped; see {node.log_file}[/]")
                raise SystemExit(1)
        console.print("stopping")
