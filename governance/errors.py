"""Errors of the governance package. Each carries its data and a stable ``code``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from core.errors import FairgovError


class GovernanceError(FairgovError):
    """Root of the governance errors."""

    code: ClassVar[str] = "governance_error"


class ChainUnreachable(GovernanceError):
    """The JSON-RPC node does not answer."""

    code: ClassVar[str] = "chain_unreachable"

    def __init__(self, rpc_url: str, reason: str) -> None:
        super().__init__(
            f"the chain node at {rpc_url} does not answer ({reason}): start it, or set "
            "FAIRGOV_RPC_URL to a node that runs",
            rpc_url=rpc_url,
            reason=reason,
        )


class AnvilNotFound(GovernanceError):
    """No anvil binary to run the local chain."""

    code: ClassVar[str] = "anvil_not_found"

    def __init__(self) -> None:
        super().__init__(
            "anvil was not found: run ./dev.sh run (it installs anvil from npm), or set "
            "FAIRGOV_ANVIL_PATH to the anvil binary"
        )


class AnvilStartFailed(GovernanceError):
    """anvil exited or did not answer in time."""

    code: ClassVar[str] = "anvil_start_failed"

    def __init__(self, reason: str, log_file: Path) -> None:
        super().__init__(
            f"the local chain did not start: {reason} (see {log_file})",
            reason=reason,
            log_file=str(log_file),
        )


class PortInUse(GovernanceError):
    """The local chain's port is taken."""

    code: ClassVar[str] = "port_in_use"

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} is already in use: stop what runs there, or set FAIRGOV_ANVIL_PORT "
            "to another port (0 picks a free one)",
            port=port,
        )


class DeploymentStale(GovernanceError):
    """The deployment file names contracts that are not on this chain."""

    code: ClassVar[str] = "deployment_stale"

    def __init__(self, path: Path, contract: str, address: str, problem: str) -> None:
        super().__init__(
            f"{path} points at {contract} {address}, but {problem}: delete {path} to deploy "
            "anew, or point FAIRGOV_RPC_URL at the chain it was deployed on",
            path=str(path),
            contract=contract,
            address=address,
            problem=problem,
        )


class DeploymentConfigInvalid(GovernanceError):
    """The deployment config file cannot be used."""

    code: ClassVar[str] = "deployment_config_invalid"

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the deployment config {path} is invalid: {problem}", path=str(path), problem=problem
        )


class TransactionFailed(GovernanceError):
    """A transaction the service sent reverted."""

    code: ClassVar[str] = "transaction_failed"

    def __init__(self, what: str, tx_hash: str) -> None:
        super().__init__(f"{what} reverted in transaction {tx_hash}", what=what, tx_hash=tx_hash)
