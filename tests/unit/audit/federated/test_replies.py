"""What the ServerApp accepts as a node's audit counts (findings 3 and 4 of the #16 review).

The counts an honest node sends are :func:`audit.federated.node.audit_counts`: real
``group_counts`` of its held-out rows, noised by OpenDP at the voted epsilon when there is
one. Anything else is refused per node with ``invalid_counts``, so one node can neither
rewrite the audit nor stop it for everyone.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from audit.federated.privacy import add_noise, discrete_laplace_variance
from audit.federated.protocol import RunPlan, Schema
from audit.federated.replies import NOISE_SIGMAS, check_counts
from bias_checks import GroupCounts, InvalidCountsError, group_counts
from governance.policy.models import FederationPolicy

SCHEMA = Schema("approved", "1", ("income",), ("group",))
ROWS = 400


def _plan(epsilon: str | None = None) -> RunPlan:
    return RunPlan(
        policy=FederationPolicy(epsilon=epsilon),
        schema=SCHEMA,
        rpc_url="http://127.0.0.1:8545",
        policy_address="0x" + "00" * 20,
        dataset_ids=("0x" + "aa" * 32,),
    )


def _honest(seed: int = 16) -> GroupCounts:
    rng = np.random.default_rng(seed)
    groups = pd.DataFrame({"group": np.where(rng.random(ROWS) < 0.5, "A", "B")})
    return group_counts(
        rng.integers(0, 2, ROWS),
        rng.integers(0, 2, ROWS),
        sensitive_features=groups,
        classes=(0, 1),
        pos_label=1,
    )


def _forged(original: GroupCounts, **changes: Any) -> GroupCounts:
    return GroupCounts.from_dict(original.to_dict() | changes)


def test_an_honest_nodes_counts_are_accepted_with_and_without_noise() -> None:
    exact = _honest()
    assert check_counts(exact, _plan(), ROWS) is exact
    noisy = add_noise(exact, 0.5)
    assert check_counts(noisy, _plan("0.500000"), ROWS) is noisy


def test_honest_noise_stays_inside_the_bound_on_the_total() -> None:
    exact = _honest()
    variance = discrete_laplace_variance(1.0 / 0.1)
    bound = NOISE_SIGMAS * math.sqrt(variance * exact.counts.size)
    for _ in range(50):
        noisy = add_noise(exact, 0.1)
        assert abs(noisy.n_rows - ROWS) < bound
        check_counts(noisy, _plan("0.100000"), ROWS)


@pytest.mark.parametrize(
    "changes",
    [
        {"sensitive": ["race"]},
        {"classes": ["no", "yes"], "pos_label": "yes"},
        {"classes": [False, True], "pos_label": True},
    ],
    ids=["another sensitive feature", "other classes", "boolean classes"],
)
def test_counts_of_other_settings_are_refused_per_node(changes: dict[str, Any]) -> None:
    """Counts the schema does not describe would make GroupCounts.combine raise for the
    whole run; the server refuses them on their own."""
    with pytest.raises(InvalidCountsError) as refused:
        check_counts(_forged(_honest(), **changes), _plan(), ROWS)
    assert refused.value.code == "invalid_counts"


def test_negative_counts_are_refused_when_the_policy_sets_no_noise() -> None:
    """A zero noise_variance would let a node send negative counts and erase another node's
    rows from the sum."""
    honest = _honest()
    eraser = _forged(
        honest,
        counts=(-honest.counts).tolist(),
        noise_variance=np.zeros(honest.counts.shape).tolist(),
    )
    with pytest.raises(InvalidCountsError, match="no noise"):
        check_counts(eraser, _plan(), ROWS)


@pytest.mark.parametrize("claimed", [1e12, 0.0])
def test_a_claimed_noise_variance_must_be_the_voted_epsilons(claimed: float) -> None:
    """A huge variance makes every verdict inconclusive; zero claims exact noisy counts."""
    noisy = add_noise(_honest(), 0.5)
    forged = _forged(noisy, noise_variance=np.full(noisy.counts.shape, claimed).tolist())
    with pytest.raises(InvalidCountsError, match="variance"):
        check_counts(forged, _plan("0.500000"), ROWS)
    with pytest.raises(InvalidCountsError, match="variance"):
        check_counts(_honest(), _plan("0.500000"), ROWS)


def test_counts_must_match_the_admitted_held_out_rows() -> None:
    honest = _honest()
    inflated = _forged(honest, counts=(honest.counts * 10**10).tolist())
    with pytest.raises(InvalidCountsError, match="rows"):
        check_counts(inflated, _plan(), ROWS)
    with pytest.raises(InvalidCountsError, match="rows"):
        check_counts(honest, _plan(), ROWS - 1)
    noisy = add_noise(honest, 0.5)
    inflated_noisy = _forged(noisy, counts=(noisy.counts * 10**10).tolist())
    with pytest.raises(InvalidCountsError, match="rows"):
        check_counts(inflated_noisy, _plan("0.500000"), ROWS)
    with pytest.raises(InvalidCountsError, match="rows"):
        check_counts(noisy, _plan("0.500000"), 10 * ROWS)


def test_a_noisy_cell_far_below_zero_is_refused() -> None:
    noisy = add_noise(_honest(), 0.5)
    cells = noisy.counts.copy()
    cells[0, 0, 0] -= 1000
    cells[0, 1, 1] += 1000  # the total is unchanged
    with pytest.raises(InvalidCountsError, match="below zero"):
        check_counts(_forged(noisy, counts=cells.tolist()), _plan("0.500000"), ROWS)


def test_more_groups_than_admitted_rows_are_refused() -> None:
    """Made-up groups would widen the noise bound on the total with every cell they add."""
    noisy = add_noise(_honest(), 0.5)
    with pytest.raises(InvalidCountsError, match="groups"):
        check_counts(noisy, _plan("0.500000"), len(noisy.keys) - 1)
