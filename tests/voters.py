"""Many funded, self-delegated voters on the test chain, and wallet-style signing."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from web3 import Web3

from governance.chain import deploy
from governance.chain.contracts import bind
from governance.chain.node import Sender, call_data
from governance.chain.rpc import RpcBatch
from governance.intake.service import governor_domain, token_domain
from governance.messages.ballots import Ballot, Delegation
from governance.messages.eip712 import Domain, ballot_typed_data, delegation_typed_data
from tests.helpers import HOLDER_KEYS


def sign_typed(private_key: str, typed: dict[str, Any]) -> str:
    """Sign typed data exactly as a wallet's eth_signTypedData_v4 does."""
    signable = encode_typed_data(full_message=typed)
    return "0x" + Account.sign_message(signable, private_key).signature.hex().removeprefix("0x")


def make_voters(
    w3: Web3, deployment: deploy.Deployment, count: int, *, tokens: int = 10
) -> list[str]:
    """``count`` new keys, each holding ``tokens`` tokens delegated to itself."""
    keys = [Account.create().key.to_0x_hex() for _ in range(count)]
    addresses = [Account.from_key(k).address for k in keys]
    rpc = RpcBatch(w3.provider.endpoint_uri)  # type: ignore[attr-defined]
    rpc.call([("anvil_setBalance", [a, hex(10**18)]) for a in addresses])
    token = bind(w3, "GovernanceToken", deployment.addresses.token)
    funder = Sender.from_key(w3, HOLDER_KEYS[0])
    for address in addresses:
        funder.send(
            "transfer", call_data(token, "transfer", [address, tokens * 10**18]) | {"gas": 100_000}
        )
    _mine_what_is_pending(rpc)
    funder.wait()
    raws = []
    for key, address in zip(keys, addresses, strict=True):
        tx = {
            "type": 2,
            "chainId": deployment.chain_id,
            "nonce": 0,
            "to": token.address,
            "value": 0,
            "data": token.encode_abi("delegate", args=[address]),
            "gas": 150_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
        }
        raws.append(Account.sign_transaction(tx, key).raw_transaction.to_0x_hex())
    hashes = [r.result for r in rpc.call([("eth_sendRawTransaction", [raw]) for raw in raws])]
    _mine_what_is_pending(rpc)
    for tx_hash in hashes:
        w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.05)
    return keys


def _mine_what_is_pending(rpc: RpcBatch) -> None:
    """Mine until anvil's pool is empty. Automining anvil can leave ready transactions in
    its pool with nothing arriving to mine them (foundry-rs/foundry#10122): here 4 of 1,000
    delegations, and once all 1,000 transfers of a round, stayed pending for good."""
    for _ in range(1_000):
        pending = int(rpc.one("txpool_status", []).result["pending"], 16)
        if pending == 0:
            return
        rpc.one("evm_mine", [])
    raise AssertionError("anvil's pool did not drain")


def signed_ballot(
    domain: Domain,
    private_key: str,
    proposal_id: int,
    *,
    support: int = 1,
    nonce: int = 0,
    reason: str | None = None,
) -> Ballot:
    voter = Account.from_key(private_key).address
    typed = ballot_typed_data(
        domain, proposal_id=proposal_id, support=support, voter=voter, nonce=nonce, reason=reason
    )
    return Ballot(
        proposal_id=proposal_id,
        support=support,
        voter=voter,
        nonce=nonce,
        reason=reason,
        signature=sign_typed(private_key, typed),
    )


def signed_delegation(
    domain: Domain, private_key: str, delegatee: str, *, nonce: int = 0, expiry: int = 2**40
) -> Delegation:
    typed = delegation_typed_data(domain, delegatee=delegatee, nonce=nonce, expiry=expiry)
    return Delegation(
        delegator=Account.from_key(private_key).address,
        delegatee=delegatee,
        nonce=nonce,
        expiry=expiry,
        signature=sign_typed(private_key, typed),
    )


__all__ = [
    "governor_domain",
    "make_voters",
    "sign_typed",
    "signed_ballot",
    "signed_delegation",
    "token_domain",
]
