"""The governance commands a holder runs: delegate, propose, vote, relay — against anvil."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from cli.main import app
from governance.chain import deploy
from tests.helpers import HOLDER_KEYS, Governance, address_of, mine

runner = CliRunner()


@pytest.fixture
def stack(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Governance:
    """The CLI's environment: a data directory holding the session chain's deployment."""
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FAIRGOV_RPC_URL", isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "200")
    return Governance(isolated_chain, deployment)


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_holders_govern_from_the_command_line(stack: Governance, tmp_path: Path):
    for account in (1, 2, 3):
        _ok("delegate", address_of(HOLDER_KEYS[account - 1]), "--dev-account", str(account))
    assert "3 confirmed" in _ok("relay")
    actions = tmp_path / "actions.json"
    actions.write_text(
        json.dumps(
            [
                {
                    "kind": "set_threshold",
                    "metric": "demographic_parity_difference",
                    "value": "0.1",
                    "direction": "upper",
                }
            ]
        )
    )
    output = _ok("propose", str(actions), "--description", "Bound DP", "--dev-account", "1")
    assert "Set threshold demographic_parity_difference <= 0.1" in output
    proposal_id = int(output.split("proposal ", 1)[1].split()[0])
    _ok("relay")
    mine(stack.w3, 2)
    for account in (1, 2, 3):
        assert "accepted" in _ok("vote", str(proposal_id), "for", "--dev-account", str(account))
    assert "3 confirmed" in _ok("relay")
    # Again, with nothing left: it says so rather than "0 confirmed" (read as a lost vote).
    assert "nothing to relay" in _ok("relay")
    _, for_votes, _ = stack.governor.functions.proposalVotes(proposal_id).call()
    holders = [address_of(HOLDER_KEYS[i]) for i in range(3)]
    assert for_votes == sum(stack.token.functions.balanceOf(h).call() for h in holders)


def test_a_dry_run_sends_nothing(stack: Governance, tmp_path: Path):
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "revoke_auditor", "account": "0x" + "12" * 20}]))
    output = _ok("propose", str(actions), "--description", "x", "--dev-account", "1", "--dry-run")
    assert "dry run" in output
    assert stack.governor.events.ProposalCreated().get_logs(from_block=0) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vote", "1", "for"], "choose the signing key with one of"),
        (["vote", "1", "for", "--dev-account", "1", "--key-file", "k"], "choose the signing key"),
        (["vote", "1", "for", "--key-file", "/nonexistent"], "cannot read the key file"),
        (["vote", "12345", "for", "--dev-account", "1"], "there is no proposal 12345"),
        (["delegate", "0x" + "12" * 20, "--keystore", "/nonexistent"], "cannot read the keystore"),
    ],
)
def test_user_errors_are_one_line(stack: Governance, args: list[str], message: str):
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_a_bad_actions_file_is_one_line(stack: Governance, tmp_path: Path):
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "set_threshold", "metric": "nope", "value": "0.1"}]))
    result = runner.invoke(
        app, ["propose", str(actions), "--description", "x", "--dev-account", "1"]
    )
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"confidence_level": "1"}, "the confidence level 1 is invalid"),
        ({"min_group_size": -3}, "min_group_size -3 is invalid"),
        ({"metric": "count"}, "the metric 'count' has no confidence interval"),
    ],
)
def test_an_evidence_rule_that_cannot_be_enacted_is_one_line_and_proposes_nothing(
    stack: Governance, tmp_path: Path, action: dict[str, object], message: str
):
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "set_evidence_rule", **action}]))
    result = runner.invoke(
        app, ["propose", str(actions), "--description", "x", "--dev-account", "1"]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert stack.governor.events.ProposalCreated().get_logs(from_block=0) == []


def test_an_evidence_rule_proposal_shows_what_it_does(stack: Governance, tmp_path: Path):
    actions = tmp_path / "actions.json"
    rule = {"kind": "set_evidence_rule", "confidence_level": "0.9", "on_inconclusive": "block"}
    actions.write_text(json.dumps([rule]))
    output = _ok("propose", str(actions), "--description", "x", "--dev-account", "1", "--dry-run")
    assert "Set the default evidence rule: 0.9 confidence, groups of at least 30 rows" in output


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({"aggregation": "bulyan"}, "strategy 'bulyan' is unknown"),
        ({"aggregation": "fedtrimmedavg", "trim_beta": "0.6"}, "trim_beta 0.6 is invalid"),
        ({"aggregation": "fedmedian", "krum_f": 2}, "krum_f 2 is invalid"),
        ({"aggregation": "fedavg", "epsilon": "-1"}, "epsilon -1 is invalid"),
        ({"aggregation": "krum", "krum_f": 1, "min_nodes": 4}, "2 * krum_f + 3 = 5"),
    ],
)
def test_a_federation_policy_that_cannot_be_enacted_is_one_line_and_proposes_nothing(
    stack: Governance, tmp_path: Path, action: dict[str, object], message: str
):
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "set_federation_policy", **action}]))
    result = runner.invoke(
        app, ["propose", str(actions), "--description", "x", "--dev-account", "1"]
    )
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert stack.governor.events.ProposalCreated().get_logs(from_block=0) == []


def test_a_federation_policy_proposal_shows_what_it_does(stack: Governance, tmp_path: Path):
    actions = tmp_path / "actions.json"
    policy = {
        "kind": "set_federation_policy",
        "aggregation": "fedmedian",
        "epsilon": "1",
        "min_nodes": 3,
    }
    actions.write_text(json.dumps([policy]))
    output = _ok("propose", str(actions), "--description", "x", "--dev-account", "1", "--dry-run")
    assert (
        "Set the federation policy: FedMedian, audit counts with noise at epsilon 1 per node, "
        "at least 3 nodes" in output
    )


def test_a_threshold_out_of_its_metric_range_is_one_line_and_proposes_nothing(
    stack: Governance, tmp_path: Path
):
    actions = tmp_path / "actions.json"
    bound = {"kind": "set_threshold", "metric": "demographic_parity_difference", "value": "-0.1"}
    actions.write_text(json.dumps([{**bound, "direction": "upper"}]))
    result = runner.invoke(
        app, ["propose", str(actions), "--description", "x", "--dev-account", "1"]
    )
    assert result.exit_code == 2
    assert "demographic_parity_difference <= -0.1 is out of range" in result.output
    assert "no model could ever meet it" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert stack.governor.events.ProposalCreated().get_logs(from_block=0) == []


def test_a_signed_threshold_proposal_shows_its_negative_bound(stack: Governance, tmp_path: Path):
    actions = tmp_path / "actions.json"
    floor = {
        "kind": "set_threshold",
        "metric": "statistical_parity_difference",
        "value": "-0.1",
        "direction": "lower",
    }
    actions.write_text(json.dumps([floor]))
    output = _ok("propose", str(actions), "--description", "x", "--dev-account", "1", "--dry-run")
    assert "Set threshold statistical_parity_difference >= -0.1" in output


def test_commands_need_a_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["relay"])
    assert result.exit_code == 2
    assert "no deployment in" in result.output
    assert "fairgov run" in result.output


def test_proposals_list_and_show_read_the_index(stack: Governance, tmp_path: Path):
    stack.delegate_all_to_self()
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "set_mitigation", "strategy": "none"}]))
    output = _ok("propose", str(actions), "--description", "No mitigation", "--dev-account", "1")
    proposal_id = output.split("proposal ", 1)[1].split()[0]
    _ok("relay")
    mine(stack.w3, 2)
    listed = _ok("proposals", "list")
    assert proposal_id in listed
    assert "Active" in listed
    assert "No mitigation" in listed
    assert proposal_id in _ok("proposals", "list", "--state", "active")
    assert "no proposals in state Executed" in _ok("proposals", "list", "--state", "Executed")
    shown = _ok("proposals", "show", proposal_id)
    assert "Set mitigation none" in shown
    assert "state      Active" in shown
    result = runner.invoke(app, ["proposals", "show", "999"])
    assert result.exit_code == 2
    assert "there is no proposal 999 in the index" in result.output
    result = runner.invoke(app, ["proposals", "list", "--state", "sleeping"])
    assert result.exit_code == 2
    assert "unknown state" in result.output


def test_a_second_ballot_says_what_differs_from_the_first(stack: Governance, tmp_path: Path):
    # Regression (review, session 26): a new reason with the same support read "already
    # voted ... with support 1", as if the support were what differed.
    _ok("delegate", address_of(HOLDER_KEYS[0]), "--dev-account", "1")
    actions = tmp_path / "actions.json"
    actions.write_text(json.dumps([{"kind": "set_mitigation", "strategy": "none"}]))
    output = _ok("propose", str(actions), "--description", "x", "--dev-account", "1")
    proposal_id = output.split("proposal ", 1)[1].split()[0]
    _ok("relay")
    mine(stack.w3, 2)
    _ok("vote", proposal_id, "for", "--reason", "fair", "--dev-account", "1")
    for args, differs in [
        (["for", "--reason", "fairer"], "the same support, for (1), but another reason: "
         "'fairer' where the first gave 'fair'"),
        (["against", "--reason", "fair"], "another support: against (0) where the first was "
         "for (1)"),
    ]:  # fmt: skip
        result = runner.invoke(app, ["vote", proposal_id, *args, "--dev-account", "1"])
        assert result.exit_code == 2, result.output
        line = " ".join(result.output.split())
        assert differs in line, line
        assert line.endswith("a vote cannot be changed [ballot_conflict]"), line
