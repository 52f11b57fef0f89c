"""Review #18: ``POST /v1/datasets`` stores a privileged group that has no rows.

``fairgov datasets register --reference`` refuses a group that does not occur in the file
(:func:`audit.training.check_reference_group`, "before anyone votes on it"), but the API
checks only the keys. The manifest is stored, offered and voted on (gas), and then every
governed run on it fails with ``unknown_reference_group``.
"""

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
def test_a_privileged_group_without_rows_is_refused_over_http(make_app, tmp_path: Path) -> None:
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
