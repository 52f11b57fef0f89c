"""The demo refuses at once a stack whose policy its story cannot be told on."""

from __future__ import annotations

import pytest

from cli.demo.client import address_of
from cli.demo.preflight import story_conflicts
from cli.demo.stage import GUARDIAN_KEY, METRIC

DEPLOYED = {"thresholds": [], "mitigation": {"strategy": "none", "constraint": ""}}
PROTECTION = {
    "guardian": address_of(GUARDIAN_KEY),
    "supermajority": {"numerator": 2, "denominator": 3},
}


def _bound(metric: str, value: str = "0.1", direction: str = "upper") -> dict[str, str]:
    return {"metric": metric, "value": value, "direction": direction}


@pytest.mark.parametrize(
    "thresholds",
    [[], [_bound(METRIC)], [_bound(METRIC, "0.05")]],
    ids=["as deployed", "after a demo", "its own metric re-bound"],
)
def test_the_story_starts_on_the_policy_as_deployed_or_as_it_leaves_it(
    thresholds: list[dict[str, str]],
) -> None:
    assert story_conflicts({**DEPLOYED, "thresholds": thresholds}, PROTECTION) == []


def test_a_bound_on_another_metric_is_named() -> None:
    # Regression (review, session 26): the demo ran 4 minutes, then "did not pass
    # (INCONCLUSIVE): nobody is rewarded".
    policy = {**DEPLOYED, "thresholds": [_bound(METRIC), _bound("equalized_odds_difference")]}
    assert story_conflicts(policy, PROTECTION) == [
        "it bounds equalized_odds_difference (<= 0.1), which the demo never votes on"
    ]


def test_a_changed_guardian_or_supermajority_is_named() -> None:
    protection = {"guardian": None, "supermajority": {"numerator": 3, "denominator": 5}}
    found = story_conflicts(DEPLOYED, protection)
    assert found[0].startswith("its fairness guardian is None, not development account 6")
    assert found[1] == ("a loosening proposal needs 3/5, which the demo's 60% majority would reach")
