"""Calldata for hot paths, encoded directly with eth-abi.

web3's ``Contract.encode_abi`` re-validates the whole ABI on every call (about 5 ms for the
governor); the intake and the relayer encode thousands of calls a second, so they name
the function's argument types here and encode once per call.
"""

from __future__ import annotations

import functools
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak


@functools.cache
def selector(name: str, types: tuple[str, ...]) -> bytes:
    """The 4-byte selector of ``name(types…)``."""
    return keccak(text=f"{name}({','.join(types)})")[:4]


def encode_call(name: str, types: tuple[str, ...], args: list[Any]) -> str:
    """0x-hex calldata of ``name(types…)`` called with ``args``."""
    return "0x" + (selector(name, types) + abi_encode(list(types), args)).hex()
