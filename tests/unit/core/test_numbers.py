"""Numbers a user writes as text: plain ASCII only (core.numbers)."""

from __future__ import annotations

import pytest

from core.numbers import is_decimal_text, is_whole_text


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
