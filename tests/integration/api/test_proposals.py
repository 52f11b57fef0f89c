"""Proposals: prepared for a wallet, signed, submitted (202), relayed, listed and shown."""

from __future__ import annotations

from datetime import UTC, datetime

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from governance.chain import deploy
from governance.relay import reconcile as relay_reconcile
from governance.relay.keeper_calls import OutboxLedger, RevertedCall
from governance.relay.outbox import RelayItem, RelayStatus
from tests.helpers import HOLDER_KEYS, Governance, address_of
from tests.integration.api.api_support import error_code, sync_index
from tests.integration.governance.relay_support import relayer_for

THRESHOLD = {
    "kind": "set_threshold",
    "metric": "demographic_parity_difference",
    "value": "0.1",
    "direction": "upper",
}


def _prepare(client: TestClient, proposer: str, description: str, actions=None):
    return client.post(
        "/v1/proposals/prepare",
        json={
            "proposer": proposer,
            "description": description,
            "actions": [THRESHOLD] if actions is None else actions,
        },
    )


def test_prepare_sign_submit_relay_then_list_and_show(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    key = HOLDER_KEYS[0]
    proposer = address_of(key)
    prepared = _prepare(client, proposer, "Bound demographic parity")
    assert prepared.status_code == 200, prepared.text
    body = prepared.json()
    assert body["summaries"] == ["Set threshold demographic_parity_difference <= 0.1"]
    assert body["description"].endswith(f"#proposer={proposer}")
    signed = Account.sign_transaction(body["rpc_transaction"], key)

    submitted = client.post(
        "/v1/proposals", json={"raw_transaction": signed.raw_transaction.to_0x_hex()}
    )
    assert submitted.status_code == 202, submitted.text
    assert submitted.json()["proposal_id"] == body["proposal_id"]
    assert submitted.json()["relay"]["kind"] == "raw_transaction"

    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    sync_index(engine, gov.w3, deployment)

    listed = client.get("/v1/proposals").json()
    assert listed["count"] == 1
    assert listed["data"][0]["proposal_id"] == body["proposal_id"]
    assert client.get("/v1/proposals", params={"state": "Executed"}).json() == {
        "data": [],
        "count": 0,
    }
    assert client.get("/v1/proposals", params={"offset": 1}).json()["data"] == []

    shown = client.get(f"/v1/proposals/{body['proposal_id']}").json()
    assert shown["state"] == "Pending"
    assert shown["actions"][0]["kind"] == "set_threshold"
    assert shown["tallies"] == {"for_votes": "0", "against_votes": "0", "abstain_votes": "0"}
    assert shown["deadline"] > shown["snapshot"]
    assert shown["keeper_calls"] == []
    assert listed["data"][0]["keeper_calls"] is None  # shown on the proposal itself only

    # An execute of the keeper's that reverted on chain three times shows, held back.
    ledger = OutboxLedger(engine, deployment.chain_id, deployment.addresses.governor, proposer)
    ledger.record(
        RevertedCall(
            step="execute",
            proposal_id=int(body["proposal_id"]),
            reverts=3,
            tx_hash="0x" + "ab" * 32,
            block=7,
            code="offer_signature_invalid",
            reason="the offer's signature is not the provider's",
            state="s",
            retry_after=datetime(2030, 1, 1, tzinfo=UTC),
        )
    )
    (call,) = client.get(f"/v1/proposals/{body['proposal_id']}").json()["keeper_calls"]
    assert (call["step"], call["reverts"], call["held_back"]) == ("execute", 3, True)
    assert call["error_code"] == "offer_signature_invalid"
    assert client.get(f"/v1/relay/{call['relay_id']}").json()["kind"] == "keeper_call"

    again = _prepare(client, proposer, "Bound demographic parity")
    assert again.status_code == 409
    assert error_code(again) == "proposal_exists"


def test_unknown_and_malformed_proposal_ids(client: TestClient):
    missing = client.get("/v1/proposals/12345")
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"
    bad = client.get("/v1/proposals/0xabc")
    assert bad.status_code == 422
    assert error_code(bad) == "invalid_request"
    assert error_code(client.get("/v1/proposals", params={"state": "Sleeping"})) == (
        "invalid_request"
    )


def test_prepare_refusals(client: TestClient, gov: Governance):
    proposer = address_of(HOLDER_KEYS[0])
    empty = _prepare(client, proposer, "Nothing", actions=[])
    assert (empty.status_code, error_code(empty)) == (422, "empty_proposal")
    other = address_of(HOLDER_KEYS[1])
    reserved = _prepare(client, proposer, f"Mine#proposer={other}")
    assert (reserved.status_code, error_code(reserved)) == (400, "restricted_proposer")
    unknown_metric = _prepare(client, proposer, "X", actions=[{**THRESHOLD, "metric": "vibes"}])
    assert unknown_metric.status_code == 422


def test_evidence_rules_that_cannot_be_enacted_are_refused_with_the_engines_codes(
    client: TestClient, gov: Governance
):
    proposer = address_of(HOLDER_KEYS[0])
    rule = {"kind": "set_evidence_rule", "confidence_level": "0.95"}
    cases = [
        ({**rule, "confidence_level": "1.0"}, "invalid_confidence_level"),
        ({**rule, "confidence_level": 0.5}, "invalid_confidence_level"),
        ({**rule, "min_group_size": -1}, "invalid_minimum_size"),
        ({**rule, "min_denominator": -5}, "invalid_minimum_size"),
        ({**rule, "metric": "count"}, "metric_has_no_interval"),
        ({"kind": "clear_evidence_rule", "metric": "count"}, "metric_has_no_interval"),
    ]
    for action, code in cases:
        response = _prepare(client, proposer, f"rule {code}", actions=[action])
        assert (response.status_code, error_code(response)) == (422, code), action
        assert "\n" not in response.json()["error"]["message"]

    good = _prepare(client, proposer, "rule ok", actions=[{**rule, "metric": "accuracy"}])
    assert good.status_code == 200, good.text
    assert good.json()["summaries"] == [
        "Set the evidence rule of accuracy: 0.95 confidence, groups of at least 30 rows, "
        "denominators of at least 10; INCONCLUSIVE blocks the model"
    ]


def test_signed_thresholds_are_prepared_and_out_of_range_ones_refused(
    client: TestClient, gov: Governance
):
    proposer = address_of(HOLDER_KEYS[0])
    signed = {**THRESHOLD, "metric": "statistical_parity_difference", "direction": "lower"}
    cases = [
        ({**THRESHOLD, "value": "-0.1"}, "threshold_out_of_range"),
        ({**THRESHOLD, "value": 1.5}, "threshold_out_of_range"),
        ({**signed, "value": "-1.5"}, "threshold_out_of_range"),
        ({**signed, "value": "-0.1000001"}, "invalid_threshold_value"),
    ]
    for action, code in cases:
        response = _prepare(client, proposer, f"threshold {code}", actions=[action])
        assert (response.status_code, error_code(response)) == (422, code), action
        assert "\n" not in response.json()["error"]["message"]

    good = _prepare(client, proposer, "signed ok", actions=[{**signed, "value": -0.1}])
    assert good.status_code == 200, good.text
    assert good.json()["summaries"] == ["Set threshold statistical_parity_difference >= -0.1"]


def test_federation_policies_that_cannot_be_enacted_are_refused_with_their_codes(
    client: TestClient, gov: Governance
):
    proposer = address_of(HOLDER_KEYS[0])
    policy = {"kind": "set_federation_policy", "aggregation": "krum", "krum_f": 1, "min_nodes": 5}
    cases = [
        ({**policy, "aggregation": "bulyan"}, "invalid_aggregation"),
        ({**policy, "trim_beta": 0.5}, "invalid_trim_beta"),
        ({**policy, "aggregation": "fedavg"}, "invalid_krum_f"),
        ({**policy, "epsilon": -1}, "invalid_epsilon"),
        ({**policy, "min_nodes": 4}, "invalid_min_nodes"),
    ]  # fmt: skip
    for action, code in cases:
        response = _prepare(client, proposer, f"federation {code}", actions=[action])
        assert (response.status_code, error_code(response)) == (422, code), action
        assert "\n" not in response.json()["error"]["message"]

    good = _prepare(client, proposer, "federation ok", actions=[{**policy, "epsilon": "0.5"}])
    assert good.status_code == 200, good.text
    assert good.json()["summaries"] == [
        "Set the federation policy: Krum (f 1), audit counts with noise at epsilon 0.5 per "
        "node, at least 5 nodes"
    ]


def test_submitted_transactions_that_are_not_our_proposals_are_refused(
    client: TestClient, gov: Governance, deployment: deploy.Deployment
):
    garbage = client.post("/v1/proposals", json={"raw_transaction": "0x1234"})
    assert (garbage.status_code, error_code(garbage)) == (400, "invalid_raw_transaction")
    key = HOLDER_KEYS[0]
    transfer = {
        "type": 2,
        "chainId": deployment.chain_id,
        "nonce": 0,
        "to": deployment.addresses.token,
        "value": 0,
        "data": "0x",
        "gas": 100_000,
        "maxFeePerGas": 10**10,
        "maxPriorityFeePerGas": 10**9,
    }
    raw = Account.sign_transaction(transfer, key).raw_transaction.to_0x_hex()
    elsewhere = client.post("/v1/proposals", json={"raw_transaction": raw})
    assert (elsewhere.status_code, error_code(elsewhere)) == (400, "not_our_governor")
    to_governor = {**transfer, "to": deployment.addresses.governor, "data": "0xdeadbeef"}
    raw = Account.sign_transaction(to_governor, key).raw_transaction.to_0x_hex()
    not_propose = client.post("/v1/proposals", json={"raw_transaction": raw})
    assert (not_propose.status_code, error_code(not_propose)) == (400, "not_a_propose_call")
    other_chain = {**to_governor, "chainId": 1}
    raw = Account.sign_transaction(other_chain, key).raw_transaction.to_0x_hex()
    wrong_chain = client.post("/v1/proposals", json={"raw_transaction": raw})
    assert (wrong_chain.status_code, error_code(wrong_chain)) == (400, "wrong_chain")


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(RelayItem)).one())


def _signed(body: dict, key: str, **changes) -> str:
    transaction = {**body["rpc_transaction"], **changes}
    return Account.sign_transaction(transaction, key).raw_transaction.to_0x_hex()


def test_transactions_that_can_never_be_mined_are_refused_before_storing(
    client: TestClient, engine: Engine, gov: Governance
):
    key = HOLDER_KEYS[1]
    body = _prepare(client, address_of(key), "Bound demographic parity").json()
    base_fee = int(gov.w3.eth.get_block("pending")["baseFeePerGas"])
    assert base_fee > 0  # EIP-1559's base fee never decays to zero
    fee_cases = [  # regression: both were accepted, then failed relay_rejected a minute later
        {"maxFeePerGas": 10**9, "maxPriorityFeePerGas": 10**10},
        {"maxFeePerGas": base_fee - 1, "maxPriorityFeePerGas": 0},
    ]
    for changes in fee_cases:
        refused = client.post(
            "/v1/proposals", json={"raw_transaction": _signed(body, key, **changes)}
        )
        assert (refused.status_code, error_code(refused)) == (409, "fees_not_minable"), changes
    cases = {
        "gas_limit_too_low": {"gas": 0},
        "gas_limit_above_block": {"gas": hex(gov.w3.eth.get_block("latest")["gasLimit"] + 1)},
        "insufficient_funds": {"maxFeePerGas": 10**30, "maxPriorityFeePerGas": 10**9},
        "wrong_transaction_nonce": {"nonce": int(body["rpc_transaction"]["nonce"], 16) + 1},
    }
    for code, changes in cases.items():
        refused = client.post(
            "/v1/proposals", json={"raw_transaction": _signed(body, key, **changes)}
        )
        assert (refused.status_code, error_code(refused)) == (409, code), refused.text
    used = int(body["rpc_transaction"]["nonce"], 16)
    gov.send(key, gov.token, "delegate", address_of(key))  # uses the nonce on chain
    stale = client.post("/v1/proposals", json={"raw_transaction": _signed(body, key)})
    assert (stale.status_code, error_code(stale)) == (409, "wrong_transaction_nonce")
    assert stale.json()["error"]["details"] == {
        "sender": address_of(key),
        "nonce": used,
        "expected": used + 1,
    }
    assert _stored(engine) == 0


def test_a_sender_without_ether_is_refused(client: TestClient, engine: Engine):
    pauper = Account.create()
    body = _prepare(client, pauper.address, "Nothing to pay with").json()
    refused = client.post(
        "/v1/proposals", json={"raw_transaction": _signed(body, pauper.key.to_0x_hex())}
    )
    assert (refused.status_code, error_code(refused)) == (409, "insufficient_funds")
    assert refused.json()["error"]["details"]["balance"] == "0"
    assert _stored(engine) == 0


def test_a_nonce_an_accepted_proposal_holds_is_refused_and_the_next_is_prepared(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    key = HOLDER_KEYS[2]
    first = _prepare(client, address_of(key), "First").json()
    accepted = client.post("/v1/proposals", json={"raw_transaction": _signed(first, key)})
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["relay"]["nonce"] == int(first["rpc_transaction"]["nonce"], 16)
    second = _prepare(client, address_of(key), "Second").json()
    same_nonce = _signed(second, key, nonce=first["rpc_transaction"]["nonce"])
    taken = client.post("/v1/proposals", json={"raw_transaction": same_nonce})
    assert (taken.status_code, error_code(taken)) == (409, "wrong_transaction_nonce")
    assert "another transaction that fairgov accepted" in taken.json()["error"]["message"]
    # The next prepared transaction counts the held one, so both are mined in order.
    assert (
        int(second["rpc_transaction"]["nonce"], 16)
        == int(first["rpc_transaction"]["nonce"], 16) + 1
    )
    queued = client.post("/v1/proposals", json={"raw_transaction": _signed(second, key)})
    assert queued.status_code == 202, queued.text
    report = relayer_for(engine, gov.w3, deployment).run_until_idle()
    with Session(engine) as session:
        items = [(i.status, i.error_code, i.error) for i in session.exec(select(RelayItem)).all()]
    assert report.confirmed == 2, items
    for body in (first, second):
        assert gov.governor.functions.proposalSnapshot(int(body["proposal_id"])).call() > 0


def test_a_failed_proposer_transaction_fails_the_later_ones_and_frees_the_nonce(
    client: TestClient, engine: Engine
):
    # Regression: when a held transaction failed, the sender's later held ones stayed
    # `submitted` for ever behind the unused nonce, and prepare kept counting past them.
    key = HOLDER_KEYS[0]
    first = _prepare(client, address_of(key), "Fails at the node").json()
    assert client.post("/v1/proposals", json={"raw_transaction": _signed(first, key)}).is_success
    second = _prepare(client, address_of(key), "Stranded behind it").json()
    assert client.post("/v1/proposals", json={"raw_transaction": _signed(second, key)}).is_success
    nonce = int(first["rpc_transaction"]["nonce"], 16)
    with Session(engine) as session:
        held = session.exec(select(RelayItem).where(RelayItem.signer == address_of(key))).all()
        earlier = next(i for i in held if i.nonce == nonce)
        relay_reconcile.fail(session, earlier, "relay_rejected", "the node refused it")
        session.commit()
        rows = session.exec(select(RelayItem).where(RelayItem.signer == address_of(key))).all()
        outcome = {(i.nonce, i.status, i.error_code) for i in rows}
    assert outcome == {
        (nonce, RelayStatus.FAILED, "relay_rejected"),
        (nonce + 1, RelayStatus.FAILED, "earlier_transaction_failed"),
    }
    again = _prepare(client, address_of(key), "Signed again").json()
    assert int(again["rpc_transaction"]["nonce"], 16) == nonce


def test_a_proposal_the_proposer_sends_from_a_browser_wallet_is_indexed(
    client: TestClient, engine: Engine, gov: Governance, deployment: deploy.Deployment
):
    """Browser wallets cannot eth_signTransaction: the proposer sends ``rpc_transaction``
    with eth_sendTransaction (here: anvil's unlocked dev account does the same)."""
    key = HOLDER_KEYS[3]
    body = _prepare(client, address_of(key), "Sent by the proposer").json()
    tx_hash = gov.w3.eth.send_transaction(body["rpc_transaction"])
    assert gov.w3.eth.wait_for_transaction_receipt(tx_hash)["status"] == 1
    sync_index(engine, gov.w3, deployment)
    shown = client.get(f"/v1/proposals/{body['proposal_id']}")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["proposer"], shown.json()["tx_hash"]) == (
        address_of(key),
        tx_hash.to_0x_hex(),
    )
