"""Split rules: exact integer amounts, deterministic dust, leave-one-out values."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from governance.errors import InvalidContribution
from governance.rewards import (
    SplitRule,
    largest_remainder,
    loo_values,
    split_by_rows,
    split_leave_one_out,
)
from governance.rewards._split import rows_by_provider

TOKEN = 10**18


def test_rows_split_is_proportional_and_exact():
    amounts = split_by_rows(1000 * TOKEN, {"0xa": 300, "0xb": 700})
    assert amounts == {"0xa": 300 * TOKEN, "0xb": 700 * TOKEN}


def test_dust_goes_to_the_largest_remainders_then_the_lower_address():
    # 100 / 3 = 33.33… each: one unit of dust, all remainders equal, so the lowest key gets it
    assert largest_remainder(100, {"0xc": Fraction(1), "0xa": Fraction(1), "0xb": Fraction(1)}) == {
        "0xc": 33,
        "0xa": 34,
        "0xb": 33,
    }
    # 10 split 1:2:3:4 over 10 parts is exact
    assert largest_remainder(
        10, {k: Fraction(v) for k, v in zip("abcd", (1, 2, 3, 4), strict=True)}
    ) == {
        "a": 1,
        "b": 2,
        "c": 3,
        "d": 4,
    }
    # 7 split 1:1:1:1 → 1.75 each: three units of dust go to a, b, c
    assert list(largest_remainder(7, dict.fromkeys("dcba", Fraction(1))).values()) == [1, 2, 2, 2]


@given(
    total=st.integers(min_value=0, max_value=10**30),
    weights=st.lists(st.integers(min_value=0, max_value=10**9), min_size=1, max_size=12),
)
def test_amounts_always_sum_to_the_reward_and_never_go_negative(total, weights):
    keyed = {f"0x{i:02x}": Fraction(w) for i, w in enumerate(weights)}
    amounts = largest_remainder(total, keyed)
    assert all(a >= 0 for a in amounts.values())
    if any(weights):
        assert sum(amounts.values()) == total
        # nobody is more than one unit away from their exact share
        whole = sum(weights)
        for key, w in keyed.items():
            assert abs(amounts[key] - Fraction(total) * w / whole) < 1
    else:
        assert sum(amounts.values()) == 0


def test_the_split_does_not_depend_on_the_order_of_the_providers():
    forward = split_by_rows(10**21 + 1, {"0xa": 1, "0xb": 1, "0xc": 1})
    backward = split_by_rows(10**21 + 1, {"0xc": 1, "0xb": 1, "0xa": 1})
    assert forward == backward


def test_leave_one_out_values_with_known_utilities():
    values = loo_values(0.75, {"0xa": 0.5, "0xb": 0.875, "0xc": 0.625})
    assert values == {"0xa": Fraction(1, 4), "0xb": Fraction(0), "0xc": Fraction(1, 8)}
    amounts = split_leave_one_out(300, {"0xa": 10, "0xb": 10, "0xc": 10}, values)
    assert amounts == {"0xa": 200, "0xb": 0, "0xc": 100}


def test_leave_one_out_falls_back_to_rows_when_no_provider_adds_value():
    values = loo_values(0.5, {"0xa": 0.5, "0xb": 0.75})
    assert split_leave_one_out(40, {"0xa": 1, "0xb": 3}, values) == {"0xa": 10, "0xb": 30}


def test_rows_of_several_datasets_of_one_provider_add_up():
    rows = rows_by_provider([("d1", "0xAA", 5), ("d2", "0xaa", 7), ("d3", "0xbb", 1)])
    assert rows == {"0xaa": 12, "0xbb": 1}


def test_negative_rows_are_refused():
    with pytest.raises(InvalidContribution) as info:
        rows_by_provider([("d1", "0xaa", -1)])
    assert info.value.code == "reward_invalid_contribution"


def test_the_rule_reads_the_contracts_enum():
    assert SplitRule.from_chain(0) == SplitRule.ROWS
    assert SplitRule.from_chain(1) == SplitRule.LEAVE_ONE_OUT
