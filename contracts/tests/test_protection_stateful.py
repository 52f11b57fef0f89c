"""The loosening protection over random, racing proposals (hypothesis stateful test).

Random proposals (thresholds, mitigation, evidence rules, the protection's own parameters)
get random vote splits of the three holders (40/35/25%) and advance one lifecycle step at a
time in random order, so they race: one executed proposal can make another loosening. A
Python model of the policy, kept apart from the classifier, says what each step must do:

* every proposal's outcome (a supermajority of FOR + AGAINST for what was loosening when made,
  else a simple majority) and every queue and execute (refused when loosening now without the
  supermajority recorded when made, else the policy's own errors, else the model's changes);
* the guardian's cancel (only what is loosening when made or now, only before execution);
* after every step, the model equals the chain, and every executed proposal that was loosening
  at its execution had at least 2/3 of FOR + AGAINST.

brownie's `state_machine` is broken in 1.22 (see test_policy_stateful.py); this is a plain
hypothesis machine, and each example starts from the test's chain snapshot (chain.revert).
"""

import copy
from dataclasses import dataclass, field

from brownie import accounts, chain
from dao import (
    QUORUM,
    SUPPLY,
    VOTING_DELAY,
    VOTING_PERIOD,
    State,
    Vote,
    action,
    mine_until,
    read_many,
    state_bitmap,
)
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)
from policy_model import (
    DPD,
    DPD_CAP,
    GOVERNANCE,
    RIVALS,
    SPD,
    SPD_FLOOR,
    Model,
    proposals,
    splits,
)
from reverts import assert_custom_error

WEIGHTS = [SUPPLY * 40 // 100, SUPPLY * 35 // 100, SUPPLY * 25 // 100]
CANCELLABLE = state_bitmap(State.PENDING, State.ACTIVE, State.SUCCEEDED, State.QUEUED)
MAX_LIVE = 4  # proposals not yet decided, executed or cancelled
CANCELS = 2  # guardian cancels per example, so most steps move proposals along


@dataclass
class Tracked:
    proposal: object
    calls: tuple
    loosening: bool  # when made
    supermajority: tuple  # recorded when made
    split: tuple
    loosening_period: int  # recorded when made
    votes: dict = field(default_factory=lambda: dict.fromkeys(Vote, 0))
    voted: bool = False
    queued_at_wait: int | None = None
    finished: bool = False  # defeated, executed or cancelled

    def reached(self):
        numerator, denominator = self.supermajority
        for_, against = self.votes[Vote.FOR], self.votes[Vote.AGAINST]
        return for_ > 0 and for_ * denominator >= (for_ + against) * numerator

    def outcome(self):
        quorum = self.votes[Vote.FOR] + self.votes[Vote.ABSTAIN] >= QUORUM
        majority = (
            self.reached() if self.loosening else self.votes[Vote.FOR] > self.votes[Vote.AGAINST]
        )
        return State.SUCCEEDED if quorum and majority else State.DEFEATED


class ProtectionMachine(RuleBasedStateMachine):
    def __init__(self, lifecycle, policy, guardian):
        super().__init__()
        chain.revert()
        self.lifecycle, self.governor, self.policy = lifecycle, lifecycle.governor, policy
        self.holders, self.guardian = lifecycle.holders, guardian
        self.model = Model()
        self.tracked = []
        self.waits = 0
        self.cancels = CANCELS
        self.executed = []  # (loosening at execution, FOR, AGAINST)

    def live(self):
        return [t for t in self.tracked if not t.finished]

    def encode(self, call):
        kind, *args = call
        target = self.governor if kind in GOVERNANCE else self.policy
        return action(getattr(target, kind), *args)

    def loosening_now(self, tracked):
        return any(self.model.loosens(call) for call in tracked.calls)

    # ------------------------------------------------------------ rules

    # Rules that find nothing to do return at once: preconditions would make hypothesis
    # discard many examples (and their chain reverts) at their first step.
    @rule(proposed=proposals, split=splits)
    def propose(self, proposed, split):
        if len(self.live()) >= MAX_LIVE:
            return
        actions = [self.encode(call) for call in proposed]
        proposal, tx = self.lifecycle.submit(actions, f"proposal {len(self.tracked)}")
        changes = [self.model.loosens(call) for call in proposed]
        loosening = any(changes)
        event = tx.events["ProposalClassified"]
        assert event["loosening"] is loosening
        assert [change != 0 for change in event["changes"]] == changes
        assert (event["numerator"], event["denominator"]) == self.model.supermajority
        period = max(VOTING_PERIOD, self.model.loosening_period) if loosening else VOTING_PERIOD
        snapshot = tx.block_number + VOTING_DELAY
        assert tx.events["ProposalCreated"]["voteEnd"] == snapshot + period
        self.tracked.append(
            Tracked(
                proposal,
                tuple(proposed),
                loosening,
                self.model.supermajority,
                split,
                self.model.loosening_period,
            )
        )

    @rule(data=st.data())
    def propose_rivals(self, data):
        """Two proposals on the same setting, each tightening now: whichever executes first
        may make the other loosening."""
        if len(self.live()) > MAX_LIVE - 2:
            return
        universe = data.draw(st.sampled_from(RIVALS))
        candidates = [call for call in universe if not self.model.loosens(call)]
        if len(candidates) < 2:
            return
        rivals = data.draw(
            st.lists(st.sampled_from(candidates), min_size=2, max_size=2, unique=True)
        )
        for call in rivals:
            self.propose([call], data.draw(splits))

    @rule(blocks=st.sampled_from([1, 6, 15, 32]))
    def mine(self, blocks):
        mine_until(chain.height + blocks)

    def wait_for_timelock(self):
        """Every proposal queued so far becomes ready to execute."""
        self.lifecycle.wait_for_timelock()
        self.waits += 1

    # Three rules that advance, so proposals mostly move on (hypothesis picks rules evenly).
    @rule(data=st.data())
    def advance(self, data):
        self.step(data)

    @rule(data=st.data())
    def advance_another(self, data):
        self.step(data)

    @rule(data=st.data())
    def advance_yet_another(self, data):
        self.step(data)

    def step(self, data):
        """Takes one live proposal one step further along its life."""
        if not self.live():  # nothing to advance: the DAO moves on with a new proposal
            self.propose(data.draw(proposals), data.draw(splits))
            return
        tracked = data.draw(st.sampled_from(self.live()))
        proposal = tracked.proposal
        state = self.governor.state(proposal.id)
        if state in (State.PENDING, State.ACTIVE) and not tracked.voted:
            if state == State.PENDING:
                self.lifecycle.start_voting(proposal)
            self.vote(tracked)
        elif state == State.ACTIVE:
            self.lifecycle.end_voting(proposal)
        elif state in (State.SUCCEEDED, State.DEFEATED):
            assert state == tracked.outcome()
            if state == State.DEFEATED:
                tracked.finished = True
            else:
                self.queue(tracked)
        else:
            assert state == State.QUEUED
            if tracked.queued_at_wait == self.waits:
                self.wait_for_timelock()
            self.execute(tracked)

    def vote(self, tracked):
        """Casts the split's votes, those that still fit before the deadline (it may move)."""
        proposal_id = tracked.proposal.id
        for holder, weight, support in zip(self.holders, WEIGHTS, tracked.split, strict=True):
            if support is not None and chain.height < self.governor.proposalDeadline(proposal_id):
                self.lifecycle.vote(tracked.proposal, support, voters=[holder])
                tracked.votes[support] += weight
        tracked.voted = True

    def refused(self, tracked):
        """The error queue and execute give a proposal loosening now without its supermajority,
        or without a vote as long as a loosening one (it was not loosening when made)."""
        if not self.loosening_now(tracked):
            return None
        if tracked.reached():
            proposal_id = tracked.proposal.id
            length = self.governor.proposalDeadline(proposal_id) - self.governor.proposalSnapshot(
                proposal_id
            )
            if length >= tracked.loosening_period:
                return None
            return (
                "FairnessGovernorLooseningVoteTooShort(uint256,uint256,uint256)",
                (proposal_id, length, tracked.loosening_period),
            )
        numerator, denominator = tracked.supermajority
        return (
            "FairnessGovernorLooseningWithoutSupermajority(uint256,uint256,uint256,uint64,uint64)",
            (
                tracked.proposal.id,
                tracked.votes[Vote.FOR],
                tracked.votes[Vote.AGAINST],
                numerator,
                denominator,
            ),
        )

    def queue(self, tracked):
        refusal = self.refused(tracked)
        if refusal is not None:
            assert_custom_error(
                lambda: self.lifecycle.queue(tracked.proposal), refusal[0], *refusal[1]
            )
            tracked.finished = True  # it stays Succeeded; retrying can only fail the same way
            return
        self.lifecycle.queue(tracked.proposal)
        tracked.queued_at_wait = self.waits

    def execute(self, tracked):
        loosening = self.loosening_now(tracked)
        refusal = self.refused(tracked)
        after = copy.deepcopy(self.model)
        failure = refusal
        if failure is None:
            failure = next(filter(None, (after.apply(call) for call in tracked.calls)), None)
        if failure is not None:
            signature, args = failure
            assert_custom_error(lambda: self.lifecycle.execute(tracked.proposal), signature, *args)
            assert self.governor.state(tracked.proposal.id) == State.QUEUED
            tracked.finished = True  # stays queued; only the guardian still acts on it
            return
        self.lifecycle.execute(tracked.proposal)
        self.model = after
        tracked.finished = True
        self.executed.append((loosening, tracked.votes[Vote.FOR], tracked.votes[Vote.AGAINST]))

    @rule(data=st.data())
    def guardian_cancels(self, data):
        if not (self.tracked and self.cancels):
            return
        self.cancels -= 1
        tracked = data.draw(st.sampled_from(self.tracked))
        proposal = tracked.proposal
        state = self.governor.state(proposal.id)
        if state == State.ACTIVE and self.governor.proposalDeadline(proposal.id) <= chain.height:
            # A view reads the latest block; the cancel runs in the next, where this vote is
            # over. Let it end first, so the state read is the one the cancel sees.
            mine_until(chain.height + 1)
            state = self.governor.state(proposal.id)

        def call():
            targets, values, calldatas, description_hash = proposal.args()
            return self.governor.cancel(
                targets, values, calldatas, description_hash, {"from": self.guardian}
            )

        if not (tracked.loosening or self.loosening_now(tracked)):
            assert_custom_error(call, "FairnessGovernorNotLoosening(uint256)", proposal.id)
        elif state not in (State.PENDING, State.ACTIVE, State.SUCCEEDED, State.QUEUED):
            assert_custom_error(
                call,
                "GovernorUnexpectedProposalState(uint256,uint8,bytes32)",
                proposal.id,
                state,
                CANCELLABLE,
            )
        else:
            call()
            assert self.governor.state(proposal.id) == State.CANCELED
            tracked.finished = True

    # ------------------------------------------------------------ invariants

    @invariant()
    def loosening_executed_only_with_two_thirds(self):
        for loosening, for_, against in self.executed:
            if loosening:
                assert 3 * for_ >= 2 * (for_ + against)

    @invariant()
    def chain_matches_model(self):
        g, p = self.governor, self.policy
        thresholds, mitigation, (rule_metrics, rules), supermajority, period = read_many(
            [
                (p.thresholds,),
                (p.mitigation,),
                (p.evidenceRules,),
                (g.supermajority,),
                (g.looseningVotingPeriod,),
            ]
        )
        metrics, values, directions = thresholds
        assert dict(zip(map(str, metrics), zip(values, directions, strict=True), strict=True)) == (
            self.model.thresholds
        )
        assert tuple(mitigation) == self.model.mitigation
        assert {str(m): tuple(r) for m, r in zip(rule_metrics, rules, strict=True)} == (
            self.model.evidence
        )
        assert tuple(supermajority) == self.model.supermajority
        assert period == self.model.loosening_period


def test_loosening_never_executes_without_a_supermajority(lifecycle, policy, timelock, guardian):
    as_timelock = {"from": accounts.at(str(timelock), force=True)}
    policy.setThreshold(DPD, *DPD_CAP, as_timelock)
    policy.setThreshold(SPD, *SPD_FLOOR, as_timelock)
    chain.snapshot()  # where every example starts
    run_state_machine_as_test(
        lambda: ProtectionMachine(lifecycle, policy, guardian),
        # No example database: with one, hypothesis also spends a minute "optimising" passing
        # examples (see test_policy_stateful.py). Its first ten examples are minimal (a step or
        # two); the other fifteen run 50 steps. About 45 s, most of it transactions.
        settings=settings(max_examples=25, stateful_step_count=50, database=None, deadline=None),
    )
