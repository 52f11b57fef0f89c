"""The end a FAIL rests on, calibrated at the disparity it tests (a Neyman belt).

A disparity ``theta = max_m |d_m|`` over comparisons ``m`` (pairs of groups, or each group
against a reference) has the confidence set ``{theta : no test at theta rejects}``. Its lower
end ``L`` (the FAIL end of a difference; of ``-log`` of a ratio) is the smallest ``theta``
that the test "some comparison is further from parity than ``theta``" does not reject::

    reject theta  <=>  max_m lo_m(c(theta)) > theta

where ``lo_m(c)`` is comparison ``m``'s folded lower limit at the one-sided tail ``Phi(-c)``
(Newcombe's for a difference, Miettinen and Nurminen's score limit for a ratio). The interval
errs when this test rejects the true ``theta`` or when the PASS end (``alpha / 2``, unadjusted,
as before) lies below it, so the ends may share ``alpha`` differently at every ``theta`` and at
every configuration of the true rates, as long as the two errors add up to at most ``alpha``
there (Neyman 1937; for one ``|mu|`` this is the folded-normal belt).

``c(theta)`` is the smallest value with ``share * P(T > c) + P(PASS end below theta) <=
alpha`` at each configuration checked, ``T = max_m (|D_m| - theta) / se_m`` in the normal model
of the groups' (effective) sizes. Configurations (in units of ``theta``): for pairs every
split of the groups into two clusters ``theta`` apart (the most comparisons attain ``theta``:
the FAIL end's worst case) and groups half-way between (no comparison but the extreme pair
comes near ``theta``: the PASS end's worst case); against a reference every assignment of the
others to ``-theta``, the reference's rate or ``+theta``. At ``theta = 0`` ``c`` is the parity
value of :mod:`bias_checks._simultaneous` (Tukey's, Dunnett's); away from parity it is smaller,
and the interval is no longer conservative where one pair attains the gap.

Two groups have the closed form ``Phi(-c) + Phi(-c - 2 r) = alpha - pi`` with ``r = theta /
se`` and ``pi = max(0, Phi(-z) - Phi(z - 2 r))``. More groups are simulated on the scrambled
Sobol points of :mod:`bias_checks._simultaneous` (fixed seed: an audit is reproducible) on a
grid of ``theta`` per shape of the sizes (relative to the largest, rounded to ``2**(1/8)``,
sorted), a grid value when the FAIL end's search first needs it (:mod:`bias_checks._belt_table`).
Up to ``MAX_JOINT`` configurations times comparisons both ends are simulated together; up
to ``MAX_WORK`` the FAIL end alone at the two-cluster splits with ``pi`` of the most precise
comparison for the PASS end (valid, less sharp); beyond, the parity value at every ``theta``.
Between grid values the larger neighbouring ``c`` is used.

Equalized odds' worst case is the largest disparity over two independent parts' pairs (TPR on
the positives, FPR on the negatives): :func:`parts_end` calibrates both parts together, each at
one of its configurations or at parity (two groups: independent comparisons, in closed form).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from itertools import product
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri

from bias_checks._belt_table import Table, _Shape, combine
from bias_checks._disparities import Transform
from bias_checks._inputs import FloatArray
from bias_checks._intervals import (
    fold_difference,
    fold_ratio,
    outer_difference_ends,
    score_ratio_at,
)

BeltStructure = Literal["pairs", "reference"]

MAX_JOINT = 300
"""Largest configurations x comparisons for which both ends are simulated together (up to
five groups against a reference, four groups' pairs, three groups' equalized odds)."""
MAX_WORK = 200
"""Largest configurations x comparisons simulated at all; beyond it the parity value."""
_MULTIPLES = np.array(
    [0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.65, 0.8, 1, 1.25, 1.5, 2, 2.5, 3, 3.5, 4, 5, 6, 8.0]
)
"""``theta`` grid in multiples of the smallest and of the largest comparison's sd."""


def _key(sizes: FloatArray) -> tuple[float, ...]:
    """Sizes relative to the largest, rounded to ``2**(1/8)``."""
    relative = np.asarray(sizes, dtype=np.float64) / float(np.max(sizes))
    return tuple(float(x) for x in 2.0 ** (np.round(np.log2(relative) * 8) / 8))


def table(
    structure: BeltStructure,
    sizes: FloatArray,
    reference: float = 0.0,
    *,
    alpha: float,
    share: float = 1.0,
    parts: int = 1,
) -> Table | None:
    """The belt's table for these (effective) sizes, or None when it would be too costly.

    For ``reference`` the first size is the reference group's, the rest the compared groups'.
    ``alpha`` is the interval's error (the PASS end's is ``alpha / 2``); ``share`` divides the
    FAIL end's among the entries and components of a check. With ``parts`` (pairs only) the
    sizes are the precisions ``n_g / v`` of each part's groups in turn, and the disparity is
    the largest over every part's pairs (equalized odds' worst case).
    """
    n = np.asarray(sizes, dtype=np.float64)
    if structure == "reference":
        n = np.concatenate([[reference], n])
    if parts > 1:
        relative = _key(n)
        k = n.size // parts
        key = tuple(
            x
            for part in sorted(tuple(sorted(relative[i * k : (i + 1) * k])) for i in range(parts))
            for x in part
        )
    elif n.size == 2:  # the closed form: exact sizes
        key = tuple(float(x) for x in n / n.max())
    elif structure == "reference":
        key = _key(n)
        key = (key[0], *sorted(key[1:]))
    else:
        key = tuple(sorted(_key(n)))
    if min(key) <= 0:
        return None
    return _table(structure, key, round(float(alpha), 12), round(float(share), 9), parts)


def _configurations(structure: BeltStructure, k: int, joint: bool, parts: int = 1) -> FloatArray:
    """True rates ``(C, parts * k)`` in units of ``theta`` at which the ends are calibrated.

    With several parts (equalized odds' TPR and FPR, independent), every combination of each
    part at one of its configurations or at parity, but not all at parity: the FAIL end errs
    most where every part attains ``theta``, the PASS end where one does and the others are
    far below it.

    Pairs: every split into two clusters ``theta`` apart (where the FAIL end errs most) and,
    with ``joint``, groups also half-way (where the PASS end errs most: the groups between
    the extremes give it no other comparison that reaches ``theta``). Against a reference
    (the first group): every other group at ``-theta``, the reference's rate or ``+theta``.
    Mirror images are left out.
    """
    if parts > 1:
        one = _configurations(structure, k, joint)
        options = np.concatenate([one, np.zeros((1, k))])
        picks = [c for c in product(range(options.shape[0]), repeat=parts) if min(c) < one.shape[0]]
        return np.asarray([np.concatenate([options[i] for i in c]) for c in picks])
    if structure == "pairs":
        values = (0.0, 0.5, 1.0) if joint else (0.0, 1.0)
        seen: set[tuple[float, ...]] = set()
        out: list[tuple[float, ...]] = []
        for config in product(values, repeat=k):
            mirror = tuple(1.0 - x for x in config)
            if 0.0 in config and 1.0 in config and mirror not in seen:
                seen.add(config)
                out.append(config)
        return np.asarray(out, dtype=np.float64)
    out = []
    for signs in product((-1.0, 0.0, 1.0), repeat=k - 1):
        nonzero = [x for x in signs if x]
        if nonzero and nonzero[0] > 0:
            out.append((0.0, *signs))
    return np.asarray(out, dtype=np.float64)


def _rows(structure: BeltStructure, k: int) -> FloatArray:
    if structure == "pairs":
        i, j = np.triu_indices(k, 1)
        rows = np.zeros((i.size, k))
        rows[np.arange(i.size), i], rows[np.arange(i.size), j] = 1.0, -1.0
        return rows
    rows = np.zeros((k - 1, k))
    rows[:, 0], rows[np.arange(k - 1), np.arange(1, k)] = -1.0, 1.0
    return rows


def _independent(
    se: FloatArray, shifts: FloatArray, delta: FloatArray, alpha: float, share: float
) -> FloatArray:
    """``c`` for independent comparisons (one a part), each end's errors in closed form.

    At configuration ``C`` comparison ``m`` has ``|d_m| = theta * shifts[C, m]``; its folded
    estimate stays within ``x`` with probability ``Phi((x - mu) / se) - Phi((-x - mu) / se)``,
    so the FAIL end errs with ``1 - prod_m P(|D_m| <= theta + c se_m)`` and the PASS end with
    ``prod_m P(|D_m| < theta - z se_m)``.
    """
    z = float(-ndtri(alpha / 2))
    theta = delta[:, None, None]
    mu = theta * shifts[None, :, :]
    sd = se[None, None, :]

    def within(x: FloatArray) -> FloatArray:
        out: FloatArray = np.where(x > 0, ndtr((x - mu) / sd) - ndtr((-x - mu) / sd), 0.0)
        return out

    below = within(theta - z * sd).prod(axis=2)
    low, high = np.zeros(delta.size), np.full(delta.size, 10.0)
    for _ in range(60):
        mid = (low + high) / 2
        fail = 1 - within(theta + mid[:, None, None] * sd).prod(axis=2)
        over = (share * fail + below).max(axis=1) > alpha
        low, high = np.where(over, mid, low), np.where(over, high, mid)
    return high


@lru_cache(maxsize=512)
def _table(
    structure: BeltStructure,
    relative: tuple[float, ...],
    alpha: float,
    share: float,
    parts: int = 1,
) -> Table | None:
    k = len(relative) // parts
    rows = _rows(structure, k)
    if parts > 1:
        rows = np.asarray(np.kron(np.eye(parts), rows), dtype=np.float64)
    sd = 1.0 / np.sqrt(np.asarray(relative))
    shape = _Shape(rows, sd, np.sqrt(combine(rows * rows, sd * sd)))
    se = shape.se
    delta = np.unique(np.concatenate([se.min() * _MULTIPLES, se.max() * _MULTIPLES]))
    budget = (alpha - pass_error(delta, se, alpha / 2)) / share
    if rows.shape[0] == 1:
        return Table.known(delta, _single(delta / se[0], budget))
    if rows.shape[0] == parts:  # one comparison a part: independent, in closed form
        shifts = np.abs(_configurations(structure, k, joint=True, parts=parts) @ rows.T)
        return Table.known(delta, _independent(se, shifts, delta, alpha, share))
    largest = float(delta[-1])
    if _count(structure, k, joint=True, parts=parts) * rows.shape[0] <= MAX_JOINT:
        configs = _configurations(structure, k, joint=True, parts=parts)
        return Table(
            delta,
            lambda i: shape.joint_at(configs, float(delta[i]), alpha, share),
            lambda: shape.ceiling(configs, largest),
        )
    if _count(structure, k, joint=False, parts=parts) * rows.shape[0] > MAX_WORK:
        return None
    configs = _configurations(structure, k, joint=False, parts=parts)
    return Table(
        delta,
        lambda i: shape.separate_at(configs, float(delta[i]), float(budget[i])),
        lambda: shape.ceiling(configs, largest),
    )


def _count(structure: BeltStructure, k: int, *, joint: bool, parts: int = 1) -> int:
    """How many configurations :func:`_configurations` gives, without listing them."""
    if structure == "reference":
        one = int(3 ** (k - 1) - 1) // 2
    elif joint:
        one = int(3**k - 2 * 2**k + 1) // 2
    else:
        one = int(2 ** (k - 1)) - 1
    return one if parts == 1 else (one + 1) ** parts - 1


def _single(ratio: FloatArray, budget: FloatArray) -> FloatArray:
    """``c`` with ``Phi(-c) + Phi(-c - 2 r) = budget`` for each ``r = theta / se``."""
    level = np.clip(budget, 1e-12, 0.5)
    low, high = -ndtri(level), -ndtri(level / 2)
    for _ in range(60):
        mid = (low + high) / 2
        over = ndtr(-mid) + ndtr(-mid - 2 * ratio) > level
        low = np.where(over, mid, low)
        high = np.where(over, high, mid)
    out: FloatArray = high
    return out


def pass_error(theta: FloatArray, se: FloatArray, unsafe: float) -> FloatArray:
    """Largest probability, over which comparison attains ``theta``, that the PASS end
    (one-sided error ``unsafe``, no adjustment) lies below ``theta`` (normal model)."""
    z = float(-ndtri(unsafe))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(se[None, :] > 0, theta[:, None] / se[None, :], np.inf)
    miss = ndtr(-z) - ndtr(z - 2 * ratio)
    out: FloatArray = np.clip(miss, 0.0, None).max(axis=1)
    return out


def fail_end(tab: Table, lows: Callable[[FloatArray], FloatArray], *, unit: float) -> float:
    """The belt's FAIL end ``L``: the smallest ``theta`` on the grid whose test does not reject,
    refined between it and the grid value before.

    ``lows(tails)`` gives every comparison's folded lower limit ``(M, D)`` at one-sided tails
    ``(D,)``, in the disparity's units (``-log`` for ratios); ``unit`` is ``theta`` per grid
    ``delta`` (``sqrt(v / n_max)`` with ``v`` the variance of one row). A lower limit only
    falls as ``c`` grows, so every ``theta`` below the largest lower limit at the table's
    ceiling is rejected whatever its ``c``: the search starts above them and computes ``c``
    only where the test is in doubt.
    """
    theta = tab.delta * unit
    last = theta.size - 1

    def reached(c: list[float]) -> FloatArray:
        out: FloatArray = np.asarray(lows(ndtr(-np.array(c))), dtype=np.float64).max(axis=0)
        return out

    # The bound and both ends of the grid in one call: they settle most audits.
    floor, *ends = reached([tab.ceiling, tab.at(0), tab.at(last)])
    known = dict(zip((0, last), ends, strict=True))
    # A slack of 1e-12: a ratio's limits are solved for several tails at once, and their last
    # bits depend on which tails share a call.
    slack = 1e-12 * (1.0 + abs(floor))
    start = int(np.searchsorted(theta, floor - slack, side="left")) if np.isfinite(floor) else 0
    for i in range(start, theta.size):
        if (known[i] if i in known else reached([tab.at(i)])[0]) <= theta[i]:
            break
    else:
        return float(known[last])
    if i == 0:
        return 0.0
    c_star = max(tab.at(i - 1), tab.at(i))
    return float(np.clip(reached([c_star])[0], theta[i - 1], theta[i]))


BELT_MIN_EVENTS: dict[Transform, float] = {"ratio": 10.0, "difference": 0.0}
"""Fewest events and non-events (effective) every compared group needs for the belt's
critical value. For a ratio 10: the belt's normal model of the log ratio fails a group with a
handful of events (an independent review found the FAIL end of a ratio erring 11.6 % with 0.6
expected events in a group of 40, with the adjusted log limits used then); below it, the parity
value. With the score limits a ratio still needs it: without it the FAIL end erred up to 5.8 %
in groups of 20-30 rows (``belt_small_counts.py --transform ratio``). A difference needs none,
only a pooled rate strictly between 0 and 1: its pairwise limits (the outer of Newcombe's and
the SCAS limits since session 17, Newcombe's before) keep the belt's FAIL end within its error
down to a few events a group, and a guard of 10 there only made the interval conservative
(``benchmarks/belt_small_counts.py``, measured with Newcombe's limits)."""


def _lows(
    transform: Transform, compared: tuple[FloatArray, FloatArray, FloatArray, FloatArray]
) -> Callable[[FloatArray], FloatArray]:
    """Each comparison's folded lower limit ``(M, D)`` at one-sided tails ``(D,)`` (``-log`` of
    the ratio's upper limit for ratios)."""
    a1, b1, a2, b2 = (x[:, None] for x in compared)

    def lows(tails: FloatArray) -> FloatArray:
        t = tails[None, :]
        if transform == "difference":
            signed = outer_difference_ends(a1, b1, a2, b2, low_tail=t, high_tail=t)
            low, _ = fold_difference(*signed)
            return low
        ((c, d),) = score_ratio_at(a1, b1, a2, b2, (t,), outer=(True,))
        _, high = fold_ratio(c, d)
        with np.errstate(divide="ignore"):
            return np.asarray(-np.log(high), dtype=np.float64)

    return lows


def _variance(transform: Transform, pm: FloatArray, nm: FloatArray) -> float | None:
    """The variance of one row at the pooled rate (of its log for ratios), or None where the
    belt does not apply (an undefined rate, no events or no non-events at all, a ratio with a
    compared group below ``BELT_MIN_EVENTS``)."""
    if not np.all(np.isfinite(pm)):
        return None
    if np.any(np.minimum(pm, 1 - pm) * nm < BELT_MIN_EVENTS[transform]):
        return None
    pooled = float((pm * nm).sum() / nm.sum()) if nm.sum() > 0 else np.nan
    if not 0 < pooled < 1:
        return None
    return pooled * (1 - pooled) if transform == "difference" else (1 - pooled) / pooled


def belt_end(
    transform: Transform,
    structure: BeltStructure,
    compared: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    *,
    pm: FloatArray,
    nm: FloatArray,
    alpha: float,
    share: float,
    reference: float = 0.0,
) -> float | None:
    """The FAIL end of a disparity of rates from the belt, or None where it does not
    apply (too many groups, see :func:`_variance`)."""
    v = _variance(transform, pm, nm)
    if v is None:
        return None
    sizes = nm if structure == "pairs" else compared[1]
    tab = table(structure, sizes, reference, alpha=alpha, share=share)
    if tab is None:
        return None
    largest = float(np.max(sizes) if structure == "pairs" else max(np.max(sizes), reference))
    end = fail_end(tab, _lows(transform, compared), unit=float(np.sqrt(v / largest)))
    return end if transform == "difference" else float(np.exp(-end))


def parts_end(
    transform: Transform,
    parts: tuple[tuple[FloatArray, FloatArray], ...],
    *,
    alpha: float,
    share: float,
) -> float | None:
    """The FAIL end of the largest pairwise disparity over independent parts (equalized odds'
    worst case: TPR on the positives, FPR on the negatives), each part ``(rates, sizes)`` of
    the same groups, from one belt over every part's pairs; None where it does not apply.

    Calibrating the parts together instead of giving each half of the FAIL end's error (a
    union) matters where each part has few pairs: far from parity, where every part attains
    ``theta``, the PASS end cannot err, so two groups need ``1.97`` instead of ``2.24``.
    From four groups on the union is as sharp (and the joint table too costly): None.
    """
    k = parts[0][0].size
    i, j = np.triu_indices(k, 1)
    precisions, lows = [], []
    for pm, nm in parts:
        v = _variance(transform, pm, nm)
        if v is None:
            return None
        precisions.append(nm / v)
        lows.append(_lows(transform, (pm[i], nm[i], pm[j], nm[j])))
    precision = np.concatenate(precisions)
    tab = table("pairs", precision, alpha=alpha, share=share, parts=len(parts))
    if tab is None:
        return None

    def every(tails: FloatArray) -> FloatArray:
        return np.concatenate([low(tails) for low in lows])

    end = fail_end(tab, every, unit=float(1 / np.sqrt(precision.max())))
    return end if transform == "difference" else float(np.exp(-end))
