"""A data provider's consent: the dataset offer they sign, and the withdrawal of it.

Both are EIP-712 messages over the TrainingPolicy's domain (name ``fairgov TrainingPolicy``,
version ``1``), signed in the provider's own wallet (an EOA, or a contract wallet that answers
EIP-1271). The contract checks them again; these models build what the wallet signs and the
calldata that carries it. Digests come from eth_account's EIP-712 encoder.
"""

from __future__ import annotations

from typing import Any, Final, Self

from eth_account.messages import _hash_eip191_message, encode_typed_data
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.types import to_address
from governance.actions._values import AddressHex, Hash32Hex, dataset_id_of

UINT64_MAX: Final = 2**64 - 1
POLICY_DOMAIN_NAME: Final = "fairgov TrainingPolicy"
_ZERO: Final = "0x" + "0" * 64

#: The EIP712Domain type of every fairgov contract (name, version, chainId, verifyingContract).
DOMAIN_FIELDS: Final = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
OFFER_FIELDS: Final = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "contentHash", "type": "bytes32"},
    {"name": "manifestHash", "type": "bytes32"},
    {"name": "recordsRoot", "type": "bytes32"},
    {"name": "uri", "type": "string"},
    {"name": "licence", "type": "string"},
    {"name": "termsHash", "type": "bytes32"},
    {"name": "provider", "type": "address"},
    {"name": "issuedAt", "type": "uint64"},
    {"name": "deadline", "type": "uint64"},
]
WITHDRAWAL_FIELDS: Final = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "provider", "type": "address"},
    {"name": "issuedAt", "type": "uint64"},
]
#: The ABI type of the DatasetOffer struct, as a call argument.
OFFER_ABI_TYPE: Final = "(" + ",".join(f["type"] for f in OFFER_FIELDS) + ")"

Timestamp = Field(ge=0, le=UINT64_MAX, description="unix seconds")


def policy_domain(chain_id: int, policy: str) -> dict[str, Any]:
    """The EIP-712 domain of consent messages: the TrainingPolicy at ``policy``."""
    return {
        "name": POLICY_DOMAIN_NAME,
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": to_address(policy),
    }


def _typed(
    primary: str, fields: list[dict[str, str]], domain: dict[str, Any], message: dict[str, Any]
) -> dict[str, Any]:
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, primary: fields},
        "primaryType": primary,
        "domain": domain,
        "message": message,
    }


def typed_digest(typed_data: dict[str, Any]) -> bytes:
    """The 32-byte EIP-712 hash of ``typed_data`` (what ``eth_signTypedData_v4`` signs)."""
    return bytes(_hash_eip191_message(encode_typed_data(full_message=typed_data)))


class DatasetOffer(BaseModel):
    """What a provider signs to offer a dataset: its hashes, records root, licence and terms.

    ``issued_at`` is the provider's clock: an offer counts only when it is newer than the
    dataset's current consent and than the provider's last withdrawal. ``deadline`` is the
    last block timestamp at which the DAO can still accept it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset_id: Hash32Hex
    content_hash: Hash32Hex
    manifest_hash: Hash32Hex
    records_root: Hash32Hex
    uri: str
    licence: str = ""
    terms_hash: Hash32Hex = _ZERO
    provider: AddressHex
    issued_at: int = Timestamp
    deadline: int = Timestamp

    @model_validator(mode="after")
    def _check(self) -> Self:
        hashes = (self.dataset_id, self.content_hash, self.manifest_hash, self.records_root)
        if _ZERO in hashes:
            raise ValueError(
                "dataset id, content hash, manifest hash and records root must not be zero"
            )
        if self.deadline < self.issued_at:
            raise ValueError("the deadline is before the offer was issued")
        return self

    def message(self) -> dict[str, Any]:
        """The EIP-712 message; integers as decimal strings, as wallets take them."""
        return {
            "datasetId": self.dataset_id,
            "contentHash": self.content_hash,
            "manifestHash": self.manifest_hash,
            "recordsRoot": self.records_root,
            "uri": self.uri,
            "licence": self.licence,
            "termsHash": self.terms_hash,
            "provider": self.provider,
            "issuedAt": str(self.issued_at),
            "deadline": str(self.deadline),
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Self:
        """The offer from its EIP-712 message, or from a ``DatasetAllowed`` event's ``offer``."""
        return cls(
            dataset_id=message["datasetId"],
            content_hash=message["contentHash"],
            manifest_hash=message["manifestHash"],
            records_root=message["recordsRoot"],
            uri=message["uri"],
            licence=message["licence"],
            terms_hash=message["termsHash"],
            provider=message["provider"],
            issued_at=int(message["issuedAt"]),
            deadline=int(message["deadline"]),
        )

    def typed_data(self, chain_id: int, policy: str) -> dict[str, Any]:
        """Typed data for the provider's wallet (``eth_signTypedData_v4``)."""
        return _typed("DatasetOffer", OFFER_FIELDS, policy_domain(chain_id, policy), self.message())

    def digest(self, chain_id: int, policy: str) -> bytes:
        """The EIP-712 hash the provider signs (TrainingPolicy.hashOffer)."""
        return typed_digest(self.typed_data(chain_id, policy))

    def abi_tuple(self) -> tuple[Any, ...]:
        """The offer as the struct argument of ``allowDataset``."""
        word = bytes.fromhex
        return (
            word(self.dataset_id[2:]),
            word(self.content_hash[2:]),
            word(self.manifest_hash[2:]),
            word(self.records_root[2:]),
            self.uri,
            self.licence,
            word(self.terms_hash[2:]),
            self.provider,
            self.issued_at,
            self.deadline,
        )

    @classmethod
    def from_abi(cls, value: Any) -> Self:
        """The offer from a decoded struct (a tuple in ABI order)."""
        dataset, content, manifest, root, uri, licence, terms, provider, issued, deadline = value
        return cls(
            dataset_id="0x" + bytes(dataset).hex(),
            content_hash="0x" + bytes(content).hex(),
            manifest_hash="0x" + bytes(manifest).hex(),
            records_root="0x" + bytes(root).hex(),
            uri=uri,
            licence=licence,
            terms_hash="0x" + bytes(terms).hex(),
            provider=provider,
            issued_at=issued,
            deadline=deadline,
        )

    @classmethod
    def for_name(cls, name: str, **fields: Any) -> Self:
        """An offer of the dataset called ``name`` (its id is ``keccak256(name)``)."""
        return cls(dataset_id=dataset_id_of(name), **fields)


class DatasetWithdrawal(BaseModel):
    """What a provider signs to withdraw consent to a dataset as of ``issued_at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    dataset_id: Hash32Hex
    provider: AddressHex
    issued_at: int = Timestamp

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Self:
        """The withdrawal from its EIP-712 message."""
        return cls(
            dataset_id=message["datasetId"],
            provider=message["provider"],
            issued_at=int(message["issuedAt"]),
        )

    def message(self) -> dict[str, Any]:
        return {
            "datasetId": self.dataset_id,
            "provider": self.provider,
            "issuedAt": str(self.issued_at),
        }

    def typed_data(self, chain_id: int, policy: str) -> dict[str, Any]:
        """Typed data for the provider's wallet (``eth_signTypedData_v4``)."""
        return _typed(
            "DatasetWithdrawal", WITHDRAWAL_FIELDS, policy_domain(chain_id, policy), self.message()
        )

    def digest(self, chain_id: int, policy: str) -> bytes:
        """The EIP-712 hash the provider signs (TrainingPolicy.hashWithdrawal)."""
        return typed_digest(self.typed_data(chain_id, policy))
