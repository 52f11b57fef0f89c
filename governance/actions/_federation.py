"""The federation policy action (#16): how federated runs aggregate, how much privacy budget
each node spends on its audit counts, and how few nodes a run may proceed with.

The strategies are Flower's own (FedAvg, FedMedian, FedTrimmedAvg(beta), Krum(f)). ``trim_beta``
and ``epsilon`` travel as fixed point with six decimals, like threshold values; an ``epsilon`` of
none (0 on chain) means counts without noise. Every value the TrainingPolicy would refuse is
refused here first, with its own code, so a bad proposal never spends gas.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BeforeValidator, model_validator

from governance.actions._models import KnownCall
from governance.actions._values import (
    UINT32_MAX,
    Contract,
    fixed_units,
    from_fixed,
    trim_decimal,
    whole_number,
)
from governance.errors import (
    GovernanceError,
    InvalidAggregation,
    InvalidEpsilon,
    InvalidKrumF,
    InvalidMinNodes,
    InvalidTrimBeta,
)

_SCALE = 10**6
_MAX = Decimal(2**64 - 1) / _SCALE  # exact: 20 significant digits
FEDERATION_ABI_TYPE = "(uint8,uint64,uint32,uint64,uint32)"


class Aggregation(StrEnum):
    """How a federated run combines the nodes' model updates: one of Flower's strategies.

    The Solidity enum has the same order.
    """

    FEDAVG = "fedavg"
    FEDMEDIAN = "fedmedian"
    FEDTRIMMEDAVG = "fedtrimmedavg"
    KRUM = "krum"

    @property
    def robust(self) -> bool:
        """Whether the strategy resists poisoned updates (every one but FedAvg)."""
        return self is not Aggregation.FEDAVG


#: The Solidity enum's order.
AGGREGATIONS: tuple[Aggregation, ...] = tuple(Aggregation)
_LABELS = {
    Aggregation.FEDAVG: "FedAvg",
    Aggregation.FEDMEDIAN: "FedMedian",
    Aggregation.FEDTRIMMEDAVG: "FedTrimmedAvg",
    Aggregation.KRUM: "Krum",
}


def krum_nodes_needed(krum_f: int) -> int:
    """The fewest nodes Krum needs to tolerate ``krum_f`` poisoned updates (n > 2f + 2)."""
    return 2 * krum_f + 3


def nodes_needed(aggregation: Aggregation, *, trim_beta: Decimal, krum_f: int) -> int:
    """The fewest nodes with which the strategy resists anything: Krum 2f + 3; FedMedian 3
    (the median of two is their mean); FedTrimmedAvg enough that it cuts at least one node
    from each end (Flower cuts int(beta * n)); FedAvg 1."""
    if aggregation is Aggregation.KRUM:
        return krum_nodes_needed(krum_f)
    if aggregation is Aggregation.FEDMEDIAN:
        return 3
    if aggregation is Aggregation.FEDTRIMMEDAVG:
        scaled = int(trim_beta * 10**6)
        return -(-(10**6) // scaled) if scaled > 0 else 1
    return 1


def _aggregation(value: Any) -> Aggregation:
    if isinstance(value, Aggregation):
        return value
    if isinstance(value, str):
        try:
            return Aggregation(value.strip().lower())
        except ValueError:
            pass
    raise InvalidAggregation(value)


def _scaled(value: Any, error: Callable[[object, str], GovernanceError]) -> int:
    """``value`` in fixed point with six decimals, not negative and a uint64."""
    if isinstance(value, bool):
        raise error(value, "it is not a number")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise error(repr(value), "it is not a number") from None
    if not number.is_finite():
        raise error(value, "it is not a finite number")
    if number < 0:
        raise error(value, "it is negative")
    if number > _MAX:
        raise error(value, "it is too large")
    units = fixed_units(number)
    if units is None:
        raise error(value, "it has more than six decimals")
    return units


def trim_beta_to_fixed(value: Any) -> int:
    """FedTrimmedAvg's beta in fixed point; :class:`InvalidTrimBeta` unless in (0, 0.5)."""
    units = _scaled(value, InvalidTrimBeta)
    if not 0 < units < _SCALE // 2:
        raise InvalidTrimBeta(value, "it is not strictly between 0 and 0.5")
    return units


def epsilon_to_fixed(value: Any) -> int:
    """The privacy budget in fixed point, 0 for none; :class:`InvalidEpsilon` if impossible."""
    return 0 if value is None else _scaled(value, InvalidEpsilon)


def _trim_beta(value: Any) -> Decimal:
    return from_fixed(trim_beta_to_fixed(value))


def _epsilon(value: Any) -> Decimal | None:
    if isinstance(value, str) and value.strip().lower() in ("none", "off", ""):
        return None
    units = epsilon_to_fixed(value)
    return None if units == 0 else from_fixed(units)


def _whole(error: Callable[[object, str], GovernanceError]) -> BeforeValidator:
    def check(value: Any) -> int:
        whole = whole_number(value)
        if whole is None:
            raise error(value, "it is not a whole number")
        if not 0 <= whole <= UINT32_MAX:
            raise error(value, f"it is not between 0 and {UINT32_MAX}")
        return whole

    return BeforeValidator(check)


class SetFederationPolicy(KnownCall):
    """Set the federation policy: strategy, its parameter, privacy budget and minimum nodes.

    The whole policy is replaced: a field left out takes its default, not its current value.
    """

    kind: Literal["set_federation_policy"] = "set_federation_policy"
    aggregation: Annotated[Aggregation, BeforeValidator(_aggregation)]
    trim_beta: Annotated[Decimal, BeforeValidator(_trim_beta)] = Decimal("0.200000")
    krum_f: Annotated[int, _whole(InvalidKrumF)] = 0
    epsilon: Annotated[Decimal | None, BeforeValidator(_epsilon)] = None
    min_nodes: Annotated[int, _whole(InvalidMinNodes)] = 2

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = f"setFederationPolicy({FEDERATION_ABI_TYPE})"

    @model_validator(mode="after")
    def _check(self) -> Self:
        krum = self.aggregation is Aggregation.KRUM
        if not krum and self.krum_f != 0:
            raise InvalidKrumF(
                self.krum_f,
                f"it applies only to krum; give 0 (or leave it out) with {self.aggregation}",
            )
        if self.min_nodes < 1:
            raise InvalidMinNodes(self.min_nodes, "a federated run needs at least 1 node")
        if krum and self.min_nodes < krum_nodes_needed(self.krum_f):
            raise InvalidMinNodes(
                self.min_nodes,
                f"krum with krum_f {self.krum_f} needs at least 2 * krum_f + 3 = "
                f"{krum_nodes_needed(self.krum_f)} nodes",
            )
        needed = nodes_needed(self.aggregation, trim_beta=self.trim_beta, krum_f=self.krum_f)
        if self.min_nodes < needed:
            raise InvalidMinNodes(
                self.min_nodes,
                f"{self.aggregation} needs at least {needed} nodes to resist a poisoned "
                "update (with fewer it is a plain average)",
            )
        return self

    @classmethod
    def abi_types(cls) -> list[str]:
        return [FEDERATION_ABI_TYPE]

    def args(self) -> tuple[Any, ...]:
        return (
            (
                AGGREGATIONS.index(self.aggregation),
                trim_beta_to_fixed(self.trim_beta),
                self.krum_f,
                epsilon_to_fixed(self.epsilon),
                self.min_nodes,
            ),
        )

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        ((aggregation, trim_beta, krum_f, epsilon, min_nodes),) = args
        return cls(
            aggregation=AGGREGATIONS[aggregation],
            trim_beta=from_fixed(trim_beta),
            krum_f=krum_f,
            epsilon=None if epsilon == 0 else from_fixed(epsilon),
            min_nodes=min_nodes,
        )

    def summary(self) -> str:
        strategy = _LABELS[self.aggregation]
        if self.aggregation is Aggregation.FEDTRIMMEDAVG:
            strategy += f" (beta {trim_decimal(self.trim_beta)})"
        elif self.aggregation is Aggregation.KRUM:
            strategy += f" (f {self.krum_f})"
        noise = (
            "audit counts without noise"
            if self.epsilon is None
            else f"audit counts with noise at epsilon {trim_decimal(self.epsilon)} per node"
        )
        return f"Set the federation policy: {strategy}, {noise}, at least {self.min_nodes} nodes"
