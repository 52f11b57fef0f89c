"""EIP-712 signatures made off chain, the way a wallet signs ballots, delegations, dataset offers
and withdrawals of consent."""

from dataclasses import dataclass

from brownie import chain
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]
BALLOT = [
    {"name": "proposalId", "type": "uint256"},
    {"name": "support", "type": "uint8"},
    {"name": "voter", "type": "address"},
    {"name": "nonce", "type": "uint256"},
]
EXTENDED_BALLOT = [
    *BALLOT,
    {"name": "reason", "type": "string"},
    {"name": "params", "type": "bytes"},
]
DELEGATION = [
    {"name": "delegatee", "type": "address"},
    {"name": "nonce", "type": "uint256"},
    {"name": "expiry", "type": "uint256"},
]

DATASET_OFFER = [
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
DATASET_WITHDRAWAL = [
    {"name": "datasetId", "type": "bytes32"},
    {"name": "provider", "type": "address"},
    {"name": "issuedAt", "type": "uint64"},
]
POLICY_NAME = "fairgov TrainingPolicy"


@dataclass(frozen=True)
class Signer:
    """A key that exists only off chain, like a wallet user who never sends a transaction."""

    key: bytes

    @classmethod
    def named(cls, label):
        return cls(keccak(text=f"fairgov test signer {label}"))

    @property
    def address(self):
        return Account.from_key(self.key).address


def domain(contract, *, chain_id=None, name=None, verifying_contract=None):
    """The EIP-712 domain fairgov's contracts use: their name() (or `name`) with version "1"."""
    return {
        "name": contract.name() if name is None else name,
        "version": "1",
        "chainId": chain.id if chain_id is None else chain_id,
        "verifyingContract": str(verifying_contract or contract.address),
    }


def typed_message(domain_data, primary_type, fields, message):
    return encode_typed_data(
        full_message={
            "types": {"EIP712Domain": EIP712_DOMAIN, primary_type: fields},
            "primaryType": primary_type,
            "domain": domain_data,
            "message": message,
        }
    )


def sign_ballot(signer, governor, proposal_id, support, *, nonce, voter=None, chain_id=None):
    """A `Ballot` signature as bytes (r ‖ s ‖ v), ready for castVoteBySig."""
    message = typed_message(
        domain(governor, chain_id=chain_id),
        "Ballot",
        BALLOT,
        {
            "proposalId": proposal_id,
            "support": support,
            "voter": voter or signer.address,
            "nonce": nonce,
        },
    )
    return bytes(Account.sign_message(message, signer.key).signature)


def sign_extended_ballot(signer, governor, proposal_id, support, *, nonce, reason, params=b""):
    """An `ExtendedBallot` signature, for castVoteWithReasonAndParamsBySig."""
    message = typed_message(
        domain(governor),
        "ExtendedBallot",
        EXTENDED_BALLOT,
        {
            "proposalId": proposal_id,
            "support": support,
            "voter": signer.address,
            "nonce": nonce,
            "reason": reason,
            "params": params,
        },
    )
    return bytes(Account.sign_message(message, signer.key).signature)


def delegation_message(token, delegatee, *, nonce, expiry):
    return typed_message(
        domain(token),
        "Delegation",
        DELEGATION,
        {"delegatee": str(delegatee), "nonce": nonce, "expiry": expiry},
    )


def sign_delegation(signer, token, delegatee, *, nonce, expiry):
    """A `Delegation` signature split as (v, r, s), for delegateBySig."""
    signed = Account.sign_message(
        delegation_message(token, delegatee, nonce=nonce, expiry=expiry), signer.key
    )
    return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")


def flip_byte(signature, index):
    """The signature with one byte inverted."""
    tampered = bytearray(signature)
    tampered[index] ^= 0xFF
    return bytes(tampered)


def sign_offer(signer, policy, offer, *, chain_id=None, verifying_contract=None):
    """A `DatasetOffer` signature (r ‖ s ‖ v) by `signer`, for allowDataset.

    `offer` is a dao.Offer; its provider may be a contract wallet the signer's key controls.
    """
    message = typed_message(
        domain(policy, chain_id=chain_id, name=POLICY_NAME, verifying_contract=verifying_contract),
        "DatasetOffer",
        DATASET_OFFER,
        offer.message(),
    )
    return bytes(Account.sign_message(message, signer.key).signature)


def sign_withdrawal(signer, policy, dataset_id, *, issued_at, provider=None, chain_id=None):
    """A `DatasetWithdrawal` signature, for withdrawDatasetBySig."""
    message = typed_message(
        domain(policy, chain_id=chain_id, name=POLICY_NAME),
        "DatasetWithdrawal",
        DATASET_WITHDRAWAL,
        {
            "datasetId": dataset_id,
            "provider": str(provider or signer.address),
            "issuedAt": issued_at,
        },
    )
    return bytes(Account.sign_message(message, signer.key).signature)
