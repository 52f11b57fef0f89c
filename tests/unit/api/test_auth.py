"""Which URIs a configured Sign-In with Ethereum origin covers."""

import pytest

from api.auth import SiweOrigin

ORIGIN = SiweOrigin("gov.example", "https://gov.example")


@pytest.mark.parametrize(
    "uri",
    [
        "https://gov.example",
        "https://gov.example/",
        "https://gov.example/login",
        "HTTPS://GOV.example?x=1",
    ],
)
def test_the_uri_and_what_is_below_it_are_covered(uri: str):
    assert ORIGIN.covers(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "http://gov.example/login",
        "https://gov.example.evil.example/login",
        "https://gov.example:8443/login",
        "https://evil.example/https://gov.example",
    ],
)
def test_other_schemes_hosts_and_ports_are_not(uri: str):
    assert not ORIGIN.covers(uri)
