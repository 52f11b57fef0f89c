"""Turning errors into HTTP responses: one JSON shape, stable codes, no tracebacks.

Every error body is ``{"error": {"code", "message", "details"}}``. Domain errors keep their
own ``code``; the status follows the error's ``category`` (:data:`STATUS_BY_CATEGORY`), save
the few codes in :data:`STATUS_EXCEPTIONS`, so a new error class needs no entry here.
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

from core.errors import ConfigurationError, ErrorCategory, FairgovError

log = logging.getLogger("fairgov.api")

INTERNAL_MESSAGE: Final = "an unexpected error happened; it was logged on the server"
NODE_DOWN_MESSAGE: Final = "the chain node does not answer: try again later"


class ApiError(FairgovError):
    """Root of the errors that only the HTTP layer raises."""

    code: ClassVar[str] = "api_error"


class NotAuthenticated(ApiError):
    """No bearer token, or one that is unknown or expired."""

    code: ClassVar[str] = "not_authenticated"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(
        self, problem: str = "sign in first: GET /v1/auth/nonce, POST /v1/auth/login"
    ) -> None:
        super().__init__(f"not signed in: {problem}")


class SiweRejected(ApiError):
    """A Sign-In with Ethereum message that does not sign anyone in."""

    code: ClassVar[str] = "siwe_rejected"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

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
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, address: str, role: str) -> None:
        super().__init__(f"{address} is not an {role}: this needs the {role} role", role=role)


class NotFound(ApiError):
    """The addressed resource does not exist."""

    code: ClassVar[str] = "not_found"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, resource: str, key: str) -> None:
        super().__init__(f"there is no {resource} {key}", resource=resource, key=key)


class RateLimited(ApiError):
    """Too many requests from one client or for one voter."""

    code: ClassVar[str] = "rate_limited"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, scope: str, retry_after: int) -> None:
        super().__init__(
            f"too many requests for this {scope}: retry in {retry_after} s",
            scope=scope,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class RepeatedParameter(ApiError):
    """A query parameter that takes one value was given several: the framework would keep
    the last without a word, so a client that sent two values would not know which counted."""

    code: ClassVar[str] = "repeated_parameter"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, name: str, times: int) -> None:
        super().__init__(
            f"the query parameter {name!r} is given {times} times: give it once",
            parameter=name,
            times=times,
        )


class AuditsBusy(ApiError):
    """Every slot for auditing uploads in this process is taken."""

    code: ClassVar[str] = "audits_busy"
    category: ClassVar[ErrorCategory] = ErrorCategory.UNAVAILABLE

    def __init__(self, running: int, retry_after: int) -> None:
        super().__init__(
            f"the server is already auditing {running} uploads, its limit: retry in "
            f"{retry_after} s (operators: FAIRGOV_API_MAX_CONCURRENT_AUDITS)",
            running=running,
            retry_after=retry_after,
        )
        self.retry_after = retry_after


class StoredReportCorrupt(ApiError):
    """A stored report file is not what was written and anchored: a server-side fault."""

    code: ClassVar[str] = "report_corrupt"
    category: ClassVar[ErrorCategory] = ErrorCategory.INTERNAL

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
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes", limit=limit)


class BodyLimitExceeded(StarletteHTTPException):
    """Raised while a streamed body is read, once it passes the limit.

    An HTTPException so that FastAPI's body parsing passes it through unchanged.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(status_code=413, detail=f"the request body is larger than {limit} bytes")
        self.limit = limit


#: The HTTP status of each kind of error.
STATUS_BY_CATEGORY: Final[dict[ErrorCategory, int]] = {
    ErrorCategory.INVALID: 422,
    ErrorCategory.NOT_FOUND: 404,
    ErrorCategory.CONFLICT: 409,
    ErrorCategory.FORBIDDEN: 403,
    ErrorCategory.UNAVAILABLE: 503,
    ErrorCategory.CONFIGURATION: 500,
    ErrorCategory.INTERNAL: 500,
}

#: The few codes (and their subclasses) whose status is not their category's.
STATUS_EXCEPTIONS: Final[dict[str, int]] = {
    # Not signed in at all: 401 asks for credentials; 403 is signed in without the role.
    "not_authenticated": 401,
    "siwe_rejected": 401,
    # What a wallet signed does not verify: a malformed request, not a value to correct.
    "signature_error": 400,
    # Refused for its size alone, before it is parsed (RFC 9110 Content Too Large).
    "body_too_large": 413,
    # Retry after the Retry-After header's seconds, not whenever a service is back.
    "rate_limited": 429,
    # The node answered, and the transaction reverted: a bad gateway, not an absent one.
    "transaction_failed": 502,
}


def status_for_class(cls: type[FairgovError]) -> int:
    """The HTTP status of errors of class ``cls``: the nearest declaration along its MRO
    wins, an exception for the class's own code or the category it declares."""
    for klass in cls.__mro__:
        code = klass.__dict__.get("code")
        if isinstance(code, str) and code in STATUS_EXCEPTIONS:
            return STATUS_EXCEPTIONS[code]
        category = klass.__dict__.get("category")
        if isinstance(category, ErrorCategory):
            return STATUS_BY_CATEGORY[category]
    return STATUS_BY_CATEGORY[cls.category]


def status_for(exc: FairgovError) -> int:
    """The HTTP status of ``exc``."""
    return status_for_class(type(exc))


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
    if status in (429, 503) and details and "retry_after" in details:
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
    for error in exc.errors():
        # A validator that calls the domain (an evidence rule, a reference group) raises the
        # domain's own error, a ValueError that pydantic wraps: it keeps its code.
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, FairgovError):
            return fairgov_error_response(cause)
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


async def _on_database_down(_request: Request, exc: Exception) -> JSONResponse:
    # The database refuses connections or is locked: a 500 said "unexpected" and logged a
    # traceback a request (chaos review, session 24: 39 of them in a 20 s outage).
    log.warning("database error: %s", " ".join(str(getattr(exc, "orig", exc)).split())[:200])
    response = error_response(
        503,
        "database_unavailable",
        "the database does not answer: retry in a moment",
        {"retry_after": 5},
    )
    response.headers["Retry-After"] = "5"
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
    app.add_exception_handler(sqlalchemy.exc.OperationalError, _on_database_down)
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
