"""A deterministic synthetic loan-approval dataset with injected bias, for tests and demos.

Applicants belong to group ``A`` or ``B`` (the sensitive feature ``group``). Their
creditworthiness is drawn from the same distribution in both groups, but the historical
approvals (the label) of group ``B`` were shifted down: ``bias`` is subtracted from their
approval probability. ``region`` is a proxy correlated with the group, so a model that never
sees ``group`` still learns the bias through it. Same arguments, same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LABEL = "approved"
POSITIVE_LABEL = "1"
SENSITIVE = ("group",)
FEATURES = ("income", "debt_ratio", "credit_years", "employment", "region")


def make_loans(n: int = 4000, *, seed: int = 0, bias: float = 0.4) -> pd.DataFrame:
    """Generate ``n`` loan applications whose labels are biased against group ``B``.

    Parameters
    ----------
    n : int, default 4000
        Number of rows.
    seed : int, default 0
        Seed of the generator; the same seed gives the same rows.
    bias : float, default 0.4
        How much lower group ``B``'s approval probability is, for the same credit profile.

    Returns
    -------
    pandas.DataFrame
        Columns ``income``, ``debt_ratio``, ``credit_years``, ``employment``, ``region``,
        ``group`` and ``approved`` (0 or 1).

    Examples
    --------
    >>> frame = make_loans(100, seed=1)
    >>> sorted(frame["group"].unique())
    ['A', 'B']
    """
    rng = np.random.default_rng(seed)
    group = np.where(rng.random(n) < 0.6, "A", "B")
    in_b = group == "B"
    # The proxy: group B mostly lives in the south, group A mostly in the north.
    south = rng.random(n) < np.where(in_b, 0.9, 0.1)
    region = np.where(south, "south", np.where(rng.random(n) < 0.5, "north", "east"))
    income = np.round(rng.lognormal(mean=10.6, sigma=0.35, size=n), 2)
    debt_ratio = np.round(rng.beta(2.0, 5.0, size=n), 4)
    credit_years = rng.integers(0, 30, size=n)
    employment = rng.choice(["salaried", "self_employed", "contract"], size=n, p=[0.6, 0.25, 0.15])
    score = (
        1.4 * (np.log(income) - 10.6) / 0.35
        - 3.0 * (debt_ratio - 0.28) / 0.16
        + 0.05 * (credit_years - 15)
        + np.where(employment == "salaried", 0.3, -0.2)
    )
    probability = 1.0 / (1.0 + np.exp(-score / 1.5))
    probability = np.clip(probability - np.where(in_b, bias, 0.0), 0.0, 1.0)
    approved = (rng.random(n) < probability).astype(int)
    return pd.DataFrame(
        {
            "income": income,
            "debt_ratio": debt_ratio,
            "credit_years": credit_years,
            "employment": employment,
            "region": region,
            "group": group,
            LABEL: approved,
        }
    )


def write_loans_csv(path: Path, n: int = 4000, *, seed: int = 0, bias: float = 0.4) -> Path:
    """Write :func:`make_loans` as CSV (with a header row) to ``path``; returns ``path``.

    Examples
    --------
    >>> write_loans_csv(tmp_path / "loans.csv", 200).name  # doctest: +SKIP
    'loans.csv'
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    make_loans(n, seed=seed, bias=bias).to_csv(path, index=False, lineterminator="\n")
    return path
