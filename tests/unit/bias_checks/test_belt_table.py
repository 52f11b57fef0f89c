"""The belt's critical values computed where the FAIL end's search needs them
(bias_checks._belt_table, bias_checks._belt.fail_end)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np
import pytest
from scipy.special import ndtr

from bias_checks import _belt
from bias_checks._belt import _lows, fail_end, table
from bias_checks._belt_overall import _table as overall_table
from bias_checks._belt_table import Table
from bias_checks._inputs import FloatArray


def _every_value_end(tab: Table, lows: Callable[[FloatArray], FloatArray], unit: float) -> float:
    """The FAIL end from the whole grid at once (how it was computed before the search): the
    first grid value the test accepts, refined between it and the one before."""
    theta = tab.delta * unit
    c = tab.critical
    reached = np.asarray(lows(ndtr(-c)), dtype=np.float64).max(axis=0)
    accepted = reached <= theta
    if accepted[0]:
        return 0.0
    if not accepted.any():
        return float(reached[-1])
    i = int(np.argmax(accepted))
    c_star = float(max(c[i - 1], c[i]))
    r = float(np.asarray(lows(np.array([ndtr(-c_star)])), dtype=np.float64).max())
    return float(np.clip(r, theta[i - 1], theta[i]))


def _fresh(structure: str, sizes: FloatArray, reference: float = 0.0, share: float = 1.0) -> Table:
    _belt._table.cache_clear()  # a table with nothing computed yet
    tab = table(structure, sizes, reference, alpha=0.05, share=share)  # type: ignore[arg-type]
    assert tab is not None
    return tab


def _pairs(rates: FloatArray, sizes: FloatArray) -> Callable[[FloatArray], FloatArray]:
    i, j = np.triu_indices(rates.size, 1)
    return _lows("difference", (rates[i], sizes[i], rates[j], sizes[j]))


@pytest.mark.parametrize(
    "spread",
    # parity, inside the grid (a few sds), its far end, beyond it
    [
        0.0,
        *(pytest.param(s, marks=pytest.mark.slow) for s in (0.02, 0.05, 0.08, 0.12, 0.2)),
        0.6,
    ],
)
def test_the_search_finds_the_end_the_whole_grid_gives(spread: float) -> None:
    sizes = np.array([60.0, 90.0, 150.0, 200.0])
    rng = np.random.default_rng(int(spread * 1000))
    unit = float(np.sqrt(0.25 / sizes.max()))
    for _ in range(15):
        rates = np.clip(0.4 + spread * rng.uniform(-0.5, 0.5, 4), 0.01, 0.99)
        rates = np.round(rates * sizes) / sizes
        searched = fail_end(_fresh("pairs", sizes), _pairs(rates, sizes), unit=unit)
        whole = _every_value_end(_fresh("pairs", sizes), _pairs(rates, sizes), unit)
        assert searched == pytest.approx(whole, abs=1e-12)


def test_far_from_parity_the_search_simulates_one_value() -> None:
    sizes = np.full(4, 5000.0)
    rates = np.array([0.30, 0.35, 0.40, 0.45])
    tab = _fresh("pairs", sizes)
    fail_end(tab, _pairs(rates, sizes), unit=float(np.sqrt(0.25 / 5000)))
    assert len(tab._known) == 2  # the grid's two ends, asked for with the bound
    near = _fresh("pairs", sizes)
    fail_end(near, _pairs(np.full(4, 0.4), sizes), unit=float(np.sqrt(0.24 / 5000)))
    assert len(near._known) <= 3


@pytest.mark.parametrize(
    "make",
    [
        lambda: table("pairs", np.array([30.0, 80.0, 200.0]), alpha=0.05),
        lambda: table("pairs", np.array([100.0, 100.0, 100.0, 100.0]), alpha=0.05, share=2),
        lambda: table("reference", np.array([40.0, 300.0, 90.0]), 120.0, alpha=0.05),
        lambda: table(
            "pairs", np.array([50.0, 90.0, 70.0, 200.0, 150.0, 40.0]), alpha=0.1, parts=2
        ),
        lambda: table("pairs", np.full(5, 300.0), alpha=0.05),  # the FAIL end alone
        lambda: overall_table(((0.3, 0.3), (0.6, 0.6), (1.0, 1.0)), 0.05, 1.0, None),
        lambda: overall_table(((0.2, 0.25), (1.0, 0.5)), 0.05, 1.0, (0.5, 0.25)),
    ],
)
def test_the_ceiling_bounds_every_value_of_the_grid(make: Callable[[], Table | None]) -> None:
    tab = make()
    assert tab is not None
    critical = tab.critical
    assert np.all(critical <= tab.ceiling)
    assert tab.ceiling < 6.0  # the largest |error| of 8,192 points in sds: a bound of use


def test_values_are_the_same_computed_in_any_order_or_thread() -> None:
    sizes = np.array([40.0, 70.0, 110.0, 250.0])
    forward = _fresh("reference", sizes, 90.0).critical
    tab = _fresh("reference", sizes, 90.0)
    order = list(range(tab.delta.size))[::-1]
    threads = [
        threading.Thread(target=lambda part=part: [tab.at(i) for i in part])
        for part in (order[::2], order[1::2], order)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(tab.critical, forward)


def test_a_known_table_gives_its_values() -> None:
    tab = Table.known(np.array([0.0, 1.0]), np.array([2.5, 2.0]))
    assert tab.at(1) == 2.0
    assert tab.ceiling == 2.5
