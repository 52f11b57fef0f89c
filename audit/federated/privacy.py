"""Differential privacy for the audit counts a node sends: OpenDP's discrete Laplace noise.

A node's per-group confusion counts are a vector of integers; adding or removing one of its
rows changes exactly one cell by one (L1 distance 1). OpenDP's discrete Laplace mechanism
on that vector, with scale ``1 / epsilon``, is ``epsilon``-differentially private under
that neighbouring relation; we ask OpenDP's own privacy map to confirm the calibration
instead of trusting our arithmetic. Noise is drawn by OpenDP, never here.

What is protected: the counts. What is not: which groups occur (the group keys), unless the
caller passes a fixed ``domain`` of keys that does not depend on the data. The node sends
every cell of every key in the domain, noisy, including cells with no rows.

The variance of each noisy cell travels with the counts (``GroupCounts.noise_variance``), so
the audit widens its intervals by it (:func:`bias_checks.audit_counts`) and the verdict
stays honest. Weighted counts are not noised: one row's weight is unbounded, so no finite
noise scale protects it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, ClassVar

import numpy as np
import opendp.prelude as dp

from audit.errors import AuditError
from bias_checks import GroupCounts
from core.errors import ErrorCategory

dp.enable_features("contrib")

#: The neighbouring relation: one row added or removed changes one cell by one.
SENSITIVITY = 1


class PrivacyNotApplicable(AuditError):
    """Noise was asked for counts it cannot protect."""

    code: ClassVar[str] = "privacy_not_applicable"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID


def discrete_laplace_variance(scale: float) -> float:
    """Variance of the discrete Laplace distribution P(k) ∝ exp(-|k| / scale)."""
    q = math.exp(-1.0 / scale)
    return 2.0 * q / (1.0 - q) ** 2


def _mechanism(epsilon: float) -> Any:
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    mechanism = space >> dp.m.then_laplace(scale=1.0 / epsilon)
    spent = float(mechanism.map(SENSITIVITY))
    if spent > epsilon * (1 + 1e-9):
        raise PrivacyNotApplicable(
            f"OpenDP says this noise spends epsilon {spent}, more than the budget {epsilon}."
        )
    return mechanism


def add_noise(
    counts: GroupCounts,
    epsilon: Decimal | float,
    *,
    domain: Sequence[tuple[Any, ...]] | None = None,
) -> GroupCounts:
    """The counts with OpenDP discrete Laplace noise spending ``epsilon`` on them.

    ``domain`` fixes the group keys sent (every one, even with no rows); rows of a group
    outside it are an error, since dropping them silently would bias the audit.
    """
    budget = float(epsilon)
    if not math.isfinite(budget) or budget <= 0:
        raise PrivacyNotApplicable(f"epsilon must be a positive number, not {epsilon}.")
    if counts.weighted:
        raise PrivacyNotApplicable(
            "Weighted counts cannot be made private (a row's weight is unbounded); "
            "audit without weights or without noise."
        )
    if counts.noise_variance is not None:
        raise PrivacyNotApplicable("These counts already carry noise; noise the raw counts.")
    keys = tuple(counts.keys) if domain is None else tuple(tuple(k) for k in domain)
    position = {key: i for i, key in enumerate(keys)}
    if len(position) != len(keys):
        raise PrivacyNotApplicable("The domain lists a group twice.")
    missing = [key for key in counts.keys if key not in position]
    if missing:
        raise PrivacyNotApplicable(
            f"Rows of group {list(missing[0])} lie outside the noise domain; add it to the domain."
        )
    k = len(counts.classes)
    exact = np.zeros((len(keys), k, k), dtype=np.int64)
    for row, key in enumerate(counts.keys):
        exact[position[key]] = counts.counts[row]
    mechanism = _mechanism(budget)
    noisy = np.asarray(mechanism(exact.reshape(-1).tolist()), dtype=np.int64).reshape(exact.shape)
    variance = np.full(exact.shape, discrete_laplace_variance(1.0 / budget))
    return GroupCounts(
        counts.task,
        counts.classes,
        counts.pos_label,
        counts.sensitive,
        counts.control,
        keys,
        noisy,
        None,
        None,
        variance,
    )
