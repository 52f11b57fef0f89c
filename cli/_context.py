"""What most commands need: settings, the deployment, the chain and the database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import Engine
from web3 import Web3

from core import db
from core.errors import ConfigurationError
from core.settings import Settings
from governance import chain as chain_client
from governance import deploy


class NotDeployed(ConfigurationError):
    code: ClassVar[str] = "not_deployed"

    def __init__(self, settings: Settings) -> None:
        super().__init__(
            f"no deployment in {settings.deployment_file}: start the stack with `fairgov run` "
            "(or set FAIRGOV_DATA_DIR to the directory it uses)"
        )


@dataclass(frozen=True)
class Context:
    settings: Settings
    deployment: deploy.Deployment
    w3: Web3
    engine: Engine


def migrated_engine(settings: Settings) -> Engine:
    """The database, migrated to the latest schema."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = db.make_engine(settings.database)
    db.upgrade(engine)
    return engine


def load_context() -> Context:
    settings = Settings()
    deployment = deploy.load(settings.deployment_file)
    if deployment is None:
        raise NotDeployed(settings)
    w3 = chain_client.connect(settings.chain_rpc_url)
    deploy.check_on_chain(w3, deployment, settings.deployment_file)
    return Context(settings, deployment, w3, migrated_engine(settings))
