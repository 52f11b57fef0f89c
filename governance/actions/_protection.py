"""Actions on the protection of loosening: the supermajority, the loosening voting period and
the fairness guardian. Each calls the governor (through the timelock), and each is itself
loosening, so it needs the supermajority it may change.

A bad value is refused with the governor's own error code before anything is proposed:
``invalid_supermajority`` for a fraction outside (1/2, 1], ``invalid_loosening_period`` for
a period outside 1 .. 2**32 - 1 blocks.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BeforeValidator, model_validator

from governance.actions._evidence import UINT64_MAX
from governance.actions._models import KnownCall, _GovernorSetting
from governance.actions._values import UINT32_MAX, AddressHex, Contract, whole_number
from governance.errors import InvalidLooseningPeriod, InvalidSupermajority

ZERO_ADDRESS = "0x" + "00" * 20


def is_supermajority(numerator: int, denominator: int) -> bool:
    """Whether ``numerator/denominator`` is one the governor accepts: in (1/2, 1], uint64s."""
    return 0 < denominator <= UINT64_MAX and 2 * numerator > denominator >= numerator


class SetSupermajority(KnownCall):
    """The share of FOR among FOR + AGAINST votes that loosening proposals need."""

    kind: Literal["set_supermajority"] = "set_supermajority"
    numerator: int
    denominator: int

    contract: ClassVar[Contract] = "governor"
    signature: ClassVar[str] = "setSupermajority(uint64,uint64)"

    @model_validator(mode="before")
    @classmethod
    def _check(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        raw_numerator, raw_denominator = data.get("numerator"), data.get("denominator")
        numerator, denominator = whole_number(raw_numerator), whole_number(raw_denominator)
        if numerator is None or denominator is None or not is_supermajority(numerator, denominator):
            raise InvalidSupermajority(raw_numerator, raw_denominator)
        return {**data, "numerator": numerator, "denominator": denominator}

    def args(self) -> tuple[Any, ...]:
        return (self.numerator, self.denominator)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        numerator, denominator = args
        return cls(numerator=numerator, denominator=denominator)

    def summary(self) -> str:
        return (
            f"Set the supermajority of loosening proposals to {self.numerator}/"
            f"{self.denominator} of the FOR and AGAINST votes"
        )


def _period(value: Any) -> int:
    blocks = whole_number(value)
    if blocks is None or not 1 <= blocks <= UINT32_MAX:
        raise InvalidLooseningPeriod(value)
    return blocks


class SetLooseningVotingPeriod(_GovernorSetting):
    """The minimum number of blocks the vote on a loosening proposal lasts."""

    kind: Literal["set_loosening_voting_period"] = "set_loosening_voting_period"
    blocks: Annotated[int, BeforeValidator(_period)]

    signature: ClassVar[str] = "setLooseningVotingPeriod(uint32)"
    label: ClassVar[str] = "minimum voting period of loosening proposals"
    unit: ClassVar[str] = " blocks"

    def number(self) -> int:
        return self.blocks


def _no_zero_address(value: Any) -> Any:
    if isinstance(value, str) and value.lower() == ZERO_ADDRESS:
        return None
    return value


class SetGuardian(KnownCall):
    """Appoint the fairness guardian, who may cancel loosening proposals; ``None`` removes it."""

    kind: Literal["set_guardian"] = "set_guardian"
    guardian: Annotated[AddressHex | None, BeforeValidator(_no_zero_address)]

    contract: ClassVar[Contract] = "governor"
    signature: ClassVar[str] = "setProposalGuardian(address)"

    def args(self) -> tuple[Any, ...]:
        return (self.guardian or ZERO_ADDRESS,)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(guardian=args[0])

    def summary(self) -> str:
        if self.guardian is None:
            return "Remove the fairness guardian (nobody may cancel loosening proposals)"
        return f"Set the fairness guardian to {self.guardian}"
