"""The committed contract artifacts (ABI and bytecode), loaded without a compiler."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal, get_args

from web3 import Web3
from web3.contract import Contract

from core.types import to_address

ContractName = Literal[
    "GovernanceToken",
    "FairnessGovernor",
    "TimelockController",
    "TrainingPolicy",
    "AuditRegistry",
    "PolicyChangeClassifier",
    "ProviderRewards",
]
CONTRACT_NAMES: tuple[ContractName, ...] = get_args(ContractName)


@dataclass(frozen=True)
class Artifact:
    """One compiled contract, as written by ``./dev.sh contracts``."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    compiler_version: str
    sources: dict[str, str]


@functools.cache
def artifact(name: ContractName) -> Artifact:
    """Load ``governance/abi/<name>.json``."""
    text = resources.files("governance").joinpath("abi", f"{name}.json").read_text("utf-8")
    data = json.loads(text)
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        compiler_version=data["compiler"]["version"],
        sources=data["sources"],
    )


def bind(w3: Web3, name: ContractName, address: str) -> Contract:
    """A web3 contract object for the deployed ``name`` at ``address``."""
    return w3.eth.contract(address=to_address(address), abi=artifact(name).abi)


def factory(w3: Web3, name: ContractName) -> type[Contract]:
    """A web3 contract factory that can deploy ``name``."""
    a = artifact(name)
    return w3.eth.contract(abi=a.abi, bytecode=a.bytecode)
