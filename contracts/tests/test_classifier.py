"""What is loosening: each case asserts the classifier's view and the outcome of a real vote.

Every case is voted 65% FOR (holders 40% + 25%) against 35%: a simple majority that is short
of the 2/3 supermajority, so a loosening proposal ends Defeated and any other Succeeded.
The policy as it stands is set by the timelock directly (it owns the policy).
"""

import pytest
from brownie import chain
from dao import (
    ZERO_ADDRESS,
    ZERO_HASH,
    Change,
    action,
    b32,
    offer,
    sha256_hex,
    text_id,
)

DPD = b32("demographic_parity_difference")
EOR = b32("equalized_odds_ratio")
SR = b32("selection_rate")
SPD = b32("statistical_parity_difference")  # directional: a negative lower bound
AOD = b32("average_odds_difference")
UPPER, LOWER = 0, 1
BLOCK, APPROVE = 0, 1
NONE = b32("none")
TO, EG = b32("threshold_optimizer"), b32("exponentiated_gradient")
DP, EO = b32("demographic_parity"), b32("equalized_odds")
DEFAULT_RULE = (950_000, 30, 10, BLOCK)
APPROVING = (900_000, 30, 10, APPROVE)
LOANS = text_id("loans-2024")


# ---------------------------------------------------------------- thresholds

THRESHOLD_CASES = {
    "higher-upper-bound": ((DPD, 150_000, UPPER), Change.THRESHOLD_WEAKENED),
    "upper-bound-plus-one": ((DPD, 100_001, UPPER), Change.THRESHOLD_WEAKENED),
    "lower-lower-bound": ((EOR, 799_999, LOWER), Change.THRESHOLD_WEAKENED),
    "upper-becomes-lower": ((DPD, 100_000, LOWER), Change.THRESHOLD_WEAKENED),
    "lower-becomes-upper": ((EOR, 900_000, UPPER), Change.THRESHOLD_WEAKENED),
    "new-threshold": ((SR, 10**9, UPPER), Change.NONE),
    "lower-upper-bound": ((DPD, 50_000, UPPER), Change.NONE),
    "equal-upper-bound": ((DPD, 100_000, UPPER), Change.NONE),
    "equal-lower-bound": ((EOR, 800_000, LOWER), Change.NONE),
    "higher-lower-bound": ((EOR, 900_000, LOWER), Change.NONE),
    # Signed bounds (SPD >= -0.1, AOD <= -0.05 in force): compared as int256, not as words.
    "negative-lower-bound-lowered": ((SPD, -200_000, LOWER), Change.THRESHOLD_WEAKENED),
    "negative-lower-bound-minus-one": ((SPD, -100_001, LOWER), Change.THRESHOLD_WEAKENED),
    "negative-lower-bound-raised": ((SPD, -50_000, LOWER), Change.NONE),
    "negative-lower-bound-to-positive": ((SPD, 100_000, LOWER), Change.NONE),
    "negative-upper-bound-raised-past-zero": ((AOD, 50_000, UPPER), Change.THRESHOLD_WEAKENED),
    "negative-upper-bound-lowered": ((AOD, -60_000, UPPER), Change.NONE),
}


@pytest.mark.parametrize("case", THRESHOLD_CASES)
def test_threshold_changes(judge, policy, as_timelock, case):
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)
    policy.setThreshold(EOR, 800_000, LOWER, as_timelock)
    policy.setThreshold(SPD, -100_000, LOWER, as_timelock)
    policy.setThreshold(AOD, -50_000, UPPER, as_timelock)
    args, change = THRESHOLD_CASES[case]

    judge([action(policy.setThreshold, *args)], [change])


INT256_MIN, INT256_MAX = -(2**255), 2**255 - 1


@pytest.mark.parametrize(
    ("current", "proposed", "weakens"),
    [
        ((-100_000, LOWER), -200_000, True),
        ((-100_000, LOWER), -99_999, False),
        ((0, LOWER), -1, True),
        ((-1, LOWER), INT256_MAX, False),
        ((INT256_MAX, LOWER), INT256_MIN, True),
        ((INT256_MIN, LOWER), INT256_MIN, False),
        ((-1, UPPER), 0, True),
        ((INT256_MIN, UPPER), INT256_MAX, True),
        ((1, UPPER), -1, False),
        ((INT256_MAX, UPPER), INT256_MIN, False),
    ],
)
def test_weakens_threshold_compares_signed_bounds(classifier, current, proposed, weakens):
    assert classifier.weakensThreshold(current, proposed) is weakens


def test_clearing_a_threshold_is_loosening(judge, policy, as_timelock):
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)

    judge([action(policy.clearThreshold, DPD)], [Change.THRESHOLD_CLEARED])


# ---------------------------------------------------------------- mitigation

MITIGATION_CASES = {
    "to-none": ((TO, DP), (NONE, ZERO_HASH), Change.MITIGATION_WEAKENED),
    "to-another-strategy": ((TO, DP), (EG, DP), Change.MITIGATION_WEAKENED),
    "same-strategy-other-constraint": ((TO, DP), (TO, EO), Change.MITIGATION_WEAKENED),
    "unchanged": ((TO, DP), (TO, DP), Change.NONE),
    "from-none-to-a-strategy": (None, (EG, EO), Change.NONE),
    "none-to-none": (None, (NONE, ZERO_HASH), Change.NONE),
}


@pytest.mark.parametrize("case", MITIGATION_CASES)
def test_mitigation_changes(judge, policy, as_timelock, case):
    current, proposed, change = MITIGATION_CASES[case]
    if current is not None:
        policy.setMitigation(*current, as_timelock)

    judge([action(policy.setMitigation, *proposed)], [change])


# ---------------------------------------------------------------- evidence rules

# (current default rule, proposed default rule, weakens?)
EVIDENCE_CASES = {
    "block-to-approve": (DEFAULT_RULE, (950_000, 30, 10, APPROVE), True),
    "block-to-approve-stricter-numbers": (DEFAULT_RULE, (990_000, 1, 1, APPROVE), True),
    "block-lower-confidence": (DEFAULT_RULE, (949_999, 30, 10, BLOCK), True),
    "block-higher-confidence": (DEFAULT_RULE, (990_000, 30, 10, BLOCK), False),
    "block-larger-min-group": (DEFAULT_RULE, (950_000, 31, 10, BLOCK), True),
    "block-larger-min-denominator": (DEFAULT_RULE, (950_000, 30, 11, BLOCK), True),
    "block-smaller-minimums": (DEFAULT_RULE, (950_000, 5, 1, BLOCK), False),
    "block-unchanged": (DEFAULT_RULE, DEFAULT_RULE, False),
    "approve-higher-confidence": (APPROVING, (900_001, 30, 10, APPROVE), True),
    "approve-lower-confidence": (APPROVING, (800_000, 30, 10, APPROVE), False),
    "approve-smaller-min-group": (APPROVING, (900_000, 29, 10, APPROVE), True),
    "approve-larger-min-denominator": (APPROVING, (900_000, 30, 11, APPROVE), True),
    "approve-unchanged": (APPROVING, (900_000, 30, 10, APPROVE), False),
    "approve-to-block": (APPROVING, (600_000, 30, 10, BLOCK), False),
    "approve-to-block-smaller-minimums": (APPROVING, (900_000, 1, 1, BLOCK), False),
    "approve-to-block-larger-min-group": (APPROVING, (990_000, 31, 10, BLOCK), True),
    "approve-to-block-larger-min-denominator": (
        APPROVING,
        (990_000, 30, 11, BLOCK),
        True,
    ),
}


@pytest.mark.parametrize("case", EVIDENCE_CASES)
def test_evidence_rule_changes(judge, classifier, policy, as_timelock, case):
    current, proposed, weakens = EVIDENCE_CASES[case]
    assert classifier.weakens(current, proposed) is weakens
    if current != DEFAULT_RULE:
        policy.setEvidenceRule(ZERO_HASH, *current, as_timelock)

    change = Change.EVIDENCE_WEAKENED if weakens else Change.NONE
    judge([action(policy.setEvidenceRule, ZERO_HASH, *proposed)], [change])


def test_an_override_is_judged_against_the_default_until_it_exists(judge, policy, as_timelock):
    # No override on DPD: the default (0.95) is what a new one replaces, so 0.9 is weaker.
    judge([action(policy.setEvidenceRule, DPD, 900_000, 30, 10, BLOCK)], [Change.EVIDENCE_WEAKENED])
    judge([action(policy.setEvidenceRule, DPD, 990_000, 30, 10, BLOCK)], [Change.NONE], "stricter")


def test_an_override_is_judged_against_itself(judge, policy, as_timelock):
    policy.setEvidenceRule(DPD, 990_000, 30, 10, BLOCK, as_timelock)

    # Equal to the default, yet weaker than the override in force.
    judge([action(policy.setEvidenceRule, DPD, *DEFAULT_RULE)], [Change.EVIDENCE_WEAKENED])
    # The default weakened leaves DPD's override alone, yet is loosening for every other metric.
    judge(
        [action(policy.setEvidenceRule, ZERO_HASH, 900_000, 30, 10, BLOCK)],
        [Change.EVIDENCE_WEAKENED],
        "weaker default",
    )


@pytest.mark.parametrize(
    ("override", "change"),
    [
        pytest.param((990_000, 30, 10, BLOCK), Change.EVIDENCE_WEAKENED, id="stricter-override"),
        pytest.param((900_000, 30, 10, BLOCK), Change.NONE, id="weaker-override"),
        pytest.param((950_000, 30, 10, APPROVE), Change.NONE, id="approving-override"),
        pytest.param((950_000, 20, 10, APPROVE), Change.EVIDENCE_WEAKENED, id="approving-smaller"),
        pytest.param(None, Change.NONE, id="no-override"),
    ],
)
def test_clearing_an_override_is_loosening_when_the_default_is_weaker(
    judge, policy, as_timelock, override, change
):
    if override is not None:
        policy.setEvidenceRule(DPD, *override, as_timelock)

    judge([action(policy.clearEvidenceRule, DPD)], [change])


def test_clearing_the_default_rule_is_not_loosening(judge, policy):
    # It can never execute (TrainingPolicyCannotClearDefaultEvidenceRule).
    judge([action(policy.clearEvidenceRule, ZERO_HASH)], [Change.NONE])


# ---------------------------------------------------------------- governance and auditors


def governance_calls(governor, timelock, policy, registry, newcomer, auditor):
    role = registry.AUDITOR_ROLE()
    return {
        "setVotingPeriod": (action(governor.setVotingPeriod, 25), Change.PROTECTION_CHANGED),
        "setVotingDelay": (action(governor.setVotingDelay, 1), Change.PROTECTION_CHANGED),
        "updateQuorumNumerator": (
            action(governor.updateQuorumNumerator, 5),
            Change.PROTECTION_CHANGED,
        ),
        "setSupermajority-stricter": (
            action(governor.setSupermajority, 3, 4),
            Change.PROTECTION_CHANGED,
        ),
        "setLooseningVotingPeriod-longer": (
            action(governor.setLooseningVotingPeriod, 40),
            Change.PROTECTION_CHANGED,
        ),
        "setProposalGuardian": (
            action(governor.setProposalGuardian, newcomer),
            Change.PROTECTION_CHANGED,
        ),
        "removeProposalGuardian": (
            action(governor.setProposalGuardian, ZERO_ADDRESS),
            Change.PROTECTION_CHANGED,
        ),
        "governor-relay": (
            action(governor.relay, policy, 0, policy.setThreshold.encode_input(DPD, 1, UPPER)),
            Change.PROTECTION_CHANGED,
        ),
        "timelock-updateDelay": (action(timelock.updateDelay, 1), Change.PROTECTION_CHANGED),
        "timelock-updateDelay-longer": (
            action(timelock.updateDelay, 10**6),
            Change.PROTECTION_CHANGED,
        ),
        "policy-transferOwnership": (
            action(policy.transferOwnership, newcomer),
            Change.PROTECTION_CHANGED,
        ),
        "registry-grantRole": (
            action(registry.grantRole, role, newcomer),
            Change.AUDITORS_CHANGED,
        ),
        "registry-revokeRole": (
            action(registry.revokeRole, role, auditor),
            Change.AUDITORS_CHANGED,
        ),
        "registry-renounceRole": (
            action(registry.renounceRole, role, auditor),
            Change.AUDITORS_CHANGED,
        ),
    }


GOVERNANCE_CASES = [
    "setVotingPeriod",
    "setVotingDelay",
    "updateQuorumNumerator",
    "setSupermajority-stricter",
    "setLooseningVotingPeriod-longer",
    "setProposalGuardian",
    "removeProposalGuardian",
    "governor-relay",
    "timelock-updateDelay",
    "timelock-updateDelay-longer",
    "policy-transferOwnership",
    "registry-grantRole",
    "registry-revokeRole",
    "registry-renounceRole",
]


@pytest.mark.parametrize("case", GOVERNANCE_CASES)
def test_every_change_to_the_protection_is_loosening(
    judge, governor, timelock, policy, registry, newcomers, auditor, case
):
    calls = governance_calls(governor, timelock, policy, registry, newcomers[0], auditor)
    assert list(calls) == GOVERNANCE_CASES
    call, change = calls[case]

    judge([call], [change])


# ---------------------------------------------------------------- datasets

# A registered dataset offered with another manifest is loosening: the manifest names the
# reference group the directional metrics compare with (review #18). Against loans v1 allowed.
DATASET_CASES = {
    "same-manifest": ({}, "allowed", Change.NONE),
    "same-manifest-new-uri": ({"uri": "ipfs://loans/mirror"}, "allowed", Change.NONE),
    "another-manifest": (
        {"manifest_hash": sha256_hex(b"women")},
        "allowed",
        Change.MANIFEST_REPLACED,
    ),
    "new-version": ({"version": 2}, "allowed", Change.MANIFEST_REPLACED),
    "revoked-another-manifest": (
        {"manifest_hash": sha256_hex(b"women")},
        "revoked",
        Change.MANIFEST_REPLACED,
    ),
    "withdrawn-another-manifest": (
        {"manifest_hash": sha256_hex(b"women")},
        "withdrawn",
        Change.MANIFEST_REPLACED,
    ),
    "revoked-same-manifest": ({}, "revoked", Change.NONE),
}


@pytest.mark.parametrize("case", DATASET_CASES)
def test_a_registered_dataset_with_another_manifest_is_loosening(
    judge, policy, eoa_provider, as_timelock, case
):
    changes, state, change = DATASET_CASES[case]
    first = offer("loans", eoa_provider.address)
    policy.allowDataset(first.args(), eoa_provider.sign(policy, first), as_timelock)
    if state == "revoked":
        policy.revokeDataset(first.dataset_id, as_timelock)
    if state == "withdrawn":
        eoa_provider.withdraw(policy, first.dataset_id)
    chain.sleep(1)
    version = changes.pop("version", 1)
    made = offer("loans", eoa_provider.address, version=version, **changes)
    if version == 1:
        assert made.content_hash == first.content_hash

    judge([action(policy.allowDataset, made.args(), eoa_provider.sign(policy, made))], [change])


def test_a_first_allow_is_not_loosening_whatever_its_manifest(
    judge, policy, eoa_provider, as_timelock
):
    loans = offer("loans", eoa_provider.address)
    policy.allowDataset(loans.args(), eoa_provider.sign(policy, loans), as_timelock)
    other = offer("other", eoa_provider.address, manifest_hash=loans.manifest_hash)

    judge(
        [action(policy.allowDataset, other.args(), eoa_provider.sign(policy, other))], [Change.NONE]
    )


def test_the_offer_is_read_where_the_decoder_reads_it(
    classifier, governor, policy, eoa_provider, as_timelock
):
    """The offer's head may sit anywhere the offset points; the classifier follows it."""
    first = offer("loans", eoa_provider.address)
    policy.allowDataset(first.args(), eoa_provider.sign(policy, first), as_timelock)
    swapped = first.replace(manifest_hash=sha256_hex(b"women"))
    data = policy.allowDataset.encode_input(swapped.args(), b"")
    args = data[10:]
    # Move the offer one word later: offset + 32, and a padding word before it.
    offset = int(args[:64], 16)
    moved = word(offset + 32) + args[64 : 2 * offset] + word(0) + args[2 * offset :]
    # The signature offset is relative to the same start, and it follows the offer: shift it too.
    signature_offset = int(args[64:128], 16)
    moved = moved[:64] + word(signature_offset + 32) + moved[128:]
    calldata = data[:10] + moved

    assert classifier.classifyCall(governor, policy.address, calldata) == Change.MANIFEST_REPLACED


# ---------------------------------------------------------------- unknown and unrelated calls


def selector(method):
    return method.encode_input(*[0] * len(method.abi["inputs"]))[:10]


def word(value):
    return value.to_bytes(32, "big").hex()


def malformed_calls(policy, registry):
    set_threshold = selector(policy.setThreshold)
    set_evidence = selector(policy.setEvidenceRule)
    dpd = DPD.removeprefix("0x")
    return {
        "policy-unknown-selector": (policy.address, "0xdeadbeef" + word(1)),
        "policy-empty": (policy.address, "0x"),
        "policy-short": (policy.address, set_threshold[:8]),
        "policy-selector-only": (policy.address, set_threshold),
        "setThreshold-missing-word": (policy.address, set_threshold + dpd + word(1)),
        "setThreshold-extra-word": (
            policy.address,
            set_threshold + dpd + word(1) + word(UPPER) + word(0),
        ),
        "setThreshold-direction-out-of-range": (
            policy.address,
            set_threshold + dpd + word(1) + word(2),
        ),
        "setMitigation-wrong-length": (
            policy.address,
            selector(policy.setMitigation) + TO.removeprefix("0x"),
        ),
        "setEvidenceRule-enum-out-of-range": (
            policy.address,
            set_evidence + dpd + word(990_000) + word(30) + word(10) + word(2),
        ),
        "setEvidenceRule-confidence-over-uint64": (
            policy.address,
            set_evidence + dpd + word(2**64) + word(30) + word(10) + word(BLOCK),
        ),
        "clearThreshold-wrong-length": (
            policy.address,
            selector(policy.clearThreshold) + dpd + word(0),
        ),
        "clearEvidenceRule-wrong-length": (
            policy.address,
            selector(policy.clearEvidenceRule) + dpd[:32],
        ),
        "revokeDataset-wrong-length": (policy.address, selector(policy.revokeDataset)),
        "policy-renounceOwnership": (policy.address, policy.renounceOwnership.encode_input()),
        "registry-unknown-selector": (registry.address, "0xdeadbeef"),
        "registry-short": (registry.address, "0x2f2ff1"),
        "registry-publish": (registry.address, selector(registry.publish)),
        "allowDataset-selector-only": (policy.address, policy.allowDataset.signature),
        "allowDataset-too-short": (
            policy.address,
            policy.allowDataset.encode_input(offer("x", ZERO_ADDRESS).args(), b"")[: 10 + 64 * 4],
        ),
        "allowDataset-offset-past-the-end": (
            policy.address,
            policy.allowDataset.signature + word(2**255) + word(64) + word(0) * 3,
        ),
    }


MALFORMED_CASES = [
    "policy-unknown-selector",
    "policy-empty",
    "policy-short",
    "policy-selector-only",
    "setThreshold-missing-word",
    "setThreshold-extra-word",
    "setThreshold-direction-out-of-range",
    "setMitigation-wrong-length",
    "setEvidenceRule-enum-out-of-range",
    "setEvidenceRule-confidence-over-uint64",
    "clearThreshold-wrong-length",
    "clearEvidenceRule-wrong-length",
    "revokeDataset-wrong-length",
    "policy-renounceOwnership",
    "registry-unknown-selector",
    "registry-short",
    "registry-publish",
    "allowDataset-selector-only",
    "allowDataset-too-short",
    "allowDataset-offset-past-the-end",
]


@pytest.mark.parametrize("case", MALFORMED_CASES)
def test_unrecognised_calls_to_the_policy_or_registry_are_loosening(
    judge, policy, registry, as_timelock, case
):
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)
    calls = malformed_calls(policy, registry)
    assert list(calls) == MALFORMED_CASES

    judge([calls[case]], [Change.UNRECOGNISED])


@pytest.mark.parametrize("case", ["fund-rewards", "plain-account", "allowDataset", "revoke"])
def test_calls_that_cannot_weaken_the_policy_are_not_loosening(
    judge, token, policy, rewards_contract, outsider, case
):
    call = {
        "fund-rewards": action(token.transfer, rewards_contract, 0),
        "plain-account": (outsider.address, "0xdeadbeef"),
        "allowDataset": action(policy.allowDataset, offer("loans-2024", outsider).args(), b""),
        "revoke": action(policy.revokeDataset, LOANS),
    }[case]

    judge([call], [Change.NONE])


def test_one_loosening_call_makes_the_whole_proposal_loosening(
    judge, policy, outsider, as_timelock
):
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)

    judge(
        [
            action(policy.setThreshold, DPD, 50_000, UPPER),
            (outsider.address, "0xdeadbeef"),
            action(policy.setThreshold, DPD, 200_000, UPPER),
            action(policy.setMitigation, TO, DP),
        ],
        [Change.NONE, Change.NONE, Change.THRESHOLD_WEAKENED, Change.NONE],
    )
