"""Shared steps of the audit pipeline tests: a registered synthetic dataset and proposals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import Engine
from web3 import Web3

from audit.env import AuditEnv
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from core.db import session_scope
from core.settings import DEV_PRIVATE_KEYS
from governance.actions import Action, SetMitigation, SetThreshold, encode
from governance.chain.deploy import Deployment
from tests.helpers import Governance, pass_and_execute_encoded

AUDITOR_KEY = DEV_PRIVATE_KEYS[9]
DP = "demographic_parity_difference"


def audit_env(
    engine: Engine, w3: Web3, deployment: Deployment, data_dir: Path, key: str | None = AUDITOR_KEY
) -> AuditEnv:
    """The audit environment of a test: its chain, database and data directory."""
    return AuditEnv(engine=engine, w3=w3, deployment=deployment, data_dir=data_dir, auditor_key=key)


def register_loans(
    engine: Engine, tmp_path: Path, name: str = "loans", *, seed: int = 0
) -> DatasetManifest:
    """Write the synthetic loans CSV and store its manifest. Two datasets a policy allows
    together need two seeds: the policy refuses one file's bytes under a second id."""
    csv = write_loans_csv(tmp_path / f"{name}.csv", seed=seed)
    manifest = build_manifest(
        csv,
        name=name,
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        licence="CC0-1.0",
        description="synthetic loan approvals with injected bias against group B",
        salts_path=tmp_path / f"{name}.salts",
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    return manifest


def govern(w3: Web3, deployment: Deployment, actions: list[Action], description: str) -> None:
    """Pass and execute ``actions`` through a real proposal."""
    gov = Governance(w3, deployment)
    gov.delegate_all_to_self()
    pass_and_execute_encoded(gov, *encode(actions, deployment.addresses), description)


def dp_threshold(bound: str) -> SetThreshold:
    return SetThreshold(metric=DP, value=Decimal(bound), direction="upper")


def mitigate(strategy: str = "threshold_optimizer") -> SetMitigation:
    return SetMitigation(strategy=strategy, constraint="demographic_parity")  # type: ignore[arg-type]
