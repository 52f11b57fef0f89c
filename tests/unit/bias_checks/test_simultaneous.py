"""Simultaneous critical values against scipy's references.

Equal-size pairs: Tukey, ``studentized_range(k, inf) / sqrt(2)``. Groups against a reference
and each group against the rest of its level: ``P(max |Z_k| <= c)`` from Genz's algorithm
(``scipy.stats.multivariate_normal.cdf``) with the contrasts' correlation built by hand.
Unequal pairs have a singular covariance, which Genz's routine cannot take, so they are checked
by plain pseudo-random Monte Carlo, a different method from the Sobol quantile under test.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import ndtri
from scipy.stats import multivariate_normal, studentized_range

from bias_checks import _simultaneous
from bias_checks._rounding import round_up
from bias_checks._simultaneous import (
    CRITICAL_DIGITS,
    comparison_tail,
    dunnett_covered,
    sidak_tail,
)


def _c(tail: float) -> float:
    return float(-ndtri(tail))


def _genz(cov: np.ndarray, c: float) -> float:
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    limit = np.full(len(sd), c)
    rng = np.random.default_rng(0)
    return float(multivariate_normal.cdf(limit, cov=corr, lower_limit=-limit, rng=rng, abseps=1e-6))


@pytest.mark.parametrize("k", [3, 4, 6, 10])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_equal_pairs_match_the_studentized_range(k: int, alpha: float) -> None:
    tail = comparison_tail("pairs", np.full(k, 250.0), alpha=alpha)
    tukey = float(studentized_range.ppf(1 - alpha, k, np.inf)) / np.sqrt(2)
    assert _c(tail) == pytest.approx(tukey, abs=0.015)


def test_one_comparison_is_the_plain_normal_tail() -> None:
    assert comparison_tail("pairs", np.array([30.0, 5000.0]), alpha=0.05) == 0.025
    assert comparison_tail("reference", np.array([30.0]), reference=80, alpha=0.05) == 0.025
    # Two groups against the rest of the level: the same comparison twice, up to sign.
    two = comparison_tail(
        "overall", np.array([40.0, 60.0]), shares=np.array([0.4, 0.6]), overall=100, alpha=0.05
    )
    assert two == pytest.approx(0.025, abs=1e-12)


def test_unequal_pairs_hold_their_joint_level() -> None:
    sizes = np.array([50.0, 5000.0, 5000.0, 5000.0])
    c = _c(comparison_tail("pairs", sizes, alpha=0.05))
    rng = np.random.default_rng(7)
    x = rng.standard_normal((400_000, 4)) / np.sqrt(sizes)
    z = [
        np.abs(x[:, i] - x[:, j]) / np.sqrt(1 / sizes[i] + 1 / sizes[j])
        for i, j in combinations(range(4), 2)
    ]
    err = float((np.max(z, axis=0) > c).mean())
    assert err == pytest.approx(0.05, abs=0.003)
    # Below Tukey-Kramer (conservative here, Hayter 1984): the three pairs with the small
    # group are nearly one comparison.
    assert c < float(studentized_range.ppf(0.95, 4, np.inf)) / np.sqrt(2) - 0.05


def test_reference_matches_genz_and_the_dunnett_integral() -> None:
    sizes, reference = np.array([30.0, 60.0, 90.0, 400.0]), 50.0
    c = _c(comparison_tail("reference", sizes, reference=reference, alpha=0.05))
    v = 1 / sizes
    cov = np.diag(v) + 1 / reference
    assert _genz(cov, c) == pytest.approx(0.95, abs=2e-4)
    assert dunnett_covered(sizes, reference, c) == pytest.approx(0.95, abs=1e-9)


def test_overall_matches_genz() -> None:
    sizes = np.array([30.0, 60.0, 90.0, 400.0])
    total = sizes.sum() + 120  # a group of 120 not compared (not judged) is in the rest
    shares = sizes / total
    c = _c(comparison_tail("overall", sizes, shares=shares, overall=total, alpha=0.05))
    all_sizes = np.append(sizes, 120.0)
    all_shares = all_sizes / total
    contrast = np.eye(5)[:4] - all_shares[None, :]
    cov = contrast @ np.diag(1 / all_sizes) @ contrast.T
    assert _genz(cov, c) == pytest.approx(0.95, abs=1e-3)


def test_sidak_is_exact_for_independent_groups() -> None:
    tail = sidak_tail(0.025, 4)
    assert 1 - (1 - tail) ** 4 == pytest.approx(0.025, rel=1e-12)
    assert 0.025 / 4 < tail < 0.025
    assert sidak_tail(0.025, 1) == pytest.approx(0.025, rel=1e-12)


def test_the_same_sizes_give_the_same_value_every_time() -> None:
    sizes = np.array([31.0, 77.0, 140.0, 902.0, 55.0])
    first = comparison_tail("pairs", sizes, alpha=0.05)
    _simultaneous._pairs_tail.cache_clear()
    _simultaneous._normal_points.cache_clear()
    assert comparison_tail("pairs", sizes, alpha=0.05) == first


def test_dunnett_critical_value_a_cpu_computes_a_few_ulps_off_gives_the_same_tail() -> None:
    # The Dunnett integral's dot product runs on CPU-specific OpenBLAS kernels, and Brent's
    # method then lands a few ulps apart on different machines: every such c gives the tail
    # computed here.
    sizes, reference = np.array([104.0, 103.0, 88.0, 93.0, 104.0]), 108.0
    tail = comparison_tail("reference", sizes, reference=reference, alpha=0.05)
    exact = brentq(lambda c: dunnett_covered(sizes, reference, c) - 0.95, 2.0, 3.0, xtol=1e-14)
    for direction in (-np.inf, np.inf):
        near = exact
        for _ in range(3):
            near = float(np.nextafter(near, direction))
            assert _simultaneous._tail(round_up(near, CRITICAL_DIGITS)) == tail
    assert _c(tail) >= exact - 1e-10  # rounded up: intervals never narrower
    assert _c(tail) == pytest.approx(exact, abs=2e-9)


def test_hundreds_of_groups_take_sidaks_bound_instead_of_a_correlation_matrix() -> None:
    """Regression: 400 groups' 79,800 pairs asked for a 47 GiB matrix (MemoryError through
    audit_predictions). Beyond MAX_SIMULATED comparisons the value is Sidak's, valid for any
    correlation; studentized range (equal sizes) shows it is the conservative side."""
    k, alpha = 400, 0.05
    m = k * (k - 1) // 2
    tail = comparison_tail("pairs", np.full(k, 250.0), alpha=alpha)
    assert tail == pytest.approx((1 - (1 - alpha) ** (1 / m)) / 2, rel=1e-9)
    tukey = float(studentized_range.ppf(1 - alpha, k, np.inf)) / np.sqrt(2)
    assert tukey <= _c(tail) <= tukey + 0.3
    # Just below the limit it is still simulated, and sharper than Sidak's.
    below = comparison_tail("pairs", np.full(63, 250.0), alpha=alpha)
    assert _simultaneous.MAX_SIMULATED >= 63 * 62 // 2
    assert _c(below) < _c((1 - (1 - alpha) ** (1 / (63 * 31))) / 2)
