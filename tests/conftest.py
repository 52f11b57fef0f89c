"""Fixtures shared by the whole suite: a real anvil chain and a real deployment on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance import chain as chain_client
from governance import deploy, localchain
from tests.helpers import TEST_CONFIG


@pytest.fixture(scope="session")
def anvil_path() -> Path:
    return localchain.find_anvil()


@pytest.fixture(scope="session")
def local_chain(
    anvil_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[localchain.LocalChain]:
    """One automining anvil for the session; tests isolate themselves with snapshots."""
    with localchain.running(anvil=anvil_path, chain_dir=tmp_path_factory.mktemp("chain")) as node:
        yield node


@pytest.fixture(scope="session")
def w3(local_chain: localchain.LocalChain) -> Web3:
    return chain_client.connect(local_chain.rpc_url)


@pytest.fixture(scope="session")
def deployment(w3: Web3) -> deploy.Deployment:
    return deploy.deploy(w3, DEV_PRIVATE_KEYS[0], TEST_CONFIG)


@pytest.fixture
def isolated_chain(w3: Web3) -> Iterator[Web3]:
    """The session chain, reverted to its current state after the test."""
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    yield w3
    w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
