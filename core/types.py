"""The shared type vocabulary: the names every package uses for chain values."""

from __future__ import annotations

from typing import Annotated, NewType

from pydantic import StringConstraints

#: A checksummed 0x-prefixed Ethereum address.
Address = NewType("Address", str)

#: A 0x-prefixed, 64 hex digit, lowercase 32-byte value (hashes, ids).
Hash32 = NewType("Hash32", str)

#: A governor proposal id (uint256).
ProposalId = NewType("ProposalId", int)

#: A chain id (EIP-155).
ChainId = NewType("ChainId", int)

#: A block number.
BlockNumber = NewType("BlockNumber", int)

#: Validation shape of a hex address in pydantic models.
HexAddress = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{40}$")]

#: Validation shape of a 32-byte hex value in pydantic models.
HexHash32 = Annotated[str, StringConstraints(pattern=r"^0x[0-9a-fA-F]{64}$")]
