"""The demo's looser bound stays a bound the encoder accepts."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cli.demo.protection import looser_bound
from cli.demo.stage import METRIC
from governance.actions import SetThreshold


@pytest.mark.parametrize(("value", "bound"), [(0.25, "0.4"), (0.3, "0.45"), (0.95, "1")])
def test_the_looser_bound_passes_the_failed_model_within_the_metric_range(
    value: float, bound: str
) -> None:
    failed = {"checks": [{"metric": METRIC, "value": value}]}
    assert looser_bound(failed) == bound
    SetThreshold(metric=METRIC, value=Decimal(bound), direction="upper")
