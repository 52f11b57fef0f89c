"""Numbers written as text by people: plain ASCII only.

``int``, ``float`` and ``Decimal`` also read other scripts' digits (Arabic-Indic, full-width) and
underscores (``"0.9_5"``), which no wallet or terminal shows as the number a user thinks they
typed or signed; and ``int`` stops at 4,300 digits with its own message. Every place that reads
a user's number from text checks it against these first.
"""

from __future__ import annotations

import re
from typing import Final

DECIMAL_TEXT: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,9})?")
"""A decimal number, with an optional exponent of at most nine digits."""

WHOLE_TEXT: Final = re.compile(r"[+-]?[0-9]{1,40}")
"""A whole number of at most 40 digits (a uint64 has 20; more is out of any range checked)."""


UINT256_TEXT: Final = re.compile(r"[0-9]{1,78}|0[xX][0-9a-fA-F]{1,64}")
"""An on-chain id as a person copies it (a proposal id): decimal, or ``0x`` and hex."""


def uint256_from_text(text: str) -> int | None:
    """The number ``text`` (surrounding spaces allowed) writes by :data:`UINT256_TEXT`, or
    None; ``int(text, 0)`` would read ``1_0`` as 10 and refuse ``012``.

    >>> uint256_from_text("012"), uint256_from_text("0x1f"), uint256_from_text("1_0")
    (12, 31, None)
    """
    digits = text.strip()
    if UINT256_TEXT.fullmatch(digits) is None:
        return None
    value = int(digits[2:], 16) if digits[:2] in ("0x", "0X") else int(digits, 10)
    return value if value < 2**256 else None


def is_decimal_text(text: str) -> bool:
    """Whether ``text`` (surrounding spaces allowed) is a plain ASCII decimal number."""
    return DECIMAL_TEXT.fullmatch(text.strip()) is not None


def is_whole_text(text: str) -> bool:
    """Whether ``text`` (surrounding spaces allowed) is a plain ASCII whole number."""
    return WHOLE_TEXT.fullmatch(text.strip()) is not None
