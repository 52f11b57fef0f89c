"""The one-line summaries of a proposal's chain rules that voters read."""

from __future__ import annotations

from fractions import Fraction

import pytest

from audit.impact import ChainRules, VetoWindow, describe_rules, describe_veto_deadline
from governance.protection import Change, Classification

GUARDIAN = "0x976EA74026E726554dB657fA54763abd0C3a0aa9"


def _rules(
    *changes: Change,
    guardian: str | None = GUARDIAN,
    may_cancel: bool = True,
    when_proposed: bool | None = None,
    eta: int | None = None,
) -> ChainRules:
    loosening = any(c != Change.NONE for c in changes)
    return ChainRules(
        classification=Classification(loosening=loosening, changes=changes),
        loosening_when_proposed=when_proposed,
        majority_needed=Fraction(2, 3) if loosening or when_proposed else Fraction(1, 2),
        veto=VetoWindow(
            guardian=guardian,  # type: ignore[arg-type]
            guardian_may_cancel=may_cancel,
            vote_ends_block=160,
            timelock_delay=60,
            executable_at=eta,
        ),
    )


@pytest.mark.parametrize(
    ("rules", "line"),
    [
        (
            _rules(Change.NONE, Change.THRESHOLD_WEAKENED),
            "loosening (threshold_weakened): needs at least 2/3 of the FOR and AGAINST votes; "
            f"the guardian {GUARDIAN} may cancel it until it executes",
        ),
        (
            _rules(Change.NONE, may_cancel=False),
            "not loosening: needs more than half of the FOR and AGAINST votes; "
            "the guardian cannot cancel it",
        ),
        (
            _rules(Change.MITIGATION_WEAKENED, guardian=None, may_cancel=False),
            "loosening (mitigation_weakened): needs at least 2/3 of the FOR and AGAINST votes; "
            "no guardian is set, so nobody can cancel it",
        ),
        (
            _rules(Change.NONE, when_proposed=True, may_cancel=False),
            "loosening: needs at least 2/3 of the FOR and AGAINST votes; "
            "it can no longer be cancelled",
        ),
    ],
)
def test_describe_rules(rules: ChainRules, line: str):
    assert describe_rules(rules) == line


def test_the_veto_deadline_before_and_after_queueing():
    assert describe_veto_deadline(_rules().veto) == (
        "the vote ends at block 160; it may execute 60 s after it is queued"
    )
    assert describe_veto_deadline(_rules(eta=1_900_000_000).veto) == (
        "the vote ended at block 160; it may execute from unix time 1900000000"
    )
