"""The audit environment."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from web3 import Web3

from audit.env import AuditEnv
from audit.errors import AuditorKeyMissing
from governance.chain.deploy import Deployment


def _env(key: str | None) -> AuditEnv:
    deployment = Deployment.__new__(Deployment)  # not read: no chain is needed here
    return AuditEnv(
        engine=create_engine("sqlite://"),
        w3=Web3(),
        deployment=deployment,
        data_dir=Path("data"),
        auditor_key=key,
    )


def test_runs_without_an_auditor_key_are_refused_with_a_code() -> None:
    with pytest.raises(AuditorKeyMissing) as caught:
        _env(None).require_auditor_key()
    assert caught.value.code == "auditor_key_missing"
    assert "FAIRGOV_AUDITOR_KEY" in caught.value.message


def test_directories_are_under_the_data_dir() -> None:
    env = _env("0x" + "11" * 32)
    assert env.require_auditor_key() == "0x" + "11" * 32
    assert (env.reports_dir, env.models_dir) == (Path("data/reports"), Path("data/models"))
