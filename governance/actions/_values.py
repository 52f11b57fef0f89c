"""Value shapes of policy actions and their on-chain encodings.

Metric names travel as ``bytes32`` (ASCII, zero padded), threshold values as signed
fixed point with six decimals (``int256``, 1e6 = 1.0): directional metrics take negative
bounds, within the values each metric can take.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, StringConstraints
from web3 import Web3

from bias_checks import METRICS, is_known_metric
from core.numbers import is_whole_text
from core.types import to_address
from governance.errors import (
    InvalidMetricName,
    InvalidThresholdValue,
    ThresholdOutOfRange,
    UnknownMetric,
)

FIXED_POINT_DECIMALS = 6
_SCALE = 10**FIXED_POINT_DECIMALS
UINT256_MAX = 2**256 - 1
INT256_MIN, INT256_MAX = -(2**255), 2**255 - 1
UINT48_MAX = 2**48 - 1
UINT32_MAX = 2**32 - 1
AUDITOR_ROLE = Web3.keccak(text="AUDITOR_ROLE")
_STEP = Decimal(1).scaleb(-FIXED_POINT_DECIMALS)
with localcontext(prec=100):
    _MAX_THRESHOLD = Decimal(INT256_MAX) / _SCALE
    _MIN_THRESHOLD = Decimal(INT256_MIN) / _SCALE

Direction = Literal["upper", "lower"]
DIRECTIONS: tuple[Direction, ...] = ("upper", "lower")  # the Solidity enum's order
Strategy = Literal["none", "threshold_optimizer", "exponentiated_gradient"]
#: The constraints each strategy accepts, as Fairlearn names them.
CONSTRAINTS: dict[str, tuple[str, ...]] = {
    "none": ("",),
    # fairlearn.postprocessing.ThresholdOptimizer(constraints=...)
    "threshold_optimizer": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
    ),
    # fairlearn.reductions moments: DemographicParity, EqualizedOdds, TruePositiveRateParity, ...
    "exponentiated_gradient": (
        "demographic_parity",
        "equalized_odds",
        "true_positive_rate_parity",
        "false_positive_rate_parity",
        "error_rate_parity",
    ),
}
Contract = Literal["training_policy", "governor", "audit_registry", "token", "rewards"]


def _lower(value: str) -> str:
    return value.lower()


#: A 32-byte value as 0x-prefixed lowercase hex.
Hash32Hex = Annotated[
    str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$"), AfterValidator(_lower)
]
#: An address, checksummed.
AddressHex = Annotated[
    str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$"), AfterValidator(to_address)
]
#: Bytes as 0x-prefixed lowercase hex.
BytesHex = Annotated[
    str, StringConstraints(pattern=r"^0x([0-9a-fA-F]{2})*$"), AfterValidator(_lower)
]


def metric_to_bytes32(metric: str) -> bytes:
    """The on-chain form of a metric name: ASCII, right-padded with zeros to 32 bytes."""
    if not metric:
        raise InvalidMetricName(metric, "it is empty")
    if not metric.isascii() or "\0" in metric:
        raise InvalidMetricName(metric, "it is not plain ASCII")
    raw = metric.encode("ascii")
    if len(raw) > 32:
        raise InvalidMetricName(metric, f"it is {len(raw)} bytes long, at most 32 fit")
    return raw.ljust(32, b"\0")


def bytes32_to_text(raw: bytes) -> str:
    """The ASCII text of a zero-padded ``bytes32``; ``ValueError`` if it is not such text."""
    text = raw.rstrip(b"\0")
    if b"\0" in text or not text.isascii():
        raise ValueError(f"0x{raw.hex()} is not zero-padded ASCII")
    return text.decode("ascii")


def fixed_units(value: Decimal) -> int | None:
    """``value`` in units of 1e-6 if it has at most six decimals, else None.

    The caller bounds ``value`` first (below 1e90): scaling an unbounded Decimal overflows
    the context (``decimal.Overflow``) or underflows a tiny one to zero.
    """
    with localcontext(prec=100):
        quantized = value.quantize(_STEP)
        if quantized != value:
            return None
        return int(quantized * _SCALE)


def to_fixed(value: Decimal) -> int:
    """``value`` in signed fixed point with six decimals (an ``int256``).

    Raises :class:`InvalidThresholdValue` if it is not finite, has more than six decimals
    or does not fit.
    """
    if not value.is_finite():
        raise InvalidThresholdValue(str(value), "it is not a finite number")
    if value > _MAX_THRESHOLD:
        raise InvalidThresholdValue(str(value), "it is too large")
    if value < _MIN_THRESHOLD:
        raise InvalidThresholdValue(str(value), "it is too small")
    units = fixed_units(value)
    if units is None:
        raise InvalidThresholdValue(str(value), "it has more than six decimals")
    return units


def from_fixed(units: int) -> Decimal:
    """The decimal value of ``units`` in fixed point with six decimals, with six decimals."""
    with localcontext(prec=100):
        value: Decimal = (Decimal(units) / _SCALE).quantize(Decimal(1).scaleb(-6))
    return value


def _threshold_value(value: Decimal) -> Decimal:
    return from_fixed(to_fixed(value))


def _metric(metric: str) -> str:
    metric_to_bytes32(metric)
    if not is_known_metric(metric):
        raise UnknownMetric(metric)
    return metric


MetricName = Annotated[str, AfterValidator(_metric)]


def check_bound(metric: str, value: Decimal, direction: Direction) -> None:
    """Raise :class:`ThresholdOutOfRange` unless ``value`` lies within the values ``metric``
    can take (the catalogue's ``value_range``: negative only for directional metrics)."""
    low, high = METRICS[metric].value_range
    if not low <= value <= high:
        raise ThresholdOutOfRange(metric, trim_decimal(value), direction, low, high)


ThresholdValue = Annotated[Decimal, AfterValidator(_threshold_value)]


def trim_decimal(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def dataset_id_of(name: str) -> str:
    """The TrainingPolicy id of the dataset called ``name``: keccak256 of its UTF-8 bytes."""
    return "0x" + Web3.keccak(text=name).hex()


def whole_number(value: Any) -> int | None:
    """``value`` as a whole number if it is one (JSON may carry 60.0, "60" or "-5"), else None.

    Callers check the range themselves, so a negative number gets its own message.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and is_whole_text(value):
        return int(value)
    return None
