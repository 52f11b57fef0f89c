"""What the stateful protection test proposes, and a Python model of the policy it changes.

The model says, independently of PolicyChangeClassifier, which calls are loosening: the rules
of issue #14 written again from their statement, not from the Solidity.
"""

from dataclasses import dataclass, field

from dao import LOOSENING_VOTING_PERIOD, ZERO_HASH, Vote, b32
from hypothesis import strategies as st

DPD, EOR = b32("demographic_parity_difference"), b32("equalized_odds_ratio")
SPD = b32("statistical_parity_difference")  # directional: its bounds are negative
UPPER, LOWER = 0, 1
BLOCK, APPROVE = 0, 1
NONE = b32("none")
MITIGATIONS = [
    (NONE, ZERO_HASH),
    (b32("threshold_optimizer"), b32("demographic_parity")),
    (b32("threshold_optimizer"), b32("equalized_odds")),
    (b32("exponentiated_gradient"), b32("demographic_parity")),
]
DEFAULT_RULE = (950_000, 30, 10, BLOCK)
DPD_CAP = (100_000, UPPER)  # in force when each example starts, so DPD proposals race
GOVERNANCE = {"setSupermajority", "setLooseningVotingPeriod"}

SPD_FLOOR = (-100_000, LOWER)  # in force when each example starts: SPD >= -0.1
# Few, close values, so proposals often touch the same metric and race.
thresholds = st.one_of(
    st.tuples(
        st.just("setThreshold"),
        st.sampled_from([DPD, DPD, DPD, EOR]),
        st.sampled_from([50_000, 70_000, 80_000, 90_000, 150_000]),
        st.sampled_from([UPPER, UPPER, UPPER, LOWER]),
    ),
    # Signed bounds either side of zero, where an unsigned comparison would get them wrong.
    st.tuples(
        st.just("setThreshold"),
        st.just(SPD),
        st.sampled_from([-200_000, -150_000, -100_000, -50_000, 0, 50_000]),
        st.sampled_from([LOWER, LOWER, LOWER, UPPER]),
    ),
)
evidence_rules = st.tuples(
    st.just("setEvidenceRule"),
    st.sampled_from([ZERO_HASH, DPD]),
    st.sampled_from([900_000, 950_000, 990_000]),
    st.sampled_from([20, 30]),
    st.just(10),
    st.sampled_from([BLOCK, BLOCK, APPROVE]),
)
# Mostly bounds and rules that may tighten; clearing and governance are loosening by nature.
calls = st.one_of(
    thresholds,
    thresholds,
    thresholds,
    evidence_rules,
    evidence_rules,
    st.sampled_from(MITIGATIONS).map(lambda m: ("setMitigation", *m)),
    st.sampled_from(
        [
            ("clearThreshold", DPD),
            ("clearThreshold", EOR),
            ("clearEvidenceRule", DPD),
            ("setSupermajority", 2, 3),
            ("setSupermajority", 3, 4),
            ("setSupermajority", 7, 10),
            ("setLooseningVotingPeriod", 25),
            ("setLooseningVotingPeriod", 40),
        ]
    ),
)
# (holders[0], holders[1], holders[2]) at 40/35/25 %: FOR shares of 100, 75 (both twice as
# likely), 65, 61.5, 60 and 53 % of FOR + AGAINST, a defeat, and abstention alone.
splits = st.sampled_from(
    [
        (Vote.FOR, Vote.FOR, Vote.FOR),
        (Vote.FOR, Vote.FOR, Vote.FOR),
        (Vote.FOR, Vote.FOR, Vote.AGAINST),
        (Vote.FOR, Vote.FOR, Vote.AGAINST),
        (Vote.FOR, Vote.AGAINST, Vote.FOR),
        (Vote.FOR, Vote.ABSTAIN, Vote.AGAINST),
        (Vote.AGAINST, Vote.FOR, Vote.FOR),
        (Vote.FOR, Vote.AGAINST, None),
        (Vote.AGAINST, Vote.FOR, None),
        (None, None, Vote.ABSTAIN),
    ]
)

# Changes that race: each is tightening against some policies and loosening against others.
RIVALS = [
    [("setThreshold", DPD, value, UPPER) for value in (50_000, 60_000, 70_000, 80_000, 90_000)],
    [("setThreshold", SPD, value, LOWER) for value in (-200_000, -150_000, -50_000, -20_000)],
    [
        ("setEvidenceRule", ZERO_HASH, confidence, group, 10, BLOCK)
        for confidence in (950_000, 970_000, 990_000)
        for group in (20, 30)
    ],
    [("setMitigation", *mitigation) for mitigation in MITIGATIONS[1:]],
]
# Mostly one call: one loosening call makes the whole proposal loosening.
proposals = st.one_of(
    calls.map(lambda call: [call]),
    calls.map(lambda call: [call]),
    st.lists(calls, min_size=2, max_size=2),
)


def weakens(current, proposed):
    """Whether evidence rule `proposed` could approve a model that `current` blocks."""
    confidence, group, denominator, on_inconclusive = current
    new_confidence, new_group, new_denominator, new_on_inconclusive = proposed
    leaves_groups_unjudged = new_group > group or new_denominator > denominator
    if on_inconclusive == BLOCK:
        return new_on_inconclusive != BLOCK or leaves_groups_unjudged or new_confidence < confidence
    if new_on_inconclusive == BLOCK:
        return leaves_groups_unjudged
    return new_confidence > confidence or (new_group, new_denominator) != (group, denominator)


@dataclass
class Model:
    """The policy and protection the chain should hold."""

    # metric -> (value, direction)
    thresholds: dict = field(default_factory=lambda: {DPD: DPD_CAP, SPD: SPD_FLOOR})
    mitigation: tuple = MITIGATIONS[0]
    evidence: dict = field(default_factory=lambda: {ZERO_HASH: DEFAULT_RULE})
    supermajority: tuple = (2, 3)
    loosening_period: int = LOOSENING_VOTING_PERIOD

    def loosens(self, call):
        kind, *args = call
        if kind == "setThreshold":
            metric, value, direction = args
            if metric not in self.thresholds:
                return False
            bound, current_direction = self.thresholds[metric]
            if direction != current_direction:
                return True
            return value > bound if direction == UPPER else value < bound
        if kind == "clearThreshold" or kind in GOVERNANCE:
            return True
        if kind == "setMitigation":
            return self.mitigation[0] != NONE and tuple(args) != self.mitigation
        if kind == "setEvidenceRule":
            metric, *new_rule = args
            return weakens(self.evidence.get(metric, self.evidence[ZERO_HASH]), new_rule)
        (metric,) = args  # clearEvidenceRule
        return metric in self.evidence and weakens(self.evidence[metric], self.evidence[ZERO_HASH])

    def apply(self, call):
        """Applies one call; returns the custom error (signature, args) it reverts with, if any."""
        kind, *args = call
        if kind == "setThreshold":
            self.thresholds[args[0]] = (args[1], args[2])
        elif kind == "clearThreshold":
            if args[0] not in self.thresholds:
                return "TrainingPolicyUnknownThreshold(bytes32)", args
            del self.thresholds[args[0]]
        elif kind == "setMitigation":
            self.mitigation = tuple(args)
        elif kind == "setEvidenceRule":
            self.evidence[args[0]] = tuple(args[1:])
        elif kind == "clearEvidenceRule":
            if args[0] not in self.evidence:
                return "TrainingPolicyUnknownEvidenceRule(bytes32)", args
            del self.evidence[args[0]]
        elif kind == "setSupermajority":
            self.supermajority = tuple(args)
        else:
            self.loosening_period = args[0]
        return None
