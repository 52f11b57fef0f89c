"""The JSON of a signed EIP-712 message, checked against the message's type before use.

A wallet posts the ``message`` it signed as JSON. The models built from it read an integer
field with ``int(...)``, which turns a null, a list or an object into a ``TypeError`` (a 500)
and a float into a silently truncated number. :func:`check_message` checks every field of
the EIP-712 type first, so that any such message is refused in one line that names the field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

MISSING: Final = "it lacks {name}"
NOT_AN_INTEGER: Final = (
    "{name} must be an integer, or a string of decimal digits (a {type}), not {found}"
)
NOT_A_STRING: Final = "{name} must be a string (a {type}), not {found}"

#: A uint256 has at most 78 decimal digits.
_MAX_DIGITS: Final = 78


def check_message(message: Mapping[str, Any], fields: Iterable[Mapping[str, str]]) -> None:
    """Raise :class:`ValueError` unless every field of the EIP-712 type ``fields`` (its
    ``{"name", "type"}`` entries) is in ``message`` with a JSON type that can carry it:
    integers (``uintN``, ``intN``) as JSON integers or strings of ASCII decimal digits
    (``eth_signTypedData_v4`` takes both), every other type as a string. The values
    themselves (hex widths, ranges) are the model's to check.

    Examples
    --------
    >>> check_message({"issuedAt": None}, [{"name": "issuedAt", "type": "uint64"}])
    Traceback (most recent call last):
    ValueError: issuedAt must be an integer, or a string of decimal digits (a uint64), not null
    """
    for field in fields:
        name, kind = field["name"], field["type"]
        if name not in message:
            raise ValueError(MISSING.format(name=name))
        value = message[name]
        if kind.startswith(("uint", "int")):
            if not _is_integer(value, signed=kind.startswith("int")):
                raise ValueError(NOT_AN_INTEGER.format(name=name, type=kind, found=_shown(value)))
        elif not isinstance(value, str):
            raise ValueError(NOT_A_STRING.format(name=name, type=kind, found=_shown(value)))


def _is_integer(value: Any, *, signed: bool) -> bool:
    if isinstance(value, bool):  # a JSON true is not the number 1
        return False
    if isinstance(value, int):
        return True
    if not isinstance(value, str):
        return False
    digits = value[1:] if signed and value.startswith("-") else value
    return 0 < len(digits) <= _MAX_DIGITS and digits.isascii() and digits.isdigit()


def _shown(value: Any) -> str:
    """How a wrong value is named in the refusal: its JSON kind, or the text itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return repr(value[:20] + ("…" if len(value) > 20 else ""))
    return type(value).__name__  # pragma: no cover - JSON has no other kinds
