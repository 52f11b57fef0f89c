"""Data providers as the consent tests see them: a key, and the address the policy records.

A provider is an EOA (the key's own address) or an EIP-1271 contract wallet that the key owns.
Either signs offers and withdrawals off chain with the key, and either can also send its own
transactions (the EOA through anvil's impersonation, the wallet through its `execute`).
"""

from dataclasses import dataclass

from brownie import web3
from eth_account.messages import SignableMessage
from eth_utils import keccak
from signing import Signer, sign_offer, sign_withdrawal


@dataclass(frozen=True)
class Provider:
    signer: Signer  # the key that signs for the provider
    sender: object  # the brownie account that sends the provider's own transactions
    wallet: object = None  # the provider's ProviderWallet, or None for an EOA

    @property
    def address(self):
        return str(self.wallet.address) if self.wallet is not None else self.signer.address

    def sign(self, policy, offer, **domain):
        return sign_offer(self.signer, policy, offer, **domain)

    def sign_withdrawal(self, policy, dataset_id, issued_at, **domain):
        return sign_withdrawal(
            self.signer, policy, dataset_id, issued_at=issued_at, provider=self.address, **domain
        )

    def withdraw(self, policy, dataset_id):
        """withdrawDataset sent by the provider itself (no vote, no signature)."""
        if self.wallet is None:
            return policy.withdrawDataset(dataset_id, {"from": self.sender})
        calldata = policy.withdrawDataset.encode_input(dataset_id)
        return self.wallet.execute(policy, calldata, {"from": self.sender})


def digest(message: SignableMessage):
    """The EIP-712 digest of an encoded typed message: what the key signs."""
    return "0x" + keccak(b"\x19" + message.version + message.header + message.body).hex()


def next_block_at(timestamp):
    """Gives the next block exactly `timestamp`, for tests at the edges of a time rule."""
    web3.provider.make_request("evm_setNextBlockTimestamp", [timestamp])
