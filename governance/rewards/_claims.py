"""Claims: the EIP-712 Claim a provider signs, and the checks that keep a bad claim off the
chain.

``ProviderRewards.claimBySig`` pays ``account`` when the signature over
``Claim(uint256 epoch,address account,uint256 amount,uint256 deadline)`` in the domain
("fairgov ProviderRewards", "1", chain id, the contract) is the account's. The service serves
that typed data (like ballots), and :func:`check_claim` refuses, before anything is queued,
every claim the contract would refuse: wrong proof, repeated claim, another address's claim,
a cancelled epoch, an open window, an expired deadline.
"""

from __future__ import annotations

from typing import Any, Final

from eth_abi.abi import encode as abi_encode
from eth_utils.crypto import keccak
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.types import Address, to_address
from governance.actions import DOMAIN_FIELDS
from governance.chain.calldata import encode_call
from governance.errors import (
    ChallengeWindowOpen,
    ClaimDeadlineTooSoon,
    ClaimExpired,
    InvalidRewardProof,
    RewardAlreadyClaimed,
    RewardEpochCancelled,
    SignerMismatch,
    WalletRefusedClaim,
)
from governance.messages.eip712 import Domain, digest, recover_signer
from governance.rewards._statement import EpochState
from governance.rewards._tree import verify_reward_proof

#: The EIP-712 domain name of ProviderRewards (its constructor's ``EIP712(name, "1")``).
REWARDS_DOMAIN_NAME: Final = "fairgov ProviderRewards"
#: The least time, in seconds, a claim's deadline must leave after the latest block: the
#: relayer's transaction is mined in a later block (ten 12-second blocks).
CLAIM_DEADLINE_MARGIN: Final = 120
#: The longest signature accepted (an EIP-1271 wallet's may be longer than 65 bytes, e.g. a
#: multisig's several signatures).
MAX_SIGNATURE_BYTES: Final = 1024
#: A claim's signature: 65 bytes from a key, up to :data:`MAX_SIGNATURE_BYTES` for a wallet.
CLAIM_SIGNATURE_PATTERN: Final = rf"^0x(?:[0-9a-fA-F]{{2}}){{65,{MAX_SIGNATURE_BYTES}}}$"
CLAIM_FIELDS: Final = [
    {"name": "epoch", "type": "uint256"},
    {"name": "account", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
CLAIM_TYPEHASH: Final = keccak(
    text="Claim(uint256 epoch,address account,uint256 amount,uint256 deadline)"
)


def rewards_domain(chain_id: int, rewards: str) -> Domain:
    """The EIP-712 domain claims are signed over."""
    return Domain(REWARDS_DOMAIN_NAME, chain_id, rewards)


def claim_typed_data(
    domain: Domain, *, epoch: int, account: str, amount: int, deadline: int
) -> dict[str, Any]:
    """Typed data for ``eth_signTypedData_v4``: a Claim (uints as decimal strings)."""
    return {
        "types": {"EIP712Domain": DOMAIN_FIELDS, "Claim": CLAIM_FIELDS},
        "primaryType": "Claim",
        "domain": domain.as_json(),
        "message": {
            "epoch": str(epoch),
            "account": to_address(account),
            "amount": str(amount),
            "deadline": str(deadline),
        },
    }


class SignedClaim(BaseModel):
    """A provider's signed claim of their amount in one epoch, with its Merkle proof."""

    model_config = ConfigDict(frozen=True)

    epoch: int = Field(ge=1, lt=2**256)
    account: Address = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    amount: int = Field(ge=0, lt=2**256)
    deadline: int = Field(ge=0, lt=2**256)
    proof: tuple[str, ...] = Field(max_length=64)
    signature: str = Field(
        pattern=CLAIM_SIGNATURE_PATTERN,
        description="65-byte r‖s‖v from a key; what its EIP-1271 wallet accepts from a contract",
    )

    @field_validator("account")
    @classmethod
    def _checksum(cls, value: str) -> Address:
        return to_address(value)

    @field_validator("proof")
    @classmethod
    def _hashes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for step in value:
            if len(step) != 66 or not step.startswith("0x"):
                raise ValueError(f"a proof step must be a 0x-prefixed 32-byte hash: {step:.80}")
            bytes.fromhex(step[2:])
        return value

    def struct_hash(self) -> bytes:
        return keccak(
            abi_encode(
                ["bytes32", "uint256", "address", "uint256", "uint256"],
                [CLAIM_TYPEHASH, self.epoch, self.account, self.amount, self.deadline],
            )
        )

    def digest(self, domain: Domain) -> bytes:
        """The EIP-712 digest this claim's signature is over, in ``domain``."""
        return digest(domain, self.struct_hash())

    def signer(self, domain: Domain) -> Address:
        """The address that signed this claim in ``domain`` (a key's 65-byte signature)."""
        return recover_signer(self.digest(domain), bytes.fromhex(self.signature[2:]))

    def calldata(self) -> str:
        """``claimBySig(epoch, account, amount, proof, deadline, signature)``."""
        return encode_call(
            "claimBySig",
            ("uint256", "address", "uint256", "bytes32[]", "uint256", "bytes"),
            [
                self.epoch,
                self.account,
                self.amount,
                [bytes.fromhex(step[2:]) for step in self.proof],
                self.deadline,
                bytes.fromhex(self.signature[2:]),
            ],
        )


def check_claim(
    claim: SignedClaim,
    *,
    domain: Domain,
    epoch: EpochState,
    now: int,
    claimed: bool,
    wallet_accepts: bool | None = None,
) -> None:
    """Refuse a claim the contract would refuse, in the order a provider can fix it.

    As the contract's SignatureChecker does, an account without code must have signed with
    its key (``wallet_accepts`` None); for a contract account, ``wallet_accepts`` is what its
    EIP-1271 ``isValidSignature`` answered (``wallet_accepts_claim`` in the intake).

    ``epoch`` is the chain's state of the claimed epoch, ``now`` the latest block's time,
    ``claimed`` whether the account claimed it already (on chain or queued). A deadline less
    than :data:`CLAIM_DEADLINE_MARGIN` seconds after ``now`` is refused too: the relayer's
    transaction lands in a later block, where it would revert at the relayer's expense.
    """
    if wallet_accepts is None:
        recovered = claim.signer(domain)
        if recovered != claim.account:
            raise SignerMismatch(claimed=claim.account, recovered=recovered)
    elif not wallet_accepts:
        raise WalletRefusedClaim(account=claim.account)
    if epoch.cancelled:
        raise RewardEpochCancelled(epoch.number)
    if now < epoch.challenge_ends:
        raise ChallengeWindowOpen(epoch=epoch.number, ends=epoch.challenge_ends)
    if claimed:
        raise RewardAlreadyClaimed(epoch=epoch.number, account=claim.account)
    if claim.deadline < now:
        raise ClaimExpired(epoch=epoch.number, deadline=claim.deadline)
    if claim.deadline < now + CLAIM_DEADLINE_MARGIN:
        raise ClaimDeadlineTooSoon(
            epoch=epoch.number, deadline=claim.deadline, earliest=now + CLAIM_DEADLINE_MARGIN
        )
    if not verify_reward_proof(epoch.root, claim.account, claim.amount, claim.proof):
        raise InvalidRewardProof(epoch=epoch.number, account=claim.account, amount=claim.amount)
