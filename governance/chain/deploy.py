"""Deploying the whole governance stack, once, and finding it again on restart.

The stack is GovernanceToken, TimelockController, TrainingPolicy, AuditRegistry,
PolicyChangeClassifier, FairnessGovernor and ProviderRewards. The governor is the timelock's
only proposer, canceller and executor, and the deployer renounces the timelock's admin role,
so after deployment only executed proposals change the policy or the auditor set. The
classifier guards the policy, the registry, the timelock and the treasury (the token and the
rewards); the governor asks it which proposals loosen them (those need a supermajority and may
be cancelled by the fairness guardian). The timelock is the DAO's treasury: it receives
``treasury_tokens`` at deployment, and a proposal funds the providers' rewards from it.
ProviderRewards is administered by the timelock; the auditors post its roots and the guardian
may cancel them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from eth_account import Account
from pydantic import BaseModel, Field, ValidationError, model_validator
from web3 import Web3
from web3.exceptions import Web3Exception
from web3.types import Nonce
from web3.utils.address import get_create_address

from core.devchain import DEV_PRIVATE_KEYS
from core.types import HexAddress, to_address
from governance.chain.contracts import ContractName, artifact, bind, factory
from governance.chain.node import Sender, call_data
from governance.errors import (
    DeploymentConfigInvalid,
    DeploymentFileUnreadable,
    DeploymentStale,
    PolicyLacksEvidenceRule,
    PolicyLacksFederationPolicy,
)

TOKEN_DECIMALS = 18
_ROLE_TX_GAS = 120_000
_GAS_MARGIN = 1.25
_DEFAULT_ADMIN_ROLE = b"\x00" * 32
_ZERO_ADDRESS = "0x" + "00" * 20

SplitRule = Literal["rows", "leave_one_out"]
#: The split rules in the order of ProviderRewards' Solidity enum.
SPLIT_RULES: tuple[SplitRule, ...] = ("rows", "leave_one_out")

Progress = Callable[[str], None]


def _dev_address(index: int) -> str:
    return str(Account.from_key(DEV_PRIVATE_KEYS[index]).address)


class Holder(BaseModel):
    """An initial token holder and its supply in whole tokens."""

    address: HexAddress
    tokens: int = Field(gt=0)


def _default_holders() -> list[Holder]:
    supplies = (400_000, 300_000, 200_000, 100_000)
    return [Holder(address=_dev_address(i + 1), tokens=s) for i, s in enumerate(supplies)]


class Supermajority(BaseModel):
    """The share of FOR among FOR + AGAINST that a loosening proposal needs: in (1/2, 1]."""

    numerator: int = Field(default=2, ge=1, lt=2**64)
    denominator: int = Field(default=3, ge=1, lt=2**64)

    @model_validator(mode="after")
    def _in_range(self) -> Supermajority:
        if not (2 * self.numerator > self.denominator >= self.numerator):
            raise ValueError(
                f"{self.numerator}/{self.denominator} is not above one half and at most one"
            )
        return self


class DeploymentConfig(BaseModel):
    """Parameters of a deployment. The defaults suit a local development chain."""

    token_name: str = "Fairgov Governance Token"
    token_symbol: str = "FAIR"
    governor_name: str = "FairnessGovernor"
    holders: list[Holder] = Field(default_factory=_default_holders, min_length=1)
    voting_delay: int = Field(default=1, ge=0, description="blocks before voting starts")
    voting_period: int = Field(default=30, ge=1, description="blocks the vote lasts")
    proposal_threshold: int = Field(default=0, ge=0, description="whole tokens to propose")
    quorum_percent: int = Field(default=4, ge=0, le=100)
    vote_extension: int = Field(default=5, ge=0, description="late-quorum extension, blocks")
    timelock_delay: int = Field(default=10, ge=0, description="seconds before execution")
    auditors: list[HexAddress] = Field(default_factory=lambda: [_dev_address(9)])
    guardian: HexAddress | None = Field(
        default_factory=lambda: _dev_address(6),
        description="may cancel loosening proposals; null for no guardian",
    )
    supermajority: Supermajority = Field(default_factory=Supermajority)
    loosening_voting_period: int = Field(
        default=45, ge=1, lt=2**32, description="minimum vote length of loosening proposals, blocks"
    )
    treasury_tokens: int = Field(
        default=100_000, ge=0, description="whole tokens minted to the timelock, the treasury"
    )
    rewards_challenge_window: int = Field(
        default=60, ge=1, lt=2**32, description="seconds a rewards root may be cancelled"
    )
    rewards_split_rule: SplitRule = "rows"
    reward_per_epoch: int = Field(
        default=1_000, ge=0, description="whole tokens an approved model's providers share"
    )

    @classmethod
    def load(cls, path: Path | None) -> DeploymentConfig:
        """The config in the JSON file at ``path``, or the defaults when ``path`` is None."""
        if path is None:
            return cls()
        try:
            return cls.model_validate_json(path.read_bytes())
        except OSError as exc:
            raise DeploymentConfigInvalid(path, exc.strerror or str(exc)) from exc
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the file"
            raise DeploymentConfigInvalid(path, f"{where}: {first['msg']}") from exc


class Addresses(BaseModel):
    token: HexAddress
    timelock: HexAddress
    governor: HexAddress
    training_policy: HexAddress
    audit_registry: HexAddress
    classifier: HexAddress
    rewards: HexAddress


class Deployment(BaseModel):
    """Where the stack lives: written to ``deployment.json`` in the data directory."""

    chain_id: int
    deployer: HexAddress
    deploy_block: int
    deploy_block_hash: str
    addresses: Addresses
    config: DeploymentConfig
    compiler_version: str

    def contract_addresses(self) -> dict[ContractName, str]:
        a = self.addresses
        return {
            "GovernanceToken": a.token,
            "TimelockController": a.timelock,
            "FairnessGovernor": a.governor,
            "TrainingPolicy": a.training_policy,
            "AuditRegistry": a.audit_registry,
            "PolicyChangeClassifier": a.classifier,
            "ProviderRewards": a.rewards,
        }


def deploy(
    w3: Web3, private_key: str, config: DeploymentConfig, *, progress: Progress | None = None
) -> Deployment:
    """Deploy the whole stack from ``config`` and hand the timelock to the governor.

    Transactions are sent without awaiting receipts (except before the governor's, whose
    constructor reads the token and the classifier), with addresses predicted from the
    deployer's nonces, so the stack lands in as few blocks as the node allows.
    """
    say = progress or (lambda _: None)
    sender = Sender.from_key(w3, private_key)
    first_nonce = sender.nonce

    def predicted(offset: int) -> str:
        return str(get_create_address(sender.account.address, Nonce(first_nonce + offset)))

    token, timelock, policy, registry = (predicted(i) for i in range(4))
    classifier, governor, rewards = predicted(4), predicted(5), predicted(6)
    holders = [h.address for h in config.holders]
    supplies = [h.tokens * 10**TOKEN_DECIMALS for h in config.holders]
    if config.treasury_tokens:
        holders.append(timelock)
        supplies.append(config.treasury_tokens * 10**TOKEN_DECIMALS)
    protection = (
        classifier,
        config.guardian or _ZERO_ADDRESS,
        config.supermajority.numerator,
        config.supermajority.denominator,
        config.loosening_voting_period,
    )
    constructors: list[tuple[ContractName, list[Any]]] = [
        ("GovernanceToken", [config.token_name, config.token_symbol, holders, supplies]),
        ("TimelockController", [config.timelock_delay, [], [], sender.address]),
        ("TrainingPolicy", [timelock]),
        ("AuditRegistry", [timelock, config.auditors]),
        ("PolicyChangeClassifier", [policy, registry, timelock, token, rewards]),
        (
            "FairnessGovernor",
            [
                config.governor_name,
                token,
                timelock,
                config.voting_delay,
                config.voting_period,
                config.proposal_threshold * 10**TOKEN_DECIMALS,
                config.quorum_percent,
                config.vote_extension,
                protection,
            ],
        ),
        (
            "ProviderRewards",
            [
                timelock,
                token,
                registry,
                config.guardian or _ZERO_ADDRESS,
                config.auditors,
                config.rewards_challenge_window,
                SPLIT_RULES.index(config.rewards_split_rule),
                config.reward_per_epoch * 10**TOKEN_DECIMALS,
            ],
        ),
    ]
    receipts = []
    for name, args in constructors:
        if name == "FairnessGovernor":
            # Its constructor reads the token's clock and the classifier's code: mine them first.
            receipts += sender.wait()
        say(f"deploying {name}")
        tx = factory(w3, name).constructor(*args).build_transaction({"from": sender.address})
        # Estimated before earlier contracts are mined: the margin covers calls into them.
        gas = int(tx["gas"] * _GAS_MARGIN)
        sender.send(f"deploying {name}", {"data": tx["data"], "gas": gas})

    # The timelock is not mined yet, so these calls cannot be estimated: fixed gas.
    lock = bind(w3, "TimelockController", timelock)
    for role in ("PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"):
        grant = call_data(lock, "grantRole", [Web3.keccak(text=role), governor])
        sender.send(f"granting {role} to the governor", grant | {"gas": _ROLE_TX_GAS})
    renounce = call_data(lock, "renounceRole", [_DEFAULT_ADMIN_ROLE, sender.address])
    sender.send("renouncing the timelock admin role", renounce | {"gas": _ROLE_TX_GAS})
    say("waiting for confirmations")
    receipts += sender.wait()
    first = receipts[0]
    addresses = Addresses(
        token=token,
        timelock=timelock,
        governor=governor,
        training_policy=policy,
        audit_registry=registry,
        classifier=classifier,
        rewards=rewards,
    )
    in_order = (token, timelock, policy, registry, classifier, governor, rewards)
    for receipt, expected in zip(receipts, in_order, strict=False):
        if receipt["contractAddress"] != expected:
            raise RuntimeError("the deployer sent other transactions during the deployment")
    return Deployment(
        chain_id=sender.chain_id,
        deployer=sender.address,
        deploy_block=first["blockNumber"],
        deploy_block_hash=first["blockHash"].to_0x_hex(),
        addresses=addresses,
        config=config,
        compiler_version=artifact("FairnessGovernor").compiler_version,
    )


def save(deployment: Deployment, path: Path) -> None:
    """Write ``deployment`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(deployment.model_dump(mode="json"), indent=2) + "\n", "utf-8")
    os.replace(tmp, path)


def load(path: Path) -> Deployment | None:
    """The deployment recorded at ``path``, or None when there is none."""
    if not path.exists():
        return None
    raw = path.read_bytes()
    try:
        return Deployment.model_validate_json(raw)
    except ValidationError as exc:
        missing = {e["loc"] for e in exc.errors() if e["type"] == "missing"}
        if ("addresses", "classifier") in missing:
            reason = "it predates the protection of loosening proposals (no classifier)"
        elif ("addresses", "rewards") in missing:
            reason = "it predates the providers' rewards (no ProviderRewards)"
        else:  # chaos review (session 24): it said "points at the deployment -" and to delete it
            raise DeploymentFileUnreadable(path) from exc
        raise DeploymentStale(path, "the deployment", "-", reason) from exc


def check_on_chain(w3: Web3, deployment: Deployment, path: Path) -> None:
    """Raise :class:`DeploymentStale` unless the recorded stack is on the chain ``w3`` reaches."""
    chain_id = w3.eth.chain_id
    if chain_id != deployment.chain_id:
        raise DeploymentStale(
            path,
            "the deployment",
            "-",
            f"it was made on chain {deployment.chain_id}, not {chain_id}",
        )
    for name, address in deployment.contract_addresses().items():
        if len(w3.eth.get_code(to_address(address))) == 0:
            raise DeploymentStale(path, name, address, "there is no code at that address")
    a = deployment.addresses
    wiring: list[tuple[ContractName, str, str, str]] = [
        ("FairnessGovernor", a.governor, "token", a.token),
        ("TrainingPolicy", a.training_policy, "owner", a.timelock),
        ("ProviderRewards", a.rewards, "token", a.token),
        ("ProviderRewards", a.rewards, "registry", a.audit_registry),
    ]
    for name, address, getter, expected in wiring:
        try:
            actual = bind(w3, name, address).functions[getter]().call()
        except Web3Exception as exc:
            reason = f"it has no {getter}() (an older version of the contract)"
            raise DeploymentStale(path, name, address, reason) from exc
        if str(actual).lower() != expected.lower():
            raise DeploymentStale(path, name, address, "the contract there is another one")
    check_policy_current(w3, a.training_policy, path)
    policy = bind(w3, "TrainingPolicy", a.training_policy).functions
    try:
        policy.OFFER_TYPEHASH().call()
    except Web3Exception as exc:
        reason = "it predates providers' consent (datasets without signed offers)"
        raise DeploymentStale(path, "TrainingPolicy", a.training_policy, reason) from exc
    try:
        policy.datasetOfContent(b"\0" * 32).call()
    except Web3Exception as exc:
        reason = "it predates the content index (a withdrawn file could return under a new id)"
        raise DeploymentStale(path, "TrainingPolicy", a.training_policy, reason) from exc
    try:
        policy.SIGNED_THRESHOLDS().call()
    except Web3Exception as exc:
        reason = "it predates signed thresholds (it cannot store a bound below zero)"
        raise DeploymentStale(path, "TrainingPolicy", a.training_policy, reason) from exc
    classifier = bind(w3, "PolicyChangeClassifier", a.classifier).functions
    try:
        classifier.JUDGES_MANIFESTS().call()
    except Web3Exception as exc:
        reason = "it predates manifest swaps being loosening (a simple majority could swap a group)"
        raise DeploymentStale(path, "PolicyChangeClassifier", a.classifier, reason) from exc
    try:
        classifier.GUARDS_TREASURY().call()
    except Web3Exception as exc:
        reason = (
            "it predates guarding the treasury (a simple majority could take its votes and reach "
            "the supermajority)"
        )
        raise DeploymentStale(path, "PolicyChangeClassifier", a.classifier, reason) from exc


def check_policy_current(w3: Web3, policy_address: str, path: Path | None = None) -> None:
    """Raise :class:`PolicyLacksEvidenceRule` if the TrainingPolicy predates evidence rules,
    :class:`PolicyLacksFederationPolicy` if it predates the federation policy.

    A policy deployed before evidence rules has no ``evidenceRules()``, one deployed before
    the federation policy no ``federationPolicy()``; its snapshot cannot be read, so no audit
    may run under it, and its storage cannot gain them (the contract is not upgradeable).
    """
    policy = bind(w3, "TrainingPolicy", policy_address).functions
    try:
        policy.evidenceRules().call()
    except Web3Exception as exc:
        raise PolicyLacksEvidenceRule(policy_address, path) from exc
    try:
        policy.federationPolicy().call()
    except Web3Exception as exc:
        raise PolicyLacksFederationPolicy(policy_address, path) from exc


def ensure_deployed(
    w3: Web3,
    private_key: str,
    config: DeploymentConfig,
    path: Path,
    *,
    progress: Progress | None = None,
) -> tuple[Deployment, bool]:
    """The deployment at ``path`` if its code is still on chain, else a fresh one.

    Returns the deployment and whether it was deployed now. A recorded deployment whose
    code is gone raises :class:`DeploymentStale`: fairgov never silently forgets a DAO.
    """
    existing = load(path)
    if existing is not None:
        check_on_chain(w3, existing, path)
        return existing, False
    deployment = deploy(w3, private_key, config, progress=progress)
    save(deployment, path)
    return deployment, True
