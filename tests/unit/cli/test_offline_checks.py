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
    assert line.endswith("[invalid_inclusion_proof]")


def test_a_proof_that_is_not_json_says_what_to_check_with_its_code(no_stack: Path):
    """Outside review: a proof file that was not JSON had no code."""
    (no_stack / "proof.json").write_text("{")
    line = _one_line(["provider", "check", "proof.json"])
    assert "is not a proof from `fairgov provider prove` (Expecting property name" in line
    assert line.endswith(
        "check the file the dataset's provider printed with `fairgov provider prove`, "
        "unchanged [invalid_inclusion_proof]"
    )


def test_proving_with_another_datasets_salts_is_a_records_root_mismatch(no_stack: Path):
    """Outside review: "wrong salts file?" had no code; the refusal is now the one
    ``provider offer`` gives for the same salts (``records_root_mismatch``)."""
    manifests = {}
    for name, rows in (("a", "1,A,3\n0,B,4\n1,A,5\n"), ("b", "0,A,1\n1,B,2\n1,B,3\n")):
        (no_stack / f"{name}.csv").write_text("y,g,x\n" + rows)
        result = runner.invoke(
            app,
            ["datasets", "register", f"{name}.csv", "--label", "y", "--positive", "1",
             "--sensitive", "g", "--salts", f"{name}.salts"],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        manifests[name] = no_stack / f"{name}.manifest.json"
        manifests[name].write_text(result.stdout[result.stdout.index("{") :])
    line = _one_line(["provider", "prove", str(manifests["a"]), "--salts", "b.salts", "--row", "1"])
    assert line.startswith("fairgov: the records of dataset a with these salts commit to ")
    assert line.endswith("[records_root_mismatch]")


def test_registering_a_model_file_that_is_not_there_says_so_with_its_code(no_stack: Path):
    """Outside review: ``fairgov models register nope.onnx`` had no code."""
    line = _one_line(["models", "register", "nope.onnx"])
    assert line == "fairgov: no such file: nope.onnx: check the path [input_file_not_found]"


def test_a_well_formed_proof_then_needs_the_stack(no_stack: Path):
    claim = {"dataset_id": "0x" + "00" * 32, "record": {"a": "1"}, "salt": _SALT, "proof": []}
    (no_stack / "proof.json").write_text(json.dumps(claim))
    result = runner.invoke(app, ["provider", "check", "proof.json"], prog_name="fairgov")
    assert result.exit_code == 2
    assert "[not_deployed]" in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not a reward statement (Invalid JSON"),
        ("[]", "is not a reward statement (Input should be an object)"),
    ],
)
def test_a_file_that_is_not_a_statement_is_named_as_such(no_stack: Path, text: str, message: str):
    """Review (session 23): the line began ``FAIRGOV_:`` as if a setting were wrong."""
    (no_stack / "s.json").write_text(text)
    line = _one_line(["rewards", "verify", "s.json", "--epoch", "3"])
    assert message in line
    assert "FAIRGOV_" not in line


def test_a_folder_given_as_the_statement_is_said_to_be_one(no_stack: Path):
    line = _one_line(["rewards", "verify", str(no_stack), "--epoch", "3"])
    assert f"{no_stack} is a folder" in line


def test_a_terms_hash_that_is_not_a_hash_names_the_option(no_stack: Path):
    (no_stack / "m.json").write_text("{}")
    (no_stack / "s.salts").write_bytes(b"")
    line = _one_line(
        ["provider", "offer", "m.json", "--salts", "s.salts", "--terms-hash", "0x12",
         "--dev-account", "5"]
    )  # fmt: skip
    assert line.startswith("fairgov: --terms-hash '0x12': give the terms' sha256")


_ID = "0x" + "00" * 32
_TWICE = (
    f'{{"dataset_id": "{_ID}", "record": {{"group": "A", "group": "B"}}, '
    f'"salt": "{_SALT}", "proof": []}}'
)
_NAMED = f'{{"dataset_id": "loans", "record": {{}}, "salt": "{_SALT}", "proof": []}}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # A reader keeping the first "group" sees A; Python keeps the last and verified B.
        (_TWICE, "it names 'group' twice"),
        (_NAMED, "its dataset_id must be 0x and 64 hex digits"),
    ],
)
def test_an_ambiguous_proof_is_refused(no_stack: Path, text: str, message: str):
    """Review (session 23): a proof naming a field twice verified the last value."""
    (no_stack / "proof.json").write_text(text)
    line = _one_line(["provider", "check", "proof.json"])
    assert message in line


def test_an_unknown_estimator_lists_the_estimators_before_the_stack(no_stack: Path):
    """Review (session 26): it read ``String should match pattern '^(logistic_regression|…)$'``."""
    (no_stack / "spec.yaml").write_text(
        "name: loans-lr\ndataset: loans\nestimator: random_forest\n"
    )
    line = _one_line(["audit", "run", "spec.yaml"])
    assert line.startswith(
        "fairgov: invalid model spec: estimator 'random_forest' is not one of: "
        "logistic_regression, hist_gradient_boosting, or module:Class"
    ), line
    assert "pattern" not in line
