"""Data providers through the API: an offer signed in ethers and viem, refusals before gas,
a withdrawal that outlives an old offer, and a record owner's inclusion check."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from web3 import Web3

from audit.commitments import build_commitments, prove, read_records, read_salts
from audit.manifest import DatasetManifest, build_manifest, store_manifest
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from core.db import session_scope
from governance.actions import AllowDataset, DatasetOffer, dataset_id_of, encode
from governance.chain import deploy
from governance.consent import sign_offer, withdraw_directly
from governance.errors import NotDatasetProvider
from governance.policy.snapshot import read_snapshot
from tests.helpers import (
    HOLDER_KEYS,
    OFFER_LIFETIME,
    PROVIDER_KEY,
    Governance,
    address_of,
    advance_time,
    issue_time,
    pass_and_execute_encoded,
)
from tests.integration.api.api_support import error_code
from tests.integration.api.test_wallet_libraries import node_signer  # noqa: F401 (fixture)
from tests.integration.governance.relay_support import relayer_for

pytestmark = pytest.mark.chain

PROVIDER = address_of(PROVIDER_KEY)
STRANGER_KEY = HOLDER_KEYS[3]


@pytest.fixture
def committed(engine: Engine, tmp_path: Path) -> tuple[DatasetManifest, Path]:
    """A synthetic dataset committed record by record, its manifest stored; and its salts."""
    salts = tmp_path / "loans.salts"
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv", 300),
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        licence="CC-BY-4.0",
        provider=PROVIDER,
        salts_path=salts,
    )
    with session_scope(engine) as session:
        store_manifest(session, manifest)
    return manifest, salts


def _sign_in_node(signer: Path, key: str, typed: dict) -> dict[str, str]:
    done = subprocess.run(
        ["node", str(signer.with_name("sign_typed.mjs"))],
        input=json.dumps({"key": key, "typed_data": typed}),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    signed: dict[str, str] = json.loads(done.stdout)
    return signed


def _execute(gov: Governance, deployment: deploy.Deployment, action: AllowDataset) -> None:
    gov.delegate_all_to_self()
    pass_and_execute_encoded(gov, *encode([action], deployment.addresses), "allow the offer")


def test_an_offer_signed_in_ethers_and_viem_is_checked_and_allows_the_dataset(
    node_signer: Path,  # noqa: F811
    client: TestClient,
    gov: Governance,
    deployment: deploy.Deployment,
    committed: tuple[DatasetManifest, Path],
) -> None:
    manifest, _salts = committed
    prepared = client.post(
        "/v1/providers/offers/prepare",
        json={"manifest_hash": manifest.hash, "provider": PROVIDER, "valid_days": 7},
    )
    assert prepared.status_code == 200, prepared.text
    typed = prepared.json()["typed_data"]
    signed = _sign_in_node(node_signer, PROVIDER_KEY, typed)
    reference = Account.sign_typed_data(PROVIDER_KEY, full_message=typed).signature.to_0x_hex()
    assert signed["ethers"] == signed["viem"] == reference

    body = {"message": prepared.json()["message"], "signature": signed["viem"], "name": "loans"}
    accepted = client.post("/v1/providers/offers", json=body)
    assert accepted.status_code == 200, accepted.text
    action = AllowDataset.model_validate(accepted.json()["action"])
    assert action.offer.records_root == manifest.records_root
    assert "offered by " + PROVIDER in accepted.json()["summary"]
    policy = gov.policy.functions
    assert policy.hashOffer(action.offer.abi_tuple()).call() == action.offer.digest(
        deployment.chain_id, deployment.addresses.training_policy
    )

    _execute(gov, deployment, action)
    (entry,) = read_snapshot(gov.w3, deployment.addresses.training_policy).datasets
    assert (entry.provider, entry.records_root, entry.licence) == (
        PROVIDER,
        manifest.records_root,
        "CC-BY-4.0",
    )
    assert entry.allowed
    assert not entry.withdrawn


def test_offers_the_policy_would_refuse_are_refused_before_any_gas(
    client: TestClient,
    gov: Governance,
    deployment: deploy.Deployment,
    committed: tuple[DatasetManifest, Path],
) -> None:
    manifest, _salts = committed
    w3 = gov.w3
    now = issue_time(w3)

    def offer(**changes: int) -> DatasetOffer:
        fields = {"issued_at": now, "deadline": now + OFFER_LIFETIME} | changes
        return manifest.offer(provider=PROVIDER, **fields)

    def submit(made: DatasetOffer, key: str = PROVIDER_KEY) -> tuple[int, str]:
        action = sign_offer(made, key, deployment)
        body = {"message": made.message(), "signature": action.provider_signature}
        response = client.post("/v1/providers/offers", json=body)
        return response.status_code, error_code(response) if response.status_code >= 400 else ""

    nonces = {k: w3.eth.get_transaction_count(address_of(k)) for k in (PROVIDER_KEY, STRANGER_KEY)}
    assert submit(offer(), STRANGER_KEY) == (403, "offer_signature_invalid")
    tampered = offer().message() | {"uri": "file:///elsewhere.csv"}
    signature = sign_offer(offer(), PROVIDER_KEY, deployment).provider_signature
    refused = client.post(
        "/v1/providers/offers", json={"message": tampered, "signature": signature}
    )
    assert (refused.status_code, error_code(refused)) == (403, "offer_signature_invalid")
    assert submit(offer(issued_at=now + 3600, deadline=now + 7200)) == (422, "offer_not_yet_valid")
    short = offer(deadline=now + 60)
    advance_time(w3, 120)
    assert submit(short) == (422, "offer_expired")
    missing = client.post("/v1/providers/offers", json={"message": {}, "signature": "0x12"})
    assert (missing.status_code, error_code(missing)) == (422, "invalid_offer")
    # Nothing was sent by anyone: refusals come from eth_call, not transactions.
    assert nonces == {
        k: w3.eth.get_transaction_count(address_of(k)) for k in (PROVIDER_KEY, STRANGER_KEY)
    }
    assert gov.policy.functions.policyVersion().call() == 0


def test_a_withdrawal_outlives_every_offer_issued_before_it(
    client: TestClient,
    gov: Governance,
    deployment: deploy.Deployment,
    committed: tuple[DatasetManifest, Path],
) -> None:
    manifest, _salts = committed
    w3 = gov.w3
    now = issue_time(w3)
    old = sign_offer(
        manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME),
        PROVIDER_KEY,
        deployment,
    )
    _execute(gov, deployment, old)
    advance_time(w3, 5)
    issued = issue_time(w3)  # a newer offer, signed but not yet proposed
    pending = sign_offer(
        manifest.offer(provider=PROVIDER, issued_at=issued, deadline=issued + OFFER_LIFETIME),
        PROVIDER_KEY,
        deployment,
    )
    advance_time(w3, 5)
    withdraw_directly(w3, deployment, PROVIDER_KEY, manifest.dataset_id)
    (entry,) = read_snapshot(w3, deployment.addresses.training_policy).datasets
    assert (entry.allowed, entry.withdrawn) == (False, True)

    body = {"message": pending.offer.message(), "signature": pending.provider_signature}
    refused = client.post("/v1/providers/offers", json=body)
    assert (refused.status_code, error_code(refused)) == (409, "consent_withdrawn")
    body = {"message": old.offer.message(), "signature": old.provider_signature}
    replayed = client.post("/v1/providers/offers", json=body)
    assert (replayed.status_code, error_code(replayed)) == (409, "offer_stale")
    prepared = client.post(
        "/v1/proposals/prepare",
        json={
            "proposer": address_of(HOLDER_KEYS[0]),
            "description": "allow it again without asking",
            "actions": [pending.model_dump(mode="json")],
        },
    )
    assert (prepared.status_code, error_code(prepared)) == (409, "consent_withdrawn")
    # Nobody else may offer the provider's manifest, nor withdraw the provider's dataset.
    stranger = client.post(
        "/v1/providers/offers/prepare",
        json={"manifest_hash": manifest.hash, "provider": address_of(STRANGER_KEY)},
    )
    assert (stranger.status_code, error_code(stranger)) == (422, "provider_mismatch")
    nonce = w3.eth.get_transaction_count(address_of(STRANGER_KEY))
    with pytest.raises(NotDatasetProvider):
        withdraw_directly(w3, deployment, STRANGER_KEY, manifest.dataset_id)
    assert w3.eth.get_transaction_count(address_of(STRANGER_KEY)) == nonce


def test_a_withdrawn_file_offered_under_another_id_or_undated_is_refused(
    client: TestClient,
    gov: Governance,
    deployment: deploy.Deployment,
    committed: tuple[DatasetManifest, Path],
) -> None:
    """Regression (review of #15): a copier offered the withdrawn file's exact bytes as
    "loans-mirror" from their own key and the policy accepted it; and an offer dated 0 was
    called ``consent_withdrawn``."""
    manifest, _salts = committed
    w3 = gov.w3
    now = issue_time(w3)
    original = manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME)
    _execute(gov, deployment, sign_offer(original, PROVIDER_KEY, deployment))
    advance_time(w3, 5)
    withdraw_directly(w3, deployment, PROVIDER_KEY, manifest.dataset_id)

    def submit(made: DatasetOffer, key: str) -> tuple[int, str]:
        signature = sign_offer(made, key, deployment).provider_signature
        body = {"message": made.message(), "signature": signature}
        response = client.post("/v1/providers/offers", json=body)
        return response.status_code, error_code(response)

    issued = issue_time(w3)
    mirror = original.model_copy(
        update={
            "dataset_id": dataset_id_of("loans-mirror"),
            "provider": address_of(STRANGER_KEY),
            "issued_at": issued,
            "deadline": issued + OFFER_LIFETIME,
        }
    )
    assert submit(mirror, STRANGER_KEY) == (409, "content_registered")
    undated = original.model_copy(update={"dataset_id": dataset_id_of("loans-2"), "issued_at": 0})
    assert submit(undated, PROVIDER_KEY) == (422, "offer_not_dated")  # not "consent_withdrawn"
    assert gov.policy.functions.allowedDatasetIds().call() == []


def test_a_record_owner_checks_inclusion_against_the_root_on_chain(
    client: TestClient,
    gov: Governance,
    deployment: deploy.Deployment,
    committed: tuple[DatasetManifest, Path],
) -> None:
    manifest, salts = committed
    w3 = gov.w3
    now = issue_time(w3)
    offer = manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME)
    _execute(gov, deployment, sign_offer(offer, PROVIDER_KEY, deployment))
    records = list(read_records(manifest.local_path()))
    commitments = build_commitments(records, salts=read_salts(salts))
    proof = prove(commitments, 17)
    claim = {
        "record": json.loads(records[17]),
        "salt": "0x" + proof.salt.hex(),
        "proof": list(proof.path),
    }
    url = f"/v1/datasets/{manifest.dataset_id}/inclusion"

    included = client.post(url, json=claim)
    assert included.status_code == 200, included.text
    answer = included.json()
    assert (answer["included"], answer["records_root"], answer["provider"]) == (
        True,
        manifest.records_root,
        PROVIDER,
    )
    assert answer["models"] == []  # nothing trained on it yet
    assert "not a zero-knowledge proof" in answer["note"]

    changed = {**claim, "record": {**claim["record"], LABEL: "2"}}
    wrong_salt = {**claim, "salt": "0x" + "00" * 32}
    other_row = {**claim, "record": json.loads(records[18])}
    # A null field (a Parquet null) is a record to check, not a malformed request.
    null_field = {**claim, "record": {**claim["record"], LABEL: None}}
    for bad in (changed, wrong_salt, other_row, null_field):
        refused = client.post(url, json=bad)
        assert (refused.status_code, error_code(refused)) == (422, "record_not_in_dataset")
    unknown = client.post(f"/v1/datasets/0x{'12' * 32}/inclusion", json=claim)
    assert (unknown.status_code, error_code(unknown)) == (404, "dataset_not_in_policy")


def test_offer_digests_match_the_contracts(
    isolated_chain: Web3, deployment: deploy.Deployment
) -> None:
    from governance.actions import DatasetWithdrawal

    policy = Governance(isolated_chain, deployment).policy.functions
    where = (deployment.chain_id, deployment.addresses.training_policy)
    withdrawal = DatasetWithdrawal(dataset_id="0x" + "ab" * 32, provider=PROVIDER, issued_at=9)
    onchain = policy.hashWithdrawal(bytes.fromhex("ab" * 32), PROVIDER, 9).call()
    assert onchain == withdrawal.digest(*where)


def test_a_provider_withdraws_through_the_api_without_gas(
    node_signer: Path,  # noqa: F811
    client: TestClient,
    engine: Engine,
    gov: Governance,
    committed: tuple[DatasetManifest, Path],
) -> None:
    manifest, _salts = committed
    w3, deployment = gov.w3, gov.deployment
    now = issue_time(w3)
    offer = manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME)
    _execute(gov, deployment, sign_offer(offer, PROVIDER_KEY, deployment))
    advance_time(w3, 2)
    params = {"dataset_id": manifest.dataset_id, "provider": PROVIDER}
    prepared = client.get("/v1/providers/withdrawals/typed-data", params=params)
    assert prepared.status_code == 200, prepared.text
    typed, message = prepared.json()["typed_data"], prepared.json()["message"]
    signed = _sign_in_node(node_signer, PROVIDER_KEY, typed)
    assert signed["ethers"] == signed["viem"]

    # Refused before anything is stored: another key's signature, another's dataset.
    stranger = Account.sign_typed_data(STRANGER_KEY, full_message=typed).signature.to_0x_hex()
    forged = client.post(
        "/v1/providers/withdrawals", json={"message": message, "signature": stranger}
    )
    assert (forged.status_code, error_code(forged)) == (403, "withdrawal_signature_invalid")
    theirs = {**message, "provider": address_of(STRANGER_KEY)}
    typed_theirs = {**typed, "message": theirs}
    own = Account.sign_typed_data(STRANGER_KEY, full_message=typed_theirs).signature.to_0x_hex()
    foreign = client.post("/v1/providers/withdrawals", json={"message": theirs, "signature": own})
    assert (foreign.status_code, error_code(foreign)) == (403, "not_dataset_provider")
    malformed = client.post("/v1/providers/withdrawals", json={"message": {}, "signature": own})
    assert (malformed.status_code, error_code(malformed)) == (422, "invalid_withdrawal")
    # Review (session 23): a withdrawal of an id nothing knows would change nothing on chain;
    # the relayer paid for it (anyone can sign one for any id).
    nothing = {**message, "datasetId": "0x" + "ab" * 32}
    typed_nothing = {**typed, "message": nothing}
    signature = Account.sign_typed_data(PROVIDER_KEY, full_message=typed_nothing)
    unknown = client.post(
        "/v1/providers/withdrawals",
        json={"message": nothing, "signature": signature.signature.to_0x_hex()},
    )
    assert (unknown.status_code, error_code(unknown)) == (404, "withdrawal_target_unknown")
    provider_nonce = w3.eth.get_transaction_count(PROVIDER)

    body = {"message": message, "signature": signed["viem"]}
    accepted = client.post("/v1/providers/withdrawals", json=body)
    assert accepted.status_code == 202, accepted.text
    assert client.post("/v1/providers/withdrawals", json=body).json()["id"] == accepted.json()["id"]
    relayer_for(engine, w3, deployment).run_until_idle()

    (entry,) = read_snapshot(w3, deployment.addresses.training_policy).datasets
    assert (entry.allowed, entry.withdrawn) == (False, True)
    assert w3.eth.get_transaction_count(PROVIDER) == provider_nonce  # the provider paid nothing
    replayed = client.post("/v1/providers/withdrawals", json=body)
    assert (replayed.status_code, error_code(replayed)) == (409, "withdrawal_stale")
    # Review (session 23): a new withdrawal of a dataset withdrawn already changed nothing,
    # and the relayer paid for it (the provider could repeat it every second).
    advance_time(w3, 2)
    again = client.get("/v1/providers/withdrawals/typed-data", params=params).json()
    resigned = Account.sign_typed_data(PROVIDER_KEY, full_message=again["typed_data"])
    repeat = client.post(
        "/v1/providers/withdrawals",
        json={"message": again["message"], "signature": resigned.signature.to_0x_hex()},
    )
    assert (repeat.status_code, error_code(repeat)) == (404, "withdrawal_target_unknown")


def test_a_proposal_allowing_an_unregistered_manifest_is_refused_before_signing(
    client: TestClient, gov: Governance, committed: tuple[DatasetManifest, Path]
) -> None:
    """Review (session 23): an offer of a manifest edited after registration was proposed
    (``propose --dry-run`` accepted it): every governed run of it would fail after the vote."""
    manifest, _salts = committed
    w3, deployment = gov.w3, gov.deployment
    now = issue_time(w3)
    edited = manifest.model_copy(update={"description": "edited after registration"})
    offer = edited.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME)
    action = sign_offer(offer, PROVIDER_KEY, deployment)
    prepared = client.post(
        "/v1/proposals/prepare",
        json={
            "proposer": address_of(HOLDER_KEYS[0]),
            "description": "allow an edited manifest",
            "actions": [action.model_dump(mode="json")],
        },
    )
    assert (prepared.status_code, error_code(prepared)) == (404, "manifest_not_registered")
    registered = sign_offer(
        manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME),
        PROVIDER_KEY,
        deployment,
    )
    fine = client.post(
        "/v1/proposals/prepare",
        json={
            "proposer": address_of(HOLDER_KEYS[0]),
            "description": "allow the registered manifest",
            "actions": [registered.model_dump(mode="json")],
        },
    )
    assert fine.status_code == 200, fine.text


#: JSON that no integer field of a signed message can hold (review: null, a list or an
#: object was a TypeError in the model, answered 500; true and other scripts' digits were
#: read as numbers, a fraction cut to an integer).
NOT_INTEGERS = [None, [], [1], {}, {"n": 1}, True, 1.5, "1.5", "0x10", "", "\u0661\u0662"]


@pytest.mark.parametrize("value", NOT_INTEGERS, ids=repr)
def test_a_signed_message_whose_integer_is_not_one_is_refused_in_one_line(
    client: TestClient, value: object
) -> None:
    word = "0x" + "11" * 32
    withdrawal = {"datasetId": word, "provider": PROVIDER, "issuedAt": value}
    offer = {
        "datasetId": word,
        "contentHash": word,
        "manifestHash": word,
        "recordsRoot": word,
        "uri": "file:///loans.csv",
        "licence": "CC0-1.0",
        "termsHash": "0x" + "00" * 32,
        "provider": PROVIDER,
        "issuedAt": "1",
        "deadline": value,
    }
    for path, message, code, field in (
        ("/v1/providers/withdrawals", withdrawal, "invalid_withdrawal", "issuedAt"),
        ("/v1/providers/offers", offer, "invalid_offer", "deadline"),
    ):
        response = client.post(path, json={"message": message, "signature": "0x" + "11" * 65})
        assert (response.status_code, error_code(response)) == (422, code), response.text
        text = response.json()["error"]["message"]
        assert f"{field} must be an integer, or a string of decimal digits" in text
        assert "\n" not in text


def test_a_signed_message_missing_a_field_or_with_a_number_for_a_hash_names_it(
    client: TestClient,
) -> None:
    message = {"datasetId": 7, "provider": PROVIDER, "issuedAt": 1}
    wrong = client.post(
        "/v1/providers/withdrawals", json={"message": message, "signature": "0x" + "11" * 65}
    )
    assert (wrong.status_code, error_code(wrong)) == (422, "invalid_withdrawal")
    assert "datasetId must be a string (a bytes32), not the number 7" in wrong.text
    lacking = {"datasetId": "0x" + "11" * 32, "provider": PROVIDER}
    missing = client.post(
        "/v1/providers/withdrawals", json={"message": lacking, "signature": "0x" + "11" * 65}
    )
    assert (missing.status_code, error_code(missing)) == (422, "invalid_withdrawal")
    assert "it lacks issuedAt" in missing.json()["error"]["message"]
