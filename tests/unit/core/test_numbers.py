"""Numbers a user writes as text: plain ASCII only (core.numbers)."""

from __future__ import annotations

import pytest

from core.numbers import is_decimal_text, is_whole_text, uint256_from_text


@pytest.mark.parametrize("text", ["0.95", " 0.95 ", ".5", "1.", "-0.9", "+1", "9.5e-1", "1E3"])
def test_plain_decimals_are_read(text: str) -> None:
    assert is_decimal_text(text)
    float(text)  # and Python reads them as the same number


@pytest.mark.parametrize(
    "text",
    [
        "\u0660.\u0669\u0665",
        "\uff10.\uff19\uff15",
        "0.9_5",
        "nan",
        "inf",
        "",
        ".",
        "1e",
        "1e1234567890",
        "0x1",
    ],
)
def test_other_digits_underscores_and_words_are_not(text: str) -> None:
    assert not is_decimal_text(text)


@pytest.mark.parametrize("text", ["30", " -1 ", "+7", "9" * 40])
def test_plain_whole_numbers_are_read(text: str) -> None:
    assert is_whole_text(text)


@pytest.mark.parametrize("text", ["\uff13\uff10", "3_0", "1.0", "9" * 41, "", "-"])
def test_other_whole_numbers_are_not(text: str) -> None:
    # Python's int reads the first two, and stops at 4,300 digits with its own message.
    assert not is_whole_text(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("12", 12), (" 012 ", 12), ("0x1f", 31), ("0X1F", 31), ("9" * 77, int("9" * 77))],
)
def test_an_on_chain_id_is_read_in_decimal_or_hex(text: str, value: int) -> None:
    assert uint256_from_text(text) == value


@pytest.mark.parametrize(
    "text",
    # int(text, 0) reads "1_0" as 10 and refuses "012"; isdigit() takes "\u0661\u0662".
    ["1_0", "\u0661\u0662", "-1", "0x", "0xzz", "", "1.0", "9" * 79, "0x" + "f" * 65],
)
def test_other_ids_are_not(text: str) -> None:
    assert uint256_from_text(text) is None


def test_an_id_of_2_to_the_256_or_more_is_not() -> None:
    assert uint256_from_text(str(2**256 - 1)) == 2**256 - 1
    assert uint256_from_text(str(2**256)) is None
