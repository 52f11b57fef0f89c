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


def is_decimal_text(text: str) -> bool:
    """Whether ``text`` (surrounding spaces allowed) is a plain ASCII decimal number."""
    return DECIMAL_TEXT.fullmatch(text.strip()) is not None


def is_whole_text(text: str) -> bool:
    """Whether ``text`` (surrounding spaces allowed) is a plain ASCII whole number."""
    return WHOLE_TEXT.fullmatch(text.strip()) is not None
