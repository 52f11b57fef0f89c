"""Calldata for hot paths, encoded directly with eth-abi.

web3's ``Contract.encode_abi`` re-validates the whole ABI on every call (about 5 ms for the
governor); the intake and the relayer encode thousands of calls a second, so they name
the function's argument types here and encode once per call.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak


@functools.cache
def selector(name: str, types: tuple[str, ...]) -> bytes:
    """The 4-byte selector of ``name(types…)``."""
    return keccak(text=f"{name}({','.join(types)})")[:4]


_WORD_HEX = 64
_HEX_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def encode_call(name: str, types: tuple[str, ...], args: list[Any]) -> str:
    """0x-hex calldata of ``name(types…)`` called with ``args``."""
    head = "0x" + selector(name, types).hex()
    fast = _static_words(types, args)
    if fast is not None:
        return head + fast
    return head + abi_encode(list(types), args).hex()


def _static_words(types: tuple[str, ...], args: list[Any]) -> str | None:
    """The hex encoding of ``uint256`` and ``address`` arguments, word by word, or None
    when an argument is of another type or out of range (eth-abi then encodes, or refuses).

    The intake's view calls (``nonces``, ``hasVoted``, ``getPastVotes``) take only these;
    eth-abi's general encoder cost more than the node's answer.
    """
    words = []
    for kind, value in zip(types, args, strict=True):
        if kind == "uint256" and type(value) is int and 0 <= value < 2**256:
            words.append(f"{value:064x}")
        elif kind == "address" and isinstance(value, str) and _is_hex_address(value):
            words.append(value[2:].lower().rjust(_WORD_HEX, "0"))
        else:
            return None
    return "".join(words)


def _is_hex_address(value: str) -> bool:
    """0x and 40 hex digits, in any case (eth-abi does not check EIP-55 checksums either)."""
    return _HEX_ADDRESS.fullmatch(value) is not None
