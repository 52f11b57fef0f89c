from __future__ import annotations

import numpy as np
import pytest
from fairlearn.postprocessing import ThresholdOptimizer
from fairlearn.reductions import DemographicParity, ExponentiatedGradient

from audit.errors import UnsupportedMitigation
from audit.manifest import DatasetManifest, build_manifest, load_frame
from audit.spec import parse_spec
from audit.synthetic import write_loans_csv
from audit.training import Split, group_keys, make_preprocessor, predict, split, train

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
