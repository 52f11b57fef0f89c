"""Bootstrap from counts (Wilson and the other closed forms are in test_intervals)."""

from __future__ import annotations

import numpy as np
import pytest

from bias_checks._engine import classification_metrics
from bias_checks._uncertainty import (
    bootstrap_classification,
    bootstrap_regression,
    comparison_bounds,
    percentile_interval,
)


def test_count_bootstrap_matches_row_resampling_within_groups() -> None:
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 400)
    y_pred = rng.integers(0, 2, 400)
    counts = np.bincount(y_true * 2 + y_pred, minlength=4).reshape(1, 2, 2)
    replicates = bootstrap_classification(
        counts, counts.astype(float), n_boot=4000, rng=np.random.default_rng(1), weighted=False
    )
    ours = classification_metrics(replicates, counts, [1])["true_positive_rate"][:, 0, 0]
    rows = np.random.default_rng(2).integers(0, 400, (4000, 400))
    yt, yp = y_true[rows], y_pred[rows]
    reference = (yt & yp).sum(1) / yt.sum(1)
    assert replicates.sum(axis=(1, 2, 3)) == pytest.approx(np.full(4000, 400.0))
    assert ours.mean() == pytest.approx(reference.mean(), abs=0.005)
    assert ours.std() == pytest.approx(reference.std(), rel=0.08)


def test_bootstrap_is_seeded_and_weighted_cells_keep_mean_weights() -> None:
    counts = np.array([[[5, 1], [2, 7]], [[3, 3], [0, 4]]])
    weights = counts * 2.0
    first = bootstrap_classification(
        counts, weights, n_boot=50, rng=np.random.default_rng(7), weighted=True
    )
    second = bootstrap_classification(
        counts, weights, n_boot=50, rng=np.random.default_rng(7), weighted=True
    )
    np.testing.assert_array_equal(first, second)
    assert first.sum(axis=(2, 3)) == pytest.approx(np.tile([30.0, 20.0], (50, 1)))
    assert (first[:, 1, 1, 0] == 0).all()


def test_regression_bootstrap_is_centred_on_the_sums() -> None:
    counts = np.array([1000])
    rng = np.random.default_rng(3)
    err = rng.normal(size=1000)
    terms = np.stack([np.ones(1000), np.abs(err), err**2], axis=1)
    sums = terms.sum(0)[None]
    products = (terms[:, :, None] * terms[:, None, :]).sum(0)[None]
    replicates = bootstrap_regression(
        counts, sums, products, n_boot=2000, rng=np.random.default_rng(4)
    )
    assert replicates[:, 0, 0] == pytest.approx(np.full(2000, 1000.0))
    mae = replicates[:, 0, 1] / replicates[:, 0, 0]
    assert mae.mean() == pytest.approx(np.abs(err).mean(), abs=0.005)
    assert mae.std() == pytest.approx(np.abs(err).std() / np.sqrt(1000), rel=0.1)


def test_percentile_interval_is_undefined_when_a_replicate_is() -> None:
    replicates = np.array([[0.1, np.nan], [0.2, 0.3], [0.3, 0.4]])
    low, high = percentile_interval(replicates, 0.5)
    assert low[0] == pytest.approx(0.15)
    assert high[0] == pytest.approx(0.25)
    assert np.isnan(low[1])
    assert np.isnan(high[1])


def test_comparison_bounds_fold_the_signed_percentile_interval() -> None:
    rng = np.random.default_rng(9)
    replicates = rng.normal([0.30, 0.31, 0.50], 0.02, size=(4000, 3))[:, None, :]
    overall = replicates.mean(axis=2, keepdims=True)
    args = {
        "judged": np.array([[True, True, False]]),
        "control_of": np.zeros(3, dtype=np.intp),
        "references": None,
        "ratio": False,
        "alpha": 0.05,
    }
    low, high = comparison_bounds(replicates, overall, method="between_groups", **args)
    signed = replicates[:, 0, 0] - replicates[:, 0, 1]
    ref_low, ref_high = np.quantile(signed, [0.025, 0.975])
    assert ref_low < 0 < ref_high
    assert low[0, 0] == 0.0  # parity is inside, which a percentile of |d| never allows
    assert high[0, 0] == pytest.approx(max(-ref_low, ref_high))
    every = {**args, "judged": np.ones((1, 3), dtype=bool)}
    low3, high3 = comparison_bounds(replicates, overall, method="between_groups", **every)
    far = replicates[:, 0, 2] - replicates[:, 0, 0]
    # The end a FAIL rests on is Bonferroni over the three pairs; the other is not adjusted.
    assert low3[0, 0] == pytest.approx(np.quantile(far, 0.05 / 3 / 2), abs=1e-12)
    assert high3[0, 0] == pytest.approx(np.quantile(far, 1 - 0.05 / 2), abs=1e-12)
    assert high3[0, 0] > high[0, 0]


def test_percentile_interval_between_infinite_replicates_is_infinite_without_warning() -> None:
    # Regression: a bootstrap ratio whose denominator drew zero in most replicates made
    # np.quantile compute inf - inf, a RuntimeWarning and a NaN end (found by the #16
    # federated-counts property test on 40-row populations).
    replicates = np.array([[0.5, 1.0], [np.inf, 2.0], [np.inf, 3.0], [np.inf, 4.0]])
    low, high = percentile_interval(replicates, 0.5)
    assert high[0] == np.inf
    assert np.isfinite(low[0]) or low[0] == np.inf
    assert 1.0 <= low[1] <= high[1] <= 4.0
