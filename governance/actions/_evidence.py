"""Evidence rule actions: how sure an audit must be before its verdict counts.

The rule is the confidence of every interval, the minimum group size and rate denominator,
and what an INCONCLUSIVE verdict does at the gate. The default rule has no metric (its
on-chain key is ``bytes32(0)``); a metric may override it. Confidence travels as fixed
point with six decimals, like threshold values.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BeforeValidator, Field

from bias_checks import is_known_metric, metric_info
from core.numbers import is_decimal_text
from governance.actions._models import KnownCall
from governance.actions._values import (
    Contract,
    MetricName,
    bytes32_to_text,
    fixed_units,
    from_fixed,
    metric_to_bytes32,
    trim_decimal,
    whole_number,
)
from governance.errors import (
    InvalidConfidenceLevel,
    InvalidMinimumSize,
    InvalidOnInconclusive,
    MetricHasNoInterval,
)

UINT64_MAX = 2**64 - 1
_DEFAULT_KEY = b"\0" * 32

OnInconclusive = Literal["block", "approve_with_warning"]
#: The Solidity enum's order.
ON_INCONCLUSIVE: tuple[OnInconclusive, ...] = ("block", "approve_with_warning")


def confidence_to_fixed(value: Decimal) -> int:
    """``value`` in fixed point with six decimals; :class:`InvalidConfidenceLevel` unless
    it lies strictly between 0.5 and 1 with at most six decimals."""
    if not value.is_finite():
        raise InvalidConfidenceLevel(str(value), "it is not a finite number")
    if not Decimal("0.5") < value < 1:
        raise InvalidConfidenceLevel(str(value), "it is not strictly between 0.5 and 1")
    units = fixed_units(value)
    if units is None:
        raise InvalidConfidenceLevel(str(value), "it has more than six decimals")
    return units


def _decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise InvalidConfidenceLevel(str(value), "it is not a number")
    if isinstance(value, int | float):
        value = Decimal(str(value))
    elif isinstance(value, str):
        if not is_decimal_text(value):
            raise InvalidConfidenceLevel(repr(value), "it is not a plain decimal number")
        value = Decimal(value.strip())
    if isinstance(value, Decimal) and not value.is_finite():
        raise InvalidConfidenceLevel(str(value), "it is not a finite number")
    return value


def _confidence(value: Decimal) -> Decimal:
    return from_fixed(confidence_to_fixed(value))


def _has_interval(metric: str) -> str:
    if is_known_metric(metric) and not metric_info(metric).has_interval:
        raise MetricHasNoInterval(metric)
    return metric


def _size(parameter: str) -> BeforeValidator:
    def check(value: Any) -> int:
        whole = whole_number(value)
        if whole is None or not 0 <= whole <= UINT64_MAX:
            raise InvalidMinimumSize(parameter, value)
        return whole

    return BeforeValidator(check)


def _on_inconclusive(value: Any) -> Any:
    if not isinstance(value, str) or value not in ON_INCONCLUSIVE:
        raise InvalidOnInconclusive(value)
    return value


ConfidenceLevel = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_confidence)]
RuleMetric = Annotated[MetricName, AfterValidator(_has_interval)]


def _key(metric: str | None) -> bytes:
    return _DEFAULT_KEY if metric is None else metric_to_bytes32(metric)


def _metric_of(raw: bytes) -> str | None:
    return None if raw == _DEFAULT_KEY else bytes32_to_text(raw)


def _subject(metric: str | None) -> str:
    return "the default evidence rule" if metric is None else f"the evidence rule of {metric}"


class SetEvidenceRule(KnownCall):
    """Set the default evidence rule (no ``metric``), or one metric's override."""

    kind: Literal["set_evidence_rule"] = "set_evidence_rule"
    metric: RuleMetric | None = None
    confidence_level: ConfidenceLevel = Decimal("0.95")
    min_group_size: Annotated[int, _size("min_group_size")] = 30
    min_denominator: Annotated[int, _size("min_denominator")] = 10
    on_inconclusive: Annotated[OnInconclusive, BeforeValidator(_on_inconclusive)] = "block"

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "setEvidenceRule(bytes32,uint64,uint64,uint64,uint8)"

    def args(self) -> tuple[Any, ...]:
        return (
            _key(self.metric),
            confidence_to_fixed(self.confidence_level),
            self.min_group_size,
            self.min_denominator,
            ON_INCONCLUSIVE.index(self.on_inconclusive),
        )

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        metric, confidence, min_group, min_denominator, when = args
        return cls(
            metric=_metric_of(metric),
            confidence_level=from_fixed(confidence),
            min_group_size=min_group,
            min_denominator=min_denominator,
            on_inconclusive=ON_INCONCLUSIVE[when],
        )

    def summary(self) -> str:
        outcome = (
            "blocks the model" if self.on_inconclusive == "block" else "approves it with a warning"
        )
        return (
            f"Set {_subject(self.metric)}: {trim_decimal(self.confidence_level)} confidence, "
            f"groups of at least {self.min_group_size} rows, denominators of at least "
            f"{self.min_denominator}; INCONCLUSIVE {outcome}"
        )


class ClearEvidenceRule(KnownCall):
    """Remove a metric's evidence rule override; the default rule applies to it again."""

    kind: Literal["clear_evidence_rule"] = "clear_evidence_rule"
    metric: RuleMetric = Field(description="the metric whose override to remove")

    contract: ClassVar[Contract] = "training_policy"
    signature: ClassVar[str] = "clearEvidenceRule(bytes32)"

    def args(self) -> tuple[Any, ...]:
        return (metric_to_bytes32(self.metric),)

    @classmethod
    def from_args(cls, args: tuple[Any, ...]) -> Self:
        return cls(metric=bytes32_to_text(args[0]))

    def summary(self) -> str:
        return f"Clear the evidence rule of {self.metric} (the default rule applies again)"
