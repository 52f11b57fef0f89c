"""The belt's simulated critical values, one ``theta`` at a time (see :mod:`bias_checks._belt`).

A :class:`Table` holds the ``theta`` grid of one shape of sizes and computes ``c`` at a grid
value only when the FAIL end's search asks for it (:func:`bias_checks._belt.fail_end`), then
keeps it. The search needs few of them: an upper bound on every ``c`` of the table
(:meth:`_Shape.ceiling`, from the simulated errors alone) settles every ``theta`` that is
rejected even at that bound, so an audit far from parity needs the grid's last value and a
fair one its first few. A value does not depend on which others were computed (each is
simulated on the same fixed points), so an end is the same whether its table is new or
reused; the whole grid is :attr:`Table.critical`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
from scipy.special import ndtri

from bias_checks._inputs import FloatArray
from bias_checks._simultaneous import _normal_points

POINTS = 2**13
"""Sobol points per configuration and ``theta``."""


def combine(weights: np.ndarray[Any, Any], columns: np.ndarray[Any, Any]) -> Any:
    """``weights (A, k)`` times ``columns (k, ...)``, summed over ``k`` in a fixed order with
    elementwise operations: the same bits on every CPU. A matrix product leaves the order and
    the fused multiply-adds to the BLAS kernel the CPU gets, which moved a simulated critical
    value, and so a FAIL end, in its last bits where the weights are not +-1 or 0
    (``to_overall``); where they are, both give the same result."""
    lead = (-1,) + (1,) * (columns.ndim - 1)
    out = weights[:, 0].reshape(lead) * columns[0]
    for j in range(1, weights.shape[1]):
        out = out + weights[:, j].reshape(lead) * columns[j]
    return out


@dataclass
class Table:
    """The FAIL end's critical value ``c`` at ``theta = delta / sqrt(n_max)`` (per unit of
    variance) for one shape of sizes, ``alpha`` and share, computed at a grid index when first
    asked for (:meth:`at`). ``ceiling`` bounds every value of the grid from above."""

    delta: FloatArray
    compute: Callable[[int], float]
    bound: Callable[[], float]
    _known: dict[int, float] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def known(cls, delta: FloatArray, critical: FloatArray) -> Table:
        """A table whose values are all known (closed forms)."""
        values = np.asarray(critical, dtype=np.float64)
        return cls(delta, lambda i: float(values[i]), lambda: float(values.max()))

    def at(self, i: int) -> float:
        """``c`` at ``delta[i]``. Tables are shared between threads (a cache of the process):
        a lock keeps two audits from simulating the same value at once."""
        with self._lock:
            if i not in self._known:
                self._known[i] = self.compute(i)
            return self._known[i]

    @cached_property
    def ceiling(self) -> float:
        return self.bound()

    @property
    def critical(self) -> FloatArray:
        """``c`` at every ``delta`` (computes what is not known yet)."""
        return np.array([self.at(i) for i in range(self.delta.size)])


@dataclass(frozen=True)
class _Shape:
    """Comparison rows ``(M, k)``, group sds ``(k,)`` and comparison sds ``(M,)``."""

    rows: FloatArray
    sd: FloatArray
    se: FloatArray

    @cached_property
    def base(self) -> FloatArray:
        """The comparisons' errors ``(M, N)`` on the Sobol points, in single precision (~2x
        faster; ``c`` to ~1e-6)."""
        draws = _normal_points(self.rows.shape[1])[:, :POINTS]
        rows, sd = self.rows.astype(np.float32), self.sd.astype(np.float32)
        out: FloatArray = combine(rows, draws * sd[:, None])
        return out

    def ceiling(self, configs: FloatArray, largest: float) -> float:
        """An upper bound on every ``c`` :meth:`joint_at` and :meth:`separate_at` give for
        ``theta`` up to ``largest``: ``T`` at a point is at most ``max_m (max |e_m| + theta
        (s_m - 1)) / se_m`` with ``s_m`` comparison ``m``'s largest ``|shift|`` (at most 1 where
        the configurations put no comparison beyond ``theta``), and a critical value is an
        order statistic of ``T``. Widened for single precision."""
        shift = np.abs(combine(configs, self.rows.T)).max(axis=0)
        errors = np.abs(self.base).max(axis=1).astype(np.float64)
        bound = float(((errors + largest * np.clip(shift - 1.0, 0.0, None)) / self.se).max())
        return bound + 1e-4 * (1 + bound + largest / float(self.se.min()))

    def errors(self, configs: FloatArray, theta: float, z: float) -> tuple[FloatArray, FloatArray]:
        """``T = max_m (|D_m| - theta) / se_m`` ``(C, N)`` per configuration, and how often the
        PASS end ``max_m |D_m| + z se_m`` lies below ``theta`` ``(C,)``."""
        shift = combine(configs.astype(np.float32), self.rows.astype(np.float32).T)[:, :, None]
        # In place: the same operations in the same order as out-of-place ones (the same
        # bits), with two (C, M, N) buffers instead of a temporary at every step.
        d = np.empty((shift.shape[0], *self.base.shape), dtype=np.float32)
        pass_end = np.empty_like(d)
        np.add(self.base[None, :, :], np.float32(theta) * shift, out=d)
        np.abs(d, out=d)
        se = self.se.astype(np.float32)[None, :, None]
        np.add(d, np.float32(z) * se, out=pass_end)
        below = (pass_end.max(axis=1) < theta).mean(axis=1)
        np.subtract(d, np.float32(theta), out=d)
        np.divide(d, se, out=d)
        return d.max(axis=1), below

    def joint_at(self, configs: FloatArray, theta: float, alpha: float, share: float) -> float:
        """Smallest ``c`` with ``share * P(T > c) + P(PASS end below theta) <= alpha`` at every
        configuration: the two ends' errors added where they occur together."""
        z = float(-ndtri(alpha / 2))
        t, below = self.errors(configs, theta, z)
        allowed = np.clip((alpha - below) / share, 1.0 / POINTS, None)
        ranks = np.clip(np.ceil((1 - allowed) * POINTS).astype(np.intp) - 1, 0, POINTS - 1)
        return max(_order(row, int(rank)) for row, rank in zip(t, ranks, strict=True))

    def separate_at(self, configs: FloatArray, theta: float, budget: float) -> float:
        """``c`` at the FAIL end's budget, each end at its own worst configuration."""
        t, _ = self.errors(configs, theta, 0.0)
        rank = int(np.ceil((1 - max(budget, 1.0 / POINTS)) * POINTS)) - 1
        rank = min(max(rank, 0), POINTS - 1)
        return max(_order(row, rank) for row in t)


def _order(values: FloatArray, rank: int) -> float:
    """The ``rank``-th smallest value (a partition, not a sort: linear time)."""
    return float(np.partition(values, rank)[rank])
