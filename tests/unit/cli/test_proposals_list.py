"""``fairgov proposals list`` and ``show``: tallies that never read 0.00, descriptions without
the ``#proposer=`` suffix OpenZeppelin's Governor reads (review, session 26)."""

from __future__ import annotations

from contextlib import nullcontext
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import cli.proposals
from cli.main import app
from governance.index.models import Proposal

runner = CliRunner()
PROPOSER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _row() -> Proposal:
    return Proposal(
        proposal_id="42",
        proposer=PROPOSER,
        description=f"Bound demographic parity #proposer={PROPOSER}",
        description_hash="0x" + "00" * 32,
        calls='{"targets": [], "values": [], "calldatas": []}',
        actions="[]",
        snapshot=10,
        vote_end=40,
        deadline=40,
        quorum=str(4 * 10**16),
        for_votes=str(3 * 10**15),  # 0.003 tokens: read 0.00
        against_votes=str(400_000 * 10**18),
        abstain_votes="1",
        state="Active",
        created_block=9,
        created_log_index=0,
        tx_hash="0x" + "ab" * 32,
    )


@pytest.fixture
def indexed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setattr(
        cli.proposals, "_synced_session_context", lambda: (SimpleNamespace(), nullcontext())
    )
    monkeypatch.setattr(cli.proposals, "list_proposals", lambda session, **_: [_row()])
    monkeypatch.setattr(cli.proposals, "get_proposal", lambda session, proposal_id: _row())


def test_the_list_shows_small_tallies_and_the_description_as_written(indexed: None):
    result = runner.invoke(app, ["proposals", "list"])
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.output.splitlines() if x.strip().startswith("42")]
    assert line.split()[:5] == ["42", "Active", "0.003", "400,000", "0.000000000000000001"]
    assert "0.00 " not in line
    assert line.rstrip().endswith("Bound demographic parity")
    assert "#proposer" not in result.output


def test_show_gives_the_proposer_apart_from_the_description(indexed: None):
    result = runner.invoke(app, ["proposals", "show", "42"])
    assert result.exit_code == 0, result.output
    assert f"proposer   {PROPOSER}" in result.output
    assert "description: Bound demographic parity\n" in result.output
    assert "votes      for 0.003, against 400,000, abstain 0.000000000000000001" in result.output
    assert "quorum 0.04" in result.output
