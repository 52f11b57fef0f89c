"""``fairgov guardian`` and the protection settings of ``fairgov propose``, against anvil."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from cli.main import app
from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy
from tests.helpers import CANCELED, HOLDER_KEYS, Governance, address_of

runner = CliRunner()
GUARDIAN = address_of(DEV_PRIVATE_KEYS[6])


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
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    return gov


def _ok(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _one_line_error(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


def _propose(*args: str) -> int:
    output = _ok("propose", *args, "--dev-account", "1")
    _ok("relay")
    return int(output.split("proposal ", 1)[1].split()[0])


def test_guardian_show_prints_the_protection(stack: Governance):
    output = _ok("guardian", "show")
    config = stack.deployment.config
    assert f"guardian                 {GUARDIAN}" in output
    assert "supermajority            2/3 of FOR + AGAINST" in output
    assert f"voting period            {config.voting_period} blocks" in output
    assert f"at least {config.loosening_voting_period} blocks" in output
    assert f"timelock delay           {config.timelock_delay} s" in output


def test_a_protection_change_is_proposed_shown_and_cancelled_by_the_guardian(stack: Governance):
    proposal_id = _propose(
        "--action", "supermajority=3/4", "--action", "guardian=none", "--description", "Weaken"
    )
    shown = _ok("proposals", "show", str(proposal_id))
    assert "Set the supermajority of loosening proposals to 3/4" in shown
    assert "Remove the fairness guardian" in shown
    assert (
        "protection loosening (protection_changed, protection_changed): needs at least 2/3 of "
        "FOR + AGAINST" in shown
    )
    assert ">=2/3 loosening" in _ok("proposals", "list")

    refused = _one_line_error("guardian", "cancel", str(proposal_id), "--dev-account", "2")
    assert "may not cancel as guardian" in refused
    output = _ok("guardian", "cancel", str(proposal_id), "--dev-account", "6")
    assert f"cancel proposal {proposal_id} as guardian {GUARDIAN}" in output
    assert "accepted: relay #" in output
    assert "1 confirmed" in _ok("relay")
    assert stack.governor.functions.state(proposal_id).call() == CANCELED
    assert "state      Canceled" in _ok("proposals", "show", str(proposal_id))


def test_the_guardian_may_not_cancel_what_is_not_loosening(stack: Governance, tmp_path: Path):
    proposal_id = _propose("--action", "loosening-period=60", "--description", "Longer")
    actions = tmp_path / "bound.json"
    actions.write_text(
        '[{"kind": "set_threshold", "metric": "demographic_parity_difference", '
        '"value": "0.1", "direction": "upper"}]'
    )
    tight = _propose(str(actions), "--description", "A new bound")
    assert "not loosening: needs more than 1/2" in _ok("proposals", "show", str(tight))
    refused = _one_line_error("guardian", "cancel", str(tight), "--dev-account", "6")
    assert f"proposal {tight} does not loosen" in refused
    assert _one_line_error("guardian", "cancel", "12345", "--dev-account", "6").count(
        "there is no proposal 12345"
    )
    dry = _ok("guardian", "cancel", str(proposal_id), "--dev-account", "6", "--dry-run")
    assert "dry run" in dry
    assert stack.w3.eth.get_transaction_count(GUARDIAN) == 0


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("supermajority=1/2", "the supermajority 1/2 is invalid"),
        ("supermajority=5/4", "the supermajority 5/4 is invalid"),
        ("supermajority=3", "the supermajority 3/ is invalid"),
        ("loosening-period=0", "the loosening voting period '0' is invalid"),
        ("guardian=0x12", "--action guardian=0x12: "),
        ("quorum=3", "unknown --action 'quorum=3'"),
    ],
)
def test_bad_protection_settings_are_one_line_and_propose_nothing(
    stack: Governance, action: str, message: str
):
    output = _one_line_error(
        "propose", "--action", action, "--description", "x", "--dev-account", "1"
    )
    assert message in output
    assert stack.w3.eth.get_transaction_count(address_of(HOLDER_KEYS[0])) == 1  # its delegation


def test_propose_needs_actions(stack: Governance):
    assert "give an actions file, or --action" in _one_line_error(
        "propose", "--description", "x", "--dev-account", "1"
    )
