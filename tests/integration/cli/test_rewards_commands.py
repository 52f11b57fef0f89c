"""``fairgov rewards``: post, list, download and verify a statement, claim without gas."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from cli.compose import migrated_engine
from cli.main import app
from core.settings import Settings
from governance.chain import deploy
from tests.helpers import TEST_CONFIG, advance_time
from tests.integration.audit.rewards.service_support import approved_run, offer_dataset
from tests.integration.governance.rewards.rewards_support import ALICE, ALICE_KEY, fund

runner = CliRunner()
pytestmark = pytest.mark.chain


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_provider_follows_and_claims_a_reward_from_the_command_line(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    w3 = isolated_chain
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FAIRGOV_RPC_URL", w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "200")
    engine = migrated_engine(Settings())
    fund(w3, deployment)
    run = approved_run(engine, w3, deployment, tmp_path, offer_dataset(w3, deployment, ALICE_KEY))

    code, output = _run("rewards", "post")
    assert code == 0, output
    assert f"run {run.run_id}: epoch " in output
    epoch = output.split("epoch ")[1].split()[0]
    listed = _run("rewards", "list", ALICE)[1]
    assert "pending_window" in listed
    # UTC ISO 8601 and how long from now, not raw unix time (review, session 26).
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(in \d", listed), listed

    statement = tmp_path / "statement.json"
    code, output = _run("rewards", "statement", epoch, "--out", str(statement))
    assert code == 0, output
    code, output = _run("rewards", "verify", str(statement), "--epoch", epoch)
    assert (code, "verified" in output) == (0, True)
    statement.write_bytes(statement.read_bytes().replace(b'"loans-lr"', b'"loans-lr2"'))
    code, output = _run("rewards", "verify", str(statement), "--epoch", epoch)
    assert code == 2
    assert "is not the one anchored for epoch" in output

    code, output = _run("rewards", "claim", epoch, "--dev-account", "2")
    assert code == 2
    assert "challenge window" in output
    advance_time(w3, TEST_CONFIG.rewards_challenge_window + 1)
    code, output = _run("rewards", "claim", epoch, "--dev-account", "2")
    assert code == 0, output
    assert "claim of 1,000 tokens" in output
    assert "1 confirmed" in _run("relay")[1]
    code, output = _run("rewards", "list", ALICE)
    assert "claimed" in output
    code, output = _run("rewards", "claim", epoch, "--dev-account", "2")
    assert code == 2
    assert "already claimed" in output
