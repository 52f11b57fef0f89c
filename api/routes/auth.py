"""Sign-In with Ethereum (EIP-4361): nonce, login, who am I, logout."""

from __future__ import annotations

from fastapi import APIRouter, Request, status

from api import auth
from api.deps import BearerDep, CtxDep, CurrentUser, SessionDep, operators
from api.errors import responses
from api.schemas.auth import LoginRequest, MePublic, NoncePublic, SessionPublic
from core.errors import FairgovError

router = APIRouter(prefix="/auth", tags=["auth"])


def _origin(ctx: CtxDep, request: Request) -> auth.SiweOrigin:
    """The domain and URI messages must name, from settings; the port of the socket this
    request arrived on stands in for FAIRGOV_API_PORT=0. Never the Host header."""
    server = request.scope.get("server")
    bound = server[1] if server and isinstance(server[1], int) else None
    return auth.siwe_origin(ctx.settings, chain_id=ctx.deployment.chain_id, bound_port=bound)


@router.get("/nonce", response_model=NoncePublic, responses=responses())
def nonce(ctx: CtxDep, session: SessionDep, request: Request) -> NoncePublic:
    """A fresh single-use nonce, stored on the server until it expires or is used, and the
    domain, URI and chain id the signed message must name."""
    origin = _origin(ctx, request)
    row = auth.issue_nonce(session, now=ctx.now(), ttl=ctx.settings.api_nonce_ttl)
    return NoncePublic(
        nonce=row.nonce,
        expires_at=row.expires_at,
        domain=origin.domain,
        uri=origin.uri,
        chain_id=ctx.deployment.chain_id,
    )


@router.post("/login", response_model=SessionPublic, responses=responses(401, 413))
def login(ctx: CtxDep, session: SessionDep, request: Request, body: LoginRequest) -> SessionPublic:
    """Check a signed EIP-4361 message and open a session (401 ``siwe_rejected`` if not)."""
    token, signed = auth.login(
        session,
        body.message,
        body.signature,
        origin=_origin(ctx, request),
        chain_id=ctx.deployment.chain_id,
        now=ctx.now(),
        ttl=ctx.settings.api_session_ttl,
    )
    return SessionPublic(token=token, address=signed.address, expires_at=signed.expires_at)


@router.get("/me", response_model=MePublic, responses=responses(401))
def me(ctx: CtxDep, user: CurrentUser) -> MePublic:
    """The signed-in address and its roles."""
    auditor = auth.on_list(user.address, ctx.settings.auditors)
    if not auditor:
        try:
            registry = ctx.deployment.addresses.audit_registry
            auditor = auth.holds_auditor_role(ctx.w3, registry, user.address)
        except (FairgovError, OSError):
            auditor = False
    return MePublic(
        address=user.address,
        expires_at=user.expires_at,
        auditor=auditor,
        operator=auth.on_list(user.address, operators(ctx)),
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=responses(401))
def logout(session: SessionDep, user: CurrentUser, credentials: BearerDep) -> None:
    """End this session."""
    assert credentials is not None
    auth.logout(session, credentials.credentials)
