"""One error shape; surprises are a bare 500 (statuses of the codes: tests/unit/api)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.api.api_support import error_code


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
