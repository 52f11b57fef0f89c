"""The wallet forms of a prepared proposal transaction."""

from api.schemas.proposals import rpc_transaction, wallet_transaction

PREPARED = {
    "from": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "to": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "data": "0x7d5e81e2",
    "value": 0,
    "type": 2,
    "chainId": 31337,
    "nonce": 7,
    "gas": 350_000,
    "maxFeePerGas": 2_000_000_000,
    "maxPriorityFeePerGas": 1_000_000_000,
}


def test_the_ethers_and_viem_form_names_the_gas_limit_both_ways_and_no_type():
    tx = wallet_transaction(PREPARED)
    assert tx["gasLimit"] == tx["gas"] == hex(350_000)
    assert "type" not in tx
    assert (tx["chainId"], tx["nonce"]) == (31337, 7)
    assert tx["value"] == 0  # viem would encode the string "0x0" as a non-canonical byte
    assert tx["maxFeePerGas"] == "0x77359400"


def test_the_rpc_form_is_all_hex_with_type_two():
    tx = rpc_transaction(PREPARED)
    assert tx["type"] == "0x2"
    assert (tx["chainId"], tx["nonce"], tx["value"], tx["gas"]) == (
        "0x7a69",
        "0x7",
        "0x0",
        "0x55730",
    )
