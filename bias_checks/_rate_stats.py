"""A rate's sums by group: numerator, denominator and their squared weights, and the
effective size its intervals use.

Without weights the effective size is the row count. With weights it is the smaller of Kish's
``(sum w)**2 / sum w**2`` and the size the linearised (sandwich) variance of the weighted rate
implies, ``p(1-p) / V`` with ``V = (S1 (1-p)**2 + S0 p**2) / (sum w)**2``, ``S1`` and ``S0`` the
sums of squared weights of the numerator's rows and of the others. The two agree when weights
do not depend on the outcome (Kish's is then the exact conditional variance, and the sandwich
only adds noise); when they do, as when a rare class is up-weighted, Kish's alone understates
the variance (an outside review: a fair model FAILed 12 % of audits, intervals covered 70 %),
and the sandwich's is the one that holds. Noise added to the counts (differential privacy)
shrinks the size further (:func:`noisy_effective_size`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bias_checks._inputs import FloatArray


@dataclass(frozen=True)
class RateStats:
    """Numerator, denominator and denominator weight squares (L, G) of one rate metric."""

    num: FloatArray
    den: FloatArray
    den_sq: FloatArray
    noise_num: FloatArray | None = None
    """Variance of the noise added to the numerator's cells (differential privacy)."""
    noise_den: FloatArray | None = None
    """Variance of the noise added to all of the denominator's cells."""
    num_sq: FloatArray | None = None
    """Sum of the numerator rows' squared weights; None without weights (Kish's size only)."""

    @property
    def p(self) -> FloatArray:
        out = np.full(self.num.shape, np.nan)
        np.divide(self.num, self.den, out=out, where=self.den > 0)
        return out

    @property
    def n_eff(self) -> FloatArray:
        """The effective size (the row count without weights; with weights the smaller of
        Kish's and the sandwich's, see the module), shrunk by noise on the counts so that
        ``p(1-p)/n_eff`` is the whole variance."""
        out = np.zeros(self.den.shape)
        np.divide(self.den**2, self.den_sq, out=out, where=self.den_sq > 0)
        if self.num_sq is not None:
            out = np.minimum(out, sandwich_size(self.num, self.den, self.num_sq, self.den_sq))
        if self.noise_num is None or self.noise_den is None:
            return out
        return noisy_effective_size(
            self.num, self.den, out, self.noise_num, self.noise_den - self.noise_num
        )

    def minus(self, other: RateStats, index: Any, label: int, control: int) -> RateStats:
        """The rate over the rows of entry ``(label, control)`` outside ``other[label, index]``."""

        def rest(total: FloatArray | None, part: FloatArray | None) -> FloatArray | None:
            if total is None or part is None:
                return None
            return np.asarray(total[label, control] - part[label, index], dtype=np.float64)

        return RateStats(
            self.num[label, control] - other.num[label, index],
            self.den[label, control] - other.den[label, index],
            self.den_sq[label, control] - other.den_sq[label, index],
            rest(self.noise_num, other.noise_num),
            rest(self.noise_den, other.noise_den),
            rest(self.num_sq, other.num_sq),
        )


def sandwich_size(
    num: FloatArray, den: FloatArray, num_sq: FloatArray, den_sq: FloatArray
) -> FloatArray:
    """``p(1-p) / V`` with ``V`` the linearised variance of the weighted rate ``num / den``;
    infinite (no bound) where the rate is 0 or 1 or undefined, where Kish's size stands."""
    p = np.full(den.shape, np.nan)
    np.divide(num, den, out=p, where=den > 0)
    inside = (p > 0) & (p < 1)
    spread = num_sq * (1 - p) ** 2 + np.clip(den_sq - num_sq, 0.0, None) * p**2
    out = np.full(den.shape, np.inf)
    np.divide(p * (1 - p) * den**2, spread, out=out, where=inside & (spread > 0))
    return out


def noisy_effective_size(
    num: FloatArray, den: FloatArray, n_eff: FloatArray, var_num: FloatArray, var_rest: FloatArray
) -> FloatArray:
    """The size whose binomial variance equals sampling variance plus noise variance.

    With noise of variance ``var_num`` on the numerator cells and ``var_rest`` on the other
    denominator cells, the delta method gives ``Var(p) = p(1-p)/n + (var_num (1-p)**2 +
    var_rest p**2) / den**2``. ``p`` is shrunk towards 1/2 (two successes and two failures
    added, as Agresti and Coull do) so that an observed 0 or 1 still carries the noise.
    """
    p = (np.clip(num, 0, None) + 2.0) / (np.clip(den, 0, None) + 4.0)
    base = p * (1 - p)
    sampling = np.full(den.shape, np.inf)
    np.divide(base, n_eff, out=sampling, where=n_eff > 0)
    noise = np.full(den.shape, np.inf)
    np.divide(var_num * (1 - p) ** 2 + var_rest * p**2, den**2, out=noise, where=den > 0)
    out = np.zeros(den.shape)
    total = sampling + noise
    np.divide(base, total, out=out, where=np.isfinite(total) & (total > 0))
    return out
