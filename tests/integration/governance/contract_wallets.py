"""EIP-1271 wallets that decide in their own code, placed at an address with ``anvil_setCode``.

Their runtime code is a few hand-assembled instructions (nothing compiles in the tests), after
/tmp/review_attack/sol/GriefWallet.sol of the review: a wallet may accept a signature in every
simulation and refuse it in the mined transaction.
"""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

#: Return the EIP-1271 magic value 0x1626ba7e: PUSH4 magic, PUSH1 224, SHL, PUSH0, MSTORE,
#: PUSH1 32, PUSH0, RETURN.
_ACCEPT = "631626ba7e60e01b5f5260205ff3"
#: PUSH0, PUSH0, REVERT.
_REFUSE = "5f5ffd"

#: Accepts every signature.
ANY_SIGNATURE = _ACCEPT
#: Accepts only at a gas price of 0, which a simulation without fees runs at: GASPRICE,
#: ISZERO, PUSH1 8, JUMPI, refuse; JUMPDEST (8), accept.
UNPRICED_ONLY = "3a15600857" + _REFUSE + "5b" + _ACCEPT


def up_to_block(block: int) -> str:
    """Accepts only while the block number is at most ``block``: a simulation on the latest
    block (``block``) passes and the transaction mined in the next block fails. PUSH4 block,
    NUMBER, GT, PUSH1 24, JUMPI, accept; JUMPDEST (24), refuse."""
    return f"63{block:08x}4311601857" + _ACCEPT + "5b" + _REFUSE


def place_wallet(w3: Web3, code: str, address: str | None = None) -> str:
    """Put ``code`` at ``address`` (default: a fresh one); the wallet's checksum address."""
    where = Web3.to_checksum_address(address or Account.create().address)
    w3.provider.make_request("anvil_setCode", [where, "0x" + code])  # type: ignore[arg-type]
    return where
