"""``fairgov federated``: host the Flower SuperLink that provider nodes connect to.

The SuperLink runs beside ``fairgov run`` (or on any machine the nodes can reach); federated
runs are submitted to it by :func:`audit.federated.processes.run_federated`.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from cli._errors import friendly_errors

console = Console(stderr=True, highlight=False, soft_wrap=True)

app = typer.Typer(help="Federated training: host the Flower SuperLink.", no_args_is_help=True)


@app.command("superlink")
@friendly_errors
def superlink_command(
    *,
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0 for nodes on other machines).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="The SuperLink's port.")] = 9093,
    state_dir: Annotated[
        Path, typer.Option(help="Where the SuperLink keeps its database and log.")
    ] = Path(".fairgov/superlink"),
    ssl_ca_certfile: Annotated[Path | None, typer.Option(help="CA certificate (PEM).")] = None,
    ssl_certfile: Annotated[Path | None, typer.Option(help="Server certificate (PEM).")] = None,
    ssl_keyfile: Annotated[Path | None, typer.Option(help="Server private key (PEM).")] = None,
) -> None:
    """Run a Flower SuperLink until Ctrl-C; providers connect with ``fairgov provider serve``.

    Without the three ``--ssl-*`` files the SuperLink is insecure: keep it on loopback or a
    network you control.
    """
    from audit.federated.processes import ServerCertificates, superlink

    tls = (ssl_ca_certfile, ssl_certfile, ssl_keyfile)
    if any(tls) and not all(tls):
        raise typer.BadParameter(
            "pass all three of --ssl-ca-certfile, --ssl-certfile, --ssl-keyfile"
        )
    certificates = ServerCertificates(*tls) if all(tls) else None  # type: ignore[arg-type]
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with superlink(
            host=host, port=port, state_dir=state_dir, certificates=certificates
        ) as process:
            security = "TLS" if certificates else "insecure"
            console.print(f"SuperLink listening on {host}:{port} ({security}); Ctrl-C stops")
            console.print(f"log: {process.log}")
            while not stopping.wait(1.0):
                process.check_alive()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
