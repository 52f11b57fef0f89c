"""What most commands need: settings, the deployment, the chain and the database.

The chain is the running stack's (:func:`cli._stack.find_stack`), never a default address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import Engine
from web3 import Web3

from cli._stack import RunningStack, find_stack
from core import db
from core.errors import ConfigurationError
from core.settings import Settings
from governance.chain import deploy
from governance.chain import node as chain_client


class NotDeployed(ConfigurationError):
    code: ClassVar[str] = "not_deployed"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            f"no deployment in {settings.deployment_file}: start the stack with `fairgov run` "
            "(or set FAIRGOV_DATA_DIR to the directory it uses)"
        )


class StackMismatch(ConfigurationError):
    """The running stack's recorded contracts are not the data directory's deployment."""

    code: ClassVar[str] = "stack_mismatch"

    def __init__(self, settings: Settings, problem: str) -> None:
        super().__init__(
            f"the fairgov running on {settings.data_dir} {problem}: restart it with "
            "`fairgov run` so run.json and deployment.json agree"
        )


@dataclass(frozen=True)
class Context:
    settings: Settings
    deployment: deploy.Deployment
    w3: Web3
    engine: Engine
    rpc_url: str
    api_url: str | None = None


def migrated_engine(settings: Settings) -> Engine:
    """The database, migrated to the latest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database)
    db.upgrade(engine)
    return engine


def _check_recorded(settings: Settings, stack: RunningStack, deployment: deploy.Deployment) -> None:
    if stack.chain_id is not None and stack.chain_id != deployment.chain_id:
        raise StackMismatch(settings, f"is on chain {stack.chain_id}, not {deployment.chain_id}")
    recorded = {k: v.lower() for k, v in (stack.addresses or {}).items()}
    ours: dict[str, str] = {k: v.lower() for k, v in deployment.contract_addresses().items()}
    differing = sorted(k for k in recorded.keys() & ours.keys() if recorded[k] != ours[k])
    if differing:
        raise StackMismatch(settings, f"uses another {differing[0]}")


def load_context() -> Context:
    """Settings, the deployment on the running stack's chain, and the migrated database.

    Raises :class:`~cli._stack.NoRunningStack` when no ``fairgov run`` serves the data
    directory and FAIRGOV_RPC_URL is unset.
    """
    settings = Settings()
    deployment = deploy.load(settings.deployment_file)
    if deployment is None:
        raise NotDeployed(settings)
    stack = find_stack(settings)
    _check_recorded(settings, stack, deployment)
    w3 = chain_client.connect(stack.rpc_url)
    deploy.check_on_chain(w3, deployment, settings.deployment_file)
    return Context(
        settings, deployment, w3, migrated_engine(settings), stack.rpc_url, stack.api_url
    )
