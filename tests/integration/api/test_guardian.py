"""The fairness guardian through the API: protection shown on proposals, and a cancel signed in
the guardian's wallet, refused for free when the governor would refuse it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from core.settings import DEV_PRIVATE_KEYS
from governance import actions
from governance.chain import deploy
from governance.relay.outbox import RelayItem
from tests.helpers import (
    HOLDER_KEYS,
    TEST_CONFIG,
    Governance,
    address_of,
    advance_time,
    mine,
)
from tests.integration.api.api_support import error_code, sync_index
from tests.integration.governance.protection_support import description_hash as description_hash_of
from tests.integration.governance.protection_support import propose, vote_and_close
from tests.integration.governance.relay_support import relayer_for

GUARDIAN_KEY = DEV_PRIVATE_KEYS[6]
GUARDIAN = address_of(GUARDIAN_KEY)
DP = "demographic_parity_difference"
BOUND = actions.SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper")


@pytest.fixture
def voters(gov: Governance) -> Governance:
    gov.delegate_all_to_self()
    return gov


def prepare_cancel(client: TestClient, proposal_id: int, **body: Any) -> Any:
    return client.post(f"/v1/proposals/{proposal_id}/guardian-cancel/prepare", json=body or None)


def submit_cancel(client: TestClient, proposal_id: int, raw: str) -> Any:
    return client.post(
        f"/v1/proposals/{proposal_id}/guardian-cancel", json={"raw_transaction": raw}
    )


def signed(transaction: dict[str, Any], key: str = GUARDIAN_KEY, **changes: Any) -> str:
    unsigned = {k: v for k, v in transaction.items() if k != "from"}  # any key may sign
    raw = Account.sign_transaction({**unsigned, **changes}, key).raw_transaction
    return str(raw.to_0x_hex())


def relay_items(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RelayItem)).one())


def test_the_protection_route_reads_the_governor(client: TestClient, gov: Governance):
    body = client.get("/v1/governance/protection").json()
    assert body["guardian"] == GUARDIAN
    assert body["supermajority"] == {"numerator": 2, "denominator": 3}
    assert body["voting_period"] == TEST_CONFIG.voting_period
    assert body["loosening_voting_period"] == gov.deployment.config.loosening_voting_period
    assert body["timelock_delay"] == TEST_CONFIG.timelock_delay
    assert body["block"] == gov.w3.eth.block_number


def test_proposals_show_their_classification_majority_and_veto(
    client: TestClient, engine: Engine, voters: Governance
):
    loose, _ = propose(voters, [actions.SetGuardian(guardian=None)], "No more guardian")
    tight, _ = propose(voters, [BOUND], "A bound")
    sync_index(engine, voters.w3, voters.deployment)

    shown = client.get(f"/v1/proposals/{loose}").json()["protection"]
    assert shown == {
        "loosening": True,
        "changes": ["protection_changed"],
        "majority_needed": {"numerator": 2, "denominator": 3, "rule": "at_least"},
        "voting_ends_block": shown["voting_ends_block"],
        "guardian": GUARDIAN,
        "veto": {
            "cancellable_by_guardian": True,
            "until": "execution",
            "earliest_execution": {"after_block": shown["voting_ends_block"], "eta": None},
        },
    }
    listed = {p["proposal_id"]: p for p in client.get("/v1/proposals").json()["data"]}
    assert listed[str(loose)]["protection"] == shown
    other = listed[str(tight)]["protection"]
    assert (other["loosening"], other["changes"]) == (False, ["none"])
    assert other["majority_needed"] == {"numerator": 1, "denominator": 2, "rule": "more_than"}
    assert other["veto"]["cancellable_by_guardian"] is False
    lengths = [shown["voting_ends_block"] - listed[str(loose)]["snapshot"]]
    lengths.append(other["voting_ends_block"] - listed[str(tight)]["snapshot"])
    assert lengths == [voters.deployment.config.loosening_voting_period, TEST_CONFIG.voting_period]


@pytest.mark.parametrize(
    ("action", "code"),
    [
        ({"kind": "set_supermajority", "numerator": 1, "denominator": 2}, "invalid_supermajority"),
        ({"kind": "set_supermajority", "numerator": 4, "denominator": 3}, "invalid_supermajority"),
        ({"kind": "set_supermajority", "numerator": 2, "denominator": 0}, "invalid_supermajority"),
        ({"kind": "set_loosening_voting_period", "blocks": 0}, "invalid_loosening_period"),
        ({"kind": "set_loosening_voting_period", "blocks": 2**32}, "invalid_loosening_period"),
    ],
)
def test_protection_settings_the_governor_refuses_are_refused_before_proposing(
    client: TestClient, gov: Governance, action: dict[str, Any], code: str
):
    holder = address_of(HOLDER_KEYS[0])
    nonce = gov.w3.eth.get_transaction_count(holder)
    response = client.post(
        "/v1/proposals/prepare",
        json={"proposer": holder, "description": "bad", "actions": [action]},
    )
    assert (response.status_code, error_code(response)) == (422, code)
    assert "\n" not in response.json()["error"]["message"]
    assert gov.w3.eth.get_transaction_count(holder) == nonce


def test_the_guardian_cancels_a_loosening_proposal_signed_in_its_wallet(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    proposal_id, _ = propose(voters, [actions.ClearThreshold(metric=DP)], "Clear the bound")
    sync_index(engine, voters.w3, deployment)
    prepared = prepare_cancel(client, proposal_id)
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["guardian"] == GUARDIAN
    assert body["transaction"]["from"] == GUARDIAN
    assert body["rpc_transaction"]["type"] == "0x2"

    raw = signed(body["rpc_transaction"])
    accepted = submit_cancel(client, proposal_id, raw)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["relay"]["kind"] == "raw_transaction"
    assert accepted.json()["proposal_id"] == str(proposal_id)
    again = submit_cancel(client, proposal_id, raw)
    assert again.json()["relay"]["id"] == accepted.json()["relay"]["id"]
    # Review (session 23): a second cancel prepared and signed (the next nonce) was accepted,
    # then reverted at the guardian's expense once the first was mined.
    second = signed(prepare_cancel(client, proposal_id).json()["rpc_transaction"])
    twin = submit_cancel(client, proposal_id, second)
    assert (twin.status_code, error_code(twin)) == (409, "call_already_held")
    assert twin.json()["error"]["details"]["relay_id"] == accepted.json()["relay"]["id"]

    assert relayer_for(engine, voters.w3, deployment).run_until_idle().confirmed == 1
    assert voters.governor.functions.state(proposal_id).call() == 2  # Canceled
    sync_index(engine, voters.w3, deployment)
    shown = client.get(f"/v1/proposals/{proposal_id}").json()
    assert shown["state"] == "Canceled"
    assert shown["canceled_block"] is not None
    assert shown["protection"]["veto"]["cancellable_by_guardian"] is False

    late = prepare_cancel(client, proposal_id)
    assert (late.status_code, error_code(late)) == (409, "proposal_not_cancellable")


def test_refusals_cost_nothing_and_store_nothing(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    w3 = voters.w3
    loose, _ = propose(voters, [actions.SetGuardian(guardian=None)], "Loose")
    other_loose, _ = propose(voters, [actions.ClearThreshold(metric=DP)], "Other loose")
    tight, _ = propose(voters, [BOUND], "Tight")
    sync_index(engine, w3, deployment)
    transaction = prepare_cancel(client, loose).json()["rpc_transaction"]
    balance, nonce = w3.eth.get_balance(GUARDIAN), w3.eth.get_transaction_count(GUARDIAN)

    refusals = [
        (prepare_cancel(client, tight), 409, "proposal_not_loosening"),
        (prepare_cancel(client, 12345), 404, "unknown_proposal"),
        (prepare_cancel(client, loose, guardian=address_of(HOLDER_KEYS[0])), 403, "not_guardian"),
        (submit_cancel(client, loose, signed(transaction, HOLDER_KEYS[0])), 403, "not_guardian"),
        (submit_cancel(client, other_loose, signed(transaction)), 400, "not_a_cancel_call"),
        (
            submit_cancel(client, loose, signed(transaction, chainId=deployment.chain_id + 1)),
            400,
            "wrong_chain",
        ),
        (
            submit_cancel(client, loose, signed(transaction, gas=hex(30_000))),
            409,
            "gas_limit_too_low",
        ),
        (
            submit_cancel(client, loose, signed(transaction, nonce=hex(nonce + 3))),
            409,
            "wrong_transaction_nonce",
        ),
        (submit_cancel(client, loose, "0x1234"), 400, "invalid_raw_transaction"),
    ]
    for response, status, code in refusals:
        assert (response.status_code, error_code(response)) == (status, code), response.text
        assert "\n" not in response.json()["error"]["message"]

    shown = client.get(f"/v1/proposals/{tight}").json()
    data = voters.governor.encode_abi(
        "cancel",
        args=[
            shown["calls"]["targets"],
            [int(v) for v in shown["calls"]["values"]],
            [bytes.fromhex(c[2:]) for c in shown["calls"]["calldatas"]],
            bytes.fromhex(shown["description_hash"][2:]),
        ],
    )
    not_loosening = submit_cancel(client, tight, signed(transaction, data=data))
    assert (not_loosening.status_code, error_code(not_loosening)) == (409, "proposal_not_loosening")

    w3.provider.make_request("anvil_setBalance", [GUARDIAN, "0x1"])  # type: ignore[arg-type]
    poor = submit_cancel(client, loose, signed(transaction))
    assert (poor.status_code, error_code(poor)) == (409, "insufficient_funds")
    w3.provider.make_request("anvil_setBalance", [GUARDIAN, hex(balance)])  # type: ignore[arg-type]

    assert relay_items(engine) == 0
    assert (w3.eth.get_balance(GUARDIAN), w3.eth.get_transaction_count(GUARDIAN)) == (
        balance,
        nonce,
    )


def test_a_proposal_that_became_loosening_may_be_cancelled(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    w3 = voters.w3
    stricter = BOUND.model_copy(update={"value": Decimal("0.05")})
    bound, _ = propose(voters, [BOUND], "A first bound")
    strict, strict_calls = propose(voters, [stricter], "A stricter bound")
    mine(w3, TEST_CONFIG.voting_delay + 1)
    for proposal_id in (bound, strict):
        for key in HOLDER_KEYS:
            voters.send(key, voters.governor, "castVote", proposal_id, 1)
    deadline = voters.governor.functions.proposalDeadline(strict).call()
    mine(w3, deadline - w3.eth.block_number + 1)
    sync_index(engine, w3, deployment)
    refused = prepare_cancel(client, bound)
    assert (refused.status_code, error_code(refused)) == (409, "proposal_not_loosening")

    description_hash = description_hash_of("A stricter bound")
    voters.send(HOLDER_KEYS[0], voters.governor, "queue", *strict_calls, description_hash)
    advance_time(w3, TEST_CONFIG.timelock_delay + 1)
    voters.send(HOLDER_KEYS[0], voters.governor, "execute", *strict_calls, description_hash)
    sync_index(engine, w3, deployment)
    shown = client.get(f"/v1/proposals/{bound}").json()
    assert (shown["state"], shown["protection"]["loosening"]) == ("Succeeded", False)

    prepared = prepare_cancel(client, bound)  # raising 0.05 back to 0.1 is loosening now
    assert prepared.status_code == 200, prepared.text
    accepted = submit_cancel(client, bound, signed(prepared.json()["rpc_transaction"]))
    assert accepted.status_code == 202, accepted.text
    assert relayer_for(engine, w3, deployment).run_until_idle().confirmed == 1
    sync_index(engine, w3, deployment)
    assert client.get(f"/v1/proposals/{bound}").json()["state"] == "Canceled"


def test_a_held_cancel_does_not_break_the_guardians_next_transaction(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    # Regression: the nonce after a sender's held transactions was found by decoding each
    # as a proposal, so a held cancel made every later prepare fail with not_a_propose_call.
    loose, _ = propose(voters, [actions.ClearThreshold(metric=DP)], "Clear")
    sync_index(engine, voters.w3, deployment)
    transaction = prepare_cancel(client, loose).json()["rpc_transaction"]
    assert submit_cancel(client, loose, signed(transaction)).status_code == 202
    proposal = client.post(
        "/v1/proposals/prepare",
        json={
            "proposer": GUARDIAN,
            "description": "From the guardian",
            "actions": [
                {"kind": "set_threshold", "metric": DP, "value": "0.1", "direction": "upper"}
            ],
        },
    )
    assert proposal.status_code == 200, proposal.text
    assert proposal.json()["transaction"]["nonce"] == int(transaction["nonce"], 16) + 1


def test_a_legacy_signed_cancel_is_relayed_too(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    # Regression: intake accepts EIP-155 (legacy) transactions, but the relayer parsed every
    # held transaction as EIP-1559 and raised on the first tick.
    loose, _ = propose(voters, [actions.ClearThreshold(metric=DP)], "Clear it")
    sync_index(engine, voters.w3, deployment)
    typed = prepare_cancel(client, loose).json()["rpc_transaction"]
    legacy = {
        "chainId": deployment.chain_id,
        "nonce": int(typed["nonce"], 16),
        "to": typed["to"],
        "data": typed["data"],
        "value": 0,
        "gas": int(typed["gas"], 16),
        "gasPrice": int(typed["maxFeePerGas"], 16),
    }
    raw = Account.sign_transaction(legacy, GUARDIAN_KEY).raw_transaction
    assert raw[0] > 0x7F  # legacy RLP, no type byte
    accepted = submit_cancel(client, loose, raw.to_0x_hex())
    assert accepted.status_code == 202, accepted.text
    assert relayer_for(engine, voters.w3, deployment).run_until_idle().confirmed == 1
    sync_index(engine, voters.w3, deployment)
    assert client.get(f"/v1/proposals/{loose}").json()["state"] == "Canceled"


def test_the_pre_checks_follow_the_governors_order(
    client: TestClient, engine: Engine, voters: Governance, deployment: deploy.Deployment
):
    """Regression: a decided tightening proposal answered ``proposal_not_cancellable`` where
    the governor reverts ``FairnessGovernorNotLoosening``; and the guardian's own pending
    proposal, which the governor lets its proposer cancel, was refused as not loosening."""
    decided, _ = propose(voters, [BOUND], "Tight, decided")
    vote_and_close(voters, decided)
    own, _ = propose(voters, [BOUND], "Tight, the guardian's own", key=GUARDIAN_KEY)
    sync_index(engine, voters.w3, deployment)

    late = prepare_cancel(client, decided)
    assert (late.status_code, error_code(late)) == (409, "proposal_not_loosening")
    mine_ok = prepare_cancel(client, own)
    assert mine_ok.status_code == 200, mine_ok.text
    accepted = submit_cancel(client, own, signed(mine_ok.json()["rpc_transaction"]))
    assert accepted.status_code == 202, accepted.text
    assert relayer_for(engine, voters.w3, deployment).run_until_idle().confirmed == 1
    assert voters.governor.functions.state(own).call() == 2  # Canceled
