"""The majority rule the index applies is the governor's ``_voteSucceeded``."""

from __future__ import annotations

from fractions import Fraction
from typing import get_args

from hypothesis import given
from hypothesis import strategies as st

from governance.protection import Change, ChangeLabel, majority_needed, majority_reached

votes = st.integers(min_value=0, max_value=10**30)
uint64 = st.integers(min_value=1, max_value=2**64 - 1)


def governor_supermajority_reached(for_votes: int, against: int, num: int, den: int) -> bool:
    """FairnessGovernor.supermajorityReached, with the recorded (unreduced) fraction."""
    return for_votes > 0 and for_votes * den >= (for_votes + against) * num


@given(votes, votes, uint64.flatmap(lambda d: st.tuples(st.integers(d // 2 + 1, d), st.just(d))))
def test_loosening_needs_the_recorded_fraction_reduced_or_not(
    for_votes: int, against: int, fraction: tuple[int, int]
) -> None:
    num, den = fraction
    assert majority_reached(
        for_votes, against, loosening=True, supermajority=Fraction(num, den)
    ) == governor_supermajority_reached(for_votes, against, num, den)


@given(votes, votes)
def test_other_proposals_need_more_for_than_against(for_votes: int, against: int) -> None:
    reached = majority_reached(for_votes, against, loosening=False, supermajority=Fraction(1))
    assert reached == (for_votes > against)


def test_sixty_percent_passes_only_what_does_not_loosen() -> None:
    two_thirds = Fraction(2, 3)
    assert majority_reached(60, 40, loosening=False, supermajority=two_thirds)
    assert not majority_reached(60, 40, loosening=True, supermajority=two_thirds)
    assert majority_reached(2, 1, loosening=True, supermajority=two_thirds)  # exactly 2/3
    assert not majority_reached(0, 0, loosening=True, supermajority=Fraction(1))  # one FOR needed
    assert majority_needed(True, two_thirds) == two_thirds
    assert majority_needed(False, two_thirds) == Fraction(1, 2)


def test_change_labels_are_the_classifier_enum_in_order() -> None:
    assert [c.label for c in Change] == [
        "none",
        "threshold_weakened",
        "threshold_cleared",
        "mitigation_weakened",
        "evidence_weakened",
        "protection_changed",
        "auditors_changed",
        "unrecognised",
        "federation_weakened",
        "manifest_replaced",
        "treasury_moved",
        "rewards_loosened",
    ]
    assert list(get_args(ChangeLabel)) == [c.label for c in Change]
