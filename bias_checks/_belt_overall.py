"""The FAIL end of ``to_overall`` (each group against its control level's rate) from the belt.

``theta = max_g |p_g - p_all|`` with ``p_all = sum_h s_h p_h`` (``s`` the groups' shares of the
rate's denominator): the comparisons are the rows of ``I - 1 s'``, correlated through
``p_all``. The belt of :mod:`bias_checks._belt` applies as it is to these rows; only the
configurations change. In units of ``theta`` they are the two-cluster splits (and, where both
ends are simulated together, groups half-way) of the ``pairs`` belt, shifted by their weighted
mean and scaled so that the group furthest from it sits at ``theta``: a split into two clusters
with shares ``s_B`` and ``1 - s_B`` puts every group of the smaller one at ``theta`` and, at
``s_B = 1/2``, every group. At ``theta = 0`` ``c`` is the parity value of
:func:`bias_checks._simultaneous._overall_tail`.

The belt applies when every group of the control level is compared (the overall rate then
has no part the belt does not model) and to differences only: the ratio to the overall rate
keeps the parity value.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bias_checks._belt import (
    _MULTIPLES,
    MAX_JOINT,
    MAX_WORK,
    Table,
    _configurations,
    _count,
    _key,
    _Shape,
    _variance,
    fail_end,
    pass_error,
)
from bias_checks._inputs import FloatArray
from bias_checks._intervals import folded_difference

_OUTSIDE = 1e-6
"""Largest share of the overall rate's variance from groups not compared for the belt to
apply."""


def _rows(shares: FloatArray) -> FloatArray:
    k = shares.size
    out: FloatArray = np.eye(k) - shares[None, :]
    return out


def _scaled(configs: FloatArray, shares: FloatArray) -> FloatArray:
    """Configurations in units of ``theta``: the furthest group from the weighted mean at 1."""
    deviation = configs - (configs @ shares)[:, None]
    out: FloatArray = configs / np.abs(deviation).max(axis=1, keepdims=True)
    return out


@lru_cache(maxsize=512)
def _table(key: tuple[tuple[float, float], ...], alpha: float, share: float) -> Table | None:
    relative = np.array([size for size, _ in key])
    shares = np.array([s for _, s in key])
    shares = shares / shares.sum()
    k = relative.size
    rows = _rows(shares)
    sd = 1.0 / np.sqrt(relative)
    shape = _Shape(rows, sd, np.sqrt((rows * rows) @ (sd * sd)))
    se = shape.se
    delta = np.unique(np.concatenate([se.min() * _MULTIPLES, se.max() * _MULTIPLES]))
    if _count("pairs", k, joint=True) * k <= MAX_JOINT:
        configs = _scaled(_configurations("pairs", k, joint=True), shares)
        return Table(delta, shape.joint(configs, delta, alpha, share))
    if _count("pairs", k, joint=False) * k > MAX_WORK:
        return None
    configs = _scaled(_configurations("pairs", k, joint=False), shares)
    budget = (alpha - pass_error(delta, se, alpha / 2)) / share
    return Table(delta, shape.separate(configs, delta, budget))


def overall_end(
    rates: tuple[FloatArray, FloatArray],
    rest: tuple[FloatArray, FloatArray],
    shares: FloatArray,
    overall: float,
    *,
    alpha: float,
    share: float,
) -> float | None:
    """The FAIL end of ``max_g |p_g - p_all|`` over the compared groups ``rates = (p, n)``,
    each against the rest of its control level ``rest = (p, n)`` with ``shares`` of the
    denominator and ``overall`` the level's effective size; None where the belt does not
    apply (a group of the level not compared, too many groups, see
    :func:`bias_checks._belt._variance`)."""
    pm, nm = rates
    if pm.size < 2 or not np.all(nm > 0) or overall <= 0:
        return None
    outside = 1 / overall - float((shares * shares / nm).sum())
    if abs(outside) > _OUTSIDE / overall:
        return None
    v = _variance("difference", pm, nm)
    if v is None:
        return None
    relative = _key(nm)
    share_key = _key(shares)
    key = tuple(sorted(zip(relative, share_key, strict=True)))
    if min(min(pair) for pair in key) <= 0:
        return None
    tab = _table(key, round(float(alpha), 12), round(float(share), 9))
    if tab is None:
        return None
    p_rest, n_rest = rest
    scale = np.clip(1.0 - shares, 0.0, None)[:, None]
    a1, b1, a2, b2 = (x[:, None] for x in (pm, nm, p_rest, n_rest))

    def lows(tails: FloatArray) -> FloatArray:
        t = tails[None, :]
        low, _ = folded_difference(a1, b1, a2, b2, low_tail=t, high_tail=t)
        return np.asarray(low * scale, dtype=np.float64)

    return fail_end(tab, lows, unit=float(np.sqrt(v / nm.max())))
