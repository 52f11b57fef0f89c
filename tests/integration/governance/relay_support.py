"""Shared setup for the intake and relayer tests: an active proposal and a relayer."""

from __future__ import annotations

from sqlalchemy import Engine
from web3 import Web3
from web3.logs import DISCARD

from core.settings import DEV_PRIVATE_KEYS
from governance.chain import deploy
from governance.relay.config import RelayerConfig
from governance.relay.relayer import Relayer
from tests.helpers import HOLDER_KEYS, Governance, mine

RELAYER_KEY = DEV_PRIVATE_KEYS[8]


def open_proposal(gov: Governance, description: str = "Set mitigation") -> int:
    """A proposal that is Active now, with the holders self-delegated before its snapshot."""
    gov.delegate_all_to_self()
    policy = gov.policy
    data = policy.encode_abi("setMitigation", args=[b"none".ljust(32, b"\0"), b"\0" * 32])
    receipt = gov.send(
        HOLDER_KEYS[0], gov.governor, "propose", [policy.address], [0], [data], description
    )
    (created,) = gov.governor.events.ProposalCreated().process_receipt(receipt, errors=DISCARD)
    mine(gov.w3, 2)
    proposal_id: int = created["args"]["proposalId"]
    assert gov.governor.functions.state(proposal_id).call() == 1
    return proposal_id


def relayer_for(
    engine: Engine, w3: Web3, deployment: deploy.Deployment, **config: object
) -> Relayer:
    return Relayer(
        engine,
        w3,
        deployment,
        RELAYER_KEY,
        rpc_url=w3.provider.endpoint_uri,  # type: ignore[attr-defined]
        config=RelayerConfig(**config),  # type: ignore[arg-type]
    )
