"""The FAIL end of ``to_overall`` (each group against its control level's rate) from the belt.

``theta = max_g |p_g - p_all|`` with ``p_all = sum_h s_h p_h`` (``s`` the groups' shares of the
rate's denominator): the comparisons are the rows of ``I - 1 s'``, correlated through
``p_all``. The belt of :mod:`bias_checks._belt` applies as it is to these rows; only the
configurations change. In units of ``theta`` they are the two-cluster splits and the placements
with groups half-way of the ``pairs`` belt, shifted by their weighted mean and scaled so that
the group furthest from it sits at ``theta``: a split into two clusters with shares ``s_B`` and
``1 - s_B`` puts every group of the smaller one at ``theta`` and, at ``s_B = 1/2``, every
group; a group half-way can sit at the overall rate and let the others reach ``theta`` on both
sides. Both ends are simulated together, up to five groups in all (``MAX_OVERALL``); beyond,
the parity value. At ``theta = 0`` ``c`` is the parity value of
:func:`bias_checks._simultaneous._overall_tail`.

Groups of the control level that are not compared (too small to judge) still move the
overall rate: they enter as one more group, with their share and the variance they add to the
overall rate, in every configuration but never compared. The belt applies to differences only:
the ratio to the overall rate keeps the parity value.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bias_checks._belt import _MULTIPLES, _configurations, _count, _key, _lows, _variance, fail_end
from bias_checks._belt_table import Table, _Shape, combine
from bias_checks._inputs import FloatArray

MAX_OVERALL = 450
"""Largest configurations x comparisons simulated (five groups in all, counting those left out
as one); beyond, the parity value. Unlike max - min, the FAIL end needs the configurations
with groups half-way as well as the two-cluster splits: five equal groups at ``(+theta,
+theta, -theta, -theta, 0)`` put four of them at ``theta`` from the overall rate, which no
two-cluster split does, and with the splits alone the FAIL end erred 6.7-7.7 % there (an
independent review, 2,000 audits a setting)."""


def _share_key(shares: FloatArray) -> tuple[float, ...]:
    """The shares relative to the largest, exactly (sizes are rounded to ``2**(1/8)``, as in
    every belt). The configurations are placed with the shares, so a rounded share moves them,
    and the error grows with the distance from parity in sds of the largest groups: rounded to
    ``2**(1/8)`` the split of (0.5, 0.3, 0.2) into {0.5} and {0.3, 0.2}, which puts every group
    at ``theta``, sat 2 % short of it in the table and the FAIL end erred 5.5-5.6 % of 20,000
    audits at 8-12 sds; rounded to ``2**(1/64)`` a review still found 5.4 % for (0.2459, 0.2541
    | 0.2636, 0.1954, 0.041) at 8 sds of its smallest group. Exact shares cost a table for
    every pattern of shares, which unweighted audits of the same data reuse."""
    relative = np.asarray(shares, dtype=np.float64) / float(np.max(shares))
    return tuple(float(x) for x in relative)


_OUTSIDE = 1e-9
"""Share of the overall rate's variance below which no group is left out of the comparisons."""

Pair = tuple[float, float]


def _scaled(configs: FloatArray, shares: FloatArray, compared: int) -> FloatArray:
    """Configurations in units of ``theta``: the compared group furthest from the weighted
    mean at 1."""
    deviation = configs[:, :compared] - combine(configs, shares)[:, None]
    out: FloatArray = configs / np.abs(deviation).max(axis=1, keepdims=True)
    return out


@lru_cache(maxsize=512)
def _table(
    key: tuple[Pair, ...], alpha: float, share: float, outside: Pair | None = None
) -> Table | None:
    """The belt for compared groups of ``(relative size, share)`` in ``key`` and, with
    ``outside``, the rest of the control level as one group that is not compared."""
    pairs = key if outside is None else (*key, outside)
    k, g = len(key), len(pairs)
    if _count("pairs", g, joint=True) * k > MAX_OVERALL:
        return None
    relative = np.array([size for size, _ in pairs])
    shares = np.array([s for _, s in pairs])
    shares = shares / shares.sum()
    rows = (np.eye(g) - shares[None, :])[:k]
    sd = 1.0 / np.sqrt(relative)
    shape = _Shape(rows, sd, np.sqrt(combine(rows * rows, sd * sd)))
    se = shape.se
    delta = np.unique(np.concatenate([se.min() * _MULTIPLES, se.max() * _MULTIPLES]))
    configs = _scaled(_configurations("pairs", g, joint=True), shares, k)
    return Table(
        delta,
        lambda i: shape.joint_at(configs, float(delta[i]), alpha, share),
        lambda: shape.ceiling(configs, float(delta[-1])),
    )


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
    apply (too many groups, see :func:`bias_checks._belt._variance`)."""
    pm, nm = rates
    if pm.size < 2 or not np.all(nm > 0) or overall <= 0:
        return None
    v = _variance("difference", pm, nm)
    if v is None:
        return None
    sizes, parts = nm, shares
    outside = 1 / overall - float((shares * shares / nm).sum())  # Var of the rest's part
    left = 1.0 - float(shares.sum())
    if outside > _OUTSIDE / overall:
        if left <= 0:
            return None
        sizes, parts = np.append(nm, left * left / outside), np.append(shares, left)
    elif outside < -_OUTSIDE / overall:
        return None  # sizes that do not add up (noise added to the counts): the parity value
    relative, share_key = _key(sizes), _share_key(parts)
    if min(*relative, *share_key) <= 0:
        return None
    compared = tuple(sorted(zip(relative[: pm.size], share_key[: pm.size], strict=True)))
    rest_of = (relative[-1], share_key[-1]) if sizes.size > pm.size else None
    tab = _table(compared, round(float(alpha), 12), round(float(share), 9), rest_of)
    if tab is None:
        return None
    against_rest = _lows("difference", (pm, nm, *rest))
    scale = np.clip(1.0 - shares, 0.0, None)[:, None]  # |p_g - p_all| = (1 - s_g)|p_g - p_rest|

    def lows(tails: FloatArray) -> FloatArray:
        return np.asarray(against_rest(tails) * scale, dtype=np.float64)

    return fail_end(tab, lows, unit=float(np.sqrt(v / sizes.max())))
