"""``POST /v1/audits`` with an estimator named ``module:Class``: refused in the request,
before anything is queued, unless the operator allows its module."""

from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient

from tests.helpers import HOLDER_KEYS
from tests.integration.api.api_support import error_code
from tests.integration.api.conftest import MakeApp
from tests.integration.api.siwe_support import bearer

# The database only holds the sessions here, so SQLite alone is enough.
pytestmark = [pytest.mark.chain, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]
OPERATOR_KEY = HOLDER_KEYS[3]
SPEC = {
    "name": "loans-rf",
    "dataset": "nope",
    "estimator": "sklearn.ensemble:RandomForestClassifier",
}


def test_a_named_estimator_needs_the_operator_allow_list(make_app: MakeApp) -> None:
    operator = Account.from_key(OPERATOR_KEY).address
    with TestClient(make_app(operators=[operator])) as client:
        refused = client.post("/v1/audits", json=SPEC, headers=bearer(client, OPERATOR_KEY))
        assert (refused.status_code, error_code(refused)) == (403, "estimator_not_allowed")
        assert "FAIRGOV_ESTIMATOR_MODULES" in refused.json()["error"]["message"]
    allowed = make_app(operators=[operator], estimator_modules="sklearn.ensemble,sklearn.tree")
    with TestClient(allowed) as client:
        headers = bearer(client, OPERATOR_KEY)
        # allowed, so the request goes on to find the dataset
        unknown = client.post("/v1/audits", json=SPEC, headers=headers)
        assert (unknown.status_code, error_code(unknown)) == (404, "dataset_not_registered")
        cases = {
            "estimator_not_classifier": {"estimator": "sklearn.ensemble:RandomForestRegressor"},
            "estimator_not_found": {"estimator": "sklearn.ensemble:NoSuchForest"},
            "invalid_model_spec": {"hyperparameters": {"n_estimators": -1}},
        }
        for code, change in cases.items():
            response = client.post("/v1/audits", json=SPEC | change, headers=headers)
            assert (response.status_code, error_code(response)) == (422, code), response.text
        assert client.get("/v1/audits").json()["count"] == 0
