"""Tables of the API: Sign-In with Ethereum nonces and the sessions they open.

Both are stored so that a nonce is single-use across processes and restarts, and a
session token can be revoked. Tokens are stored only as their sha256.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class AuthNonce(SQLModel, table=True):
    """A nonce the server issued for one SIWE message; ``used_at`` is set when consumed."""

    __tablename__ = "auth_nonce"

    nonce: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    used_at: datetime | None = None


class AuthSession(SQLModel, table=True):
    """A signed-in address. The bearer token itself is never stored, only its sha256."""

    __tablename__ = "auth_session"

    token_hash: str = Field(primary_key=True, max_length=64)
    address: str = Field(index=True, max_length=42)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
