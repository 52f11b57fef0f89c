"""Sign-In with Ethereum: one good path, and every attack refused with 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from api.auth import SiweOrigin, siwe_origin
from api.errors import SiweNotConfigured
from api.siwe import parse
from core.settings import DEV_PRIVATE_KEYS, Settings
from tests.helpers import HOLDER_KEYS
from tests.integration.api.api_support import error_code
from tests.integration.api.siwe_support import bearer, iso, login, personal_sign, siwe_message
from tests.integration.audit.audit_support import AUDITOR_KEY

KEY = HOLDER_KEYS[0]
ADDRESS = Account.from_key(KEY).address


def _refused(response, reason: str) -> None:
    assert response.status_code == 401, response.text
    assert error_code(response) == "siwe_rejected"
    assert response.json()["error"]["details"]["reason"] == reason


def test_sign_in_who_am_i_and_sign_out(client: TestClient):
    nonce = client.get("/v1/auth/nonce").json()
    assert (nonce["domain"], nonce["uri"], nonce["chain_id"]) == (
        "testserver",
        "http://testserver",
        31337,
    )
    response = login(client, KEY)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["address"] == ADDRESS
    headers = {"Authorization": f"Bearer {session['token']}"}
    me = client.get("/v1/auth/me", headers=headers).json()
    assert me == {
        "address": ADDRESS,
        "expires_at": session["expires_at"],
        "auditor": False,
        "operator": False,
    }
    assert client.post("/v1/auth/logout", headers=headers).status_code == 204
    after = client.get("/v1/auth/me", headers=headers)
    assert (after.status_code, error_code(after)) == (401, "not_authenticated")


def test_a_holder_of_auditor_role_on_chain_is_an_auditor(client: TestClient):
    headers = {"Authorization": f"Bearer {login(client, AUDITOR_KEY).json()['token']}"}
    assert client.get("/v1/auth/me", headers=headers).json()["auditor"] is True


def test_a_reused_nonce_is_refused(client: TestClient):
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    text = siwe_message(ADDRESS, nonce)
    body = {"message": text, "signature": personal_sign(KEY, text)}
    assert client.post("/v1/auth/login", json=body).status_code == 200
    _refused(client.post("/v1/auth/login", json=body), "unknown_nonce")


def test_a_nonce_made_up_by_the_client_is_refused(client: TestClient):
    text = siwe_message(ADDRESS, "clientside1234")
    response = client.post(
        "/v1/auth/login", json={"message": text, "signature": personal_sign(KEY, text)}
    )
    _refused(response, "unknown_nonce")


def test_an_expired_nonce_is_refused(make_app):
    now = [datetime.now(UTC).timestamp()]
    with TestClient(make_app(clock=lambda: now[0])) as client:
        nonce = client.get("/v1/auth/nonce").json()["nonce"]
        now[0] += 3600
        text = siwe_message(ADDRESS, nonce, expiration_time=None)
        response = client.post(
            "/v1/auth/login", json={"message": text, "signature": personal_sign(KEY, text)}
        )
    _refused(response, "unknown_nonce")


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"domain": "evil.example"}, "wrong_domain"),
        ({"uri": "https://evil.example/login"}, "wrong_uri"),
        ({"uri": "http://testserver.evil.example/login"}, "wrong_uri"),
        ({"uri": "https://testserver/login"}, "wrong_uri"),
        ({"chain_id": 1}, "wrong_chain"),
        ({"expiration_time": iso(datetime.now(UTC) - timedelta(seconds=1))}, "expired"),
        ({"not_before": iso(datetime.now(UTC) + timedelta(hours=1))}, "not_yet_valid"),
        ({"issued_at": iso(datetime.now(UTC) + timedelta(hours=1))}, "not_yet_valid"),
    ],
)
def test_messages_for_another_place_or_time_are_refused(client: TestClient, fields, reason):
    _refused(login(client, KEY, **fields), reason)


def test_a_signature_by_someone_else_is_refused(client: TestClient):
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    text = siwe_message(ADDRESS, nonce)
    response = client.post(
        "/v1/auth/login", json={"message": text, "signature": personal_sign(HOLDER_KEYS[1], text)}
    )
    _refused(response, "bad_signature")


def test_a_refused_login_does_not_burn_the_nonce(client: TestClient):
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    text = siwe_message(ADDRESS, nonce)
    wrong = personal_sign(HOLDER_KEYS[1], text)
    _refused(
        client.post("/v1/auth/login", json={"message": text, "signature": wrong}), "bad_signature"
    )
    right = {"message": text, "signature": personal_sign(KEY, text)}
    assert client.post("/v1/auth/login", json=right).status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t.replace(" wants you to sign in", " would like you to sign in"),
        lambda t: t.replace(ADDRESS, ADDRESS.lower()),
        lambda t: t.replace("Version: 1", "Version: 2"),
        lambda t: t.replace("Chain ID: 31337", "Chain ID: x"),
        lambda t: t + "\nSurprise: field",
        lambda t: t.replace("Issued At: ", "Issued At: yesterday "),
    ],
)
def test_malformed_messages_are_refused(client: TestClient, mangle):
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    text = mangle(siwe_message(ADDRESS, nonce))
    response = client.post(
        "/v1/auth/login", json={"message": text, "signature": personal_sign(KEY, text)}
    )
    _refused(response, "malformed")


def test_missing_unknown_and_expired_tokens_are_401(make_app):
    now = [datetime.now(UTC).timestamp()]
    with TestClient(make_app(clock=lambda: now[0], api_session_ttl=60)) as client:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}):
            response = client.get("/v1/auth/me", headers=headers)
            assert (response.status_code, error_code(response)) == (401, "not_authenticated")
        token = login(client, KEY).json()["token"]
        now[0] += 61
        response = client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert (response.status_code, error_code(response)) == (401, "not_authenticated")


def test_the_parser_reads_every_field():
    text = siwe_message(ADDRESS, "abcdefgh1234", not_before="2020-01-01T00:00:00Z")
    text += "\nRequest ID: 7\nResources:\n- ipfs://x\n- https://example.com/a"
    message = parse(text)
    assert message.address == ADDRESS
    assert message.statement == "Sign in to fairgov."
    assert message.request_id == "7"
    assert message.resources == ("ipfs://x", "https://example.com/a")
    without_statement = siwe_message(ADDRESS, "abcdefgh1234", statement=None)
    assert parse(without_statement).statement is None
    assert parse("https://" + without_statement).domain == "testserver"


def test_on_a_local_chain_without_operators_the_deployer_is_the_operator(make_app):
    with TestClient(make_app()) as client:
        deployer = client.get("/v1/auth/me", headers=bearer(client, DEV_PRIVATE_KEYS[0])).json()
        holder = client.get("/v1/auth/me", headers=bearer(client, KEY)).json()
    assert deployer["operator"] is True
    assert holder["operator"] is False
    with TestClient(make_app(operators=[ADDRESS])) as client:
        deployer = client.get("/v1/auth/me", headers=bearer(client, DEV_PRIVATE_KEYS[0])).json()
        holder = client.get("/v1/auth/me", headers=bearer(client, KEY)).json()
    assert deployer["operator"] is False  # an explicit list replaces the default
    assert holder["operator"] is True


def test_a_message_signed_for_a_phishing_site_with_its_host_header_is_refused(make_app):
    """A site that had a user sign in for ``evil.example`` replays it with ``Host:
    evil.example``: the domain comes from settings, never from the request."""
    evil = {"Host": "evil.example"}
    for app in (make_app(), make_app(api_domain=None, api_uri=None, api_port=8000)):
        with TestClient(app) as client:
            nonce = client.get("/v1/auth/nonce", headers=evil).json()
            assert nonce["domain"] != "evil.example"
            text = siwe_message(
                ADDRESS, nonce["nonce"], domain="evil.example", uri="http://evil.example/login"
            )
            body = {"message": text, "signature": personal_sign(KEY, text)}
            _refused(client.post("/v1/auth/login", json=body, headers=evil), "wrong_domain")


def test_on_a_local_chain_the_default_origin_is_the_address_the_api_listens_on(make_app):
    app = make_app(api_domain=None, api_uri=None, api_host="0.0.0.0", api_port=8123)
    with TestClient(app) as client:
        nonce = client.get("/v1/auth/nonce").json()
        assert (nonce["domain"], nonce["uri"]) == ("127.0.0.1:8123", "http://127.0.0.1:8123")
        text = siwe_message(
            ADDRESS, nonce["nonce"], domain=nonce["domain"], uri=nonce["uri"] + "/login"
        )
        response = client.post(
            "/v1/auth/login", json={"message": text, "signature": personal_sign(KEY, text)}
        )
    assert response.status_code == 200, response.text


def test_with_port_zero_the_origin_names_the_port_the_request_arrived_on():
    settings = Settings(api_domain=None, api_host="127.0.0.1", api_port=0)
    assert siwe_origin(settings, chain_id=31337, bound_port=40123) == SiweOrigin(
        "127.0.0.1:40123", "http://127.0.0.1:40123"
    )


def test_off_a_local_chain_the_api_refuses_to_start_without_a_domain(tmp_path):
    with pytest.raises(SiweNotConfigured, match="FAIRGOV_API_DOMAIN"):
        siwe_origin(Settings(data_dir=tmp_path, api_domain=None), chain_id=1)
    configured = Settings(data_dir=tmp_path, api_domain="gov.example")
    assert siwe_origin(configured, chain_id=1) == SiweOrigin("gov.example", "https://gov.example")
