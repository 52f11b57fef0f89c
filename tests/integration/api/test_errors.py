"""One error shape; every deliberate error code has a status; surprises are a bare 500."""

from __future__ import annotations

import importlib

from fastapi.testclient import TestClient

from api.errors import STATUS_BY_CODE, status_for
from core.errors import FairgovError
from governance.errors import ChainUnreachable, WrongNonce
from tests.integration.api.api_support import error_code

_MODULES = (
    "core.errors",
    "governance.errors",
    "audit.errors",
    "api.errors",
    "api.runs",
    "api.main",
)


def _all_error_classes() -> list[type[FairgovError]]:
    for module in _MODULES:
        importlib.import_module(module)
    found: list[type[FairgovError]] = []
    todo: list[type[FairgovError]] = [FairgovError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return [
        c for c in found if c.__module__.split(".")[0] in {"core", "governance", "audit", "api"}
    ]


def test_every_error_code_has_an_http_status():
    missing = sorted({c.code for c in _all_error_classes()} - set(STATUS_BY_CODE))
    assert missing == []


def test_statuses_follow_the_kind_of_error():
    assert status_for(WrongNonce(account="0x1", expected=1, actual=2)) == 409
    assert status_for(ChainUnreachable("http://x", "down")) == 503

    class NewLeaf(ChainUnreachable):
        code = "brand_new"  # type: ignore[misc]

    assert status_for(NewLeaf("http://x", "down")) == 503


def test_unexpected_errors_are_500_without_a_traceback(make_app):
    app = make_app()

    def boom() -> None:
        raise RuntimeError("secret internals")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/boom")
    assert response.status_code == 500
    assert error_code(response) == "internal_error"
    assert "secret" not in response.text
    assert "Traceback" not in response.text


def test_unknown_routes_and_methods_use_the_error_shape(client: TestClient):
    assert error_code(client.get("/v1/nothing")) == "not_found"
    response = client.delete("/v1/proposals")
    assert (response.status_code, error_code(response)) == (405, "method_not_allowed")
    assert response.headers["allow"] == "GET, HEAD, POST"  # two routes serve /v1/proposals
    login = client.get("/v1/auth/login")
    assert (login.status_code, login.headers["allow"]) == (405, "POST")


def test_bodies_with_a_size_limit_document_413(client: TestClient):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/proposals", "/v1/auth/login", "/v1/proposals/{proposal_id}/votes"):
        assert "413" in paths[path]["post"]["responses"], path


def test_the_openapi_schema_documents_every_route_with_examples(client: TestClient):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert "/v1/proposals/{proposal_id}/votes" in paths
    assert "/v1/reports/{run_id}.{fmt}" in paths
    assert len(paths) >= 24
    vote = schema["components"]["schemas"]["VoteCreate"]
    assert vote["examples"]
