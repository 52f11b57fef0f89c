"""The shared type vocabulary: the names every package uses for chain values."""

from __future__ import annotations

import functools
from typing import Annotated, Final, NewType

from eth_hash.auto import keccak
from eth_typing import ChecksumAddress, HexStr
from eth_typing import HexAddress as EthHexAddress
from pydantic import StringConstraints

#: A checksummed 0x-prefixed Ethereum address; web3 takes it where it wants a
#: ``ChecksumAddress``, without a cast.
Address = NewType("Address", ChecksumAddress)

#: A 0x-prefixed, 64 hex digit, lowercase 32-byte value (hashes, ids).
Hash32 = NewType("Hash32", str)

#: ``0x`` and 40 hex digits, any case (what :func:`to_address` accepts).
ADDRESS_PATTERN: Final = r"^0x[0-9a-fA-F]{40}$"

#: ``0x`` and 64 hex digits, any case (what :func:`to_hash32` accepts).
HASH32_PATTERN: Final = r"^0x[0-9a-fA-F]{64}$"

#: Validation shape of a hex address in pydantic models (and in an OpenAPI schema).
HexAddress = Annotated[str, StringConstraints(pattern=ADDRESS_PATTERN)]

#: Validation shape of a 32-byte hex value in pydantic models (and in an OpenAPI schema).
HexHash32 = Annotated[str, StringConstraints(pattern=HASH32_PATTERN)]


_HEX = frozenset("0123456789abcdefABCDEF")


def is_hex_address(value: str) -> bool:
    """``0x`` followed by 40 hex digits (any case)."""
    return len(value) == 42 and value[:2] == "0x" and all(c in _HEX for c in value[2:])


def is_hash32(value: str) -> bool:
    """``0x`` followed by 64 hex digits (any case)."""
    return len(value) == 66 and value[:2] == "0x" and all(c in _HEX for c in value[2:])


@functools.lru_cache(maxsize=65_536)
def to_address(value: str) -> Address:
    """The EIP-55 checksummed form of ``0x`` + 40 hex digits; the one checksum helper.

    Raises ``ValueError`` for anything else (callers turn it into their own error code).
    eth-utils' ``to_checksum_address`` accepts many input types and checks them all, which
    made it a tenth of the cost of accepting a ballot; voters come back, hence the cache.

    >>> to_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed")
    '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed'
    """
    if not is_hex_address(value):
        raise ValueError(f"not an address (0x and 40 hex digits): {value!r}")
    digits = value[2:].lower()
    hashed = keccak(digits.encode("ascii")).hex()[:40]
    checksummed = "0x" + "".join(
        c.upper() if c > "9" and h >= "8" else c for c, h in zip(digits, hashed, strict=True)
    )
    return Address(ChecksumAddress(EthHexAddress(HexStr(checksummed))))


def to_hash32(value: str) -> Hash32:
    """The lower-case form of ``0x`` + 64 hex digits; ``ValueError`` for anything else."""
    if not is_hash32(value):
        raise ValueError(f"not a 32-byte hex value (0x and 64 hex digits): {value!r}")
    return Hash32(value.lower())


def hash32_of(data: bytes) -> Hash32:
    """A 32-byte value (a chain ``bytes32``, a digest) as ``0x`` and 64 lower-case hex digits.

    Raises ``ValueError`` for any other length, so a truncated or padded value never passes
    as a hash.

    >>> hash32_of(bytes(31) + b"\\xab")
    '0x00000000000000000000000000000000000000000000000000000000000000ab'
    """
    raw = bytes(data)
    if len(raw) != 32:
        raise ValueError(f"not 32 bytes: {len(raw)} bytes")
    return Hash32("0x" + raw.hex())
