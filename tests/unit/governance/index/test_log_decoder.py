"""The indexer's fast log decoder against eth_abi, on the words a real log carries."""

from __future__ import annotations

import pytest
from eth_abi.abi import encode as abi_encode
from web3 import Web3

from governance.index.log_decoder import FOLLOWED, LogDecoder

POLICY = "0x" + "11" * 20
METRIC = b"statistical_parity_difference".ljust(32, b"\0")
TOPIC = "0x" + Web3.keccak(text="ThresholdSet(bytes32,int256,uint8,uint256)").hex()


def _threshold_set(value: int, direction: int, version: int) -> dict[str, object]:
    data = abi_encode(["int256", "uint8", "uint256"], [value, direction, version])
    return {
        "address": POLICY,
        "topics": [TOPIC, "0x" + METRIC.hex()],
        "data": "0x" + data.hex(),
        "blockNumber": "0x5",
        "logIndex": "0x0",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
    }


@pytest.mark.parametrize("value", [-100_000, -1, 0, 1, -(2**255), 2**255 - 1])
def test_a_threshold_value_decodes_signed(value: int) -> None:
    decoder = LogDecoder({name: POLICY if name == "TrainingPolicy" else "0x" + "00" * 20
                          for name in FOLLOWED})  # fmt: skip
    (event,) = decoder.decode([_threshold_set(value, 1, 7)])
    assert event.name == "ThresholdSet"
    assert event.args == {
        "metric": "0x" + METRIC.hex(),
        "value": value,
        "direction": 1,
        "policyVersion": 7,
    }
