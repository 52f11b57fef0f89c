"""Signing in as a wallet does: an EIP-4361 message signed with personal_sign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from fastapi.testclient import TestClient

from api.siwe import build


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def siwe_message(address: str, nonce: str, **fields: object) -> str:
    now = datetime.now(UTC)
    values: dict[str, object] = {
        "domain": "testserver",
        "address": address,
        "uri": "http://testserver/login",
        "chain_id": 31337,
        "nonce": nonce,
        "issued_at": iso(now),
        "statement": "Sign in to fairgov.",
        "expiration_time": iso(now + timedelta(minutes=10)),
    }
    values.update(fields)
    return build(**values)  # type: ignore[arg-type]


def personal_sign(key: str, text: str) -> str:
    signed = Account.sign_message(encode_defunct(text=text), key)
    return "0x" + bytes(signed.signature).hex()


def login(client: TestClient, key: str, **fields: object):
    nonce = client.get("/v1/auth/nonce").json()["nonce"]
    address = Account.from_key(key).address
    text = siwe_message(address, nonce, **fields)
    return client.post(
        "/v1/auth/login", json={"message": text, "signature": personal_sign(key, text)}
    )


def bearer(client: TestClient, key: str) -> dict[str, str]:
    response = login(client, key)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
