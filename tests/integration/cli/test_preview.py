"""``fairgov proposals preview``: a draft's or a proposal's impact, against the real outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3
from web3.logs import DISCARD

from cli.compose import load_context
from cli.main import app
from governance.actions import encode
from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, vote_queue_execute
from tests.integration.audit.audit_support import DP, dp_threshold
from tests.integration.audit.impact_support import (
    FAIR,
    PLAIN,
    TwoModels,
    reaudit_all,
    two_audited_models,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow]
runner = CliRunner()
RAISE = [{"kind": "set_threshold", "metric": DP, "value": "0.35", "direction": "upper"}]


@pytest.fixture
def data_dir(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The CLI's data directory, on the session chain."""
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FAIRGOV_RPC_URL", isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "300")
    return tmp_path


@pytest.fixture
def models(isolated_chain: Web3, deployment: deploy.Deployment, data_dir: Path) -> TwoModels:
    """The CLI's data directory, with two audited models in its database."""
    engine = load_context().engine
    return two_audited_models(isolated_chain, deployment, engine, data_dir)


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _row(output: str, model: str) -> str:
    (line,) = [line for line in output.splitlines() if line.strip().startswith(model)]
    return " ".join(line.split())


def _actions(tmp_path: Path, actions: list[dict[str, str]]) -> str:
    path = tmp_path / "actions.json"
    path.write_text(json.dumps(actions))
    return str(path)


def test_a_draft_preview_shows_each_model_and_the_rules(models: TwoModels, tmp_path: Path):
    output = _ok("proposals", "preview", "--actions", _actions(tmp_path, RAISE))
    assert f"Set threshold {DP} <= 0.35" in output
    assert (
        "loosening (threshold_weakened): needs at least 2/3 of the FOR and AGAINST votes" in output
    )
    assert _row(output, PLAIN.name).startswith(
        f"{PLAIN.name} FAIL -> PASS blocked -> approved fail_to_pass"
    )
    assert _row(output, FAIR.name).startswith(
        f"{FAIR.name} PASS approved unchanged judged from stored evidence"
    )


def test_the_full_preview_runs_beside_the_quick_one(models: TwoModels, tmp_path: Path):
    output = _ok("proposals", "preview", "--actions", _actions(tmp_path, RAISE), "--full")
    rows = [line for line in output.splitlines() if line.strip().startswith(PLAIN.name)]
    assert len(rows) == 2  # the quick table's row, then the full table's
    assert " ".join(rows[1].split()).startswith(f"{PLAIN.name} PASS PASS blocked -> approved yes")


def test_a_proposal_preview_is_what_executing_and_reauditing_gives(
    models: TwoModels, deployment: deploy.Deployment, isolated_chain: Web3
):
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    calls = encode([dp_threshold("0.35")], deployment.addresses)
    receipt = gov.send(HOLDER_KEYS[0], gov.governor, "propose", *calls, "Looser parity")
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    proposal_id = created["args"]["proposalId"]

    output = _ok("proposals", "preview", str(proposal_id))
    assert f"proposal {proposal_id} (Pending)" in output
    vote_queue_execute(gov, proposal_id, calls, "Looser parity")
    real = reaudit_all(models.env)
    for name, run in real.items():
        current = {FAIR.name: "PASS", PLAIN.name: "FAIL"}[name]
        verdict = current if current == run.verdict else f"{current} -> {run.verdict}"
        assert _row(output, name).startswith(f"{name} {verdict}")
    assert (real[PLAIN.name].verdict, real[PLAIN.name].model_status) == ("PASS", "approved")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["proposals", "preview"], "give a proposal id or --actions FILE"),
        (["proposals", "preview", "1", "--actions", "a.json"], "not both"),
        (["proposals", "preview", "999"], "there is no proposal 999 in the index"),
        (["proposals", "preview", "--actions", "/nonexistent.json"], "cannot read"),
    ],
)
@pytest.mark.usefixtures("data_dir")  # no models: each error comes before any is looked at
def test_user_errors_are_one_line(args: list[str], message: str):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_an_action_the_policy_would_refuse_is_one_line(models: TwoModels, tmp_path: Path):
    clear = [{"kind": "clear_threshold", "metric": "equalized_odds_difference"}]
    result = runner.invoke(app, ["proposals", "preview", "--actions", _actions(tmp_path, clear)])
    assert result.exit_code == 2
    assert "action 1 (Clear threshold equalized_odds_difference) cannot apply" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
