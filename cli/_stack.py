"""Finding the running stack: the ``run.json`` that ``fairgov run`` writes in the data directory.

Commands other than ``run`` talk to the node and API of the ``fairgov run`` serving their
data directory, never to a default address: with ``FAIRGOV_ANVIL_PORT=0`` the chain is on a
port only ``run.json`` knows, and 127.0.0.1:8545 may be another stack whose contracts sit at
the same addresses. ``FAIRGOV_RPC_URL`` names a node explicitly and needs no ``run.json``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from core.errors import ConfigurationError
from core.settings import Settings


class NoRunningStack(ConfigurationError):
    """No ``fairgov run`` serves this data directory, and no node was named."""

    code: ClassVar[str] = "no_running_stack"

    def __init__(self, settings: Settings, problem: str) -> None:
        super().__init__(
            f"no fairgov is running on {settings.data_dir} ({problem}): start it with "
            "`fairgov run`, point FAIRGOV_DATA_DIR at the directory it uses, or set "
            "FAIRGOV_RPC_URL to a node",
            run_file=str(settings.run_file),
        )


@dataclass(frozen=True)
class RunningStack:
    """Where the running stack is: its node, its API and, when recorded, its contracts."""

    rpc_url: str
    api_url: str | None = None
    pid: int | None = None
    chain_id: int | None = None
    addresses: dict[str, str] | None = None


def read_run_file(path: Path) -> dict[str, Any] | None:
    """The record in ``path``, or None when there is none or it is unreadable."""
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def write_run_file(path: Path, stack: RunningStack) -> None:
    """Record ``stack`` in ``path`` atomically (write a temporary file, then rename it)."""
    record = {
        "rpc_url": stack.rpc_url,
        "api_url": stack.api_url,
        "pid": stack.pid if stack.pid is not None else os.getpid(),
        "chain_id": stack.chain_id,
        "addresses": stack.addresses,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (and is not a zombie) on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"


def find_stack(settings: Settings) -> RunningStack:
    """The stack the commands must use; :class:`NoRunningStack` when none is running.

    ``FAIRGOV_RPC_URL`` wins when set. Otherwise ``run.json`` must exist, name an RPC URL
    and have been written by a process that is still alive.
    """
    record = read_run_file(settings.run_file)
    alive = record is not None and _alive(record)
    if settings.rpc_url is not None:
        api_url = _text(record, "api_url") if alive else None
        return RunningStack(settings.rpc_url, api_url=api_url)
    if record is None:
        raise NoRunningStack(settings, f"{settings.run_file} is missing or unreadable")
    rpc_url = _text(record, "rpc_url")
    if rpc_url is None:
        raise NoRunningStack(settings, f"{settings.run_file} names no rpc_url")
    if not alive:
        raise NoRunningStack(
            settings, f"the fairgov run that wrote run.json (pid {record.get('pid')}) has exited"
        )
    addresses = record.get("addresses")
    chain_id = record.get("chain_id")
    return RunningStack(
        rpc_url,
        api_url=_text(record, "api_url"),
        pid=int(record["pid"]),
        chain_id=chain_id if isinstance(chain_id, int) else None,
        addresses=addresses if isinstance(addresses, dict) else None,
    )


def _alive(record: dict[str, Any]) -> bool:
    pid = record.get("pid")
    return isinstance(pid, int) and process_alive(pid)


def _text(record: dict[str, Any] | None, key: str) -> str | None:
    value = None if record is None else record.get(key)
    return value if isinstance(value, str) and value else None
