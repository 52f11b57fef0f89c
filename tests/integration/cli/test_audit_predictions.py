"""``fairgov audit predictions``: exit status by verdict, report files, one-line errors."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from audit.render import REPORT_FILES
from cli.main import app

runner = CliRunner()
FAST = ("--n-boot", "40")


def _write(path: Path, n: int, bias: float, *, seed: int = 7) -> Path:
    """Rows of sex, race, y, pred, score; ``bias`` raises the men's scores."""
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    race = rng.choice(["A", "B"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.5 * y + 0.25 + rng.normal(0, 0.15, n) + (sex == "male") * bias, 0, 1)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sex", "race", "y", "pred", "score", "outcome"])
        for row in zip(sex, race, y, (score >= 0.5).astype(int), score.round(4), y, strict=True):
            writer.writerow([*row[:5], "approved" if row[5] else "denied"])
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("predictions")
    _write(root / "biased.csv", 400, 0.3)
    _write(root / "fair.csv", 4000, 0.0)  # 2,000 rows a group: enough to show parity
    _write(root / "unsure.csv", 400, 0.0)
    _write(root / "tiny.csv", 40, 0.0)
    return root


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "predictions", *args, *FAST], env={"COLUMNS": "200"})
    return result.exit_code, result.output


def _base(path: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(path),
        "--label",
        "y",
        "--prediction",
        "pred",
        "--sensitive",
        "sex",
        "--out",
        str(out),
        *extra,
    ]


def test_biased_predictions_fail_and_write_every_file(data: Path, tmp_path: Path):
    code, output = _run(*_base(data / "biased.csv", tmp_path / "out"))
    assert code == 1, output
    assert "FAIL" in output
    assert "demographic_parity_difference" in output
    assert "defaults" in output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(REPORT_FILES)
    report = json.loads((tmp_path / "out" / "report.json").read_bytes())
    assert report["verdict"] == "FAIL"
    assert any("defaults" in w for w in report["warnings"])


def test_fair_predictions_pass(data: Path, tmp_path: Path):
    code, output = _run(*_base(data / "fair.csv", tmp_path / "out"))
    assert code == 0, output
    assert "PASS" in output


def test_small_groups_are_inconclusive(data: Path, tmp_path: Path):
    code, output = _run(*_base(data / "tiny.csv", tmp_path / "out"))
    assert code == 3, output
    assert "INCONCLUSIVE" in output


def test_a_fair_model_on_too_few_rows_is_inconclusive_and_says_how_many_would_do(
    data: Path, tmp_path: Path
):
    code, output = _run(*_base(data / "unsure.csv", tmp_path / "out"))
    assert code == 3, output
    assert "smallest group to decide" in output
    report = json.loads((tmp_path / "out" / "report.json").read_bytes())
    needed = [c["rows_needed"] for c in report["audit"]["checks"]]
    assert all(n is not None and n > 200 for n in needed), needed


def test_the_evidence_rule_is_stated_and_recorded(data: Path, tmp_path: Path):
    out = tmp_path / "out"
    code, output = _run(
        *_base(
            data / "fair.csv",
            out,
            "--confidence",
            "0.9",
            "--min-group-size",
            "100",
            "--on-inconclusive",
            "approve_with_warning",
            "--threshold",
            "demographic_parity_difference<=0.1",
            "--threshold",
            "equalized_odds_difference<=0.1,confidence=0.995,min_denominator=50",
        )
    )
    assert code == 0, output
    assert "Evidence rule: 90% intervals; groups of at least 100 rows" in output
    assert "(99.5%)" in output  # regression: shown as "(100%)"
    report = json.loads((out / "report.json").read_bytes())
    rule = report["audit"]["evidence_rule"]
    assert rule == {
        "confidence_level": 0.9,
        "min_group_size": 100,
        "min_denominator": 10,
        "on_inconclusive": "approve_with_warning",
    }
    first, second = report["audit"]["checks"]
    assert first["evidence_rule"] == rule
    assert second["evidence_rule"] == {**rule, "confidence_level": 0.995, "min_denominator": 50}


@pytest.mark.parametrize(
    ("extra", "code_name"),
    [
        (["--confidence", "1.0"], "invalid_confidence_level"),
        (["--confidence", "0.5"], "invalid_confidence_level"),
        (["--min-group-size", "-1"], "invalid_minimum_size"),
        (["--min-denominator", "-3"], "invalid_minimum_size"),
        (["--threshold", "selection_rate>=0.1,confidence=1.5"], "invalid_confidence_level"),
        (["--threshold", "count>=30,confidence=0.9"], "metric_has_no_interval"),
        # Regression (review, session 17): Click's usage box without a code, or accepted.
        (["--confidence", "95%"], "invalid_confidence_level"),
        (["--confidence", "0.9_5"], "invalid_confidence_level"),
        (["--confidence", "\u0660.\u0669\u0665"], "invalid_confidence_level"),
        (["--min-group-size", "1e3"], "invalid_minimum_size"),
        (["--min-group-size", "3_0"], "invalid_minimum_size"),
        (["--min-denominator", "\u0663\u0660"], "invalid_minimum_size"),
        (["--threshold", "selection_rate>=0.1,confidence=95%"], "invalid_confidence_level"),
        (["--threshold", "selection_rate>=1_0"], "invalid_threshold_spec"),
        (["--threshold", "selection_rat>=0.1"], "unknown_metric"),
    ],
)
def test_a_bad_evidence_rule_exits_2_with_one_line_and_its_code(
    data: Path, tmp_path: Path, extra: list[str], code_name: str
):
    code, output = _run(*_base(data / "unsure.csv", tmp_path / "out", *extra))
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("fairgov: ")
    assert f"[{code_name}]" in lines[0]
    assert not (tmp_path / "out").exists()


def test_same_input_gives_the_same_report_hash(data: Path, tmp_path: Path):
    _run(*_base(data / "biased.csv", tmp_path / "a"))
    _run(*_base(data / "biased.csv", tmp_path / "b"))
    first = (tmp_path / "a" / "report.json").read_bytes()
    assert first == (tmp_path / "b" / "report.json").read_bytes()
    code, _ = _run(*_base(data / "biased.csv", tmp_path / "c", "--seed", "1"))
    assert code == 1
    assert (tmp_path / "c" / "report.json").read_bytes() != first


def test_scores_with_a_cutoff_and_named_positive(data: Path, tmp_path: Path):
    out = tmp_path / "out"
    code, output = _run(
        str(data / "fair.csv"),
        "--label",
        "outcome",
        "--positive",
        "approved",
        "--prediction",
        "score",
        "--cutoff",
        "0.5",
        "--sensitive",
        "sex,race",
        "--threshold",
        "demographic_parity_ratio>=0.7",
        "--out",
        str(out),
    )
    assert code == 0, output
    report = json.loads((out / "report.json").read_bytes())
    assert report["dataset"]["positive_label"] == "approved"
    assert report["dataset"]["sensitive_features"] == ["sex", "race"]
    assert [c["threshold"]["metric"] for c in report["audit"]["checks"]] == [
        "demographic_parity_ratio"
    ]
    assert report["audit"]["checks"][0]["threshold"]["direction"] == "lower"


def test_a_score_column_judges_score_metric_thresholds(data: Path, tmp_path: Path):
    out = tmp_path / "out"
    args = ["--threshold", "roc_auc>=0.9", "--threshold", "brier_score<=0.2"]
    code, output = _run(*_base(data / "fair.csv", out, "--score", "score", *args))
    assert code == 0, output
    report = json.loads((out / "report.json").read_bytes())
    checks = report["audit"]["checks"]
    assert [c["threshold"]["metric"] for c in checks] == ["roc_auc", "brier_score"]
    assert [c["verdict"] for c in checks] == ["PASS", "PASS"]
    code, output = _run(*_base(data / "fair.csv", out, "--score", "outcome", *args))
    assert code == 2, output
    assert "score column 'outcome' must be numeric: scores of the positive class" in output
    code, output = _run(*_base(data / "fair.csv", out, "--score", "sex", *args))
    assert code == 2, output
    assert "'sex' is also the --score column" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["missing.csv", "--label", "y", "--prediction", "pred", "--sensitive", "sex"],
            "no such file",
        ),
        (
            ["{d}/fair.csv", "--label", "nope", "--prediction", "pred", "--sensitive", "sex"],
            "column 'nope' (from --label) is not in the file",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "pred",
                "--sensitive",
                "sex",
                "--threshold",
                "demographic_parity_difference<0.1",
            ],
            "bad threshold",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "pred",
                "--sensitive",
                "sex",
                "--threshold",
                "demographic_parity_diff<=0.1",
            ],
            "did you mean 'demographic_parity_difference'",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "pred",
                "--sensitive",
                "sex",
                "--threshold",
                "demographic_parity_difference<=0.1,confidence=0.9,confidence=0.99",
            ],
            "given twice: after METRIC<=VALUE give the check's own evidence rule as ,KEY=VALUE "
            "with KEY one of confidence, min_group_size, min_denominator or on_inconclusive "
            "(block or approve_with_warning), each at most once [invalid_threshold_spec]",
        ),
        (
            ["{d}/fair.csv", "--label", "y", "--prediction", "score", "--sensitive", "sex"],
            "pass --cutoff",
        ),
        (
            ["{d}/fair.csv", "--label", "outcome", "--prediction", "pred", "--sensitive", "sex"],
            "pass --positive",
        ),
        (
            ["{d}/nan.csv", "--label", "y", "--prediction", "pred", "--sensitive", "sex"],
            "column 'y' has 1 empty value",
        ),
        (
            ["{d}/x.parquet", "--label", "y", "--prediction", "pred", "--sensitive", "sex"],
            "parquet",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "outcome",
                "--prediction",
                "pred",
                "--sensitive",
                "sex",
                "--positive",
                "approved",
            ],
            "no prediction equals --positive 'approved', and its values 0, 1 are not the labels'",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "score",
                "--sensitive",
                "sex",
                "--cutoff",
                "nan",
            ],
            "--cutoff must be a plain decimal number such as 0.5, not 'nan'",
        ),
        (
            # Regression (review, session 22): float() read 0_5 as 5, so every prediction
            # was negative and a biased model PASSed.
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "score",
                "--sensitive",
                "sex",
                "--cutoff",
                "0_5",
            ],
            "--cutoff must be a plain decimal number such as 0.5, not '0_5'",
        ),
        (
            ["{d}/fair.csv", "--label", "y", "--prediction", "pred", "--sensitive", "y"],
            "--sensitive 'y' is also the --label column",
        ),
        (
            [
                "{d}/fair.csv",
                "--label",
                "y",
                "--prediction",
                "pred",
                "--sensitive",
                "sex",
                "--seed",
                "-5",
            ],
            "the bootstrap seed (--seed) must be 0 or more",
        ),
    ],
    ids=[
        "missing-file",
        "missing-column",
        "threshold-syntax",
        "unknown-metric",
        "threshold-rule-twice",
        "scores",
        "non-binary-label",
        "nan-label",
        "parquet",
        "positive-not-in-predictions",
        "non-finite-cutoff",
        "underscore-cutoff",
        "sensitive-is-label",
        "negative-seed",
    ],
)
def test_usage_errors_exit_2_with_one_line(
    data: Path, tmp_path: Path, args: list[str], message: str
):
    (data / "nan.csv").write_text("sex,y,pred\nf,1,1\nm,,0\n")
    (data / "x.parquet").write_bytes(b"PAR1")
    args = [a.replace("{d}", str(data)) for a in args]
    code, output = _run(*args, "--out", str(tmp_path / "out"))
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("fairgov: ")
    assert message in lines[0]
    assert "Traceback" not in output
    assert not (tmp_path / "out").exists()


def test_a_named_reference_group_replaces_the_most_selected_one(data: Path, tmp_path: Path):
    """The men are favoured: against them (the preset's "best") the women fail the four-fifths
    rule; against the women, named with --reference, nobody is disadvantaged."""
    code, output = _run(*_base(data / "biased.csv", tmp_path / "best", "--preset", "four_fifths"))
    assert code == 1, output
    code, output = _run(
        *_base(
            data / "biased.csv",
            tmp_path / "named",
            "--preset",
            "four_fifths",
            "--reference",
            "sex=female",
        )
    )
    assert code == 0, output
    assert "Reference group of directional checks: sex=female" in output
    best = json.loads((tmp_path / "best" / "report.json").read_bytes())
    named = json.loads((tmp_path / "named" / "report.json").read_bytes())
    assert dict(best["audit"]["config"])["reference_group"] == "best"
    assert dict(named["audit"]["config"])["reference_group"] == {"sex": "female"}
    assert named["run_id"] != best["run_id"]


@pytest.mark.parametrize(
    ("reference", "code_name", "message"),
    [
        ("sex=other", "unknown_reference_group", "sex=other does not occur"),
        ("race=A", "unknown_reference_group", "race is not one"),
        ("sex", "invalid_parameter", "FEATURE=VALUE"),
    ],
)
def test_a_bad_reference_exits_2_with_one_line_and_its_code(
    data: Path, tmp_path: Path, reference: str, code_name: str, message: str
):
    code, output = _run(*_base(data / "biased.csv", tmp_path / "out", "--reference", reference))
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("fairgov: ")
    assert message in lines[0]
    assert f"[{code_name}]" in lines[0]
    assert not (tmp_path / "out").exists()


def test_an_out_path_that_is_a_file_is_refused_before_the_audit(data: Path, tmp_path: Path):
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    code, output = _run(*_base(data / "fair.csv", taken))
    assert code == 2, output
    assert output.strip() == (
        f"fairgov: --out {taken} is a file: name a directory for the report files "
        "[invalid_output_folder]"
    )
    assert taken.read_text() == "keep me"


def test_an_unknown_preset_is_a_usage_error_naming_the_presets(data: Path, tmp_path: Path):
    """Outside review: the refusal was fairgov's own line with no code, unlike the usage
    errors Click reports for other option values; Click now reports it, naming the choices."""
    code, output = _run(*_base(data / "tiny.csv", tmp_path / "out", "--preset", "ll145"))
    assert code == 2, output
    (line,) = output.strip().splitlines()
    assert "'--preset': 'll145' is not one of 'four_fifths', 'll144'" in line
    assert "--help" in line
    assert not (tmp_path / "out").exists()


def test_group_names_and_paths_are_shown_as_written_never_as_markup(tmp_path: Path):
    """``[/]`` in a group name crashed the summary with rich's MarkupError (exit 1, read as
    FAIL) after the reports were written; ``[unknown]`` vanished; an ESC reached the terminal
    (review, session 21)."""
    frame = pd.read_csv(_write(tmp_path / "base.csv", 400, 0.3))
    names = {"female": "[/]", "male": "[unknown]\x1b[31m"}
    frame.assign(sex=frame["sex"].map(names)).to_csv(tmp_path / "marked.csv", index=False)
    out = tmp_path / "rep[bold]x"
    code, output = _run(*_base(tmp_path / "marked.csv", out))
    assert code == 1, output  # the biased file FAILs, as with plain names
    assert "Traceback" not in output
    assert "sex=[/] (n=" in output
    assert "sex=[unknown]\\x1b[31m (n=" in output
    assert "\x1b" not in output
    assert str(out / "report.json") in output


def test_the_report_never_overwrites_or_joins_its_input(data: Path, tmp_path: Path):
    # Regression (review, session 22): an input named report.csv audited with --out its own
    # folder was replaced by the report; an --out inside a data folder put report.csv among
    # the data, so the next audit of that folder failed to read it.
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(data / "tiny.csv", folder / "report.csv")
    before = (folder / "report.csv").read_bytes()
    code, output = _run(*_base(folder / "report.csv", folder))
    assert code == 2, output
    assert "would overwrite the input file" in output
    assert output.strip().endswith("name another directory [invalid_output_folder]")
    assert (folder / "report.csv").read_bytes() == before
    code, output = _run(*_base(folder, folder / "out"))
    assert code == 2, output
    assert f"is inside the data folder {folder}" in output
    assert output.strip().endswith("name a directory outside it [invalid_output_folder]")
    assert not (folder / "out").exists()
    code, output = _run(*_base(folder / "report.csv", tmp_path / "elsewhere"))
    assert code in (0, 1, 3), output
