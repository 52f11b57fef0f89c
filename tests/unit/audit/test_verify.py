"""A report's run id is checked before anything is asked of the chain."""

from __future__ import annotations

import json

import pytest
from web3 import Web3

from audit.errors import InvalidReport
from audit.verify import verify_report

REGISTRY = "0x" + "11" * 20


@pytest.mark.parametrize(
    "run_id",
    ["ab" * 32, "0x" + "ab" * 31 + " ab", "0x" + "ab" * 31, "0x" + "ab" * 32 + "00"],
    ids=["no 0x", "a space", "31 bytes", "33 bytes"],
)
def test_a_run_id_that_is_not_0x_and_64_hex_digits_is_not_a_report(run_id: str) -> None:
    report = json.dumps({"run_id": run_id, "verdict": "PASS"}).encode()
    # No provider: a refused report never reaches the chain.
    with pytest.raises(InvalidReport, match="is not 32 bytes of hex"):
        verify_report(Web3(), REGISTRY, report)
