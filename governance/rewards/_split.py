"""Split rules: how an epoch's reward is divided among the providers whose data trained it.

Both rules end in :func:`largest_remainder`: exact integer amounts in base units whose sum
is the reward, computed with :class:`fractions.Fraction` so no float rounding enters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from fractions import Fraction

from governance.chain.deploy import SPLIT_RULES
from governance.errors import InvalidContribution


class SplitRule(StrEnum):
    """The voted split rule (``IProviderRewards.SplitRule``: 0 rows, 1 leave-one-out)."""

    ROWS = "rows"
    LEAVE_ONE_OUT = "leave_one_out"

    @classmethod
    def from_chain(cls, value: int) -> SplitRule:
        """The rule of the contract's ``splitRule()``."""
        return cls(SPLIT_RULES[value])


def largest_remainder(total: int, weights: Mapping[str, Fraction]) -> dict[str, int]:
    """Split ``total`` base units in proportion to ``weights``, exactly.

    Each key gets the floor of its exact share; the units left over (fewer than the number
    of keys) go one each to the keys with the largest fractional parts, ties broken by the
    key in ascending order (providers' lower-case addresses). Deterministic, and the
    amounts always sum to ``total`` when any weight is positive.

    Examples
    --------
    >>> largest_remainder(10, {"a": Fraction(1), "b": Fraction(1), "c": Fraction(1)})
    {'a': 4, 'b': 3, 'c': 3}
    """
    positive = {key: w for key, w in weights.items() if w > 0}
    denominator = sum(positive.values(), Fraction(0))
    if total < 0 or denominator == 0:
        return dict.fromkeys(weights, 0)
    shares = {key: total * w / denominator for key, w in positive.items()}
    amounts = {key: int(share) for key, share in shares.items()}
    dust = total - sum(amounts.values())
    order = sorted(shares, key=lambda key: (-(shares[key] - amounts[key]), key))
    for key in order[:dust]:
        amounts[key] += 1
    return {key: amounts.get(key, 0) for key in weights}


def rows_by_provider(contributions: Sequence[tuple[str, str, int]]) -> dict[str, int]:
    """Rows per provider (lower-case address) from (dataset id, provider, rows) triples."""
    rows: dict[str, int] = {}
    for dataset_id, provider, count in contributions:
        if count < 0:
            raise InvalidContribution(dataset_id, f"{count} rows")
        rows[provider.lower()] = rows.get(provider.lower(), 0) + count
    return rows


def loo_values(utility_all: float, utility_without: Mapping[str, float]) -> dict[str, Fraction]:
    """Leave-one-out values: ``max(0, u(all) - u(all without i))``, exact in the floats given.

    Examples
    --------
    >>> loo_values(0.75, {"a": 0.5, "b": 0.875})
    {'a': Fraction(1, 4), 'b': Fraction(0, 1)}
    """
    base = Fraction(utility_all)
    return {key: max(Fraction(0), base - Fraction(u)) for key, u in utility_without.items()}


def split_by_rows(reward: int, rows: Mapping[str, int]) -> dict[str, int]:
    """The rows rule: amounts proportional to each provider's rows."""
    return largest_remainder(reward, {key: Fraction(count) for key, count in rows.items()})


def split_leave_one_out(
    reward: int, rows: Mapping[str, int], values: Mapping[str, Fraction]
) -> dict[str, int]:
    """The leave-one-out rule: amounts proportional to the values; by rows when all are 0
    (no provider's data improved the utility, so none is preferred to another)."""
    if not any(v > 0 for v in values.values()):
        return split_by_rows(reward, rows)
    return largest_remainder(reward, {key: values.get(key, Fraction(0)) for key in rows})
