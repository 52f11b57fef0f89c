"""What a node's refusal of a sent transaction means, for the relayer and every sender.

Nodes word their refusals differently (geth, anvil, Erigon, …); these match the phrases
they share. "Already known" is success (the node holds it), "nonce too low" means the nonce
was used (by one of our attempts, or by someone else with our key), and the permanent ones
can never be cured by sending again.
"""

from __future__ import annotations

from typing import Final

#: Node rejections that no resend can cure: the transaction itself is invalid.
_PERMANENT: Final = (
    "intrinsic gas too low",
    "exceeds block gas limit",
    "oversized",
    "invalid chain id",
)


def is_already_known(message: str) -> bool:
    """The node already holds this transaction: as good as accepted."""
    text = message.lower()
    return "already known" in text or "known transaction" in text or "already imported" in text


def is_nonce_too_low(message: str) -> bool:
    """The transaction's nonce was used already."""
    text = message.lower()
    return "nonce too low" in text or "nonce has already been used" in text


def is_permanent(message: str) -> bool:
    """No resend can cure this refusal."""
    text = message.lower()
    return any(marker in text for marker in _PERMANENT)
