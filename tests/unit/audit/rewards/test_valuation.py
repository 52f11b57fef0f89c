"""Leave-one-provider-out valuation on real training: the utility equals Fairlearn's metrics,
useful data earns value, noise earns none, and the split follows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference

from audit.manifest import DatasetManifest, build_manifest
from audit.manifest_data import load_frame
from audit.rewards.valuation import leave_one_out, utility
from audit.spec import parse_spec
from audit.synthetic import LABEL, write_loans_csv
from governance.rewards import loo_values, split_leave_one_out

SPEC = parse_spec({"name": "m", "dataset": "loans", "seed": 0})
GOOD, NOISE = "0x" + "aa" * 20, "0x" + "bb" * 20


def _loans(directory: Path, *, seed: int, bias: float) -> tuple[DatasetManifest, pd.DataFrame]:
    csv = write_loans_csv(directory / f"loans-{seed}.csv", 1000, seed=seed, bias=bias)
    manifest = build_manifest(
        csv, name="loans", label=LABEL, positive_label="1", sensitive_features=["group"]
    )
    return manifest, load_frame(manifest)


@pytest.fixture(scope="module")
def loans(tmp_path_factory: pytest.TempPathFactory) -> tuple[DatasetManifest, pd.DataFrame]:
    """Loans without injected bias: the model's accuracy decides the utility."""
    return _loans(tmp_path_factory.mktemp("fair"), seed=1, bias=0.0)


@pytest.fixture(scope="module")
def biased(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Loans whose labels are biased against group B."""
    return _loans(tmp_path_factory.mktemp("biased"), seed=2, bias=0.4)[1]


def test_the_utility_is_accuracy_minus_lambda_times_fairlearns_dp_difference():
    rng = np.random.default_rng(0)
    y_true, y_pred = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    groups = pd.DataFrame({"group": rng.choice(["A", "B"], 200)})
    gap = demographic_parity_difference(y_true, y_pred, sensitive_features=groups["group"])
    accuracy = float(np.mean(y_true == y_pred))
    assert utility(y_true, y_pred, groups, lam=0.5) == pytest.approx(accuracy - 0.5 * abs(gap))


def test_noise_earns_nothing_and_useful_rows_earn_the_reward(
    loans: tuple[DatasetManifest, pd.DataFrame],
):
    manifest, frame = loans
    good = frame.iloc[:600]
    rng = np.random.default_rng(1)
    noise = frame.iloc[600:1000].copy()
    noise[LABEL] = rng.permutation(noise[LABEL].to_numpy())  # labels unrelated to features
    result = leave_one_out(SPEC, manifest, {GOOD: good, NOISE: noise})

    without = {u.provider.lower(): u.utility_without for u in result.without}
    assert without[GOOD] < result.utility_all  # losing the useful rows hurts
    values = loo_values(result.utility_all, without)
    assert values[GOOD] > values[NOISE]
    assert values[NOISE] == 0  # the model is better without the noise
    amounts = split_leave_one_out(10**21, {GOOD: 600, NOISE: 400}, values)
    assert amounts == {GOOD: 10**21, NOISE: 0}
    assert result.definition.fairness_metric == "demographic_parity_difference"


def test_biased_rows_earn_less_than_fair_ones_of_the_same_size(
    loans: tuple[DatasetManifest, pd.DataFrame], biased: pd.DataFrame
):
    manifest, fair = loans
    result = leave_one_out(SPEC, manifest, {GOOD: fair, NOISE: biased})
    values = loo_values(
        result.utility_all, {u.provider.lower(): u.utility_without for u in result.without}
    )
    assert values[GOOD] > values[NOISE]
    assert values[NOISE] == 0
    assert result.definition.lam == 1.0


def test_the_valuation_is_deterministic(loans: tuple[DatasetManifest, pd.DataFrame]):
    manifest, frame = loans
    frames = {GOOD: frame.iloc[:500], NOISE: frame.iloc[500:]}
    assert leave_one_out(SPEC, manifest, frames) == leave_one_out(SPEC, manifest, frames)


def test_a_single_provider_is_valued_against_a_constant_model(
    loans: tuple[DatasetManifest, pd.DataFrame],
):
    manifest, frame = loans
    result = leave_one_out(SPEC, manifest, {GOOD: frame.iloc[:600]})
    (alone,) = result.without
    # Without the only provider, the model predicts the negative label for everyone: its
    # accuracy is the share of negatives and its demographic parity difference is 0.
    assert alone.utility_without == pytest.approx(1 - result_test_positive_share(manifest, frame))
    assert result.utility_all > alone.utility_without


def result_test_positive_share(manifest: DatasetManifest, frame: pd.DataFrame) -> float:
    from audit.training import split

    data = split(frame.iloc[:600].reset_index(drop=True), manifest, SPEC)
    return float(data.y_test.mean())
