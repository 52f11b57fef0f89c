"""Fast decoding of the raw logs the indexer follows, straight from JSON-RPC hex strings.

web3's ``process_log`` builds AttributeDicts and HexBytes for every log and is far too
slow for an indexer. Here each event ABI is compiled once into a decoder keyed by
(contract address, topic0): static words are sliced and converted directly, and only
events with dynamic fields (strings, bytes, arrays) go through ``eth_abi``.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from eth_abi.abi import decode as abi_decode
from eth_utils.crypto import keccak

from core.types import hash32_of, to_address
from governance.chain.contracts import ContractName, artifact

#: The events the indexer follows, per contract.
FOLLOWED: Final[dict[ContractName, tuple[str, ...]]] = {
    "FairnessGovernor": (
        "ProposalCreated",
        "VoteCast",
        "VoteCastWithParams",
        "ProposalQueued",
        "ProposalExecuted",
        "ProposalCanceled",
        "ProposalExtended",
        "ProposalClassified",
        "SupermajoritySet",
        "LooseningVotingPeriodSet",
        "ProposalGuardianSet",
    ),
    "GovernanceToken": ("DelegateChanged", "DelegateVotesChanged"),
    "TrainingPolicy": (
        "DatasetAllowed",
        "DatasetRevoked",
        "DatasetWithdrawn",
        "ThresholdSet",
        "ThresholdCleared",
        "MitigationSet",
        "EvidenceRuleSet",
        "EvidenceRuleCleared",
        "FederationPolicySet",
    ),
    "AuditRegistry": ("AuditPublished", "RoleGranted", "RoleRevoked"),
}


@dataclass(slots=True)
class LogEvent:
    """One decoded event, with where it happened. ``args`` holds JSON-ready values.

    Addresses are checksummed, ``bytes32``/``bytes`` are 0x hex and integers stay ints.
    """

    block_number: int
    log_index: int
    block_hash: str
    tx_hash: str
    contract: ContractName
    name: str
    args: dict[str, Any]


_chain_order = operator.attrgetter("block_number", "log_index")


def _abi_type(entry: dict[str, Any]) -> str:
    """The canonical ABI type of an event input: a struct is ``(t1,t2,…)``."""
    if entry["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in entry["components"])
        return f"({inner}){entry['type'][len('tuple') :]}"
    return str(entry["type"])


def _json_struct(entry: dict[str, Any], value: Any) -> Any:
    """A decoded struct as a dict by field name, its fields JSON-ready."""
    return {
        c["name"]: (_json_struct(c, v) if c["type"] == "tuple" else _json_value(_abi_type(c), v))
        for c, v in zip(entry["components"], value, strict=True)
    }


def _json_value(abi_type: str, value: Any) -> Any:
    if abi_type.endswith("[]"):
        return [_json_value(abi_type[:-2], v) for v in value]
    if abi_type == "address":
        return to_address(value)
    if abi_type == "bytes32":
        return hash32_of(value)
    if abi_type.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value


def _word_converter(abi_type: str) -> Callable[[str], Any]:
    """Converts one 64-hex-digit word of a static type."""
    if abi_type == "address":
        return lambda word: to_address("0x" + word[24:])
    if abi_type == "bool":
        return lambda word: word[-1] != "0"
    if abi_type.startswith("uint"):
        return lambda word: int(word, 16)
    if abi_type.startswith("int"):
        bits = int(abi_type[3:] or 256)

        def signed(word: str) -> int:
            raw = int(word, 16) & ((1 << bits) - 1)
            return raw - (1 << bits) if raw >> (bits - 1) else raw

        return signed
    if abi_type.startswith("bytes"):
        size = int(abi_type[5:])
        return lambda word: "0x" + word[: 2 * size]
    raise ValueError(f"unsupported static type {abi_type}")


def _is_static(abi_type: str) -> bool:
    # Structs are decoded by eth_abi (static ones too: they are rare in events).
    return not (abi_type in {"string", "bytes"} or abi_type.endswith("]") or "(" in abi_type)


@dataclass(frozen=True, slots=True)
class _EventDecoder:
    contract: ContractName
    name: str
    topic_fields: tuple[tuple[str, Callable[[str], Any]], ...]
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    data_converters: tuple[Callable[[str], Any], ...] | None  # None: dynamic, use eth_abi
    data_entries: tuple[dict[str, Any], ...] = ()  # the ABI inputs, for structs

    def args(self, topics: list[str], data: str) -> dict[str, Any]:
        args = {
            name: convert(topic[2:])
            for (name, convert), topic in zip(self.topic_fields, topics[1:], strict=True)
        }
        if self.data_converters is not None:
            for i, (name, convert) in enumerate(
                zip(self.data_names, self.data_converters, strict=True)
            ):
                args[name] = convert(data[2 + 64 * i : 66 + 64 * i])
        elif self.data_names:
            values = abi_decode(list(self.data_types), bytes.fromhex(data[2:]))
            decoded = zip(self.data_entries, self.data_types, values, strict=True)
            for entry, abi_type, value in decoded:
                args[entry["name"]] = (
                    _json_struct(entry, value)
                    if entry["type"] == "tuple"
                    else _json_value(abi_type, value)
                )
        return args


def _compile(contract: ContractName, entry: dict[str, Any]) -> tuple[str, _EventDecoder]:
    inputs = entry["inputs"]
    signature = f"{entry['name']}({','.join(_abi_type(i) for i in inputs)})"
    topic0 = "0x" + keccak(text=signature).hex()
    indexed = [i for i in inputs if i["indexed"]]
    plain = [i for i in inputs if not i["indexed"]]
    if not all(_is_static(i["type"]) for i in indexed):
        raise ValueError(f"{signature}: indexed dynamic values cannot be decoded")
    data_static = all(_is_static(_abi_type(i)) for i in plain)
    decoder = _EventDecoder(
        contract=contract,
        name=entry["name"],
        topic_fields=tuple((i["name"], _word_converter(i["type"])) for i in indexed),
        data_names=tuple(i["name"] for i in plain),
        data_types=tuple(_abi_type(i) for i in plain),
        data_converters=(tuple(_word_converter(i["type"]) for i in plain) if data_static else None),
        data_entries=tuple(plain),
    )
    return topic0, decoder


@functools.cache
def _decoders_by_topic() -> dict[tuple[ContractName, str], _EventDecoder]:
    table: dict[tuple[ContractName, str], _EventDecoder] = {}
    for contract, names in FOLLOWED.items():
        for entry in artifact(contract).abi:
            if entry.get("type") == "event" and entry["name"] in names:
                topic0, decoder = _compile(contract, entry)
                table[(contract, topic0)] = decoder
    return table


class LogDecoder:
    """Decodes raw ``eth_getLogs`` entries of one deployment's contracts."""

    def __init__(self, addresses: dict[ContractName, str]) -> None:
        by_topic = _decoders_by_topic()
        self.addresses = {name: addresses[name].lower() for name in FOLLOWED}
        self._decoders: dict[tuple[str, str], _EventDecoder] = {
            (self.addresses[contract], topic0): decoder
            for (contract, topic0), decoder in by_topic.items()
        }
        self.topics: list[str] = sorted({topic0 for _, topic0 in by_topic})

    def log_filter(self, from_block: int, to_block: int) -> dict[str, Any]:
        """The ``eth_getLogs`` filter for every followed event in ``[from_block, to_block]``."""
        return {
            "fromBlock": hex(from_block),
            "toBlock": hex(to_block),
            "address": sorted(self.addresses.values()),
            "topics": [self.topics],
        }

    def decode(self, logs: Iterable[dict[str, Any]]) -> list[LogEvent]:
        """The followed events among ``logs`` (raw JSON-RPC log objects), in chain order."""
        events = []
        decoders = self._decoders
        for log in logs:
            if log.get("removed"):
                continue
            topics = log["topics"]
            if not topics:
                continue
            decoder = decoders.get((log["address"].lower(), topics[0]))
            if decoder is None:
                continue
            events.append(
                LogEvent(
                    block_number=int(log["blockNumber"], 16),
                    log_index=int(log["logIndex"], 16),
                    block_hash=log["blockHash"],
                    tx_hash=log["transactionHash"],
                    contract=decoder.contract,
                    name=decoder.name,
                    args=decoder.args(topics, log["data"]),
                )
            )
        events.sort(key=_chain_order)
        return events
