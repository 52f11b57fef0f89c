"""Errors of chain access: the node, the local chain, deployments, transactions, the index."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError


class ChainUnreachable(GovernanceError):
    """The JSON-RPC node does not answer."""

    code: ClassVar[str] = "chain_unreachable"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

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
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self) -> None:
        super().__init__(
            "anvil was not found: run ./dev.sh run (it installs anvil from npm), or set "
            "FAIRGOV_ANVIL_PATH to the anvil binary"
        )


class AnvilStartFailed(GovernanceError):
    """anvil exited or did not answer in time."""

    code: ClassVar[str] = "anvil_start_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, reason: str, log_file: Path) -> None:
        super().__init__(
            f"the local chain did not start: {reason} (see {log_file})",
            reason=reason,
            log_file=str(log_file),
        )


class PortInUse(GovernanceError):
    """The local chain's port, or the API's (``setting`` names which), is taken."""

    code: ClassVar[str] = "port_in_use"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, port: int, setting: str = "FAIRGOV_ANVIL_PORT") -> None:
        super().__init__(
            f"port {port} is already in use: stop what runs there, or set {setting} "
            "to another port (0 picks a free one)",
            port=port,
            setting=setting,
        )


class ChainDirBusy(GovernanceError):
    """Another ``fairgov run`` runs the local chain of this data directory, and its node
    cannot be used."""

    code: ClassVar[str] = "chain_dir_busy"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, chain_dir: Path, reason: str) -> None:
        super().__init__(
            f"another fairgov run holds the local chain in {chain_dir} ({reason}): stop it, "
            "or set FAIRGOV_DATA_DIR to another directory",
            chain_dir=str(chain_dir),
            reason=reason,
        )


class DeploymentStale(GovernanceError):
    """The deployment file names contracts that are not on this chain."""

    code: ClassVar[str] = "deployment_stale"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, path: Path, contract: str, address: str, problem: str) -> None:
        super().__init__(
            f"{path} points at {contract} {address}, but {problem}: delete {path} to deploy "
            "anew, or point FAIRGOV_RPC_URL at the chain it was deployed on",
            path=str(path),
            contract=contract,
            address=address,
            problem=problem,
        )


class DeploymentFileUnreadable(DeploymentStale):
    """The deployment file is empty, truncated or not a deployment record at all (a
    :class:`DeploymentStale`, so every caller that refuses a stale deployment refuses it)."""

    code: ClassVar[str] = "deployment_file_unreadable"

    def __init__(self, path: Path) -> None:
        GovernanceError.__init__(
            self,
            f"{path} is not a readable deployment record (empty, truncated or edited): restore "
            "it from a backup or another fairgov run's data directory; deleting it deploys a "
            "new governance stack, and the votes, policy and anchors on the old one stay behind",
            path=str(path),
        )


class DeploymentConfigInvalid(GovernanceError):
    """The deployment config file cannot be used."""

    code: ClassVar[str] = "deployment_config_invalid"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFIGURATION

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the deployment config {path} is invalid: {problem}", path=str(path), problem=problem
        )


class TransactionFailed(GovernanceError):
    """A transaction the service sent reverted."""

    code: ClassVar[str] = "transaction_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, what: str, tx_hash: str) -> None:
        super().__init__(f"{what} reverted in transaction {tx_hash}", what=what, tx_hash=tx_hash)


class IndexRpcFailed(GovernanceError):
    """The node refused a call the indexer needs."""

    code: ClassVar[str] = "index_rpc_failed"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, method: str, problem: str) -> None:
        super().__init__(
            f"the chain node refused {method} ({problem}): check that FAIRGOV_RPC_URL points at "
            "a node that serves logs and block headers, or lower the indexer's chunk size",
            method=method,
            problem=problem,
        )


class IndexDeploymentMismatch(GovernanceError):
    """The database index, or the chain, belongs to another deployment."""

    code: ClassVar[str] = "index_deployment_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(
            f"the chain index was built for {actual}, not for {expected}: point "
            "FAIRGOV_DATABASE_URL at this deployment's database, or resync the index",
            expected=expected,
            actual=actual,
        )
