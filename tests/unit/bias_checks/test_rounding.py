"""Interval ends rounded outward: the same report bytes on every CPU, and intervals that still
contain what they contained."""

from __future__ import annotations

import math
import os
import platform
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_checks._intervals import score_ratio_ends, wilson_ends
from bias_checks._rounding import END_DIGITS, round_down, round_ends, round_up
from bias_checks._state import interval

finite = st.floats(-1e300, 1e300)  # a decimal above the largest float has no float


def _digits(x: float) -> int:
    return len(Decimal(repr(x)).normalize().as_tuple().digits)


@settings(max_examples=500, deadline=None)
@given(finite)
def test_rounding_goes_outward_to_the_nearest_decimal_of_twelve_digits(x: float) -> None:
    down, up = round_down(x), round_up(x)
    assert down <= x <= up
    assert _digits(down) <= END_DIGITS
    assert _digits(up) <= END_DIGITS
    assert round_down(down) == down  # idempotent: a report's ends parse back to themselves
    assert round_up(up) == up
    if down < x < up:  # one step of the 12th digit apart
        assert up - down <= 10 ** (1 - END_DIGITS) * abs(x) * (1 + 1e-9)


def test_clean_decimals_stay_and_the_rest_move_outward() -> None:
    assert [round_down(v) for v in (0.0, 0.3, 1.0, -0.1)] == [0.0, 0.3, 1.0, -0.1]
    assert round_down(0.35950778658938143) == 0.359507786589
    assert round_up(0.35950778658938143) == 0.35950778659
    assert round_down(1 - 2**-53) == 0.999999999999  # across a power of ten
    assert round_up(1 - 2**-53) == 1.0


def test_an_end_a_cpu_rounds_one_ulp_differently_is_reported_the_same() -> None:
    # numpy's exp and log can round an ulp apart in their AVX2 and AVX-512 code (a fixture
    # report made elsewhere had 0.35950778658938143 where this machine got 0.3595077865893814).
    low, high = score_ratio_ends(
        np.array([0.31]),
        np.array([212.0]),
        np.array([0.52]),
        np.array([190.0]),
        low_tail=0.01,
        high_tail=0.025,
    )
    here = interval(low[0], high[0], "score_ratio")
    for direction in (-math.inf, math.inf):
        there = interval(
            math.nextafter(low[0], direction), math.nextafter(high[0], direction), "score_ratio"
        )
        assert there == here
    assert here is not None
    assert here.low <= low[0]
    assert high[0] <= here.high


def test_exact_intervals_are_not_rounded() -> None:
    exact = interval(1 / 3, 2 / 3, "exact")
    assert exact is not None
    assert (exact.low, exact.high) == (1 / 3, 2 / 3)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5000),
    st.floats(0.0, 1.0),
    st.floats(1e-6, 0.5),
    st.floats(1e-6, 0.5),
)
def test_a_rounded_rate_interval_still_holds_the_rate_within_zero_and_one(
    n: int, share: float, low_tail: float, high_tail: float
) -> None:
    p = round(share * n) / n
    low, high = wilson_ends(np.array([p]), np.array([float(n)]), low_tail, high_tail)
    rounded = interval(low[0], high[0], "wilson")
    assert rounded is not None
    assert 0.0 <= rounded.low <= low[0] <= p <= high[0] <= rounded.high <= 1.0


def test_round_ends_keeps_shape_and_nan() -> None:
    low, high = round_ends(np.array([[0.1 / 3, np.nan]]), np.array([[2 / 3, np.nan]]))
    assert low.shape == high.shape == (1, 2)
    assert (low[0, 0], high[0, 0]) == (0.0333333333333, 0.666666666667)
    assert np.isnan(low[0, 1])
    assert np.isnan(high[0, 1])


_AUDIT = """
import hashlib, numpy as np
from bias_checks import Threshold, audit_predictions
rng = np.random.default_rng(5)
n = 1500
group = rng.choice(list("abcde"), n, p=[0.35, 0.3, 0.2, 0.1, 0.05])
region = rng.choice(["north", "south"], n)
y = rng.integers(0, 2, n)
pred = (rng.random(n) < np.where(group == "a", 0.6, 0.45)).astype(int)
result = audit_predictions(
    y, pred, sensitive_features={"group": group}, control_features={"region": region},
    sample_weight=rng.gamma(2.0, 1.0, n), reference_group="majority", n_boot=20,
    thresholds=[Threshold("demographic_parity_ratio", 0.8, method=m) for m in
                ("between_groups", "to_overall", "to_reference")]
    + [Threshold("equalized_odds_ratio", 0.8, agg="mean"), Threshold("accuracy", 0.4)],
)
print(hashlib.sha256(result.to_canonical_json()).hexdigest())
"""


def _report_hash(env: dict[str, str]) -> str:
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _AUDIT],
        env={**os.environ, "PYTHONPATH": str(root), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip()


@pytest.mark.slow
@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 dispatch only")
def test_the_report_bytes_do_not_depend_on_the_simd_and_blas_code_the_cpu_gets() -> None:
    # What another CPU would run: numpy without its AVX2/AVX-512 loops (exp, log), OpenBLAS
    # with Sandy Bridge kernels (the Dunnett integral's dot product, eigh).
    from numpy._core._multiarray_umath import __cpu_dispatch__

    other_cpu = {
        "NPY_DISABLE_CPU_FEATURES": " ".join(__cpu_dispatch__),
        "OPENBLAS_CORETYPE": "Sandybridge",
    }
    assert _report_hash(other_cpu) == _report_hash({})
