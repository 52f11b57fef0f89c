"""``audit_predictions_file`` counts where the data is and equals the row-level engine."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.errors import (
    AmbiguousLabels,
    InvalidPredictions,
    InvalidThresholdSpec,
    MissingColumn,
    MissingValues,
    UnknownMetricName,
    UnreadableFile,
)
from audit.predictions import audit_predictions_file
from audit.threshold_text import parse_threshold
from bias_checks import (
    BiasChecksInputError,
    EvidenceRule,
    InvalidOnInconclusiveError,
    UnknownReferenceGroupError,
    audit_predictions,
)

THRESHOLDS = (
    "demographic_parity_difference<=0.1",
    "equalized_odds_ratio>=0.8",
    "balanced_accuracy_difference<=0.1",
)


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    race = rng.choice(["A", "B", "C"], n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    score = np.clip(0.4 * y + 0.3 + rng.normal(0, 0.2, n) + (sex == "male") * 0.05, 0, 1)
    return pd.DataFrame(
        {
            "sex": sex,
            "race": race,
            "y": y,
            "outcome": np.where(y == 1, "approved", "denied"),
            "pred": (score >= 0.5).astype(int),
            "score": score.round(6),
        }
    )


def _audit_section(path: Path | str, **options: Any) -> dict[str, Any]:
    outcome = audit_predictions_file(path, thresholds=THRESHOLDS, n_boot=50, **options)
    return json.loads(outcome.report.canonical_bytes())["audit"]  # type: ignore[no-any-return]


def _row_engine(frame: pd.DataFrame, y_true: Any, y_pred: Any, sensitive: list[str]) -> Any:
    rule = EvidenceRule()
    result = audit_predictions(
        np.asarray(y_true),
        np.asarray(y_pred),
        sensitive_features={name: frame[name].to_numpy() for name in sensitive},
        thresholds=[parse_threshold(t, evidence=rule) for t in THRESHOLDS],
        task="binary",
        pos_label=1,
        evidence=rule,
        n_boot=50,
        random_state=0,
    )
    return json.loads(result.to_canonical_json())


def test_labels_from_a_parquet_file_equal_the_row_level_audit(tmp_path: Path):
    frame = _rows(3000, 1)
    frame.to_parquet(tmp_path / "preds.parquet")
    ours = _audit_section(
        tmp_path / "preds.parquet", label="y", prediction="pred", sensitive=["sex", "race"]
    )
    assert ours == _row_engine(frame, frame["y"], frame["pred"], ["sex", "race"])


def test_scores_with_a_cutoff_and_text_labels_equal_the_row_level_audit(tmp_path: Path):
    frame = _rows(3000, 2)
    for i, start in enumerate(range(0, 3000, 1000)):
        frame.iloc[start : start + 1000].to_csv(tmp_path / f"part-{i}.csv", index=False)
    ours = _audit_section(
        tmp_path,
        label="outcome",
        positive="approved",
        prediction="score",
        cutoff=0.5,
        sensitive=["race"],
    )
    y_true = (frame["outcome"] == "approved").astype(int)
    y_pred = (frame["score"] >= 0.5).astype(int)
    assert ours == _row_engine(frame, y_true, y_pred, ["race"])


def test_the_report_counts_every_row_of_every_file(tmp_path: Path):
    frame = _rows(1000, 3)
    frame.iloc[:400].to_parquet(tmp_path / "a.parquet")
    frame.iloc[400:].to_parquet(tmp_path / "b.parquet")
    outcome = audit_predictions_file(
        f"{tmp_path}/*.parquet", label="y", prediction="pred", sensitive=["sex"], n_boot=0
    )
    dataset = outcome.report.model.dataset
    assert dataset.rows == 1000
    assert dataset.name.startswith(f"{tmp_path}/*.parquet (2 files;")


def test_predictions_without_the_positive_value_in_the_labels_values_are_refused(
    tmp_path: Path,
) -> None:
    """Labels approved/denied, predictions 0/1 and --positive approved: every prediction
    counted as negative and a biased model PASSed with a parity gap of 0 (review, session 21)."""
    path = tmp_path / "preds.csv"
    _rows(300, 8).to_csv(path, index=False)
    with pytest.raises(InvalidPredictions, match="no prediction equals --positive 'approved'"):
        audit_predictions_file(
            path, label="outcome", prediction="pred", sensitive=["sex"], positive="approved"
        )


def test_a_model_that_never_predicts_the_positive_label_is_audited(tmp_path: Path) -> None:
    frame = _rows(300, 8).assign(said="denied")
    frame.to_csv(tmp_path / "preds.csv", index=False)
    outcome = audit_predictions_file(
        tmp_path / "preds.csv",
        label="outcome",
        prediction="said",
        sensitive=["sex"],
        positive="approved",
        n_boot=50,
    )
    assert outcome.report.verdict in {"PASS", "FAIL", "INCONCLUSIVE"}


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"prediction": "score", "cutoff": float("nan")}, InvalidPredictions, "finite number"),
        ({"prediction": "score", "cutoff": float("inf")}, InvalidPredictions, "finite number"),
        ({"n_boot": 100_000_000}, BiasChecksInputError, "between 0 and 10,000"),
        ({"random_state": -5}, BiasChecksInputError, "0 or more, not -5"),
        ({"sensitive": ["y"]}, BiasChecksInputError, "'y' is also the --label column"),
        ({"sensitive": ["sex", "pred"]}, BiasChecksInputError, "also the --prediction column"),
    ],
)
def test_options_no_file_can_satisfy_are_refused_before_reading(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    arguments: dict[str, Any] = {"label": "y", "prediction": "pred", "sensitive": ["sex"]}
    with pytest.raises(error, match=message):  # the file does not exist: never read
        audit_predictions_file("absent.csv", **(arguments | options))


def test_scores_without_a_cutoff_say_to_pass_one(tmp_path: Path):
    _rows(200, 4).to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(InvalidPredictions, match="pass --cutoff X"):
        audit_predictions_file(
            tmp_path / "preds.parquet", label="y", prediction="score", sensitive=["sex"]
        )


def test_a_sensitive_column_missing_from_the_schema_is_named(tmp_path: Path):
    _rows(50, 5).to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(MissingColumn, match=r"'age' \(from --sensitive\)"):
        audit_predictions_file(
            tmp_path / "preds.parquet", label="y", prediction="pred", sensitive=["sex", "age"]
        )


@pytest.mark.parametrize(
    "value",
    [np.nan, np.inf, -np.inf],
    # Regression for the infinities: "1 empty value(s), the first on data row 0".
    ids=["nan", "inf", "-inf"],
)
def test_an_empty_or_infinite_score_is_reported_on_its_row(tmp_path: Path, value: float):
    frame = _rows(20, 6)
    frame.loc[12, "score"] = value
    frame.to_csv(tmp_path / "preds.csv", index=False)
    with pytest.raises(MissingValues) as caught:
        audit_predictions_file(
            tmp_path / "preds.csv", label="y", prediction="score", cutoff=0.5, sensitive=["sex"]
        )
    assert caught.value.message.startswith(
        "column 'score' has 1 empty or infinite value(s), the first on data row 13:"
    )


def test_progress_names_the_engine_and_the_files(tmp_path: Path):
    _rows(50, 7).to_csv(tmp_path / "a.csv", index=False)
    _rows(50, 8).to_csv(tmp_path / "b.csv", index=False)
    lines: list[str] = []
    audit_predictions_file(
        tmp_path, label="y", prediction="pred", sensitive=["sex"], n_boot=0, progress=lines.append
    )
    assert lines[0] == "Counting rows by group with Polars (streaming), 2 files..."


def test_a_nan_score_in_parquet_is_an_empty_value_on_its_row(tmp_path: Path):
    frame = _rows(20, 9)
    frame.loc[7, "score"] = np.nan
    frame.to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(MissingValues) as caught:
        audit_predictions_file(
            tmp_path / "preds.parquet",
            label="y",
            prediction="score",
            cutoff=0.5,
            sensitive=["sex"],
        )
    assert "has 1 empty or infinite value(s), the first on data row 8" in caught.value.message


def test_a_label_written_na_is_an_empty_value_as_pandas_read_it(tmp_path: Path):
    path = tmp_path / "preds.csv"
    path.write_text("sex,outcome,pred\nf,approved,1\nm,NA,0\nf,denied,0\n")
    with pytest.raises(MissingValues, match=r"'outcome' has 1 empty value.*data row 2"):
        audit_predictions_file(
            path, label="outcome", positive="approved", prediction="pred", sensitive=["sex"]
        )


def test_a_numeric_target_is_refused_before_it_is_grouped_on(tmp_path: Path):
    frame = _rows(100, 10).assign(income=np.linspace(0.5, 99.5, 100))
    frame.to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(
        AmbiguousLabels, match=r"'income' has values 0\.5, 1\.5, .*not class labels"
    ):
        audit_predictions_file(
            tmp_path / "preds.parquet", label="income", prediction="pred", sensitive=["sex"]
        )


@pytest.mark.parametrize("damage", ["truncated", "not_parquet"])
def test_a_broken_parquet_file_is_one_clear_line(tmp_path: Path, damage: str) -> None:
    """Review of #17 (hole 10): a file named .parquet that is not valid Parquet."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"y": rng.integers(0, 2, 50), "p": rng.integers(0, 2, 50)})
    frame["sex"] = rng.choice(["f", "m"], 50)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    data = buffer.getvalue()[:-100] if damage == "truncated" else frame.to_csv().encode()
    path = tmp_path / "preds.parquet"
    path.write_bytes(data)
    with pytest.raises(UnreadableFile) as caught:
        audit_predictions_file(path, label="y", prediction="p", sensitive=["sex"], n_boot=0)
    assert caught.value.code == "unreadable_file"
    assert caught.value.message.startswith(f"cannot read {path} as Parquet (")
    assert "\n" not in caught.value.message


SIGNED = ("statistical_parity_difference>=-0.1", "disparate_impact>=0.8")


def _check_values(outcome: Any) -> list[float]:
    return [c.value for c in outcome.report.model.audit.checks]


def test_a_named_reference_equals_the_row_level_audit_and_enters_the_run_id(tmp_path: Path):
    frame = _rows(3000, 11)
    frame.to_parquet(tmp_path / "preds.parquet")
    options: dict[str, Any] = {
        "label": "y",
        "prediction": "pred",
        "sensitive": ["sex", "race"],
        "thresholds": SIGNED,
        "n_boot": 0,
    }
    named = audit_predictions_file(
        tmp_path / "preds.parquet", reference={"sex": "female", "race": "C"}, **options
    )
    rule = EvidenceRule()
    expected = audit_predictions(
        frame["y"].to_numpy(),
        frame["pred"].to_numpy(),
        sensitive_features={name: frame[name].to_numpy() for name in ["sex", "race"]},
        thresholds=[parse_threshold(t, evidence=rule) for t in SIGNED],
        task="binary",
        pos_label=1,
        evidence=rule,
        n_boot=0,
        random_state=0,
        reference_group={"sex": "female", "race": "C"},
    )
    report = json.loads(named.report.canonical_bytes())
    assert report["audit"] == json.loads(expected.to_canonical_json())
    assert dict(report["audit"]["config"])["reference_group"] == {"sex": "female", "race": "C"}
    default = audit_predictions_file(tmp_path / "preds.parquet", **options)
    majority = audit_predictions_file(tmp_path / "preds.parquet", reference="majority", **options)
    best = audit_predictions_file(tmp_path / "preds.parquet", reference="best", **options)
    assert majority.report.run_id == default.report.run_id  # the default: same run
    assert len({default.report.run_id, named.report.run_id, best.report.run_id}) == 3
    assert _check_values(named) != _check_values(default)


def test_a_reference_value_is_matched_as_text_to_a_numeric_column(tmp_path: Path):
    frame = _rows(2000, 12).assign(band=lambda f: np.where(f["race"] == "A", 1, 2))
    frame.to_csv(tmp_path / "preds.csv", index=False)
    outcome = audit_predictions_file(
        tmp_path / "preds.csv",
        label="y",
        prediction="pred",
        sensitive=["band"],
        thresholds=SIGNED,
        n_boot=0,
        reference={"band": "2"},
    )
    config = dict(json.loads(outcome.report.canonical_bytes())["audit"]["config"])
    assert config["reference_group"] == {"band": 2}


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        (
            {"sex": "other", "race": "A"},
            r"sex=other does not occur: column 'sex' holds female, male",
        ),
        ({"sex": "male"}, r"one value for each sensitive feature \(sex, race\); race has none"),
        ({"sex": "male", "race": "A", "age": "30"}, r"age is not one"),
        ({"sex": "male", "race": "D"}, r"race=D does not occur"),
    ],
)
def test_a_reference_group_not_in_the_data_is_one_clear_line(
    tmp_path: Path, reference: dict[str, str], message: str
) -> None:
    _rows(300, 13).to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(UnknownReferenceGroupError, match=message) as caught:
        audit_predictions_file(
            tmp_path / "preds.parquet",
            label="y",
            prediction="pred",
            sensitive=["sex", "race"],
            thresholds=SIGNED,
            reference=reference,
        )
    assert caught.value.code == "unknown_reference_group"


def test_a_reference_combination_without_rows_is_refused(tmp_path: Path):
    frame = _rows(300, 14)
    frame = frame[~((frame["sex"] == "male") & (frame["race"] == "C"))]
    frame.to_parquet(tmp_path / "preds.parquet")
    with pytest.raises(UnknownReferenceGroupError, match="sex=male, race=C has no rows"):
        audit_predictions_file(
            tmp_path / "preds.parquet",
            label="y",
            prediction="pred",
            sensitive=["sex", "race"],
            reference={"sex": "male", "race": "C"},
        )


SCORE_THRESHOLDS = ("roc_auc>=0.7", "roc_auc_difference<=0.1", "brier_score<=0.25")


def _scored_row_engine(frame: pd.DataFrame, y_true: Any, cutoff: float) -> dict[str, Any]:
    rule = EvidenceRule()
    result = audit_predictions(
        np.asarray(y_true),
        frame["score"].to_numpy(),
        cutoff=cutoff,
        sensitive_features={"race": frame["race"].to_numpy()},
        thresholds=[parse_threshold(t, evidence=rule) for t in SCORE_THRESHOLDS],
        evidence=rule,
        n_boot=50,
        random_state=0,
    )
    return json.loads(result.to_canonical_json())  # type: ignore[no-any-return]


def _numbers(value: Any) -> list[float]:
    if isinstance(value, dict):
        return [x for k in sorted(value) for x in _numbers(value[k])]
    if isinstance(value, list):
        return [x for item in value for x in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return []
    return [float(value)]


def _assert_same_to_1e_9(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    assert [c["verdict"] for c in ours["checks"]] == [c["verdict"] for c in theirs["checks"]]
    x, y = _numbers(ours), _numbers(theirs)
    assert len(x) == len(y)
    assert np.allclose(x, y, rtol=1e-9, atol=1e-9, equal_nan=True)


@pytest.mark.parametrize("dask", [None, pytest.param("local", marks=pytest.mark.slow)])
def test_score_metrics_of_a_csv_folder_equal_the_row_level_audit(
    tmp_path: Path, dask: str | None
) -> None:
    frame = _rows(3000, 4)
    for i, start in enumerate(range(0, 3000, 1000)):
        frame.iloc[start : start + 1000].to_csv(tmp_path / f"part-{i}.csv", index=False)
    outcome = audit_predictions_file(
        tmp_path,
        label="outcome",
        positive="approved",
        prediction="score",
        cutoff=0.5,
        score="score",
        sensitive=["race"],
        thresholds=SCORE_THRESHOLDS,
        n_boot=50,
        dask=dask,
    )
    ours = json.loads(outcome.report.canonical_bytes())["audit"]
    assert {m["metric"] for m in ours["metrics"]} >= {"roc_auc", "brier_score"}
    assert "cutoff_sweep" in ours
    y_true = (frame["outcome"] == "approved").astype(int)
    _assert_same_to_1e_9(ours, _scored_row_engine(frame, y_true, 0.5))


def test_a_score_column_enters_the_run_id_only_when_given(tmp_path: Path) -> None:
    frame = _rows(500, 5)
    frame.to_parquet(tmp_path / "preds.parquet")
    options: dict[str, Any] = {"label": "y", "prediction": "pred", "sensitive": ["sex"]}
    plain = audit_predictions_file(tmp_path / "preds.parquet", n_boot=0, **options)
    scored = audit_predictions_file(tmp_path / "preds.parquet", n_boot=0, score="score", **options)
    assert "roc_auc" not in plain.report.canonical_bytes().decode()
    assert plain.report.run_id != scored.report.run_id


@pytest.mark.parametrize("value", [None, np.inf, -np.inf], ids=["empty", "inf", "-inf"])
def test_an_empty_score_is_reported_on_its_row_with_score(tmp_path: Path, value: object) -> None:
    # Regression (review, session 22): an infinite --score value was the engine's
    # "y_score (or y_pred with a cutoff) must hold finite numbers", naming no column or row.
    frame = _rows(40, 6)
    frame["score"] = frame["score"].astype(object)
    frame.loc[7, "score"] = value
    frame.to_csv(tmp_path / "preds.csv", index=False)
    with pytest.raises(MissingValues) as caught:
        audit_predictions_file(
            tmp_path / "preds.csv", label="y", prediction="pred", score="score", sensitive=["sex"]
        )
    assert caught.value.message.startswith(
        "column 'score' has 1 empty or infinite value(s), the first on data row 8:"
    )


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("demographic_parity_difference<=0.1,confidence=0.9,confidence=0.99", "given twice"),
        ("demographic_parity_difference<=0.1,foo=1", "unknown key 'foo': after METRIC<=VALUE"),
    ],
)
def test_a_bad_evidence_rule_in_a_threshold_says_what_to_write(spec: str, problem: str) -> None:
    # Regression (review, session 15): a key given twice was silently merged (the last won),
    # other scripts' digits were read as numbers, and an unknown key got the METRIC<=VALUE
    # advice without naming the keys.
    with pytest.raises(InvalidThresholdSpec, match=problem) as err:
        parse_threshold(spec)
    assert err.value.code == "invalid_threshold_spec"


@pytest.mark.parametrize(
    ("spec", "code"),
    [
        ("demographic_parity_difference<=0.1,min_group_size=\uff13\uff10", "invalid_minimum_size"),
        ("demographic_parity_difference<=0.1,min_group_size=3_0", "invalid_minimum_size"),
        ("demographic_parity_difference<=0.1,min_denominator=10.0", "invalid_minimum_size"),
        ("demographic_parity_difference<=0.1,confidence=0.9_5", "invalid_confidence_level"),
        ("demographic_parity_difference<=0.1,confidence=\u0660.\u0669", "invalid_confidence_level"),
        ("demographic_parity_difference<=0.1,confidence=95%", "invalid_confidence_level"),
    ],
)
def test_a_number_in_a_thresholds_rule_is_read_as_the_engine_reads_it(spec: str, code: str) -> None:
    # Regression (review, session 17): these got invalid_threshold_spec in --threshold but
    # the engine's codes from --confidence and the API; all read EvidenceRule.from_text now.
    with pytest.raises(BiasChecksInputError, match="ASCII digits") as err:
        parse_threshold(spec)
    assert err.value.code == code


@pytest.mark.parametrize("bound", ["1_0", "\u0660.\u0661", "nan", "inf", "0x1", "1e999"])
def test_a_bound_not_in_plain_ascii_digits_is_refused(bound: str) -> None:
    # Regression (review, session 17): float() read 1_0 as 10 and Arabic-Indic digits as 0.1.
    with pytest.raises(InvalidThresholdSpec, match="plain ASCII digits") as err:
        parse_threshold(f"demographic_parity_difference<={bound}")
    assert err.value.code == "invalid_threshold_spec"


def test_an_unknown_metric_has_the_code_the_engine_and_governance_give() -> None:
    # Regression (review, session 17): unknown_metric_name here, unknown_metric elsewhere.
    with pytest.raises(
        UnknownMetricName, match="did you mean 'demographic_parity_difference'"
    ) as err:
        parse_threshold("demographic_parity_diference<=0.1")
    assert err.value.code == "unknown_metric"


def test_an_unknown_gate_choice_in_a_threshold_has_the_engines_code() -> None:
    with pytest.raises(InvalidOnInconclusiveError):
        parse_threshold("demographic_parity_difference<=0.1,on_inconclusive=warn")
    rule = parse_threshold(
        "demographic_parity_difference<=0.1,on_inconclusive=approve_with_warning"
    )
    assert rule.evidence is not None
    assert rule.evidence.on_inconclusive.value == "approve_with_warning"


def test_the_run_id_is_what_docs_hashes_md_says(tmp_path: Path) -> None:
    """The recipe of docs/hashes.md ("The run id of a predictions audit") rebuilds the id
    from the report and the command's options with hashlib and json alone (an outside
    reviewer could not: the options were listed nowhere)."""
    _rows(800, 5).to_csv(tmp_path / "preds.csv", index=False)
    run = audit_predictions_file(
        tmp_path / "preds.csv",
        label="y",
        prediction="pred",
        sensitive=["sex"],
        thresholds=THRESHOLDS,
        n_boot=0,
    )
    report = json.loads(run.report.canonical_bytes())
    audit = report["audit"]
    options = {
        "label": "y",
        "prediction": "pred",
        "sensitive": ["sex"],
        "positive": None,
        "thresholds": [check["threshold"] for check in audit["checks"]],
        "cutoff": None,
        "evidence": audit["evidence_rule"],
        "n_boot": audit["config"]["n_boot"],
        "random_state": audit["config"]["random_state"],
    }
    canonical = json.dumps(options, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    body = report["dataset"]["content_hash"].encode("ascii") + canonical.encode()
    assert "0x" + hashlib.sha256(body).hexdigest() == report["run_id"]
