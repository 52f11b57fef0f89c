"""Sign-In with Ethereum: nonces, login and the caller's session."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import EXAMPLE_ADDRESS


class NoncePublic(BaseModel):
    """A single-use nonce to put in the EIP-4361 message, and the message's expected fields."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "nonce": "k3T9qPz2mV8xL1aBc",
                    "expires_at": "2026-01-01T12:10:00Z",
                    "domain": "fairgov.example",
                    "uri": "https://fairgov.example",
                    "chain_id": 31337,
                }
            ]
        }
    )

    nonce: str
    expires_at: datetime
    domain: str = Field(description="the domain the message must name")
    uri: str = Field(description="the URI the message must name (it, or a path below it)")
    chain_id: int = Field(description="the chain id the message must name")


class LoginRequest(BaseModel):
    """The EIP-4361 message text and its EIP-191 (``personal_sign``) signature."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": "fairgov.example wants you to sign in with your Ethereum account:\n"
                    f"{EXAMPLE_ADDRESS}\n\n\nURI: https://fairgov.example\nVersion: 1\n"
                    "Chain ID: 31337\nNonce: k3T9qPz2mV8xL1aBc\nIssued At: 2026-01-01T12:00:00Z",
                    "signature": "0x" + "ab" * 64 + "1b",
                }
            ]
        }
    )

    message: str = Field(min_length=1, max_length=8192)
    signature: str = Field(pattern=r"^0x[0-9a-fA-F]{130}$")


class SessionPublic(BaseModel):
    """A session: use ``token`` as ``Authorization: Bearer <token>`` until ``expires_at``."""

    token: str
    token_type: str = "bearer"
    address: str
    expires_at: datetime


class MePublic(BaseModel):
    """Who is signed in, and their roles."""

    address: str
    expires_at: datetime
    auditor: bool
    operator: bool
