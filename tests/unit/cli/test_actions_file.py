"""``fairgov propose`` and ``proposals preview`` read an actions file: errors name the action."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer

from cli.proposals import _read_actions

DP = "demographic_parity_difference"


def _file(tmp_path: Path, actions: list[dict[str, object]]) -> Path:
    path = tmp_path / "actions.json"
    path.write_text(json.dumps(actions))
    return path


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"kind": "set_evidence_rule", "confidence_level": "0.5"}, "invalid_confidence_level"),
        ({"kind": "set_evidence_rule", "min_denominator": "9" * 5000}, "invalid_minimum_size"),
        ({"kind": "set_evidence_rule", "on_inconclusive": "warn"}, "invalid_on_inconclusive"),
    ],
)
def test_a_rule_the_domain_refuses_names_the_file_the_action_and_the_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: dict[str, object], code: str
) -> None:
    # Regression (review, session 15): the line had neither the file, the action nor a code.
    good = {"kind": "set_threshold", "metric": DP, "value": "0.1", "direction": "upper"}
    path = _file(tmp_path, [good, bad])
    with pytest.raises(typer.Exit):
        _read_actions(path)
    line = " ".join(capsys.readouterr().err.split())
    assert line.startswith(f"fairgov: {path}: action 1: "), line
    assert line.endswith(f"[{code}]"), line
    assert len(line) < 400


def test_valid_actions_are_read(tmp_path: Path) -> None:
    rule = {"kind": "set_evidence_rule", "confidence_level": "0.99", "min_group_size": 0}
    (action,) = _read_actions(_file(tmp_path, [rule]))
    assert action.kind == "set_evidence_rule"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "(empty file)"),
        ("  \n", "(empty file)"),
        ('[{"kind": "set_threshold",', "(line 1 column 27: Expecting property name"),
        ('[\n  {"kind": "set_threshold"}\n', "(line 3 column 1: Expecting ',' delimiter)"),
    ],
)
def test_a_file_that_is_not_json_says_so_and_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, problem: str
) -> None:
    # Regression (review, session 26): "allow.json: action : Invalid JSON: EOF while parsing".
    path = tmp_path / "allow.json"
    path.write_text(text)
    with pytest.raises(typer.Exit):
        _read_actions(path)
    line = " ".join(capsys.readouterr().err.split())
    assert line.startswith(f"fairgov: {path} is not valid JSON {problem}"), line
    assert "write the actions as a JSON list" in line
    assert "action :" not in line


def test_a_file_that_holds_no_list_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "allow.json"
    path.write_text('{"kind": "set_threshold"}')
    with pytest.raises(typer.Exit):
        _read_actions(path)
    line = " ".join(capsys.readouterr().err.split())
    assert line.startswith(f"fairgov: {path} holds no list of actions ("), line
    assert "write the actions as a JSON list" in line
