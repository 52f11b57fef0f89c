"""Dependencies as ``Annotated`` aliases: what a route needs, by name.

``SessionDep`` opens a database session for the request; ``CtxDep`` is the app's
:class:`~api.context.ApiContext`; ``CurrentUser``, ``CurrentAuditor`` and
``CurrentOperator`` sign the caller in from ``Authorization: Bearer <token>`` and check the
role (401 without a valid session, 403 without the role).

Dependencies that do no I/O are ``async def``: FastAPI runs a plain ``def`` dependency in
its thread pool, and a hop there and back per dependency per request cost more than the
ballot intake itself.
"""

from __future__ import annotations

import typing
from collections import Counter
from collections.abc import AsyncIterator
from typing import Annotated

import anyio.to_thread
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session
from web3 import Web3

from api import auth
from api.context import ApiContext
from api.errors import Forbidden, NotAuthenticated, RepeatedParameter
from core.settings import LOCAL_CHAIN_IDS, Settings
from governance.chain.deploy import Deployment


async def get_ctx(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[ApiContext, Depends(get_ctx)]


async def get_session(ctx: CtxDep) -> AsyncIterator[Session]:
    """A session for the request. Opening one does no I/O (it connects when first used);
    closing one that still holds a transaction rolls it back, so that happens in a thread."""
    session = Session(ctx.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        if session.in_transaction():
            await anyio.to_thread.run_sync(session.close)
        else:
            session.close()


async def get_settings(ctx: CtxDep) -> Settings:
    return ctx.settings


async def get_w3(ctx: CtxDep) -> Web3:
    return ctx.w3


async def get_deployment(ctx: CtxDep) -> Deployment:
    return ctx.deployment


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
W3Dep = Annotated[Web3, Depends(get_w3)]
DeploymentDep = Annotated[Deployment, Depends(get_deployment)]

_bearer = HTTPBearer(auto_error=False, description="A session token from POST /v1/auth/login.")
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_current_user(session: SessionDep, ctx: CtxDep, credentials: BearerDep) -> auth.SignedIn:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    return auth.signed_in(session, credentials.credentials, now=ctx.now())


CurrentUser = Annotated[auth.SignedIn, Depends(get_current_user)]


def get_current_auditor(user: CurrentUser, ctx: CtxDep) -> auth.SignedIn:
    if auth.on_list(user.address, ctx.settings.auditors):
        return user
    registry = ctx.deployment.addresses.audit_registry
    if auth.holds_auditor_role(ctx.w3, registry, user.address):
        return user
    raise Forbidden(user.address, "auditor")


def get_current_operator(user: CurrentUser, ctx: CtxDep) -> auth.SignedIn:
    if auth.on_list(user.address, operators(ctx)):
        return user
    raise Forbidden(user.address, "operator")


def operators(ctx: ApiContext) -> list[str]:
    """``FAIRGOV_OPERATORS``; when it is empty on a local development chain, the deployer, so
    that ``fairgov run`` on embedded defaults has an operator. Elsewhere nobody is implied."""
    if ctx.settings.operators or ctx.deployment.chain_id not in LOCAL_CHAIN_IDS:
        return ctx.settings.operators
    return [ctx.deployment.deployer]


CurrentAuditor = Annotated[auth.SignedIn, Depends(get_current_auditor)]
CurrentOperator = Annotated[auth.SignedIn, Depends(get_current_operator)]


def refuse_repeated(request: Request, model: type[BaseModel]) -> None:
    """Refuse a query parameter of ``model`` given more than once unless it is a list."""
    repeatable = {
        name
        for name, field in model.model_fields.items()
        if typing.get_origin(field.annotation) is list
    }
    counts = Counter(key for key, _ in request.query_params.multi_items())
    for name, times in counts.items():
        if times > 1 and name in model.model_fields and name not in repeatable:
            raise RepeatedParameter(name, times)
