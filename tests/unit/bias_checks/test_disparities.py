"""Disparities of group values: no floating-point warning from the part ``np.where`` drops."""

from __future__ import annotations

import numpy as np
import pytest

from bias_checks._disparities import compare


@pytest.mark.parametrize("method", ["to_overall", "to_reference"])
def test_a_subnormal_ratio_is_kept_without_an_overflow_warning(method: str) -> None:
    # Regression (CI, hypothesis in test_frame_scores): a group value of 3.6e-322 beside
    # 0.9 made the ratio 4.4e-322, whose 1 / ratio overflowed in the branch np.where drops;
    # under warnings as errors the audit raised RuntimeWarning.
    tiny = 3.6e-322
    values = np.array([[0.9, tiny]])
    result = compare(
        values,
        transform="ratio",
        method=method,  # type: ignore[arg-type]
        control_of=np.array([0, 0]),
        overall=np.array([[0.8]]),
        reference=np.array([[0]]),
    )
    target = 0.8 if method == "to_overall" else 0.9
    assert result.value[0, 0] == tiny / target
    assert result.first is not None
    assert result.first[0, 0] == 1


def test_a_subnormal_target_gives_ratio_zero_without_a_warning() -> None:
    values = np.array([[0.9, 5e-324]])
    result = compare(
        values,
        transform="ratio",
        method="to_reference",
        control_of=np.array([0, 0]),
        overall=np.array([[0.5]]),
        reference=np.array([[1]]),
    )
    assert result.value[0, 0] == 0.0
