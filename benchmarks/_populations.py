"""Simulated populations with known group rates, for the coverage benchmark.

Every group has prevalence 0.5; group ``i`` of ``k`` has true positive rate
``0.6 + gap * i / (k - 1)`` and false positive rate ``0.2 + gap * i / (k - 1)``, so the true
max-min difference of selection rate, TPR, FPR and equalized odds is ``gap`` in every
setting. Weights, when present, are log-normal and independent of the outcome, so the
weighted population rates equal the unweighted ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

PREVALENCE = 0.5
TPR0, FPR0 = 0.6, 0.2


@dataclass(frozen=True)
class Truth:
    """True group rates (G,) and design shares of a setting."""

    tpr: np.ndarray[Any, Any]
    fpr: np.ndarray[Any, Any]
    sizes: tuple[int, ...]

    @property
    def selection(self) -> np.ndarray[Any, Any]:
        return PREVALENCE * self.tpr + (1 - PREVALENCE) * self.fpr

    @property
    def shares(self) -> np.ndarray[Any, Any]:
        sizes = np.asarray(self.sizes, dtype=np.float64)
        return sizes / sizes.sum()


def truth(sizes: tuple[int, ...], gap: float) -> Truth:
    steps = np.arange(len(sizes)) / (len(sizes) - 1)
    return Truth(TPR0 + gap * steps, FPR0 + gap * steps, sizes)


def simulate_cells(
    t: Truth, *, reps: int, sigma: float, rng: np.random.Generator
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Per replication and group: weighted cells, squared-weight cells and counts (R, G, 2, 2).

    Cells are indexed ``[true, predicted]`` as in :mod:`bias_checks._engine`.
    """
    groups = len(t.sizes)
    weights = np.zeros((reps, groups, 2, 2))
    squares = np.zeros_like(weights)
    counts = np.zeros_like(weights)
    for g, n in enumerate(t.sizes):
        if sigma == 0:
            # Without weights the cells are one multinomial draw: no need for rows.
            p = np.array(
                [
                    (1 - PREVALENCE) * (1 - t.fpr[g]),
                    (1 - PREVALENCE) * t.fpr[g],
                    PREVALENCE * (1 - t.tpr[g]),
                    PREVALENCE * t.tpr[g],
                ]
            )
            draw = rng.multinomial(n, p, size=reps).reshape(reps, 2, 2).astype(np.float64)
            weights[:, g], squares[:, g], counts[:, g] = draw, draw, draw
            continue
        y = rng.random((reps, n)) < PREVALENCE
        rate = np.where(y, t.tpr[g], t.fpr[g])
        pred = rng.random((reps, n)) < rate
        w = rng.lognormal(0.0, sigma, (reps, n)) if sigma > 0 else np.ones((reps, n))
        for true in (0, 1):
            for predicted in (0, 1):
                cell = (y == bool(true)) & (pred == bool(predicted))
                weights[:, g, true, predicted] = (w * cell).sum(axis=1)
                squares[:, g, true, predicted] = (w * w * cell).sum(axis=1)
                counts[:, g, true, predicted] = cell.sum(axis=1)
    return weights, squares, counts
