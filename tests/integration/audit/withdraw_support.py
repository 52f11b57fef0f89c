"""Allowing a dataset with its provider's signed offer, for the withdrawal tests."""

from __future__ import annotations

from web3 import Web3

from audit.manifest import DatasetManifest
from governance.actions import Action
from governance.chain.deploy import Deployment


def allow_offered(w3: Web3, deployment: Deployment, manifest: DatasetManifest, key: str) -> Action:
    """The ``allow_dataset`` action carrying ``manifest``'s offer signed by ``key``."""
    raise NotImplementedError("waits for the provider-signed offer helper on main")
