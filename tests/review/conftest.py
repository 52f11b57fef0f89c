"""Fixtures of the review tests: the API's app factory, as tests/integration/api has it."""

from tests.integration.api.conftest import gov, make_app

__all__ = ["gov", "make_app"]
