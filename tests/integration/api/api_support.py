"""Helpers shared by the API tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from web3 import Web3

from governance.chain import deploy
from governance.index.indexer import Indexer


def sync_index(engine: Engine, w3: Web3, deployment: deploy.Deployment) -> None:
    """Bring the chain index up to the head (the scheduler's job in production)."""
    Indexer(engine, w3, deployment).sync()


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    code: str = body["error"]["code"]
    return code
