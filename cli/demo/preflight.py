"""Before the story starts: is this stack's policy one the story can be told on?

The story's first proposal votes the bound on :data:`METRIC` with its own evidence rule (and
mitigation none), so whatever the holders voted for that metric, or as the default rule, is
set again. A bound on any other metric is not: the story's audits would be judged on it too,
and end far from the verdicts the story expects (review, session 26: a second demo on a stack
whose holders had voted another threshold ended after 4 minutes with "did not pass
(INCONCLUSIVE): nobody is rewarded"). The minority-protection steps need the deployed
guardian and a supermajority that 60 % of the votes falls short of.
"""

from __future__ import annotations

from fractions import Fraction

from cli._errors import fail
from cli.demo.client import DemoClient, Json, address_of
from cli.demo.stage import GUARDIAN_KEY, METRIC

#: The share of the votes the story's loosening majority has (holders of 40 % and 20 %).
STORY_MAJORITY = Fraction(3, 5)

FRESH_STACK = (
    "the demo tells its story on a policy as deployed: start a fresh stack on a new data "
    "directory (FAIRGOV_DATA_DIR=/tmp/fairgov-demo fairgov run) and run the demo against it"
)


def story_conflicts(policy: Json, protection: Json) -> list[str]:
    """What in ``policy`` and ``protection`` (the API's) the story cannot start from."""
    found = [
        f"it bounds {t['metric']} ({'<=' if t['direction'] == 'upper' else '>='} "
        f"{t['value']}), which the demo never votes on"
        for t in policy["thresholds"]
        if t["metric"] != METRIC
    ]
    guardian = protection.get("guardian")
    if guardian is None or guardian.lower() != address_of(GUARDIAN_KEY).lower():
        found.append(
            f"its fairness guardian is {guardian}, not development account 6 "
            f"({address_of(GUARDIAN_KEY)})"
        )
    needed = protection["supermajority"]
    if Fraction(int(needed["numerator"]), int(needed["denominator"])) <= STORY_MAJORITY:
        found.append(
            f"a loosening proposal needs {needed['numerator']}/{needed['denominator']}, which "
            "the demo's 60% majority would reach"
        )
    return found


def check_stage(client: DemoClient) -> None:
    """Refuse at once, in one line, a stack whose policy the story cannot be told on."""
    conflicts = story_conflicts(client.policy(), client.protection())
    if conflicts:
        raise fail(f"this stack's policy has changed: {'; '.join(conflicts)}. {FRESH_STACK}")
