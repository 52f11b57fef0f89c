"""An offer of a manifest this fairgov never registered is refused when it is posted, before
the chain is asked, not only later when it is proposed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from web3 import Web3

from audit.manifest import DatasetManifest
from governance.consent import sign_offer
from tests.helpers import OFFER_LIFETIME, PROVIDER_KEY, Governance, address_of, issue_time
from tests.integration.api.api_support import error_code
from tests.integration.api.conftest import MakeApp
from tests.integration.api.test_providers import committed  # noqa: F401 (fixture)

pytestmark = pytest.mark.chain

PROVIDER = address_of(PROVIDER_KEY)
DEAD = "http://127.0.0.1:9"


def _offer_body(gov: Governance, manifest: DatasetManifest) -> dict[str, object]:
    now = issue_time(gov.w3)
    offer = manifest.offer(provider=PROVIDER, issued_at=now, deadline=now + OFFER_LIFETIME)
    action = sign_offer(offer, PROVIDER_KEY, gov.deployment)
    return {"message": offer.message(), "signature": action.provider_signature, "name": "loans"}


def test_an_offer_of_a_manifest_not_registered_here_is_refused_before_the_chain(
    make_app: MakeApp,
    gov: Governance,
    committed: tuple[DatasetManifest, Path],  # noqa: F811
) -> None:
    """Review: ``POST /v1/providers/offers`` answered 200 for an offer of a manifest no
    registration stored; the provider learnt only at propose or prepare that it was
    ``manifest_not_registered``."""
    manifest, _salts = committed
    edited = manifest.model_copy(update={"description": "edited after registration"})
    unregistered = _offer_body(gov, edited)
    dead = Web3(Web3.HTTPProvider(DEAD, request_kwargs={"timeout": 2}))
    with TestClient(make_app(w3=dead, rpc_url=DEAD)) as node_down:
        refused = node_down.post("/v1/providers/offers", json=unregistered)
    assert (refused.status_code, error_code(refused)) == (404, "manifest_not_registered")
    assert refused.json()["error"]["details"] == {"name": "loans", "manifest_hash": edited.hash}

    nonce = gov.w3.eth.get_transaction_count(PROVIDER)
    with TestClient(make_app()) as client:
        again = client.post("/v1/providers/offers", json=unregistered)
        accepted = client.post("/v1/providers/offers", json=_offer_body(gov, manifest))
    assert (again.status_code, error_code(again)) == (404, "manifest_not_registered")
    assert accepted.status_code == 200, accepted.text
    assert gov.w3.eth.get_transaction_count(PROVIDER) == nonce
    assert gov.policy.functions.policyVersion().call() == 0
