"""OpenDP noise on a node's counts: calibrated to the voted epsilon, carried variance, domain."""

from __future__ import annotations

import numpy as np
import pytest

from audit.federated.privacy import (
    PrivacyNotApplicable,
    _mechanism,
    add_noise,
    discrete_laplace_variance,
)
from bias_checks import EvidenceRule, GroupCounts, audit_counts, group_counts


def _counts(n: int = 400, seed: int = 0) -> GroupCounts:
    rng = np.random.default_rng(seed)
    groups = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    return group_counts(y, rng.integers(0, 2, n), sensitive_features={"g": groups}, classes=(0, 1))


@pytest.mark.parametrize("epsilon", [0.1, 0.5, 1.0, 4.0])
def test_opendp_confirms_the_budget_spent(epsilon: float) -> None:
    assert float(_mechanism(epsilon).map(1)) <= epsilon * (1 + 1e-9)


def test_noise_has_the_variance_the_counts_carry() -> None:
    exact = _counts()
    draws = np.stack([add_noise(exact, 0.5).counts - exact.counts for _ in range(400)])
    expected = discrete_laplace_variance(2.0)
    # 400 draws x 8 cells: the sample variance's relative standard error is about 3.5%;
    # 20% is more than five of them.
    assert draws.var() == pytest.approx(expected, rel=0.2)
    assert abs(draws.mean()) < 0.3
    noisy = add_noise(exact, 0.5)
    assert noisy.noise_variance is not None
    assert np.allclose(noisy.noise_variance, expected)


def test_noisy_counts_cross_the_wire_and_audit_with_wider_intervals() -> None:
    exact = _counts(4_000)
    noisy = GroupCounts.from_json(add_noise(exact, 0.05).to_json())
    rule = EvidenceRule(min_group_size=1, min_denominator=1)
    plain = audit_counts(exact, evidence=rule, n_boot=0)
    private = audit_counts(noisy, evidence=rule, n_boot=0)
    rate = next(m for m in plain.metrics if m.metric == "selection_rate")
    noisy_rate = next(m for m in private.metrics if m.metric == "selection_rate")
    assert rate.ci is not None
    assert noisy_rate.ci is not None
    assert noisy_rate.ci.high - noisy_rate.ci.low > rate.ci.high - rate.ci.low


def test_a_fixed_domain_sends_every_group_even_without_rows() -> None:
    exact = _counts()
    noisy = add_noise(exact, 1.0, domain=[("a",), ("b",), ("c",)])
    assert noisy.keys == (("a",), ("b",), ("c",))
    with pytest.raises(PrivacyNotApplicable, match="outside the noise domain"):
        add_noise(exact, 1.0, domain=[("a",)])


def test_what_noise_cannot_protect_is_refused() -> None:
    weighted = group_counts(
        [0, 1], [1, 1], sensitive_features=["a", "b"], sample_weight=[1.0, 2.0], classes=(0, 1)
    )
    with pytest.raises(PrivacyNotApplicable, match="Weighted"):
        add_noise(weighted, 1.0)
    with pytest.raises(PrivacyNotApplicable, match="positive"):
        add_noise(_counts(), 0)
    with pytest.raises(PrivacyNotApplicable, match="already"):
        add_noise(add_noise(_counts(), 1.0), 1.0)
