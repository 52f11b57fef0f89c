"""Turning errors into HTTP responses: one JSON shape, stable codes, no tracebacks.

Every error body is ``{"error": {"code", "message", "details"}}``. Domain errors keep their
own ``code``; :data:`STATUS_BY_CODE` decides the status. A code missing from the table gets
the status of its nearest mapped ancestor class, so a new leaf error still answers sensibly.
This module is the only place that knows HTTP statuses.
"""

from __future__ import annotations

import logging
import re
from typing import Any, ClassVar, Final

import requests
import sqlalchemy.exc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import ConfigurationError, FairgovError

log = logging.getLogger("fairgov.api")

INTERNAL_MESSAGE: Final = "an unexpected error happened; it was logged on the server"
NODE_DOWN_MESSAGE: Final = "the chain node does not answer: try again later"


class ApiError(FairgovError):
    """Root of the errors that only the HTTP layer raises."""

    code: ClassVar[str] = "api_error"


class NotAuthenticated(ApiError):
    """No bearer token, or one that is unknown or expired."""

    code: ClassVar[str] = "not_authenticated"

    def __init__(
        self, problem: str = "sign in first: GET /v1/auth/nonce, POST /v1/auth/login"
    ) -> None:
        super().__init__(f"not signed in: {problem}")


class SiweRejected(ApiError):
    """A Sign-In with Ethereum message that does not sign anyone in."""

    code: ClassVar[str] = "siwe_rejected"

    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(f"sign-in refused: {problem}", reason=reason)


class SiweNotConfigured(ConfigurationError):
    """Off a local chain, the Sign-In with Ethereum domain must be configured."""

    code: ClassVar[str] = "siwe_not_configured"

    def __init__(self, chain_id: int) -> None:
        super().__init__(
            f"chain {chain_id} is not a local chain: set FAIRGOV_API_DOMAIN (and "
            "FAIRGOV_API_URI if it is not https://<domain>) to where users reach this API",
            chain_id=chain_id,
        )


class Forbidden(ApiError):
    """Signed in, but without the role the request needs."""

    code: ClassVar[str] = "forbidden"

    def __init__(self, address: str, role: str) -> None:
        super().__init__(f"{address} is not an {role}: this needs the {role} role", role=role)


class NotFound(ApiError):
    """The addressed resource does not exist."""

    code: ClassVar[str] = "not_found"

    def __init__(self, resource: str, key: str) -> None:
        super().__init__(f"there is no {resource} {key}", resource=resource, key=key)


class RateLimited(ApiError):
    """Too many requests from one client or for one voter."""

    code: ClassVar[str] = "rate_limited"

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(
            f"too many requests for this {scope}: retry in {retry_after} s",
            scope=scope,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class StoredReportCorrupt(ApiError):
    """A stored report file is not what was written and anchored: a server-side fault."""

    code: ClassVar[str] = "report_corrupt"

    def __init__(self, run_id: str, file: str, problem: str) -> None:
        super().__init__(
            f"the stored {file} of run {run_id} is corrupt ({problem}): the operator must "
            "restore the report directory from a backup or re-run the audit",
            run_id=run_id,
            file=file,
            problem=problem,
        )


class BodyTooLarge(ApiError):
    """The request body exceeds the configured limit."""

    code: ClassVar[str] = "body_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes", limit=limit)


class BodyLimitExceeded(StarletteHTTPException):
    """Raised while a streamed body is read, once it passes the limit.

    An HTTPException so that FastAPI's body parsing passes it through unchanged.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is larger than {limit} bytes")
        self.limit = limit


#: The HTTP status of every stable error code.
STATUS_BY_CODE: Final[dict[str, int]] = {
    # generic roots
    "fairgov_error": 400,
    "governance_error": 400,
    "audit_error": 400,
    "api_error": 400,
    "configuration_error": 500,
    "siwe_not_configured": 500,
    "not_deployed": 500,
    # the HTTP layer
    "not_authenticated": 401,
    "siwe_rejected": 401,
    "forbidden": 403,
    "not_found": 404,
    "rate_limited": 429,
    "body_too_large": 413,
    "audits_disabled": 503,
    # the chain
    "chain_unreachable": 503,
    "index_rpc_failed": 503,
    "anvil_not_found": 503,
    "anvil_start_failed": 503,
    "port_in_use": 503,
    "chain_dir_busy": 503,
    "deployment_stale": 503,
    "policy_lacks_evidence_rule": 503,
    "deployment_config_invalid": 500,
    "index_deployment_mismatch": 503,
    "transaction_failed": 502,
    # signatures: the client sent something that does not verify
    "signature_error": 400,
    "invalid_signature": 400,
    "signature_malleable": 400,
    "signer_mismatch": 400,
    "wrong_chain": 400,
    "wrong_verifying_contract": 400,
    "invalid_raw_transaction": 400,
    "not_our_governor": 400,
    "not_a_propose_call": 400,
    "restricted_proposer": 400,
    # well-formed but invalid values
    "invalid_support": 422,
    "unknown_metric": 422,
    "invalid_metric_name": 422,
    "invalid_threshold_value": 422,
    "invalid_mitigation": 422,
    "empty_proposal": 422,
    "invalid_report": 422,
    "report_not_canonical": 422,
    "invalid_manifest": 422,
    "invalid_model_spec": 422,
    "invalid_threshold_spec": 422,
    "unknown_metric_name": 422,
    "missing_column": 422,
    "invalid_predictions": 422,
    "missing_values": 422,
    "ambiguous_labels": 422,
    "unsupported_file_format": 422,
    "unreadable_file": 422,
    "unsupported_mitigation": 422,
    "invalid_confidence_level": 422,
    "invalid_minimum_size": 422,
    "metric_has_no_interval": 422,
    # unknown things
    "unknown_proposal": 404,
    "snapshot_unavailable": 404,
    "dataset_not_registered": 404,
    "input_file_not_found": 404,
    # valid, but the state of the world refuses it
    "wrong_nonce": 409,
    "proposal_not_active": 409,
    "already_voted": 409,
    "ballot_conflict": 409,
    "delegation_conflict": 409,
    "no_voting_power": 409,
    "delegation_expired": 409,
    "below_proposal_threshold": 409,
    "proposal_exists": 409,
    "proposal_would_revert": 409,
    "unminable_transaction": 409,
    "gas_limit_too_low": 409,
    "gas_limit_above_block": 409,
    "fees_not_minable": 409,
    "insufficient_funds": 409,
    "wrong_transaction_nonce": 409,
    "dataset_not_allowed": 409,
    "dataset_hash_mismatch": 409,
    "manifest_mismatch": 409,
    "anchor_refused": 409,
    "anchor_conflict": 409,
    "model_not_approved": 409,
    "auditor_key_missing": 503,
    # server-side files that are gone or bad
    "report_corrupt": 500,
    "dataset_file_missing": 500,
    "model_file_missing": 500,
    "model_hash_mismatch": 500,
    "untrusted_model_type": 500,
}


def status_for(exc: FairgovError) -> int:
    """The HTTP status of ``exc``: its code's, else its nearest mapped ancestor's."""
    for cls in type(exc).__mro__:
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code in STATUS_BY_CODE:
            return STATUS_BY_CODE[code]
    return 400


class ErrorBody(BaseModel):
    """What went wrong: a stable machine code, a message for people, and the data."""

    code: str = Field(examples=["already_voted"])
    message: str = Field(
        examples=["0x70… has already voted on proposal 42: a vote cannot be changed"]
    )
    details: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    """The one error shape of the API."""

    error: ErrorBody


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    """A JSON response in the API's error shape."""
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    headers = {}
    if status == 429 and details and "retry_after" in details:
        headers["Retry-After"] = str(details["retry_after"])
    return JSONResponse(body, status_code=status, headers=headers)


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if value is None or isinstance(value, str | int | float | bool):
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out


def fairgov_error_response(exc: FairgovError) -> JSONResponse:
    """The response for a deliberate error."""
    return error_response(status_for(exc), exc.code, exc.message, _jsonable(exc.details))


async def _on_fairgov_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FairgovError)
    return fairgov_error_response(exc)


async def _on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "where": ".".join(str(p) for p in error.get("loc", ())),
            "problem": str(error.get("msg", "")),
        }
        for error in exc.errors()
    ]
    first = problems[0] if problems else {"where": "request", "problem": "invalid"}
    message = f"invalid request: {first['where']}: {first['problem']}"
    return error_response(422, "invalid_request", message, {"problems": problems})


_HTTP_METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _route_table(app: FastAPI) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """Each documented path as a pattern, with the methods served there (cached)."""
    table: list[tuple[re.Pattern[str], frozenset[str]]] | None = getattr(
        app.state, "allow_table", None
    )
    if table is None:
        table = []
        for path, operations in app.openapi().get("paths", {}).items():
            pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))
            methods = {m.upper() for m in operations if m in _HTTP_METHODS}
            if "GET" in methods:
                methods.add("HEAD")  # Starlette answers HEAD wherever it answers GET
            table.append((re.compile(f"^{pattern}$"), frozenset(methods)))
        app.state.allow_table = table
    return table


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (RFC 9110 ``Allow``).

    Starlette names only the methods of the first route whose path matched, and a path
    such as ``/v1/proposals`` is served by two routes (GET and POST).
    """
    path = request.url.path
    methods: set[str] = set()
    for pattern, served in _route_table(request.app):
        if pattern.match(path):
            methods |= served
    return sorted(methods)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, BodyLimitExceeded):
        return fairgov_error_response(BodyTooLarge(exc.limit))
    if exc.status_code == 400:  # FastAPI could not parse the body (not UTF-8 JSON)
        return error_response(422, "invalid_request", f"invalid request: {exc.detail}")
    codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    code = codes.get(exc.status_code, f"http_{exc.status_code}")
    response = error_response(exc.status_code, code, str(exc.detail))
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


async def _on_node_error(_request: Request, exc: Exception) -> JSONResponse:
    # web3.py's HTTP provider raises requests' errors when the node is down.
    log.warning("chain node error: %s", type(exc).__name__)
    return error_response(
        503, "chain_unreachable", NODE_DOWN_MESSAGE, {"reason": type(exc).__name__}
    )


async def _on_overload(_request: Request, exc: Exception) -> JSONResponse:
    # Every database connection is busy: the server is saturated, not broken.
    log.warning("database connections exhausted: %s", type(exc).__name__)
    response = error_response(
        503, "server_busy", "the server is at capacity: retry in a moment", {"retry_after": 1}
    )
    response.headers["Retry-After"] = "1"
    return response


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error", exc_info=exc)
    return error_response(500, "internal_error", INTERNAL_MESSAGE)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error the app can raise to the one JSON shape."""
    app.add_exception_handler(FairgovError, _on_fairgov_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(requests.ConnectionError, _on_node_error)
    app.add_exception_handler(requests.Timeout, _on_node_error)
    app.add_exception_handler(sqlalchemy.exc.TimeoutError, _on_overload)
    app.add_exception_handler(Exception, _on_unexpected)


#: Responses every route may give, for the OpenAPI schema.
COMMON_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    422: {"model": ErrorResponse, "description": "The request is invalid (`invalid_request`)."},
    429: {"model": ErrorResponse, "description": "Rate limited (`rate_limited`); see Retry-After."},
    500: {"model": ErrorResponse, "description": "Unexpected server error (`internal_error`)."},
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` for a route: the common ones plus ``statuses``."""
    text = {
        400: "The signature or transaction does not verify.",
        401: "Not signed in, or the sign-in was refused.",
        403: "Signed in without the needed role.",
        404: "Not found.",
        409: "Refused by the current chain or database state.",
        413: "The body is too large.",
        503: "The chain node does not answer (`chain_unreachable`).",
    }
    out = dict(COMMON_RESPONSES)
    for status in statuses:
        out[status] = {"model": ErrorResponse, "description": text[status]}
    return out
