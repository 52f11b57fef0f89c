"""Exact assertions on custom-error reverts.

brownie 1.22 turns revert data into text ("Name: arg, arg") and keeps no raw bytes, so these
helpers fetch the bytes themselves and compare them with selector + ABI-encoded arguments.
"""

import pytest
from brownie import web3
from brownie.exceptions import VirtualMachineError
from eth_abi import encode
from eth_utils import keccak
from hexbytes import HexBytes


def custom_error_data(signature, *args):
    """The revert data of `signature` (e.g. "Name(address,bytes32)") raised with `args`."""
    inner = signature[signature.index("(") + 1 : -1]
    types = inner.split(",") if inner else []
    values = [HexBytes(v) if t.startswith("bytes") else v for t, v in zip(types, args, strict=True)]
    return keccak(text=signature)[:4] + encode(types, values)


def revert_data(error):
    """The raw revert data behind a brownie VirtualMachineError."""
    if error.txid:
        # The transaction was mined and reverted: its trace holds the exact bytes it returned.
        trace = web3.provider.make_request(
            "debug_traceTransaction", [error.txid, {"tracer": "callTracer"}]
        )
        output = trace["result"].get("output", "0x")
    else:
        # A reverted eth_call: brownie raises from inside its handler of the node's error,
        # which carries the raw data.
        rpc_error = error.__context__
        assert isinstance(rpc_error, ValueError), f"no RPC error behind {error!r}"
        output = rpc_error.args[0]["data"]
    return bytes.fromhex(output.removeprefix("0x"))


def assert_custom_error(call, signature, *args):
    """Run `call()` and assert that it reverts with exactly the custom error `signature(args)`."""
    with pytest.raises(VirtualMachineError) as info:
        call()
    expected = "0x" + custom_error_data(signature, *args).hex()
    actual = "0x" + revert_data(info.value).hex()
    assert actual == expected, f"{signature}: got {info.value.revert_msg!r}"
