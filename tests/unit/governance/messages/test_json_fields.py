"""A signed message's JSON is checked against its EIP-712 type, one line per problem."""

from __future__ import annotations

import pytest

from governance.messages.json_fields import check_message

FIELDS = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "delta", "type": "int256"},
]
GOOD = {"datasetId": "0x" + "11" * 32, "issuedAt": "1700000000", "delta": -3}


@pytest.mark.parametrize(
    "message",
    [GOOD, GOOD | {"issuedAt": 1700000000}, GOOD | {"delta": "-3"}, GOOD | {"extra": None}],
)
def test_what_wallets_send_passes(message: dict[str, object]) -> None:
    check_message(message, FIELDS)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            {"issuedAt": None},
            "issuedAt must be an integer, or a string of decimal digits (a uint64), not null",
        ),
        ({"issuedAt": [1]}, "not a list"),
        ({"issuedAt": {}}, "not an object"),
        ({"issuedAt": True}, "not a boolean"),
        ({"issuedAt": 1.5}, "not the number 1.5"),
        ({"issuedAt": "-1"}, "not '-1'"),
        ({"issuedAt": "\u0661"}, "(a uint64)"),
        ({"issuedAt": "1" * 79}, "(a uint64)"),
        ({"delta": "--3"}, "delta must be an integer"),
        ({"datasetId": 7}, "datasetId must be a string (a bytes32), not the number 7"),
    ],
)
def test_a_field_json_cannot_carry_is_named(change: dict[str, object], problem: str) -> None:
    with pytest.raises(ValueError, match=r"must be") as refused:
        check_message(GOOD | change, FIELDS)
    assert problem in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_missing_field_is_named() -> None:
    with pytest.raises(ValueError, match=r"^it lacks issuedAt$"):
        check_message({"datasetId": GOOD["datasetId"], "delta": 1}, FIELDS)
