"""The shared type vocabulary: 32-byte values become one lower-case hex spelling."""

from __future__ import annotations

import doctest

import pytest
from hexbytes import HexBytes

import core.types
from core.types import hash32_of, is_hash32, to_hash32


def test_a_32_byte_value_becomes_0x_and_64_lower_case_hex_digits() -> None:
    digest = bytes(range(0xE0, 0x100))
    assert hash32_of(digest) == "0x" + "".join(f"{b:02x}" for b in range(0xE0, 0x100))
    assert is_hash32(hash32_of(digest))
    assert to_hash32(hash32_of(digest).upper().replace("0X", "0x")) == hash32_of(digest)


def test_what_web3_returns_is_accepted_as_its_bytes() -> None:
    assert hash32_of(HexBytes(b"\xab" * 32)) == "0x" + "ab" * 32
    assert hash32_of(bytearray(32)) == "0x" + "00" * 32


@pytest.mark.parametrize("length", [0, 20, 31, 33, 64])
def test_any_other_length_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match=f"not 32 bytes: {length} bytes"):
        hash32_of(bytes(length))


def test_the_examples_in_the_docstrings_hold() -> None:
    result = doctest.testmod(core.types)
    assert (result.failed, result.attempted >= 2) == (0, True)
