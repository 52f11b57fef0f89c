"""``POST /v1/datasets`` with a privileged group: stored and hashed with the manifest, or
refused in one line when it does not name each sensitive feature once, or names a group
that has no rows in the file; data no run could audit is refused as the CLI refuses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from audit.manifest import build_manifest
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from tests.helpers import HOLDER_KEYS
from tests.integration.api.api_support import error_code
from tests.integration.api.siwe_support import bearer

pytestmark = pytest.mark.chain

OPERATOR_KEY = HOLDER_KEYS[3]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_manifest_names_its_privileged_group_over_http(make_app, tmp_path: Path) -> None:
    app = make_app(operators=[Account.from_key(OPERATOR_KEY).address])
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv", 200),
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        reference_group={"group": "A"},
    )
    body = json.loads(manifest.canonical_json())
    with TestClient(app) as client:
        operator = bearer(client, OPERATOR_KEY)
        created = client.post("/v1/datasets", json=body, headers=operator)
        assert created.status_code == 201, created.text
        assert created.json()["manifest"]["manifest_hash"] == manifest.hash
        wrong = client.post(
            "/v1/datasets", json={**body, "reference_group": {"sex": "M"}}, headers=operator
        )
        assert (wrong.status_code, error_code(wrong)) == (422, "invalid_request")
        message = wrong.json()["error"]["message"]
        assert "the reference group must name one value for each sensitive feature" in message
        assert "\n" not in message


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_privileged_group_without_rows_is_refused_over_http(make_app, tmp_path: Path) -> None:
    """Review #18: the API stored a group the CLI refuses; every governed run on the voted
    manifest then failed with ``unknown_reference_group``."""
    app = make_app(operators=[Account.from_key(OPERATOR_KEY).address])
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv", 200),
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        reference_group={"group": "Z"},  # the file's groups are A and B
    )
    with TestClient(app) as client:
        operator = bearer(client, OPERATOR_KEY)
        created = client.post(
            "/v1/datasets", json=json.loads(manifest.canonical_json()), headers=operator
        )
        assert created.status_code == 422, created.text
        assert error_code(created) == "unknown_reference_group"
        assert client.get("/v1/datasets").json()["count"] == 0


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_manifest_whose_data_is_held_elsewhere_is_stored_unchecked(
    make_app, tmp_path: Path
) -> None:
    """A federated coordinator stores the voted manifests of data its nodes hold."""
    app = make_app(operators=[Account.from_key(OPERATOR_KEY).address])
    data = write_loans_csv(tmp_path / "loans.csv", 200)
    manifest = build_manifest(
        data,
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        reference_group={"group": "A"},
    )
    data.unlink()  # on a node, not here
    with TestClient(app) as client:
        operator = bearer(client, OPERATOR_KEY)
        created = client.post(
            "/v1/datasets", json=json.loads(manifest.canonical_json()), headers=operator
        )
        assert created.status_code == 201, created.text
        assert created.json()["manifest"]["manifest_hash"] == manifest.hash


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_labels_no_run_could_audit_are_refused_over_http(make_app, tmp_path: Path) -> None:
    """A positive label that no row has was stored; every governed run of it then failed."""
    app = make_app(operators=[Account.from_key(OPERATOR_KEY).address])
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv", 200),
        name="loans",
        label=LABEL,
        positive_label="approved!",
        sensitive_features=list(SENSITIVE),
    )
    with TestClient(app) as client:
        operator = bearer(client, OPERATOR_KEY)
        created = client.post(
            "/v1/datasets", json=json.loads(manifest.canonical_json()), headers=operator
        )
        assert (created.status_code, error_code(created)) == (422, "ambiguous_labels")
        assert "none equals the positive label 'approved!'" in created.json()["error"]["message"]
        assert client.get("/v1/datasets").json()["count"] == 0


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_records_count_that_is_not_the_files_is_refused_over_http(
    make_app, tmp_path: Path
) -> None:
    """Review, session 26: the API stored any ``records``; a federated run then bounded a
    node's rows by a count nobody had checked, even where the file was on the server."""
    app = make_app(operators=[Account.from_key(OPERATOR_KEY).address])
    manifest = build_manifest(
        write_loans_csv(tmp_path / "loans.csv", 200),
        name="loans",
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        salts_path=tmp_path / "loans.salts",
    )
    assert manifest.records == 200
    body = json.loads(manifest.canonical_json())
    with TestClient(app) as client:
        operator = bearer(client, OPERATOR_KEY)
        inflated = client.post("/v1/datasets", json={**body, "records": 2000}, headers=operator)
        assert (inflated.status_code, error_code(inflated)) == (422, "records_count_mismatch")
        assert "holds 200 records, not the 2000" in inflated.json()["error"]["message"]
        assert client.get("/v1/datasets").json()["count"] == 0
        created = client.post("/v1/datasets", json=body, headers=operator)
        assert created.status_code == 201, created.text
