from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient

from audit.errors import MissingValues, UnsupportedMitigation
from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame
from audit.spec import parse_spec
from audit.synthetic import make_loans, write_loans_csv
from audit.training import (
    Split,
    category_text,
    group_keys,
    labels,
    make_preprocessor,
    predict,
    split,
    train,
)

SPEC = parse_spec({"name": "m", "dataset": "loans", "seed": 0})


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> tuple[DatasetManifest, Split]:
    csv = write_loans_csv(tmp_path_factory.mktemp("d") / "loans.csv", 1500)
    m = build_manifest(
        csv, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )
    return m, split(load_frame(m), m, SPEC)


def test_split_is_seeded_stratified_and_excludes_sensitive(data: tuple) -> None:
    m, s = data
    again = split(load_frame(m), m, SPEC)
    assert list(s.x_test.index) == list(again.x_test.index)
    assert "group" not in s.x_train.columns
    assert abs(s.y_train.mean() - s.y_test.mean()) < 0.01


def test_threshold_optimizer_predictions_equal_fairlearn(data: tuple) -> None:
    _, s = data
    model = ThresholdOptimizer(
        estimator=train(SPEC, s)["pipeline"],
        constraints="demographic_parity",
        prefit=True,
        predict_method="predict_proba",
    )
    model.fit(s.x_train, s.y_train, sensitive_features=group_keys(s.a_train))
    ours = train(SPEC, s, strategy="threshold_optimizer", constraint="demographic_parity")
    expected = model.predict(s.x_test, sensitive_features=group_keys(s.a_test), random_state=3)
    assert np.array_equal(predict(ours, s.x_test, s.a_test, random_state=3), expected)


@pytest.mark.slow
@pytest.mark.filterwarnings(
    # fairlearn 0.15's reductions use pandas patterns that pandas 3 deprecates.
    "ignore::pandas.errors.Pandas4Warning"
)
def test_exponentiated_gradient_predictions_equal_fairlearn(data: tuple) -> None:
    _, s = data
    pre = make_preprocessor(s.x_train)
    reference = ExponentiatedGradient(
        train(SPEC, s)["pipeline"].named_steps["estimator"], constraints=DemographicParity()
    )
    reference.fit(pre.fit_transform(s.x_train), s.y_train, sensitive_features=group_keys(s.a_train))
    ours = train(SPEC, s, strategy="exponentiated_gradient", constraint="demographic_parity")
    expected = reference.predict(pre.transform(s.x_test), random_state=5)
    assert np.array_equal(predict(ours, s.x_test, s.a_test, random_state=5), expected)


def test_an_unsupported_mitigation_is_refused(data: tuple) -> None:
    _, s = data
    with pytest.raises(UnsupportedMitigation):
        train(SPEC, s, strategy="threshold_optimizer", constraint="error_rate_parity")


def _loans_file(path: Path, frame: pd.DataFrame) -> DatasetManifest:
    frame.to_csv(path, index=False)
    return build_manifest(
        path, name="loans", label="approved", positive_label="1", sensitive_features=["group"]
    )


def test_one_missing_label_is_refused_not_every_positive_read_as_negative(
    tmp_path: Path,
) -> None:
    """A blank label makes pandas read the column as float ("1.0"): it used to turn every
    positive label into 0 without a word."""
    frame = make_loans(300, seed=6).astype({"approved": float})
    frame.loc[4, "approved"] = np.nan
    m = _loans_file(tmp_path / "blank.csv", frame)
    with pytest.raises(MissingValues, match=r"'approved' has 1 empty value.*data row 5") as caught:
        split(load_frame(m), m, SPEC)
    assert caught.value.code == "missing_values"


def test_whole_number_float_labels_equal_the_positive_label(tmp_path: Path) -> None:
    frame = make_loans(300, seed=6)
    m = _loans_file(tmp_path / "floats.csv", frame.astype({"approved": float}))
    assert int(labels(load_frame(m), m).sum()) == int(frame["approved"].sum())


def test_float_and_int_group_columns_give_the_same_groups(tmp_path: Path) -> None:
    frame = make_loans(300, seed=2)
    frame["group"] = np.where(frame["group"] == "A", 1, 2)
    as_int = _loans_file(tmp_path / "int.csv", frame)
    as_float = _loans_file(tmp_path / "float.csv", frame.astype({"group": float}))
    groups = [split(load_frame(m), m, SPEC).a_test["group"].tolist() for m in (as_int, as_float)]
    assert groups[0] == groups[1]
    assert set(groups[0]) == {"1", "2"}


@pytest.mark.parametrize(
    ("value", "text"),
    [(1, "1"), (1.0, "1"), ("1.0", "1"), ("2.50", "2.5"), (" A", " A"), (True, "True")],
)
def test_category_text_writes_a_number_in_its_shortest_form(value: object, text: str) -> None:
    assert category_text(value) == text
