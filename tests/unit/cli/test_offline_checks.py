"""Input a command can judge without a node is refused before the stack is looked for: with
no deployment it is the input's own line, not ``not_deployed`` (review, session 22)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()

_SALT = "ab" * 32


@pytest.fixture
def no_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path / "nothing-deployed"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _one_line(args: list[str]) -> str:
    result = runner.invoke(app, args, prog_name="fairgov")
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert "not_deployed" not in lines[0]
    return lines[0]


def test_an_empty_actions_file_is_refused_before_the_stack(no_stack: Path):
    (no_stack / "empty.json").write_text("[]")
    line = _one_line(["propose", "empty.json", "--description", "x", "--dev-account", "1"])
    assert line == "fairgov: a proposal needs at least one action [empty_proposal]"


@pytest.mark.parametrize(
    ("claim", "message"),
    [
        ({"record": [1], "salt": _SALT, "proof": []}, "its record a JSON object"),
        ({"record": {"a": 1}, "salt": _SALT, "proof": []}, "must be text or null"),
        ({"record": {"a": "1"}, "salt": _SALT, "proof": "0x"}, "a list of 0x hashes"),
        ({"record": {"a": "1"}, "salt": "00", "proof": []}, "salt must be 32 bytes, not 1"),
    ],
)
def test_a_malformed_proof_is_refused_before_the_stack(
    no_stack: Path, claim: dict[str, object], message: str
):
    (no_stack / "proof.json").write_text(json.dumps({"dataset_id": "0x" + "00" * 32, **claim}))
    line = _one_line(["provider", "check", "proof.json"])
    assert line.startswith("fairgov: proof.json is not a proof from `fairgov provider prove`")
    assert message in line


def test_a_well_formed_proof_then_needs_the_stack(no_stack: Path):
    claim = {"dataset_id": "0x" + "00" * 32, "record": {"a": "1"}, "salt": _SALT, "proof": []}
    (no_stack / "proof.json").write_text(json.dumps(claim))
    result = runner.invoke(app, ["provider", "check", "proof.json"], prog_name="fairgov")
    assert result.exit_code == 2
    assert "[not_deployed]" in result.output
