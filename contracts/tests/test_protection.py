"""How the governor protects loosening: supermajority, longer vote, its bounds, and races.

A race: two proposals are each tightening when made, both pass on a simple majority, and
the one executed first makes the other loosening; that one must not execute without the
supermajority, neither through the governor nor straight at the timelock.
"""

import pytest
from brownie import FairnessGovernor, accounts
from dao import (
    LOOSENING_VOTING_PERIOD,
    QUORUM_PERCENT,
    TOKEN,
    VOTE_EXTENSION,
    VOTING_DELAY,
    VOTING_PERIOD,
    ZERO_HASH,
    Change,
    State,
    action,
    b32,
)
from reverts import assert_custom_error

DPD = b32("demographic_parity_difference")
UPPER = 0
BLOCK = 0
TO, EG = b32("threshold_optimizer"), b32("exponentiated_gradient")
DP, EO = b32("demographic_parity"), b32("equalized_odds")
LOOSENING_WITHOUT_SUPERMAJORITY = (
    "FairnessGovernorLooseningWithoutSupermajority(uint256,uint256,uint256,uint64,uint64)"
)
INVALID_SUPERMAJORITY = "FairnessGovernorInvalidSupermajority(uint256,uint256)"
VOTE_TOO_SHORT = "FairnessGovernorLooseningVoteTooShort(uint256,uint256,uint256)"
NESTED = "FairnessGovernorNestedGovernance()"
K = 1_000 * TOKEN


@pytest.fixture(scope="module")
def as_timelock(timelock):
    return {"from": accounts.at(str(timelock), force=True)}


@pytest.fixture
def dpd_capped(policy, as_timelock):
    """The policy caps demographic parity difference at 0.1."""
    policy.setThreshold(DPD, 100_000, UPPER, as_timelock)


# ---------------------------------------------------------------- the supermajority


@pytest.mark.parametrize(
    ("for_", "against", "abstain", "outcome"),
    [
        pytest.param(100 * K, 50 * K, 0, State.SUCCEEDED, id="exactly-two-thirds"),
        pytest.param(100 * K - 1, 50 * K, 0, State.DEFEATED, id="just-below-two-thirds"),
        pytest.param(65 * K, 35 * K, 0, State.DEFEATED, id="65-35"),
        pytest.param(100 * K, 50 * K, 200 * K, State.SUCCEEDED, id="abstain-not-in-fraction"),
        pytest.param(100 * K - 1, 50 * K, 200 * K, State.DEFEATED, id="abstain-does-not-help"),
        pytest.param(0, 0, 100 * K, State.DEFEATED, id="abstain-only"),
        pytest.param(50 * K, 0, 0, State.SUCCEEDED, id="unanimous"),
    ],
)
def test_a_loosening_proposal_needs_two_thirds_of_for_and_against(
    lifecycle, governor, policy, give_votes, newcomers, dpd_capped, for_, against, abstain, outcome
):
    ballots = dict(zip(("for_", "against", "abstain"), newcomers, strict=True))
    amounts = {"for_": for_, "against": against, "abstain": abstain}
    for side, amount in amounts.items():
        if amount:
            give_votes(ballots[side], amount)
    proposal = lifecycle.propose([action(policy.clearThreshold, DPD)], "Drop the DPD cap")
    lifecycle.start_voting(proposal)

    lifecycle.vote_split(
        proposal, **{side: [ballots[side]] for side, amount in amounts.items() if amount}
    )
    lifecycle.end_voting(proposal)

    assert tuple(governor.proposalVotes(proposal.id)) == (against, for_, abstain)
    assert governor.supermajorityReached(proposal.id) is (outcome == State.SUCCEEDED)
    assert governor.state(proposal.id) == outcome


@pytest.mark.parametrize(
    ("for_", "against", "outcome"),
    [
        pytest.param(50 * K + 1, 50 * K, State.SUCCEEDED, id="half-plus-one"),
        pytest.param(50 * K, 50 * K, State.DEFEATED, id="tie"),
    ],
)
def test_a_tightening_proposal_needs_a_simple_majority(
    lifecycle, governor, policy, give_votes, newcomers, dpd_capped, for_, against, outcome
):
    give_votes(newcomers[0], for_)
    give_votes(newcomers[1], against)
    proposal = lifecycle.propose([action(policy.setThreshold, DPD, 50_000, UPPER)], "Tighten")
    lifecycle.start_voting(proposal)

    lifecycle.vote_split(proposal, for_=[newcomers[0]], against=[newcomers[1]])
    lifecycle.end_voting(proposal)

    assert governor.state(proposal.id) == outcome


# ---------------------------------------------------------------- the longer vote


def test_a_loosening_vote_lasts_the_loosening_period(lifecycle, governor, policy, dpd_capped):
    assert governor.votingPeriod() == VOTING_PERIOD  # what any client reads
    loosening, loosening_tx = lifecycle.submit([action(policy.clearThreshold, DPD)], "Loosen")
    tightening, tightening_tx = lifecycle.submit(
        [action(policy.setThreshold, DPD, 1, UPPER)], "Tighten"
    )

    for proposal, tx, period in (
        (loosening, loosening_tx, LOOSENING_VOTING_PERIOD),
        (tightening, tightening_tx, VOTING_PERIOD),
    ):
        created = tx.events["ProposalCreated"]
        snapshot = tx.block_number + VOTING_DELAY
        assert (created["voteStart"], created["voteEnd"]) == (snapshot, snapshot + period)
        assert governor.proposalSnapshot(proposal.id) == snapshot
        assert governor.proposalDeadline(proposal.id) == snapshot + period
    assert governor.votingPeriod() == VOTING_PERIOD

    classified = loosening_tx.events["ProposalClassified"]
    assert [int(change) for change in classified["changes"]] == [Change.THRESHOLD_CLEARED]
    assert {k: v for k, v in classified.items() if k != "changes"} == {
        "proposalId": loosening.id,
        "loosening": True,
        "numerator": 2,
        "denominator": 3,
    }
    assert tightening_tx.events["ProposalClassified"]["loosening"] is False


def test_a_loosening_vote_never_runs_shorter_than_the_ordinary_one(
    lifecycle, governor, policy, dpd_capped
):
    lifecycle.pass_and_execute([action(governor.setLooseningVotingPeriod, 5)], "Shorten")
    assert governor.looseningVotingPeriod() == 5

    loosening, tx = lifecycle.submit([action(policy.clearThreshold, DPD)], "Loosen")

    snapshot = tx.block_number + VOTING_DELAY
    assert tx.events["ProposalCreated"]["voteEnd"] == snapshot + VOTING_PERIOD
    assert governor.proposalDeadline(loosening.id) == snapshot + VOTING_PERIOD


# ---------------------------------------------------------------- bounds of the protection


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [(1, 2), (0, 1), (3, 2), (1, 0), (0, 0), (50, 100)],
    ids=["one-half", "zero", "above-one", "zero-denominator", "zero-over-zero", "fifty-percent"],
)
def test_governance_cannot_set_an_invalid_supermajority(
    lifecycle, governor, numerator, denominator
):
    proposal = lifecycle.pass_proposal([action(governor.setSupermajority, numerator, denominator)])
    lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal), INVALID_SUPERMAJORITY, numerator, denominator
    )
    assert tuple(governor.supermajority()) == (2, 3)
    assert governor.state(proposal.id) == State.QUEUED


@pytest.mark.parametrize(("numerator", "denominator"), [(1, 1), (51, 100), (3, 4)])
def test_governance_sets_a_valid_supermajority(lifecycle, governor, numerator, denominator):
    _, tx = lifecycle.pass_and_execute([action(governor.setSupermajority, numerator, denominator)])

    assert dict(tx.events["SupermajoritySet"]) == {
        "oldNumerator": 2,
        "oldDenominator": 3,
        "newNumerator": numerator,
        "newDenominator": denominator,
    }
    assert tuple(governor.supermajority()) == (numerator, denominator)


def test_governance_cannot_set_a_zero_loosening_period(lifecycle, governor):
    proposal = lifecycle.pass_proposal([action(governor.setLooseningVotingPeriod, 0)])
    lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    assert_custom_error(
        lambda: lifecycle.execute(proposal), "FairnessGovernorInvalidLooseningPeriod(uint256)", 0
    )
    assert governor.looseningVotingPeriod() == LOOSENING_VOTING_PERIOD


@pytest.mark.parametrize("setter", ["setSupermajority", "setLooseningVotingPeriod"])
def test_only_governance_changes_the_protection(governor, holders, timelock, setter):
    args = {"setSupermajority": (3, 4), "setLooseningVotingPeriod": (40,)}[setter]

    assert_custom_error(
        lambda: getattr(governor, setter)(*args, {"from": holders[0]}),
        "GovernorOnlyExecutor(address)",
        holders[0].address,
    )


def deploy_governor(deployer, token, timelock, protection):
    return FairnessGovernor.deploy(
        "FairnessGovernor",
        token,
        timelock,
        VOTING_DELAY,
        VOTING_PERIOD,
        0,
        QUORUM_PERCENT,
        VOTE_EXTENSION,
        protection,
        {"from": deployer},
    )


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [(1, 2), (0, 1), (3, 2), (1, 0)],
    ids=["one-half", "zero", "above-one", "zero-denominator"],
)
def test_the_constructor_refuses_an_invalid_supermajority(
    deployer, token, timelock, classifier, guardian, numerator, denominator
):
    protection = (classifier, guardian, numerator, denominator, LOOSENING_VOTING_PERIOD)

    assert_custom_error(
        lambda: deploy_governor(deployer, token, timelock, protection),
        INVALID_SUPERMAJORITY,
        numerator,
        denominator,
    )


def test_the_constructor_refuses_a_zero_loosening_period(
    deployer, token, timelock, classifier, guardian
):
    assert_custom_error(
        lambda: deploy_governor(deployer, token, timelock, (classifier, guardian, 2, 3, 0)),
        "FairnessGovernorInvalidLooseningPeriod(uint256)",
        0,
    )


def test_the_constructor_refuses_a_classifier_without_code(
    deployer, token, timelock, guardian, outsider
):
    assert_custom_error(
        lambda: deploy_governor(deployer, token, timelock, (outsider, guardian, 2, 3, 30)),
        "FairnessGovernorInvalidClassifier(address)",
        outsider.address,
    )


def test_a_new_supermajority_applies_only_to_later_proposals(
    lifecycle, governor, policy, give_votes, newcomers, dpd_capped
):
    give_votes(newcomers[0], 70 * K)
    give_votes(newcomers[1], 30 * K)
    stricter = lifecycle.pass_proposal([action(governor.setSupermajority, 3, 4)], "Ask for 3/4")
    lifecycle.queue(stricter)
    lifecycle.wait_for_timelock()
    before = lifecycle.propose([action(policy.clearThreshold, DPD)], "Loosen under 2/3")
    lifecycle.execute(stricter)
    after, tx = lifecycle.submit([action(policy.clearThreshold, DPD)], "Loosen under 3/4")

    assert tuple(governor.proposalClassification(before.id)) == (
        True,
        2,
        3,
        LOOSENING_VOTING_PERIOD,
    )
    assert tuple(governor.proposalClassification(after.id)) == (True, 3, 4, LOOSENING_VOTING_PERIOD)
    event = tx.events["ProposalClassified"]
    assert (event["numerator"], event["denominator"]) == (3, 4)
    for proposal in (before, after):
        lifecycle.start_voting(proposal)
        lifecycle.vote_split(proposal, for_=[newcomers[0]], against=[newcomers[1]])  # 70%
    lifecycle.end_voting(after)
    assert governor.state(before.id) == State.SUCCEEDED
    assert governor.state(after.id) == State.DEFEATED

    lifecycle.queue(before)
    lifecycle.wait_for_timelock()
    lifecycle.execute(before)  # re-checked against the fraction it was made under
    assert not policy.hasThreshold(DPD)


# ---------------------------------------------------------------- races

# (what the policy holds, the first proposal, the second, both tightening when made)
RACES = {
    "threshold": (
        ("setThreshold", DPD, 100_000, UPPER),
        ("setThreshold", DPD, 50_000, UPPER),
        ("setThreshold", DPD, 80_000, UPPER),
    ),
    "mitigation": (None, ("setMitigation", TO, DP), ("setMitigation", EG, EO)),
    "evidence": (
        None,
        ("setEvidenceRule", ZERO_HASH, 990_000, 30, 10, BLOCK),
        ("setEvidenceRule", ZERO_HASH, 970_000, 30, 10, BLOCK),
    ),
}


def race(lifecycle, governor, policy, as_timelock, holders, kind, second_for):
    """Proposes both, votes the first 65/35 and the second by `second_for` against the rest."""
    current, first, second = RACES[kind]
    if current is not None:
        getattr(policy, current[0])(*current[1:], as_timelock)
    a = lifecycle.propose([action(getattr(policy, first[0]), *first[1:])], "A tightens")
    b = lifecycle.propose([action(getattr(policy, second[0]), *second[1:])], "B tightens too")
    for proposal in (a, b):
        assert tuple(governor.proposalClassification(proposal.id)) == (
            False,
            2,
            3,
            LOOSENING_VOTING_PERIOD,
        )
    lifecycle.start_voting(b)
    lifecycle.vote_split(a, for_=[holders[0], holders[2]], against=[holders[1]])
    lifecycle.vote_split(b, for_=second_for, against=[h for h in holders if h not in second_for])
    lifecycle.end_voting(b)
    assert (governor.state(a.id), governor.state(b.id)) == (State.SUCCEEDED, State.SUCCEEDED)
    return a, b


@pytest.mark.parametrize("kind", RACES)
def test_a_proposal_made_loosening_by_another_does_not_execute(
    lifecycle, governor, policy, timelock, as_timelock, holders, outsider, kind
):
    a, b = race(lifecycle, governor, policy, as_timelock, holders, kind, [holders[0], holders[2]])
    lifecycle.queue(a)
    queued = lifecycle.queue(b)
    lifecycle.wait_for_timelock()
    lifecycle.execute(a)
    version = policy.policyVersion()

    assert governor.classify(list(b.targets), list(b.calldatas))[0] is True
    assert_custom_error(
        lambda: lifecycle.execute(b),
        LOOSENING_WITHOUT_SUPERMAJORITY,
        b.id,
        650_000 * TOKEN,
        350_000 * TOKEN,
        2,
        3,
    )
    # Nor can anyone run B's queued batch at the timelock itself: only the governor executes.
    salt = queued.events["CallSalt"]["salt"]
    targets, values, calldatas, _ = b.args()
    for sender in (holders[0], outsider):
        assert_custom_error(
            lambda sender=sender: timelock.executeBatch(
                targets, values, calldatas, ZERO_HASH, salt, {"from": sender}
            ),
            "AccessControlUnauthorizedAccount(address,bytes32)",
            sender.address,
            timelock.EXECUTOR_ROLE(),
        )
    assert policy.policyVersion() == version
    assert governor.state(b.id) == State.QUEUED


def test_a_proposal_made_loosening_before_it_is_queued_cannot_be_queued(
    lifecycle, governor, policy, as_timelock, holders
):
    a, b = race(
        lifecycle, governor, policy, as_timelock, holders, "threshold", [holders[0], holders[2]]
    )
    lifecycle.queue(a)
    lifecycle.wait_for_timelock()
    lifecycle.execute(a)

    assert_custom_error(
        lambda: lifecycle.queue(b),
        LOOSENING_WITHOUT_SUPERMAJORITY,
        b.id,
        650_000 * TOKEN,
        350_000 * TOKEN,
        2,
        3,
    )
    assert governor.state(b.id) == State.SUCCEEDED


@pytest.mark.parametrize("kind", RACES)
def test_a_proposal_made_loosening_needs_a_loosening_vote_even_with_a_supermajority(
    lifecycle, governor, policy, as_timelock, holders, kind
):
    a, b = race(lifecycle, governor, policy, as_timelock, holders, kind, holders[:2])  # 75%
    lifecycle.queue(a)
    lifecycle.queue(b)
    lifecycle.wait_for_timelock()
    lifecycle.execute(a)
    version = policy.policyVersion()

    # B reached two thirds, but voted for VOTING_PERIOD blocks, not a loosening vote's length.
    assert governor.supermajorityReached(b.id)
    assert_custom_error(
        lambda: lifecycle.execute(b),
        VOTE_TOO_SHORT,
        b.id,
        VOTING_PERIOD,
        LOOSENING_VOTING_PERIOD,
    )
    assert policy.policyVersion() == version
    assert governor.state(b.id) == State.QUEUED


# ---------------------------------------------------------------- nesting


# A contract anyone can make call anything: 20 bytes of target, then the call's data; a revert
# bubbles up. An attacker's proposal calls it so that it calls the governor mid-execution.
FORWARDER_RUNTIME = (
    "60143603601460003760006000601436036000600060003560601c5af1602a573d600060003e3d6000fd5b00"
)


@pytest.fixture(scope="module")
def forwarder(deployer):
    size = len(FORWARDER_RUNTIME) // 2
    init = f"60{size:02x}600c600039" + f"60{size:02x}6000f3" + FORWARDER_RUNTIME
    return deployer.transfer(data="0x" + init).contract_address


def test_no_proposal_can_be_made_queued_or_executed_from_inside_an_execution(
    lifecycle, governor, policy, forwarder, dpd_capped
):
    # Two loosening proposals that pass with every vote: one stays Succeeded, one is queued.
    to_queue = lifecycle.propose([action(policy.clearThreshold, DPD)], "Inner, to queue")
    to_execute = lifecycle.propose([action(policy.clearThreshold, DPD)], "Inner, to execute")
    nested_calls = {
        "propose": governor.propose.encode_input([policy.address], [0], ["0x00"], "nested"),
        "queue": governor.queue.encode_input(*to_queue.args()),
        "execute": governor.execute.encode_input(*to_execute.args()),
    }
    outers = {}
    for name, nested in nested_calls.items():
        call = "0x" + forwarder[2:] + governor.address[2:] + nested[2:]
        outer = lifecycle.propose([(forwarder, call)], f"Outer, nested {name}")
        # A call to another contract: not loosening, so a simple majority would do.
        assert governor.proposalClassification(outer.id)["loosening"] is False
        outers[name] = outer
    everything = [to_queue, to_execute, *outers.values()]
    lifecycle.start_voting(to_queue)
    for proposal in everything:
        lifecycle.vote(proposal, 1)
    lifecycle.end_voting(to_queue)  # the loosening ones vote longest
    for proposal in (to_execute, *outers.values()):
        lifecycle.queue(proposal)
    lifecycle.wait_for_timelock()

    for name, outer in outers.items():
        assert_custom_error(lambda outer=outer: lifecycle.execute(outer), NESTED)
        assert governor.state(outer.id) == State.QUEUED, name
    assert governor.state(to_queue.id) == State.SUCCEEDED
    assert governor.state(to_execute.id) == State.QUEUED
    assert policy.hasThreshold(DPD)
