"""The evidence rule: how sure an audit must be before a verdict counts.

A threshold alone is not a rule. The evidence rule says at what confidence intervals are
computed, which groups are large enough to be judged, and what an INCONCLUSIVE verdict does
to a model at the gate. Governance votes it with the thresholds; it is frozen in the policy
snapshot an audit starts with and written into the report.
"""

from __future__ import annotations

import enum
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bias_checks._errors import (
    InvalidConfidenceLevelError,
    InvalidMinimumSizeError,
    InvalidOnInconclusiveError,
    InvalidParameterError,
)
from core.numbers import is_decimal_text, is_whole_text

# The policy contract stores the level with six decimals and the sizes as uint64; a rule the
# engine accepts must be one governance can vote, and the other way round: governance reads a
# level as the decimal its shortest text spells, so the engine does too.
_SIX_DECIMALS = Decimal("0.000001")
_MAX_SIZE = 2**64 - 1


def _valid_level(level: object) -> bool:
    if isinstance(level, bool) or not isinstance(level, (int, float)):
        return False
    try:
        as_float = float(level)
    except OverflowError:  # an int beyond a double
        return False
    if not math.isfinite(as_float) or not 0.5 < as_float < 1.0:
        return False
    exact = Decimal(repr(as_float))
    return exact == exact.quantize(_SIX_DECIMALS)


class OnInconclusive(enum.StrEnum):
    """What an INCONCLUSIVE verdict does to a model at the gate."""

    BLOCK = "block"
    APPROVE_WITH_WARNING = "approve_with_warning"


@dataclass(frozen=True)
class EvidenceRule:
    """How strong the evidence must be for a verdict.

    Parameters
    ----------
    confidence_level : float, default 0.95
        Two-sided confidence of every interval a verdict uses; strictly between 0.5 and 1.
    min_group_size : int, default 30
        Groups with fewer rows are not judged; they are listed with their sizes.
    min_denominator : int, default 10
        A rate is judged in a group only when its denominator (positives for TPR/FNR,
        negatives for FPR/TNR, predicted positives for precision/FDR, all rows for
        selection rate and accuracy; effective size with weights) reaches this.
    on_inconclusive : OnInconclusive, default BLOCK
        ``block`` (the safe default) keeps an INCONCLUSIVE model from being approved;
        ``approve_with_warning`` approves it and records a warning.

    Examples
    --------
    >>> EvidenceRule().confidence_level
    0.95
    >>> EvidenceRule(min_group_size=50).on_inconclusive.value
    'block'
    """

    confidence_level: float = 0.95
    min_group_size: int = 30
    min_denominator: int = 10
    on_inconclusive: OnInconclusive = OnInconclusive.BLOCK

    def __post_init__(self) -> None:
        level = self.confidence_level
        if not _valid_level(level):
            raise InvalidConfidenceLevelError(value=repr(level))
        for name in ("min_group_size", "min_denominator"):
            size = getattr(self, name)
            whole = isinstance(size, numbers.Integral) and not isinstance(size, bool)
            if not whole or not 0 <= int(size) <= _MAX_SIZE:
                raise InvalidMinimumSizeError(parameter=name, value=repr(size))
            object.__setattr__(self, name, int(size))  # a NumPy integer is a whole number too
        try:
            choice = OnInconclusive(self.on_inconclusive)
        except (ValueError, TypeError):
            raise InvalidOnInconclusiveError(value=repr(self.on_inconclusive)) from None
        object.__setattr__(self, "confidence_level", float(level))
        object.__setattr__(self, "on_inconclusive", choice)

    def to_dict(self) -> dict[str, Any]:
        return {
            "confidence_level": self.confidence_level,
            "min_group_size": self.min_group_size,
            "min_denominator": self.min_denominator,
            "on_inconclusive": self.on_inconclusive.value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvidenceRule:
        return cls(
            confidence_level=float(data["confidence_level"]),
            min_group_size=int(data["min_group_size"]),
            min_denominator=int(data["min_denominator"]),
            on_inconclusive=data["on_inconclusive"],
        )

    @classmethod
    def from_text(cls, texts: Mapping[str, str], base: EvidenceRule | None = None) -> EvidenceRule:
        """The rule that ``texts`` (a field name to the text a person typed: a CLI option, a
        query parameter, a key of ``--threshold``) make of ``base`` (default: the default
        rule). Numbers must be plain ASCII decimals (:mod:`core.numbers`): ``float`` and
        ``int`` would also read other scripts' digits, underscores and ``30.0``. Every
        surface that reads a rule from text reads it here, so each refuses alike, with the
        engine's codes.

        Raises
        ------
        InvalidConfidenceLevelError, InvalidMinimumSizeError, InvalidOnInconclusiveError
            As :class:`EvidenceRule`, and for a number that is not plain text.
        """
        fields = (base or cls()).to_dict()
        for name, text in texts.items():
            value = text.strip()
            if name == "confidence_level":
                if not is_decimal_text(value):
                    raise InvalidConfidenceLevelError(value=repr(text))
                fields[name] = float(value)
            elif name in ("min_group_size", "min_denominator"):
                if not is_whole_text(value):
                    raise InvalidMinimumSizeError(parameter=name, value=repr(text))
                fields[name] = int(value)
            elif name == "on_inconclusive":
                fields[name] = value
            else:
                raise InvalidParameterError(parameter=name)
        return cls.from_dict(fields)
