"""The TrainingPolicy at any block, rebuilt from its events: no archive node needed.

Every change to the policy emits an event that carries the whole change and the new
``policyVersion``, so replaying the events up to a block gives the policy at that block.
Events come from the index (:func:`changes_from_index`) or straight from the node's logs
(:func:`changes_from_chain`); a full node keeps logs and headers for every block, while the
state at an old block needs an archive node (and a local anvil that keeps all its
historical states grows by gigabytes a day).

:data:`APPLY` maps each event name to what it does to the policy: one more kind of policy
event is one more entry there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlmodel import Session, col, select
from web3 import Web3

from core.types import to_address
from governance.actions import (
    ON_INCONCLUSIVE,
    DatasetOffer,
    Direction,
    bytes32_to_text,
    from_fixed,
)
from governance.errors import (
    PolicyLacksEvidenceRule,
    PolicyLacksFederationPolicy,
    SnapshotUnavailable,
)
from governance.index.log_decoder import FOLLOWED, LogDecoder
from governance.index.models import PolicyEvent
from governance.policy.models import (
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
)

_ZERO_ADDRESS = "0x" + "00" * 20
#: The contract's ``Direction`` enum, by value.
_DIRECTIONS: Final[tuple[Direction, ...]] = ("upper", "lower")
_DEFAULT_RULE: Final = "0x" + "00" * 32


@dataclass(frozen=True)
class PolicyChange:
    """One decoded TrainingPolicy event and where it happened."""

    block_number: int
    log_index: int
    name: str
    args: dict[str, Any]


@dataclass
class PolicyState:
    """The policy as events built it; :meth:`snapshot` makes it a :class:`PolicySnapshot`."""

    version: int = 0
    datasets: dict[str, DatasetEntry] = field(default_factory=dict)
    thresholds: dict[str, ThresholdEntry] = field(default_factory=dict)
    mitigation: Mitigation = field(
        default_factory=lambda: Mitigation(strategy="none", constraint="")
    )
    #: Evidence rules by metric; ``None`` is the default rule, set by the constructor's event.
    evidence: dict[str | None, EvidenceRuleEntry] = field(default_factory=dict)
    #: Set by the constructor's event; None only for a TrainingPolicy from before it.
    federation: FederationPolicy | None = None

    def snapshot(
        self, *, chain_id: int, policy: str, block_number: int, block_hash: str
    ) -> PolicySnapshot:
        if None not in self.evidence:
            # No constructor event: a TrainingPolicy from before evidence rules.
            raise PolicyLacksEvidenceRule(to_address(policy))
        if self.federation is None:
            raise PolicyLacksFederationPolicy(to_address(policy))
        overrides = {k: v for k, v in self.evidence.items() if k is not None}
        return PolicySnapshot(
            chain_id=chain_id,
            policy=to_address(policy),
            block_number=block_number,
            block_hash=block_hash,
            policy_version=self.version,
            datasets=tuple(self.datasets[k] for k in sorted(self.datasets)),
            thresholds=tuple(self.thresholds[k] for k in sorted(self.thresholds)),
            mitigation=self.mitigation,
            evidence=self.evidence[None],
            evidence_overrides=tuple(overrides[k] for k in sorted(overrides)),
            federation=self.federation,
        )


def _hex_to_name(value: str) -> str:
    """A bytes32 name as text, as :func:`~governance.policy.snapshot.read_snapshot` shows it: names
    that are not ASCII show as hex."""
    try:
        return bytes32_to_text(bytes.fromhex(value[2:]))
    except ValueError:
        return value.lower()


def _dataset_allowed(state: PolicyState, a: dict[str, Any]) -> None:
    entry = DatasetEntry.from_offer(DatasetOffer.from_message(a["offer"]))
    state.datasets[entry.dataset_id] = entry


def _dataset_revoked(state: PolicyState, a: dict[str, Any]) -> None:
    dataset_id = a["datasetId"].lower()
    state.datasets[dataset_id] = state.datasets[dataset_id].model_copy(update={"allowed": False})


def _dataset_withdrawn(state: PolicyState, a: dict[str, Any]) -> None:
    entry = state.datasets.get(a["datasetId"].lower())
    if entry is None or int(a["issuedAt"]) < entry.consented_at:
        return  # an unregistered id, or a withdrawal older than the consent in force
    withdrawn = entry.model_copy(update={"allowed": False, "withdrawn": True})
    state.datasets[entry.dataset_id] = withdrawn


def _threshold_set(state: PolicyState, a: dict[str, Any]) -> None:
    metric = _hex_to_name(a["metric"])
    state.thresholds[metric] = ThresholdEntry(
        metric=metric, value=str(from_fixed(int(a["value"]))), direction=_DIRECTIONS[a["direction"]]
    )


def _threshold_cleared(state: PolicyState, a: dict[str, Any]) -> None:
    state.thresholds.pop(_hex_to_name(a["metric"]), None)


def _mitigation_set(state: PolicyState, a: dict[str, Any]) -> None:
    state.mitigation = Mitigation(
        strategy=_hex_to_name(a["strategy"]), constraint=_hex_to_name(a["constraint"])
    )


def _rule_key(a: dict[str, Any]) -> str | None:
    return None if a["metric"].lower() == _DEFAULT_RULE else _hex_to_name(a["metric"])


def _evidence_rule_set(state: PolicyState, a: dict[str, Any]) -> None:
    metric = _rule_key(a)
    state.evidence[metric] = EvidenceRuleEntry(
        metric=metric,
        confidence_level=str(from_fixed(int(a["confidence"]))),
        min_group_size=int(a["minGroupSize"]),
        min_denominator=int(a["minDenominator"]),
        on_inconclusive=ON_INCONCLUSIVE[int(a["onInconclusive"])],
    )


def _evidence_rule_cleared(state: PolicyState, a: dict[str, Any]) -> None:
    state.evidence.pop(_rule_key(a), None)


def _federation_policy_set(state: PolicyState, a: dict[str, Any]) -> None:
    state.federation = FederationPolicy.from_chain(
        int(a["aggregation"]),
        int(a["trimBeta"]),
        int(a["krumF"]),
        int(a["epsilon"]),
        int(a["minNodes"]),
    )


#: What each TrainingPolicy event does to the policy, by event name.
APPLY: Final[dict[str, Callable[[PolicyState, dict[str, Any]], None]]] = {
    "DatasetAllowed": _dataset_allowed,
    "DatasetRevoked": _dataset_revoked,
    "DatasetWithdrawn": _dataset_withdrawn,
    "ThresholdSet": _threshold_set,
    "ThresholdCleared": _threshold_cleared,
    "MitigationSet": _mitigation_set,
    "EvidenceRuleSet": _evidence_rule_set,
    "EvidenceRuleCleared": _evidence_rule_cleared,
    "FederationPolicySet": _federation_policy_set,
}


def replay(changes: Iterable[PolicyChange]) -> PolicyState:
    """The policy after ``changes``, applied in chain order from an empty policy."""
    state = PolicyState()
    for change in sorted(changes, key=lambda c: (c.block_number, c.log_index)):
        APPLY[change.name](state, change.args)
        state.version = int(change.args["policyVersion"])
    return state


def changes_from_index(session: Session, *, up_to_block: int) -> list[PolicyChange]:
    """The indexed policy events at or below ``up_to_block``, in chain order."""
    rows = session.exec(
        select(PolicyEvent)
        .where(col(PolicyEvent.block_number) <= up_to_block)
        .order_by(col(PolicyEvent.block_number), col(PolicyEvent.log_index))
    ).all()
    return [PolicyChange(r.block_number, r.log_index, r.name, json.loads(r.args)) for r in rows]


def _decoder(policy_address: str) -> LogDecoder:
    addresses = dict.fromkeys(FOLLOWED, _ZERO_ADDRESS)
    addresses["TrainingPolicy"] = policy_address
    return LogDecoder(addresses)


def _logs(w3: Web3, policy_address: str, from_block: int, to_block: int) -> list[dict[str, Any]]:
    params = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "address": policy_address}
    answer: Any = w3.provider.make_request("eth_getLogs", [params])  # type: ignore[arg-type]
    if "error" in answer:
        raise SnapshotUnavailable(policy_address, str(to_block), str(answer["error"]))
    logs: list[dict[str, Any]] = answer["result"]
    return logs


def changes_from_chain(
    w3: Web3, policy_address: str, *, from_block: int = 0, to_block: int
) -> tuple[list[PolicyChange], int | None]:
    """The policy's events in ``[from_block, to_block]`` from the node's logs, and the block
    of its first log of any kind (its constructor's ``OwnershipTransferred``), if any."""
    logs = _logs(w3, policy_address, from_block, to_block)
    first = min((int(log["blockNumber"], 16) for log in logs), default=None)
    events = _decoder(policy_address).decode(logs)
    changes = [
        PolicyChange(e.block_number, e.log_index, e.name, e.args) for e in events if e.name in APPLY
    ]
    return changes, first


def policy_at(w3: Web3, policy_address: str, *, block: int, from_block: int = 0) -> PolicySnapshot:
    """The policy as it stood at ``block``, from events.

    Raises
    ------
    SnapshotUnavailable
        The block does not exist, or the policy was not deployed yet at it.
    """
    address = to_address(policy_address)
    header = _header(w3, address, block)
    changes, first = changes_from_chain(w3, address, from_block=from_block, to_block=block)
    if first is None:
        raise SnapshotUnavailable(address, str(block), "there is no contract at that address")
    return replay(changes).snapshot(
        chain_id=w3.eth.chain_id, policy=address, block_number=block, block_hash=header
    )


def version_block(
    w3: Web3, policy_address: str, *, version: int, up_to_block: int, from_block: int = 0
) -> int:
    """The block where ``version`` took effect: its event's block, or the deployment block
    for version 0."""
    changes, first = changes_from_chain(
        w3, policy_address, from_block=from_block, to_block=up_to_block
    )
    matching: Sequence[int] = [
        c.block_number for c in changes if int(c.args["policyVersion"]) == version
    ]
    if matching:
        return matching[-1]
    if version == 0 and first is not None:
        return first
    raise SnapshotUnavailable(policy_address, str(up_to_block), f"no event for version {version}")


def _header(w3: Web3, address: str, block: int) -> str:
    answer: Any = w3.provider.make_request("eth_getBlockByNumber", [hex(block), False])  # type: ignore[arg-type]
    result = answer.get("result")
    if not result:
        raise SnapshotUnavailable(address, str(block), "the block does not exist")
    return str(result["hash"])


def block_hash(w3: Web3, address: str, block: int) -> str:
    """The hash of ``block`` (0x hex); :class:`SnapshotUnavailable` if it does not exist."""
    return _header(w3, address, block)
