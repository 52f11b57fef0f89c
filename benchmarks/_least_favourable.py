"""How far any valid calibration of the max - min interval's FAIL end can go on this grid.

The benchmark's four-group truth is evenly spaced (``0, gap/3, 2 gap/3, gap``). A valid lower
end ``L`` for ``theta = max - min`` must keep ``P(L > theta) <= a`` at *every* configuration,
including the least favourable one with the same ``theta``: two clusters
(``0, theta, 0, theta``), where four pairs attain ``theta`` at once instead of one. In the
normal model of the grid (group estimates ``N(mu_g, p (1 - p) / n)``, ``p = 0.4``) this prints,
per size and gap, the error of the FAIL end at the evenly spaced truth for

* ``parity c``: the fixed simultaneous critical value of all six pairs at parity (what
  fairgov uses; exact at gap 0);
* ``LF c, a/2``: the smallest critical value of ``T = max_ij (|D_ij| - theta) / se_ij`` that
  is valid at every two-point and mid configuration with range ``theta`` at ``a = 2.5 %``, the
  share of the error this end has when the other end can also miss (far from parity);
* ``LF c, a``: the same at ``a = 5 %``, the whole error, which is only valid where the other
  end cannot miss (its width exceeds the gap, near parity);

and ``select``: how often a two-step / moment-selection procedure could drop any pair from
the critical value (a pair whose upper end does not reach ``L``, so it cannot attain the
maximum). The truth covers ``1 - error`` on this end plus the other end's misses.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.stats import studentized_range

P = 0.4
K = 4


def _statistic(mu: np.ndarray[Any, Any], sd: float, theta: float, z: Any) -> Any:
    i, j = np.triu_indices(K, 1)
    x = mu + sd * z
    return np.max((np.abs(x[:, i] - x[:, j]) - theta) / (sd * np.sqrt(2)), axis=1)


def least_favourable_table(draws: int = 100_000, seed: int = 1) -> None:
    z = np.random.default_rng(seed).standard_normal((draws, K))
    parity = float(studentized_range.ppf(0.95, K, np.inf)) / np.sqrt(2)
    print(
        "\nFAIL-end error of max - min at the evenly spaced truth (normal model, 4 groups,"
        " 95 %):\n  rows   gap | parity c  err | LF c a/2  err | LF c a  err | select"
    )
    i, j = np.triu_indices(K, 1)
    for n in (30, 100, 1000):
        sd = np.sqrt(P * (1 - P) / n)
        for gap in (0.05, 0.10, 0.15, 0.20):
            even = gap * np.arange(K) / (K - 1)
            configs = [
                gap * np.array([0, *bits, 1.0]) for bits in itertools.product([0, 1], repeat=2)
            ]
            configs.append(gap * np.array([0, 0.5, 0.5, 1.0]))
            worst = [
                max(float(np.quantile(_statistic(mu, sd, gap, z), q)) for mu in configs)
                for q in (0.975, 0.95)
            ]
            t_even = _statistic(even, sd, gap, z)
            x = even + sd * z
            d = np.abs(x[:, i] - x[:, j])
            low = np.max(d - parity * sd * np.sqrt(2), axis=1)
            high = d + 1.96 * sd * np.sqrt(2)
            select = float(np.mean((high < low[:, None]).any(axis=1)))
            print(
                f"  {n:>4} {gap:5.2f} |   {parity:5.2f} {100 * np.mean(t_even > parity):5.2f}% |"
                f"   {worst[0]:5.2f} {100 * np.mean(t_even > worst[0]):5.2f}% |"
                f" {worst[1]:5.2f} {100 * np.mean(t_even > worst[1]):5.2f}% | {100 * select:5.1f}%"
            )
