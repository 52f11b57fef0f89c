"""413 for oversized bodies, 429 with Retry-After per client IP and per voter."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.testclient import TestClient

from governance.chain import deploy
from governance.intake.service import governor_domain
from tests.helpers import HOLDER_KEYS, address_of
from tests.integration.api.api_support import error_code
from tests.voters import signed_ballot

VOTER_A = "0x" + "aa" * 20
VOTER_B = "0x" + "bb" * 20


def _vote(voter: str) -> dict[str, object]:
    return {"voter": voter, "support": 1, "nonce": 0, "signature": "0x" + "11" * 65}


def test_a_declared_oversized_body_is_413(make_app):
    with TestClient(make_app(api_max_body_bytes=1024)) as client:
        response = client.post("/v1/proposals", json={"raw_transaction": "0x" + "ab" * 2000})
    assert (response.status_code, error_code(response)) == (413, "body_too_large")


def test_a_streamed_oversized_body_is_413(make_app):
    def chunks() -> Iterator[bytes]:
        yield b'{"raw_transaction": "0x'
        for _ in range(10):
            yield b"ab" * 100
        yield b'"}'

    with TestClient(make_app(api_max_body_bytes=1024)) as client:
        response = client.post(
            "/v1/proposals", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert (response.status_code, error_code(response)) == (413, "body_too_large")


def test_clients_are_limited_per_ip(make_app):
    with TestClient(make_app(api_ip_rate=0.01, api_ip_burst=3)) as client:
        statuses = [client.get("/v1/proposals").status_code for _ in range(4)]
        limited = client.get("/v1/proposals")
    assert statuses == [200, 200, 200, 429]
    assert error_code(limited) == "rate_limited"
    assert int(limited.headers["retry-after"]) >= 1


def _signed(deployment: deploy.Deployment, key: str) -> dict[str, object]:
    ballot = signed_ballot(governor_domain(deployment), key, 1)
    return {"voter": ballot.voter, "support": 1, "nonce": 0, "signature": ballot.signature}


def test_votes_are_limited_per_voter(make_app, deployment: deploy.Deployment):
    with TestClient(make_app(api_voter_rate=0.01, api_voter_burst=1)) as client:
        first = client.post("/v1/proposals/1/votes", json=_signed(deployment, HOLDER_KEYS[0]))
        second = client.post("/v1/proposals/1/votes", json=_signed(deployment, HOLDER_KEYS[0]))
        other = client.post("/v1/proposals/1/votes", json=_signed(deployment, HOLDER_KEYS[1]))
    assert first.status_code != 429
    assert (second.status_code, error_code(second)) == (429, "rate_limited")
    assert second.headers["retry-after"]
    assert other.status_code != 429


def test_junk_in_a_voters_name_does_not_use_up_their_budget(
    make_app, deployment: deploy.Deployment
):
    """Review (session 23): fifteen ballots with a junk signature in a voter's name used up
    the voter's budget, and the voter's own ballot and delegation then got 429: anyone could
    silence any voter. Junk is refused (400) and charged to the sender's IP only."""
    victim = address_of(HOLDER_KEYS[0])
    with TestClient(make_app(api_voter_rate=0.01, api_voter_burst=1)) as client:
        junk = [client.post("/v1/proposals/1/votes", json=_vote(victim)) for _ in range(5)]
        delegation_junk = client.post(
            "/v1/delegations",
            json={
                "delegator": victim,
                "delegatee": VOTER_A,
                "nonce": 0,
                "expiry": 1,
                "signature": "0x" + "11" * 65,
            },
        )
        own = client.post("/v1/proposals/1/votes", json=_signed(deployment, HOLDER_KEYS[0]))
    assert {r.status_code for r in junk} == {400}
    assert delegation_junk.status_code == 400
    assert own.status_code != 429, own.text
