"""Model specs: validation, files, and the canonical bytes the run id covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.errors import (
    EstimatorNotAllowed,
    EstimatorNotClassifier,
    EstimatorNotFound,
    InvalidModelSpec,
)
from audit.spec import ModelSpec, load_spec, make_estimator, parse_spec
from core.canonical import canonical_json


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("latin.yaml", b"name: caf\xe9\n", "is not UTF-8 text: save it as UTF-8"),
    ],
)
def test_a_spec_file_that_is_not_utf8_text_is_one_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidModelSpec, match=message):
        load_spec(path)


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_spec_nested_100000_deep_is_one_error(tmp_path: Path, suffix: str) -> None:
    # Regression: py_ecc had raised the recursion limit to 100,000, so the JSON decoder
    # overflowed the C stack (SIGSEGV) and YAML took 66 s before a RecursionError traceback.
    path = tmp_path / f"deep{suffix}"
    path.write_text("[" * 100_000)
    with pytest.raises(InvalidModelSpec, match="is nested too deeply to be a spec"):
        load_spec(path)


def test_bad_specs_are_refused_and_files_are_read(tmp_path: Path) -> None:
    with pytest.raises(InvalidModelSpec, match="estimator"):
        parse_spec({"name": "m", "dataset": "d", "estimator": "svm"})
    with pytest.raises(InvalidModelSpec, match="hyperparameters"):
        parse_spec({"name": "m", "dataset": "d", "hyperparameters": {"C": -1}})
    path = tmp_path / "m.yaml"
    path.write_text("name: m\ndataset: loans\nestimator: hist_gradient_boosting\nseed: 7\n")
    assert load_spec(path).seed == 7


@pytest.mark.parametrize("estimator", ["random_forest", "sklearn.ensemble:Forest:x", "a b:C"])
def test_an_unknown_estimator_is_named_with_the_choices(estimator: str) -> None:
    # Regression (review, session 26): the message was the regular expression's.
    with pytest.raises(InvalidModelSpec) as caught:
        parse_spec({"name": "m", "dataset": "d", "estimator": estimator})
    assert caught.value.message.startswith(
        f"invalid model spec: estimator '{estimator}' is not one of: logistic_regression, "
        "hist_gradient_boosting, or module:Class of a scikit-learn classifier"
    )
    assert "pattern" not in caught.value.message


def test_the_estimator_check_leaves_the_canonical_json_and_schema_as_they_were() -> None:
    spec = parse_spec({"name": "m", "dataset": "d", "estimator": "hist_gradient_boosting"})
    assert spec.canonical_json() == (
        b'{"dataset":"d","estimator":"hist_gradient_boosting","hyperparameters":{},'
        b'"include_sensitive":false,"n_boot":200,"name":"m","seed":0,"test_size":0.25}'
    )
    schema = ModelSpec.model_json_schema()["properties"]["estimator"]
    assert schema["pattern"].startswith("^(logistic_regression|hist_gradient_boosting|")


@pytest.mark.parametrize("field", ["min_group_size", "min_denominator", "confidence_level"])
def test_a_spec_cannot_choose_its_own_evidence_rule(field: str) -> None:
    # Regression: ModelSpec.min_group_size was accepted and then silently ignored by
    # governed runs, which judge under the voted evidence rule only.
    with pytest.raises(InvalidModelSpec, match=f"{field} is voted policy"):
        parse_spec({"name": "m", "dataset": "loans", field: 5})


def test_a_spec_is_canonical_utf8_not_ascii_escaped() -> None:
    # Regression: the docstring said UTF-8 but the bytes were ASCII-escaped (\u00e8).
    spec = ModelSpec(name="modèle-crédit", dataset="prêts")
    raw = spec.canonical_json()
    assert "modèle-crédit".encode() in raw
    assert b"\\u00e8" not in raw
    assert raw == canonical_json(spec.model_dump(mode="json"))


def test_a_spec_may_name_several_datasets_in_order() -> None:
    spec = parse_spec({"name": "m", "datasets": ["loans-b", "loans-a"]})
    assert spec.dataset_names == ("loans-b", "loans-a")
    assert spec.dataset is None
    assert b'"datasets":["loans-b","loans-a"]' in spec.canonical_json()
    assert b'"dataset"' not in spec.canonical_json().replace(b'"datasets"', b"")


def test_one_dataset_is_always_written_as_dataset() -> None:
    # A one-item list is the old spelling, so it keeps the old canonical bytes and run ids.
    old = parse_spec({"name": "m", "dataset": "loans"})
    listed = parse_spec({"name": "m", "datasets": ["loans"]})
    assert listed == old
    assert listed.canonical_json() == old.canonical_json()
    assert b"datasets" not in old.canonical_json()
    assert parse_spec({"name": "m", "datasets": ["a", "b"]}).on_datasets(("b",)) == (
        parse_spec({"name": "m", "dataset": "b"})
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "m"}, "either `dataset` or `datasets`"),
        ({"name": "m", "dataset": "a", "datasets": ["a", "b"]}, "either `dataset` or `datasets`"),
        ({"name": "m", "datasets": ["a", "a"]}, "names a dataset twice"),
        ({"name": "m", "datasets": []}, "at least 2 items"),
    ],
    ids=["none", "both", "twice", "empty"],
)
def test_the_datasets_are_named_once_and_one_way(data: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidModelSpec, match=message) as raised:
        parse_spec(data)
    assert raised.value.code == "invalid_model_spec"


RF = "sklearn.ensemble:RandomForestClassifier"


def test_an_estimator_by_import_path_needs_its_module_allowed() -> None:
    with pytest.raises(EstimatorNotAllowed) as caught:
        parse_spec({"name": "m", "dataset": "d", "estimator": RF}, estimator_modules=[])
    assert caught.value.code == "estimator_not_allowed"
    assert "FAIRGOV_ESTIMATOR_MODULES" in str(caught.value)
    assert "sklearn.ensemble" in str(caught.value)
    with pytest.raises(EstimatorNotAllowed):  # a sibling name is not a sub-module
        parse_spec(
            {"name": "m", "dataset": "d", "estimator": RF}, estimator_modules=["sklearn.ens"]
        )
    for allowed in (["sklearn.ensemble"], ["sklearn"]):
        spec = parse_spec(
            {"name": "m", "dataset": "d", "estimator": RF, "seed": 4},
            estimator_modules=allowed,
        )
        built = make_estimator(spec, estimator_modules=allowed)
        assert type(built).__name__ == "RandomForestClassifier"
        assert built.get_params()["random_state"] == 4


def test_a_stored_spec_parses_without_importing_and_the_run_checks_it() -> None:
    spec = parse_spec({"name": "m", "dataset": "d", "estimator": "no_such_pkg.sub:Model"})
    assert spec.estimator == "no_such_pkg.sub:Model"
    with pytest.raises(EstimatorNotAllowed):
        make_estimator(spec)


def test_a_named_estimator_is_refused_unless_it_is_a_classifier_that_loads() -> None:
    allowed = ["sklearn", "no_such_pkg"]
    cases = {
        "sklearn.linear_model:LinearRegression": EstimatorNotClassifier,
        "sklearn.svm:LinearSVC": EstimatorNotClassifier,  # a classifier without predict_proba
        "sklearn.ensemble:NoSuchForest": EstimatorNotFound,
        "no_such_pkg.sub:Model": EstimatorNotFound,
    }
    for estimator, error in cases.items():
        with pytest.raises(error):
            parse_spec(
                {"name": "m", "dataset": "d", "estimator": estimator}, estimator_modules=allowed
            )
    with pytest.raises(InvalidModelSpec, match="hyperparameters"):
        parse_spec(
            {"name": "m", "dataset": "d", "estimator": RF, "hyperparameters": {"n_estimators": 0}},
            estimator_modules=allowed,
        )
    for bad in ("sklearn.ensemble", "os:system()", "a b:C", ":C"):
        with pytest.raises(InvalidModelSpec, match="estimator"):
            parse_spec({"name": "m", "dataset": "d", "estimator": bad}, estimator_modules=allowed)


@pytest.mark.parametrize(
    ("estimator", "hyperparameters", "message"),
    [
        (RF, {"n_estimators": 10**9}, "n_estimators=1000000000 is above"),
        ("sklearn.ensemble:HistGradientBoostingClassifier", {"max_iter": 10**9}, "max_iter="),
        (RF, {"n_jobs": -1}, "n_jobs=-1 is not allowed"),
        ("lightgbm:LGBMClassifier", {"num_threads": 8}, "num_threads=8 is not allowed"),
        ("hist_gradient_boosting", {"max_iter": 10_001}, "cap of 10,000"),
    ],
)
def test_resource_exhausting_hyperparameters_are_refused(
    estimator: str, hyperparameters: dict[str, int], message: str
) -> None:
    """Review of #17 (hole 8): a billion trees or every core passed parse_spec."""
    spec = {"name": "m", "dataset": "d", "estimator": estimator, "hyperparameters": hyperparameters}
    with pytest.raises(InvalidModelSpec, match=message) as caught:
        parse_spec(spec, estimator_modules=["sklearn", "lightgbm"])
    assert "\n" not in caught.value.message


def test_hyperparameters_at_the_caps_and_one_thread_are_accepted() -> None:
    spec = parse_spec(
        {"name": "m", "dataset": "d", "estimator": RF,
         "hyperparameters": {"n_estimators": 2_000, "n_jobs": 1}},
        estimator_modules=["sklearn"],
    )  # fmt: skip
    assert make_estimator(spec, estimator_modules=["sklearn"]).get_params()["n_estimators"] == 2000


@pytest.mark.parametrize("estimator", ["xgboost:XGBClassifier", "lightgbm:LGBMClassifier"])
def test_an_estimator_that_reads_none_as_every_core_gets_one_thread(estimator: str) -> None:
    spec = parse_spec({"name": "m", "dataset": "d", "estimator": estimator})
    built = make_estimator(spec, estimator_modules=[estimator.partition(":")[0]])
    assert built.get_params()["n_jobs"] == 1
