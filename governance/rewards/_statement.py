"""The reward statement: every input of an epoch's split, the split, and its Merkle root.

The statement is canonical JSON (:mod:`core.canonical`); its sha256 is the ``statementHash``
that ``postRoot`` anchors with the root. Anyone holding it can :func:`recompute` the amounts
and the root from its inputs alone, and :func:`verify_statement` checks both against the
chain's anchor. Amounts are base units (the token's 18 decimals), written as decimal strings
because they exceed JavaScript's safe integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator

from core.canonical import canonical_json, sha256_hex
from core.types import Address, Hash32, HexHash32, to_address
from governance.errors import (
    InvalidContribution,
    NoContributions,
    StatementDoesNotRecompute,
    StatementHashMismatch,
    StatementNotTheEpochs,
)
from governance.rewards._split import (
    SplitRule,
    loo_values,
    rows_by_provider,
    split_by_rows,
    split_leave_one_out,
)
from governance.rewards._tree import reward_root

SCHEMA_VERSION: Final = 1
#: How the dust of integer division is handed out (see ``largest_remainder``).
ROUNDING: Final = (
    "largest_remainder: each provider gets the floor of its exact share; the units left go one "
    "each to the largest fractional parts, ties to the lower address"
)

#: A uint256 written as a decimal string in JSON.
Uint = Annotated[
    int, Field(ge=0, lt=2**256), PlainSerializer(str, return_type=str, when_used="json")
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EpochContext(_Frozen):
    """What the reward is for: the approved model, its audit and the rewards contract."""

    chain_id: int
    rewards_contract: Address
    run_id: HexHash32
    model_name: str
    model_hash: HexHash32
    report_hash: HexHash32
    policy_version: int
    policy_snapshot_hash: HexHash32

    @field_validator("rewards_contract")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)


class Contribution(_Frozen):
    """One dataset that trained the model, its provider and the rows it contributed."""

    dataset_id: HexHash32
    provider: Address
    rows: int = Field(ge=0)

    @field_validator("provider")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)


class UtilityDefinition(_Frozen):
    """How the leave-one-out utility of a set of providers' data is measured.

    ``u(S) = accuracy - lam * |fairness_metric|`` of a model trained on S's rows with the run's
    spec and mitigation, evaluated on ``evaluation``; the empty set's model predicts the
    majority label of the training rows.
    """

    formula: Literal["accuracy - lam * abs(fairness_metric)"] = (
        "accuracy - lam * abs(fairness_metric)"
    )
    fairness_metric: str
    lam: float = Field(ge=0)
    evaluation: str
    seed: int


class ProviderUtility(_Frozen):
    """The utility of the model trained without one provider's data."""

    provider: Address
    utility_without: float

    @field_validator("provider")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)


class LeaveOneOut(_Frozen):
    """The valuation inputs of the leave-one-out rule: ``value_i = max(0, u(all) - u(all
    without i))``; amounts are proportional to values, by rows when every value is 0."""

    definition: UtilityDefinition
    utility_all: float
    without: tuple[ProviderUtility, ...]


class Allocation(_Frozen):
    """One leaf: a provider and the amount they may claim, in base units."""

    provider: Address
    amount: Uint

    @field_validator("provider")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)


class RewardStatement(_Frozen):
    """The published statement of one epoch's split (see the module docstring)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    context: EpochContext
    split_rule: SplitRule
    reward: Uint
    rounding: str = ROUNDING
    contributions: tuple[Contribution, ...]
    leave_one_out: LeaveOneOut | None = None
    allocations: tuple[Allocation, ...]
    root: HexHash32

    def canonical_json(self) -> bytes:
        """The bytes whose sha256 is anchored."""
        return canonical_json(self.model_dump(mode="json"))

    @property
    def hash(self) -> Hash32:
        """sha256 of :meth:`canonical_json`: the ``statementHash`` posted with the root."""
        return sha256_hex(self.canonical_json())

    @property
    def total(self) -> int:
        """The sum of the amounts (what ``postRoot`` reserves)."""
        return sum(a.amount for a in self.allocations)

    def pairs(self) -> list[tuple[str, int]]:
        """The (provider, amount) leaves, in the statement's order."""
        return [(a.provider, a.amount) for a in self.allocations]

    def allocation_of(self, account: str) -> Allocation | None:
        """The account's allocation, if it has one."""
        return next((a for a in self.allocations if a.provider.lower() == account.lower()), None)


def parse_statement(data: bytes) -> RewardStatement:
    """A statement from its canonical JSON bytes."""
    return RewardStatement.model_validate_json(data)


def _allocations(
    split_rule: SplitRule,
    reward: int,
    contributions: Sequence[Contribution],
    leave_one_out: LeaveOneOut | None,
) -> tuple[Allocation, ...]:
    rows = rows_by_provider([(c.dataset_id, c.provider, c.rows) for c in contributions])
    if split_rule == SplitRule.ROWS:
        amounts = split_by_rows(reward, rows)
    else:
        if leave_one_out is None:
            raise InvalidContribution("*", "the leave-one-out rule needs the utilities")
        without = {u.provider.lower(): u.utility_without for u in leave_one_out.without}
        missing = sorted(set(rows) - set(without))
        if missing:
            raise InvalidContribution("*", f"no utility without provider {missing[0]}")
        values = loo_values(leave_one_out.utility_all, without)
        amounts = split_leave_one_out(reward, rows, values)
    return tuple(
        Allocation(provider=to_address(p), amount=a) for p, a in sorted(amounts.items()) if a > 0
    )


def build_statement(
    context: EpochContext,
    *,
    split_rule: SplitRule,
    reward: int,
    contributions: Sequence[Contribution],
    leave_one_out: LeaveOneOut | None = None,
) -> RewardStatement:
    """Split ``reward`` among ``contributions`` under ``split_rule`` and build the statement.

    Raises
    ------
    NoContributions
        No contribution has rows (or the reward is 0): there is nothing to split.

    Examples
    --------
    >>> ctx = EpochContext(chain_id=31337, rewards_contract="0x" + "11" * 20,
    ...     run_id="0x" + "aa" * 32, model_name="m", model_hash="0x" + "bb" * 32,
    ...     report_hash="0x" + "cc" * 32, policy_version=3,
    ...     policy_snapshot_hash="0x" + "dd" * 32)
    >>> s = build_statement(ctx, split_rule=SplitRule.ROWS, reward=10, contributions=[
    ...     Contribution(dataset_id="0x" + "01" * 32, provider="0x" + "22" * 20, rows=2),
    ...     Contribution(dataset_id="0x" + "02" * 32, provider="0x" + "33" * 20, rows=1)])
    >>> [a.amount for a in s.allocations]
    [7, 3]
    """
    allocations = _allocations(split_rule, reward, contributions, leave_one_out)
    if not allocations:
        raise NoContributions(context.run_id)
    return RewardStatement(
        context=context,
        split_rule=split_rule,
        reward=reward,
        contributions=tuple(contributions),
        leave_one_out=leave_one_out,
        allocations=allocations,
        root=reward_root([(a.provider, a.amount) for a in allocations]),
    )


def recompute(statement: RewardStatement) -> RewardStatement:
    """The statement its inputs give: amounts and root derived again from the context, rule,
    reward, contributions and utilities, ignoring the stated allocations and root."""
    return build_statement(
        statement.context,
        split_rule=statement.split_rule,
        reward=statement.reward,
        contributions=statement.contributions,
        leave_one_out=statement.leave_one_out,
    )


@dataclass(frozen=True)
class EpochState:
    """One epoch as ``ProviderRewards.epoch`` returns it."""

    number: int
    root: str
    statement_hash: str
    run_id: str
    total: int
    claimed: int
    posted_at: int
    challenge_ends: int
    cancelled: bool


def verify_statement(
    statement: RewardStatement, epoch: EpochState, *, chain_id: int, rewards: str
) -> None:
    """Refuse a statement that is not the one the epoch on chain pays by, or that does not
    recompute. The anchored hash alone is not enough: the poster posts the root, the total
    and the run beside any statement's hash, so each is compared with the statement's.

    Raises
    ------
    StatementHashMismatch
        Its sha256 is not the epoch's ``statementHash`` on chain.
    StatementNotTheEpochs
        The epoch's root, run or total, or the chain or contract, is not the statement's.
    StatementDoesNotRecompute
        Its allocations or root are not what its inputs give.
    """
    if statement.hash != epoch.statement_hash.lower():
        raise StatementHashMismatch(
            epoch=epoch.number, anchored=epoch.statement_hash, actual=statement.hash
        )
    context = statement.context
    for field, stated, on_chain in (
        ("chain id", str(context.chain_id), str(chain_id)),
        ("rewards contract", context.rewards_contract.lower(), rewards.lower()),
        ("audit run", context.run_id.lower(), epoch.run_id.lower()),
        ("root", statement.root.lower(), epoch.root.lower()),
        ("total", str(statement.total), str(epoch.total)),
    ):
        if stated != on_chain:
            raise StatementNotTheEpochs(
                epoch=epoch.number, field=field, stated=stated, on_chain=on_chain
            )
    again = recompute(statement)
    if again.allocations != statement.allocations:
        stated_json = canonical_json([a.model_dump(mode="json") for a in statement.allocations])
        derived = canonical_json([a.model_dump(mode="json") for a in again.allocations])
        raise StatementDoesNotRecompute("allocations", stated_json.decode(), derived.decode())
    if again.root != statement.root:
        raise StatementDoesNotRecompute("root", statement.root, again.root)
