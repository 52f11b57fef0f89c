"""What is loosening in the federation policy (#16): the rule case by case (the classifier's pure
`weakensFederation`), then real votes on a few, and malformed calls.

Voted cases go 65% FOR against 35%, as in test_classifier.py: a loosening proposal ends
Defeated, any other Succeeded. The timelock sets the policy in force directly (it owns it).
"""

import pytest
from dao import ZERO_HASH, Change, action
from eth_abi import encode

FEDAVG, FEDMEDIAN, FEDTRIMMEDAVG, KRUM = 0, 1, 2, 3
BLOCK, APPROVE = 0, 1
DEFAULT = (FEDAVG, 200_000, 0, 0, 2)
MEDIAN = (FEDMEDIAN, 200_000, 0, 0, 5)
TRIMMED = (FEDTRIMMEDAVG, 200_000, 0, 0, 5)
KRUM_1 = (KRUM, 200_000, 1, 0, 5)
NOISY = (FEDAVG, 200_000, 0, 1_000_000, 2)  # epsilon 1.0


def _with(policy, **changes):
    fields = ("aggregation", "trim_beta", "krum_f", "epsilon", "min_nodes")
    values = dict(zip(fields, policy, strict=True))
    values.update(changes)
    return tuple(values[f] for f in fields)


# (current, proposed, an evidence rule approves INCONCLUSIVE models, weakens?)
CASES = {
    "unchanged": (DEFAULT, DEFAULT, False, False),
    "fewer-nodes": (DEFAULT, _with(DEFAULT, min_nodes=1), False, True),
    "more-nodes": (DEFAULT, _with(DEFAULT, min_nodes=3), False, False),
    "noise-off": (NOISY, DEFAULT, False, True),
    "higher-epsilon": (NOISY, _with(NOISY, epsilon=1_000_001), False, True),
    "lower-epsilon-under-block": (NOISY, _with(NOISY, epsilon=500_000), False, False),
    "noise-on-under-block": (DEFAULT, NOISY, False, False),
    "lower-epsilon-when-approving": (NOISY, _with(NOISY, epsilon=500_000), True, True),
    "noise-on-when-approving": (DEFAULT, NOISY, True, True),
    "same-epsilon-when-approving": (NOISY, NOISY, True, False),
    "fedavg-to-median": (DEFAULT, _with(MEDIAN, min_nodes=3), False, False),
    "fedavg-to-krum": (DEFAULT, _with(KRUM_1, min_nodes=5), False, False),
    "median-to-fedavg": (MEDIAN, _with(DEFAULT, min_nodes=5), False, True),
    "trimmed-to-fedavg": (TRIMMED, _with(DEFAULT, min_nodes=5), False, True),
    "krum-to-fedavg": (KRUM_1, _with(DEFAULT, min_nodes=5), False, True),
    "median-to-krum": (MEDIAN, KRUM_1, False, True),
    "krum-to-trimmed": (KRUM_1, TRIMMED, False, True),
    "lower-beta": (TRIMMED, _with(TRIMMED, trim_beta=199_999, min_nodes=6), False, True),
    "higher-beta": (TRIMMED, _with(TRIMMED, trim_beta=300_000), False, False),
    "beta-ignored-by-median": (MEDIAN, _with(MEDIAN, trim_beta=100_000), False, False),
    "lower-f": (KRUM_1, _with(KRUM_1, krum_f=0), False, True),
    "higher-f": (_with(KRUM_1, min_nodes=7), _with(KRUM_1, krum_f=2, min_nodes=7), False, False),
}


@pytest.mark.parametrize("case", CASES)
def test_what_weakens_the_federation_policy(classifier, case):
    current, proposed, approves, weakens = CASES[case]

    assert classifier.weakensFederation(current, proposed, approves) is weakens


@pytest.mark.parametrize(
    ("current", "proposed", "change"),
    [
        pytest.param(
            MEDIAN, _with(DEFAULT, min_nodes=5), Change.FEDERATION_WEAKENED, id="robust-off"
        ),
        pytest.param(NOISY, DEFAULT, Change.FEDERATION_WEAKENED, id="noise-off"),
        pytest.param(DEFAULT, KRUM_1, Change.NONE, id="fedavg-to-krum"),
        pytest.param(DEFAULT, NOISY, Change.NONE, id="noise-on-under-block"),
    ],
)
def test_federation_votes(judge, policy, as_timelock, current, proposed, change):
    if current != DEFAULT:
        policy.setFederationPolicy(current, as_timelock)

    judge([action(policy.setFederationPolicy, proposed)], [change])


def test_more_noise_is_loosening_once_an_evidence_rule_approves_inconclusive_models(
    judge, policy, as_timelock
):
    # Noise widens the intervals: under "approve with a warning" a FAIL comes harder.
    policy.setEvidenceRule(ZERO_HASH, 950_000, 30, 10, APPROVE, as_timelock)

    judge([action(policy.setFederationPolicy, NOISY)], [Change.FEDERATION_WEAKENED])


@pytest.mark.parametrize(
    "words",
    [
        pytest.param((4, 200_000, 0, 0, 2), id="unknown-strategy"),
        pytest.param((FEDAVG, 2**64, 0, 0, 2), id="beta-over-uint64"),
        pytest.param((KRUM, 200_000, 2**32, 0, 2**32 - 1), id="f-over-uint32"),
        pytest.param((FEDAVG, 200_000, 0, 2**64, 2), id="epsilon-over-uint64"),
        pytest.param((FEDAVG, 200_000, 0, 0, 2**32), id="nodes-over-uint32"),
    ],
)
def test_out_of_range_words_are_unrecognised(classifier, governor, policy, words):
    data = policy.setFederationPolicy.signature + encode(["uint256"] * 5, words).hex()

    assert classifier.classifyCall(governor, policy, data) == Change.UNRECOGNISED


def test_a_call_of_the_wrong_length_is_unrecognised(classifier, governor, policy):
    good = policy.setFederationPolicy.encode_input(DEFAULT)

    assert classifier.classifyCall(governor, policy, good) == Change.NONE
    assert classifier.classifyCall(governor, policy, good + "00" * 32) == Change.UNRECOGNISED
    assert classifier.classifyCall(governor, policy, good[:-64]) == Change.UNRECOGNISED
