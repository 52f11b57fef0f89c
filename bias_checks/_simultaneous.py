"""Critical values that hold simultaneously over the comparisons one disparity summarises.

Every comparison behind a rate disparity (each pair of groups, each group against the rest of
its control level, each group against the reference) is a linear contrast ``a_k' X`` of
independent group estimates ``X_g``. At parity, the configuration on which the end a FAIL
rests is calibrated, every rate has the same ``p`` and ``Var X_g = p(1 - p) / n_g`` (the
log-rates of a ratio: ``(1 - p) / (p n_g)``), so the correlation of the standardised
contrasts ``Z_k`` depends only on the (effective) sizes ``n_g`` and, for ``to_overall``, the
groups' shares of the denominator. The critical value ``c`` with
``P(max_k |Z_k| > c) = alpha`` is the single-step simultaneous value of Hothorn, Bretz and
Westfall (2008, "Simultaneous inference in general parametric models", Biom. J. 50, 346-363;
R's ``multcomp::glht``): Tukey's for all pairs (``studentized_range(k, inf) / sqrt(2)`` when
the sizes are equal), Dunnett's against a reference. Each signed end of each comparison's
interval then uses the one-sided tail ``Phi(-c)`` (``alpha / 2`` for one comparison, as a
plain interval), instead of Bonferroni's ``alpha / 2m``, which ignores that pairs sharing a
group are correlated.

How ``c`` is computed: one comparison, or several that are all the same up to sign (two
groups against the overall rate), is the normal quantile. Against a reference the
correlations have Dunnett's product form, so ``P(max |Z_k| <= c)`` is a one-dimensional
integral over the reference's estimate (Gauss-Hermite, 96 nodes; exact to ~1e-10) solved for
``c`` by Brent's method. Pairs and ``to_overall`` have no such form (scipy's
``multivariate_normal.cdf`` is Genz's randomised algorithm, needs a full-rank covariance,
which ``k(k-1)/2`` pairs of ``k`` groups never have, and takes tens of milliseconds a call):
there ``c`` is the ``1 - alpha`` quantile of ``max_k |Z_k|`` over 2**14 scrambled Sobol
points of the ``k`` group estimates with a fixed seed, so an audit is reproducible. The
quantile's error is about ``sqrt(alpha (1 - alpha) / 2**14) / f(c)``: against the
studentized range it is within 0.008 in ``c`` at 95 % and 0.016 at 99 %, about 0.1 percentage
point of simultaneous error (tested against scipy's ``studentized_range`` and Genz's
``multivariate_normal.cdf``). Beyond ``MAX_SIMULATED`` comparisons (more than 63 groups'
pairs), Sidak's bound, valid for any correlation. Results are cached by sizes, so every
metric on the same denominator reuses them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
from scipy.special import ndtr, ndtri

from bias_checks._rounding import round_up

Structure = Literal["pairs", "reference", "overall"]

POINTS = 2**14
"""Sobol points for the quantile of ``max |Z_k|`` where there is no closed form."""
_SEED = 20080611
_CELLS = 2**21
"""Points times comparisons held in memory at once (16 MiB)."""
MAX_SIMULATED = 2_000
"""Most comparisons whose joint critical value is simulated (63 groups' pairs: about a second,
and a 32 MiB check for duplicates). Beyond, Sidak's value over the comparisons, which holds
for any correlation of a centred normal vector (Sidak 1967, "Rectangular confidence regions
for the means of multivariate normal distributions", JASA 62, 626-633) and is about 0.15
wider in ``c`` at a hundred groups; before this limit 400 groups' 79,800 pairs asked for a
47 GiB correlation matrix."""
CRITICAL_DIGITS = 10
"""Significant digits of Dunnett's critical value (Brent's method stops at 1e-10)."""
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(96)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def sidak_tail(alpha: float, k: int) -> float:
    """Per-group one-sided tail so that ``k`` independent one-sided events together err with
    probability ``alpha``: ``1 - (1 - alpha)**(1/k)`` (Sidak 1967; exact for independence)."""
    return float(-np.expm1(np.log1p(-alpha) / max(k, 1)))


def comparison_tail(
    structure: Structure,
    sizes: np.ndarray[Any, Any],
    *,
    alpha: float,
    reference: float = 0.0,
    shares: np.ndarray[Any, Any] | None = None,
    overall: float = 0.0,
) -> float:
    """One-sided tail ``Phi(-c)`` of each signed end, with ``P(max_k |Z_k| > c) = alpha``.

    ``sizes`` are the (effective) sizes of the compared groups: every group of a ``pairs``
    comparison; the groups compared with a ``reference`` of size ``reference``; for
    ``overall`` the groups compared with the rest of their control level, with ``shares`` of
    its denominator and ``overall`` its effective size.
    """
    n = np.asarray(sizes, dtype=np.float64)
    if structure == "pairs" and n.size <= 2:
        return alpha / 2
    if structure == "reference":
        if n.size <= 1:
            return alpha / 2
        return _dunnett_tail(tuple(n.tolist()), float(reference), float(alpha))
    if structure == "overall":
        assert shares is not None
        if n.size <= 1:
            return alpha / 2
        s = np.asarray(shares, dtype=np.float64)
        return _overall_tail(tuple(n.tolist()), tuple(s.tolist()), float(overall), float(alpha))
    return _pairs_tail(tuple(n.tolist()), float(alpha))


def _tail(c: float) -> float:
    return float(ndtr(-c))


@lru_cache(maxsize=4096)
def _pairs_tail(sizes: tuple[float, ...], alpha: float) -> float:
    n = np.asarray(sizes)
    i, j = np.triu_indices(n.size, 1)
    factor = np.zeros((i.size, n.size))
    factor[np.arange(i.size), i] = 1 / np.sqrt(n[i])
    factor[np.arange(i.size), j] = -1 / np.sqrt(n[j])
    return _tail(_quantile_of_max(factor, alpha))


@lru_cache(maxsize=4096)
def _overall_tail(
    sizes: tuple[float, ...], shares: tuple[float, ...], overall: float, alpha: float
) -> float:
    """``Z_g ~ X_g - S`` with ``S = sum_h s_h X_h`` over the whole control level; groups not
    compared enter ``S`` only, as one term carrying the rest of ``Var S = 1 / overall``."""
    n, s = np.asarray(sizes), np.asarray(shares)
    k = n.size
    factor = np.zeros((k, k + 1))
    factor[:, :k] = (np.eye(k) - s[None, :]) / np.sqrt(n)[None, :]
    outside = 1 / overall - float((s * s / n).sum()) if overall > 0 else 0.0
    factor[:, k] = -np.sqrt(max(outside, 0.0))
    return _tail(_quantile_of_max(factor, alpha))


def _quantile_of_max(factor: np.ndarray[Any, Any], alpha: float) -> float:
    """``c`` with ``P(max_k |Z_k| > c) = alpha`` for ``Z = factor @ E`` standardised, ``E``
    independent standard normal."""
    if factor.shape[0] > MAX_SIMULATED:
        return float(-ndtri(sidak_tail(alpha, factor.shape[0]) / 2))  # two-sided, per comparison
    factor = factor / np.linalg.norm(factor, axis=1, keepdims=True)
    factor = _distinct_up_to_sign(factor)
    if factor.shape[0] == 1:
        return float(-ndtri(alpha / 2))
    draws = _normal_points(factor.shape[1])  # (groups, points): reduce along contiguous rows
    weights = factor.astype(np.float32)  # single precision: twice as fast, c to ~1e-6
    chunk = max(1, _CELLS // factor.shape[0])
    largest = np.empty(draws.shape[1], dtype=np.float32)
    for start in range(0, draws.shape[1], chunk):
        # einsum, not @: OpenBLAS takes ~20x longer on this short-and-wide shape.
        block = np.einsum("mg,gn->mn", weights, draws[:, start : start + chunk])
        np.abs(block, out=block)
        block.max(axis=0, out=largest[start : start + chunk])
    rank = int(np.ceil((1 - alpha) * largest.size)) - 1
    return float(np.partition(largest, rank)[rank])


def _distinct_up_to_sign(factor: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Drop comparisons identical to an earlier one up to sign (correlation +-1)."""
    same = np.tril(np.abs(factor @ factor.T) > 1 - 1e-12, k=-1)
    kept: np.ndarray[Any, Any] = factor[~same.any(axis=1)]
    return kept


@lru_cache(maxsize=64)
def _normal_points(dimension: int) -> np.ndarray[Any, Any]:
    # scipy.stats (and scipy.optimize below) take ~0.4 s to import; imported where first
    # needed, every `fairgov` command that imports bias_checks but never audits is spared.
    from scipy.stats import qmc

    points = qmc.Sobol(dimension, scramble=True, rng=np.random.default_rng(_SEED)).random(POINTS)
    normal: np.ndarray[Any, Any] = np.ascontiguousarray(
        ndtri(np.clip(points, 1e-12, 1 - 1e-12)).T, dtype=np.float32
    )
    normal.setflags(write=False)
    return normal


def dunnett_covered(sizes: np.ndarray[Any, Any], reference: float, c: float) -> float:
    """``P(max_k |Z_k| <= c)`` for groups of ``sizes`` each against a reference of size
    ``reference``: given the reference's estimate the ``Z_k`` are independent, so it is one
    integral over that estimate (Dunnett's product correlation)."""
    sd = 1 / np.sqrt(np.asarray(sizes, dtype=np.float64))
    sd0 = 1 / np.sqrt(reference)
    spread = np.sqrt(sd * sd + sd0 * sd0)
    shift = sd0 * _NODES[:, None]
    inside = ndtr((c * spread + shift) / sd) - ndtr((-c * spread + shift) / sd)
    return float(_WEIGHTS @ np.prod(inside, axis=1))


@lru_cache(maxsize=4096)
def _dunnett_tail(sizes: tuple[float, ...], reference: float, alpha: float) -> float:
    n = np.asarray(sizes)
    single = float(-ndtri(alpha / 2))
    bonferroni = float(-ndtri(alpha / 2 / n.size))

    def gap(c: float) -> float:
        return dunnett_covered(n, reference, c) - (1 - alpha)

    if gap(bonferroni) <= 0:
        return alpha / 2 / n.size
    from scipy.optimize import brentq

    # The integral's dot product runs on CPU-specific OpenBLAS kernels, so c differs in its
    # last bits between machines; rounded up (intervals never narrower), every interval end
    # that uses it is computed from the same number everywhere.
    return _tail(round_up(float(brentq(gap, single, bonferroni, xtol=1e-10)), CRITICAL_DIGITS))
