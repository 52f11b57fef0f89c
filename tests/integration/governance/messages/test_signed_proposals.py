"""Checking proposer-signed ``propose`` transactions against a real anvil chain."""

from __future__ import annotations

import pytest
from web3 import Web3

from governance.chain import deploy
from governance.errors import (
    InvalidRawTransaction,
    NotAProposeCall,
    NotOurGovernor,
    RestrictedProposer,
    WrongChain,
)
from governance.messages.signed_proposals import inspect_raw_proposal
from tests.helpers import HOLDER_KEYS, Governance, address_of
from tests.integration.governance.messages.proposal_support import (
    NEWCOMER,
    policy_actions,
    prepare,
    signed,
)


def test_a_signed_proposal_restricted_to_another_proposer_is_refused(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    w3 = isolated_chain
    tx = prepare(w3, deployment).transaction
    thief = HOLDER_KEYS[1]
    nonce = w3.eth.get_transaction_count(Web3.to_checksum_address(address_of(thief)))
    raw = signed(tx, thief, **{"from": address_of(thief), "nonce": nonce})
    with pytest.raises(RestrictedProposer):
        inspect_raw_proposal(w3, deployment, raw)


def test_a_transaction_to_another_address_is_not_our_governor(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    tx = prepare(isolated_chain, deployment).transaction
    with pytest.raises(NotOurGovernor) as caught:
        inspect_raw_proposal(isolated_chain, deployment, signed(tx, to=NEWCOMER))
    assert caught.value.details["to"] == NEWCOMER


def test_a_transaction_for_another_chain_is_refused(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    tx = prepare(isolated_chain, deployment).transaction
    with pytest.raises(WrongChain) as caught:
        inspect_raw_proposal(isolated_chain, deployment, signed(tx, chainId=1))
    assert caught.value.details == {"expected": deployment.chain_id, "actual": 1}


def test_a_token_transfer_is_not_a_proposal(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    gov = Governance(isolated_chain, deployment)
    tx = prepare(isolated_chain, deployment).transaction
    transfer = gov.token.encode_abi("transfer", args=[NEWCOMER, 10**18])
    with pytest.raises(NotOurGovernor):
        inspect_raw_proposal(
            isolated_chain, deployment, signed(tx, to=gov.token.address, data=transfer)
        )
    # The same call sent to the governor is still not a propose call.
    with pytest.raises(NotAProposeCall) as caught:
        inspect_raw_proposal(isolated_chain, deployment, signed(tx, data=transfer))
    assert caught.value.details["selector"] == transfer[:10]


def test_a_propose_call_with_garbled_arguments_is_not_a_propose_call(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    tx = prepare(isolated_chain, deployment).transaction
    with pytest.raises(NotAProposeCall, match="do not decode"):
        inspect_raw_proposal(isolated_chain, deployment, signed(tx, data=tx["data"][:80]))


@pytest.mark.parametrize("raw", [b"", b"\x02garbage", b"\xf8\x01\x02"])
def test_bytes_that_are_no_signed_transaction_are_refused(
    isolated_chain: Web3, deployment: deploy.Deployment, raw: bytes
) -> None:
    with pytest.raises(InvalidRawTransaction):
        inspect_raw_proposal(isolated_chain, deployment, raw)


def test_a_legacy_eip155_transaction_is_understood(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    tx = prepare(isolated_chain, deployment).transaction
    legacy = {k: v for k, v in tx.items() if k not in {"type", "maxFeePerGas"}}
    legacy.pop("maxPriorityFeePerGas")
    raw = signed(legacy, gasPrice=tx["maxFeePerGas"])
    checked = inspect_raw_proposal(isolated_chain, deployment, raw)
    assert checked.chain_id == deployment.chain_id
    assert list(checked.actions) == policy_actions(deployment)
