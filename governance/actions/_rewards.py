"""Actions on the providers' rewards: funding them from the treasury, and the ProviderRewards
settings the DAO votes on.

The timelock is the treasury, so funding is a ``transfer`` of the governance token from the
timelock to the rewards contract; it decodes as :class:`FundRewards` only when the recipient
is the deployment's ProviderRewards, and as a raw call otherwise. Amounts travel in whole
tokens, the challenge window in seconds. None of these calls is loosening: the classifier
guards the policy, the registry and the governance, not the rewards.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Self

from pydantic import Field

from core.types import to_address
from governance.actions._models import KnownCall
from governance.actions._values import UINT32_MAX, UINT256_MAX, AddressHex, Contract
from governance.chain.deploy import SPLIT_RULES, TOKEN_DECIMALS, Addresses, SplitRule

_UNIT: int = 10**TOKEN_DECIMALS
_MAX_TOKENS = UINT256_MAX // _UNIT


def _whole_tokens(units: int) -> int:
    if units % _UNIT:
        raise ValueError(f"{units} is not a whole number of tokens")
    return units // _UNIT


class FundRewards(KnownCall):
    """Move whole tokens from the treasury (the timelock) to the ProviderRewards contract.

    ``rewards`` may be left out: :func:`~governance.actions.encode` fills in the deployment's.
    """

    kind: Literal["fund_rewards"] = "fund_rewards"
    tokens: int = Field(ge=1, le=_MAX_TOKENS)
    rewards: AddressHex | None = None

    contract: ClassVar[Contract] = "token"
    signature: ClassVar[str] = "transfer(address,uint256)"

    @classmethod
    def of(cls, addresses: Addresses, tokens: int) -> Self:
        """The action funding the deployment's rewards contract with ``tokens`` whole tokens."""
        return cls(rewards=addresses.rewards, tokens=tokens)

    def args(self) -> tuple[Any, ...]:
        if self.rewards is None:
            raise ValueError("bind the action to a deployment before encoding it")
        return (self.rewards, self.tokens * _UNIT)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        recipient, units = args
        return cls(rewards=recipient, tokens=_whole_tokens(units))

    def fits(self, addresses: Addresses) -> bool:
        return self.rewards is not None and self.rewards.lower() == addresses.rewards.lower()

    def bound(self, addresses: Addresses) -> Self:
        if self.rewards is not None:
            return self
        return self.model_copy(update={"rewards": to_address(addresses.rewards)})

    def summary(self) -> str:
        return f"Fund the providers' rewards with {self.tokens} tokens from the treasury"


class SetSplitRule(KnownCall):
    """How an approved model's reward is split: by contributed rows, or leave one provider out."""

    kind: Literal["set_split_rule"] = "set_split_rule"
    rule: SplitRule

    contract: ClassVar[Contract] = "rewards"
    signature: ClassVar[str] = "setSplitRule(uint8)"

    def args(self) -> tuple[Any, ...]:
        return (SPLIT_RULES.index(self.rule),)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        (index,) = args
        return cls(rule=SPLIT_RULES[index])

    def summary(self) -> str:
        return f"Split the providers' rewards by {self.rule.replace('_', '-')}"


class SetRewardPerEpoch(KnownCall):
    """Whole tokens the providers of one approved model share, at most."""

    kind: Literal["set_reward_per_epoch"] = "set_reward_per_epoch"
    tokens: int = Field(ge=0, le=_MAX_TOKENS)

    contract: ClassVar[Contract] = "rewards"
    signature: ClassVar[str] = "setRewardPerEpoch(uint256)"

    def args(self) -> tuple[Any, ...]:
        return (self.tokens * _UNIT,)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(tokens=_whole_tokens(args[0]))

    def summary(self) -> str:
        return f"Set the reward per approved model to {self.tokens} tokens"


class SetRewardsChallengeWindow(KnownCall):
    """Seconds after a rewards root is posted during which it may be cancelled."""

    kind: Literal["set_rewards_challenge_window"] = "set_rewards_challenge_window"
    seconds: int = Field(ge=1, le=UINT32_MAX)

    contract: ClassVar[Contract] = "rewards"
    signature: ClassVar[str] = "setChallengeWindow(uint64)"

    def args(self) -> tuple[Any, ...]:
        return (self.seconds,)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(seconds=args[0])

    def summary(self) -> str:
        return f"Set the challenge window of rewards roots to {self.seconds} seconds"


class CancelRewardsRoot(KnownCall):
    """Cancel an epoch's rewards root; the execution must land inside its challenge window."""

    kind: Literal["cancel_rewards_root"] = "cancel_rewards_root"
    epoch: int = Field(ge=1, le=UINT256_MAX)

    contract: ClassVar[Contract] = "rewards"
    signature: ClassVar[str] = "cancelRoot(uint256)"

    def args(self) -> tuple[Any, ...]:
        return (self.epoch,)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(epoch=args[0])

    def summary(self) -> str:
        return f"Cancel the rewards root of epoch {self.epoch}"
