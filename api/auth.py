"""Signing in with Ethereum, sessions and roles.

1. ``GET /v1/auth/nonce`` stores a random nonce with an expiry (:func:`issue_nonce`) and
   says which domain, URI and chain id the message must name.
2. The wallet signs an EIP-4361 message naming that nonce, this server's domain, URI and chain.
3. ``POST /v1/auth/login`` (:func:`login`) checks the message format, domain, URI, chain id,
   issued-at / expiration / not-before times and the nonce (issued here, unused, unexpired;
   it is consumed in the same transaction), recovers the EIP-191 signer, and returns a
   random bearer token whose sha256 is stored with the session's expiry.

The domain and URI come from configuration (:func:`siwe_origin`), never from a request's
``Host`` header: a phishing site that relays a message signed for itself with its own
``Host`` header must not get a session here.

Roles are read per request: an *auditor* holds ``AUDITOR_ROLE`` on the AuditRegistry or is
on ``FAIRGOV_AUDITORS``; an *operator* is on ``FAIRGOV_OPERATORS``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import update
from sqlmodel import Session, col
from web3 import Web3

from api.db_models import AuthNonce, AuthSession
from api.errors import NotAuthenticated, SiweNotConfigured, SiweRejected
from api.siwe import SiweMessage, parse, recover
from core.settings import LOCAL_CHAIN_IDS, Settings
from core.types import to_address
from governance.actions import AUDITOR_ROLE
from governance.chain.contracts import bind

#: Clock skew tolerated on "Issued At" lying in the future.
ISSUED_AT_SKEW: Final = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedIn:
    """A valid session: who, and until when."""

    address: str
    expires_at: datetime


@dataclass(frozen=True)
class SiweOrigin:
    """The domain and URI every sign-in message must name."""

    domain: str
    uri: str

    def covers(self, uri: str) -> bool:
        """Whether ``uri`` is :attr:`uri` or a resource below it (same scheme and authority)."""
        base = self.uri.rstrip("/")
        if uri.lower() == base.lower():
            return True
        rest = uri[len(base) :]
        return uri[: len(base)].lower() == base.lower() and rest[:1] in {"/", "?", "#"}


_UNSPECIFIED_HOSTS: Final = frozenset({"", "0.0.0.0", "::", "[::]"})


def siwe_origin(settings: Settings, *, chain_id: int, bound_port: int | None = None) -> SiweOrigin:
    """The :class:`SiweOrigin` for these settings.

    ``FAIRGOV_API_DOMAIN`` and ``FAIRGOV_API_URI`` when set. Without a domain, on a local
    chain only, the address the API listens on: ``FAIRGOV_API_HOST`` (127.0.0.1 when it is
    every interface) and ``FAIRGOV_API_PORT``, or ``bound_port`` (the listening socket's
    port) when that is 0. Anywhere else :class:`~api.errors.SiweNotConfigured`.
    """
    if settings.api_domain:
        return SiweOrigin(settings.api_domain, settings.api_uri or f"https://{settings.api_domain}")
    if chain_id not in LOCAL_CHAIN_IDS:
        raise SiweNotConfigured(chain_id)
    host = settings.api_host
    host = "127.0.0.1" if host in _UNSPECIFIED_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    domain = f"{host}:{settings.api_port or bound_port or 0}"
    return SiweOrigin(domain, settings.api_uri or f"http://{domain}")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue_nonce(session: Session, *, now: datetime, ttl: int) -> AuthNonce:
    """Store and return a fresh single-use nonce (16 random letters and digits)."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    nonce = "".join(secrets.choice(alphabet) for _ in range(17))
    row = AuthNonce(nonce=nonce, created_at=now, expires_at=now + timedelta(seconds=ttl))
    session.add(row)
    session.commit()
    return row


def _check_fields(
    message: SiweMessage, *, origin: SiweOrigin, chain_id: int, now: datetime
) -> None:
    if message.domain.lower() != origin.domain.lower():
        raise SiweRejected(
            "wrong_domain", f"the message is for {message.domain}, this server is {origin.domain}"
        )
    if not origin.covers(message.uri):
        raise SiweRejected(
            "wrong_uri", f"the message's URI {message.uri} is not within {origin.uri}"
        )
    if message.chain_id != chain_id:
        raise SiweRejected(
            "wrong_chain", f"the message is for chain {message.chain_id}, not {chain_id}"
        )
    if _aware(message.issued_at) > now + ISSUED_AT_SKEW:
        raise SiweRejected("not_yet_valid", "the message was issued in the future")
    if message.expiration_time is not None and _aware(message.expiration_time) <= now:
        raise SiweRejected("expired", "the message has expired: sign a new one")
    if message.not_before is not None and _aware(message.not_before) > now:
        raise SiweRejected("not_yet_valid", "the message is not valid yet (Not Before)")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _consume_nonce(session: Session, nonce: str, now: datetime) -> None:
    """Mark ``nonce`` used if it was issued here, is unused and unexpired; else refuse."""
    result = session.execute(
        update(AuthNonce)
        .where(
            col(AuthNonce.nonce) == nonce,
            col(AuthNonce.used_at).is_(None),
            col(AuthNonce.expires_at) > now,
        )
        .values(used_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise SiweRejected(
            "unknown_nonce",
            "the nonce was not issued by this server, was already used, or expired: "
            "get a new one from GET /v1/auth/nonce",
        )


def login(
    session: Session,
    text: str,
    signature: str,
    *,
    origin: SiweOrigin,
    chain_id: int,
    now: datetime,
    ttl: int,
) -> tuple[str, SignedIn]:
    """Check a signed EIP-4361 message and open a session; returns (token, session).

    Every refusal is :class:`~api.errors.SiweRejected` with a ``reason``. The nonce is
    consumed only when everything else holds, in the same commit as the new session.
    """
    message = parse(text)
    _check_fields(message, origin=origin, chain_id=chain_id, now=now)
    signer = recover(text, signature)
    if signer != message.address:
        raise SiweRejected("bad_signature", f"the message was signed by {signer}, not its address")
    _consume_nonce(session, message.nonce, now)
    expires = now + timedelta(seconds=ttl)
    if message.expiration_time is not None:
        expires = min(expires, _aware(message.expiration_time))
    token = secrets.token_urlsafe(32)
    session.add(
        AuthSession(token_hash=_hash(token), address=signer, created_at=now, expires_at=expires)
    )
    session.commit()
    return token, SignedIn(signer, expires)


def signed_in(session: Session, token: str, *, now: datetime) -> SignedIn:
    """The session of a bearer ``token``, or :class:`~api.errors.NotAuthenticated`."""
    row = session.get(AuthSession, _hash(token))
    if row is None:
        raise NotAuthenticated("the token is unknown: sign in again")
    if _aware(row.expires_at) <= now:
        raise NotAuthenticated("the session expired: sign in again")
    return SignedIn(row.address, _aware(row.expires_at))


def logout(session: Session, token: str) -> None:
    """End the session of ``token`` (nothing happens for an unknown token)."""
    row = session.get(AuthSession, _hash(token))
    if row is not None:
        session.delete(row)
        session.commit()


def on_list(address: str, allowed: list[str]) -> bool:
    """Whether ``address`` is on an operator-managed allow-list (case-insensitive)."""
    return address.lower() in {a.lower() for a in allowed}


def holds_auditor_role(w3: Web3, registry: str, address: str) -> bool:
    """Whether ``address`` holds ``AUDITOR_ROLE`` on the AuditRegistry now."""
    contract = bind(w3, "AuditRegistry", registry)
    return bool(contract.functions.hasRole(AUDITOR_ROLE, to_address(address)).call())
