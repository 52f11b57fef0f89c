"""Each kind of signed message, and the contract, signing domain and nonce it goes with.

A ballot goes to the governor, is signed over the governor's EIP-712 domain and consumes a
governor nonce; a delegation goes to the token, its domain and its nonce. Everything that
needs one of these for a message kind reads it from :data:`MESSAGE_KINDS`, so adding a kind
is adding a row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from core.types import Address, to_address
from governance.chain.deploy import Deployment
from governance.chain.view import ChainView
from governance.messages.eip712 import Domain


class RelayKind(StrEnum):
    """What an outbox item carries: a signed ballot, a signed delegation, a holder's own
    signed transaction (a proposal), which fairgov only forwards, or a verified signed call:
    a contract call that carries its signer's signature (a gasless reward claim), which the
    relayer sends from its key as ``{to, data}``. A ``keeper_call`` is no message: it
    records the keeper's own queue or execute that reverted on chain, never sent by the
    relayer (:mod:`governance.relay.keeper_calls`)."""

    BALLOT = "ballot"
    DELEGATION = "delegation"
    RAW_TRANSACTION = "raw_transaction"
    SIGNED_CALL = "signed_call"
    KEEPER_CALL = "keeper_call"


@dataclass(frozen=True)
class MessageKind:
    """Where a kind of signed message goes: its contract, domain name and nonce getter."""

    kind: RelayKind
    #: The verifying contract's address in a deployment.
    contract_address: Callable[[Deployment], str]
    #: The EIP-712 domain name (the contract's ``name()``) in a deployment.
    domain_name: Callable[[Deployment], str]
    #: The signer's next nonce at that contract, as a chain view sees it.
    nonce: Callable[[ChainView, str], int]

    def contract(self, deployment: Deployment) -> Address:
        """The contract that verifies this kind of message."""
        return to_address(self.contract_address(deployment))

    def domain(self, deployment: Deployment) -> Domain:
        """The EIP-712 domain this kind of message is signed over (version "1")."""
        return Domain(
            self.domain_name(deployment), deployment.chain_id, self.contract_address(deployment)
        )


BALLOT: Final = MessageKind(
    RelayKind.BALLOT,
    contract_address=lambda d: d.addresses.governor,
    domain_name=lambda d: d.config.governor_name,
    nonce=lambda view, account: view.governor_nonce(account),
)
DELEGATION: Final = MessageKind(
    RelayKind.DELEGATION,
    contract_address=lambda d: d.addresses.token,
    domain_name=lambda d: d.config.token_name,
    nonce=lambda view, account: view.token_nonce(account),
)

#: The signed message kinds by relay kind (raw transactions carry their own nonce).
MESSAGE_KINDS: Final[Mapping[RelayKind, MessageKind]] = MappingProxyType(
    {BALLOT.kind: BALLOT, DELEGATION.kind: DELEGATION}
)


def governor_domain(deployment: Deployment) -> Domain:
    """The EIP-712 domain of ballots: the governor's name, version "1"."""
    return BALLOT.domain(deployment)


def token_domain(deployment: Deployment) -> Domain:
    """The EIP-712 domain of delegations: the token's name, version "1"."""
    return DELEGATION.domain(deployment)
