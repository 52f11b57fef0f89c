"""Policy snapshots: the whole TrainingPolicy as it stood at one block, canonical and hashed.

An audit run freezes the snapshot it started with, so a policy change voted during the run
cannot change the rules it is judged by, and its report names the exact rules by hash.
The evidence rule (confidence, minimum group size and denominator, what INCONCLUSIVE does
at the gate) is part of the snapshot: schemas 2 and later require it, so no snapshot, and no audit
frozen on one, can lack it. A policy contract that predates evidence rules cannot be read.
Schema 4 adds the federation policy (aggregation strategy, privacy budget, fewest nodes); a
policy contract that predates it cannot be read either.
"""

from __future__ import annotations

from typing import Literal

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import BlockNotFound, Web3Exception

from core.types import hash32_of, to_address
from governance.actions import ON_INCONCLUSIVE, Direction, bytes32_to_text, from_fixed
from governance.chain.contracts import bind
from governance.errors import (
    PolicyLacksEvidenceRule,
    PolicyLacksFederationPolicy,
    SnapshotUnavailable,
)
from governance.policy.history import policy_at
from governance.policy.models import (
    Aggregation,
    DatasetEntry,
    EvidenceRuleEntry,
    FederationPolicy,
    Mitigation,
    PolicySnapshot,
    ThresholdEntry,
    allowed_dataset,
    evidence_rule_for,
)

#: The models are defined in :mod:`governance.policy.models`; importers find them here too.
__all__ = [
    "Aggregation",
    "DatasetEntry",
    "EvidenceRuleEntry",
    "FederationPolicy",
    "Mitigation",
    "PolicySnapshot",
    "ThresholdEntry",
    "allowed_dataset",
    "evidence_rule_for",
    "read_snapshot",
]
_DIRECTIONS: tuple[Direction, ...] = ("upper", "lower")
_DEFAULT_KEY = b"\0" * 32


def _text(raw: bytes) -> str:
    """A bytes32 name as text; names that are not ASCII show as hex, so nothing is hidden."""
    try:
        return bytes32_to_text(raw)
    except ValueError:
        return hash32_of(raw)


def read_snapshot(
    w3: Web3,
    policy_address: str,
    *,
    block: int | Literal["latest"] = "latest",
    from_block: int = 0,
) -> PolicySnapshot:
    """Read the whole TrainingPolicy at one block.

    ``"latest"`` is resolved to a concrete block first; every call then reads at that
    block's hash, so the snapshot is consistent even while new blocks arrive.

    Parameters
    ----------
    w3 : Web3
        A client of the chain the policy lives on.
    policy_address : str
        The TrainingPolicy's address.
    block : int or "latest"
        The block to read at. The latest block is read from the contract's state; an
        older one is rebuilt from the policy's events (no archive node needed).
    from_block : int
        Where to start looking for the policy's events (its deployment block, if known).

    Raises
    ------
    SnapshotUnavailable
        The block does not exist, or there is no TrainingPolicy at that address then.

    Examples
    --------
    >>> snap = read_snapshot(w3, deployment.addresses.training_policy)
    >>> snap.hash  # doctest: +SKIP
    '0x3b1f…'
    """
    address = to_address(policy_address)
    try:
        header = w3.eth.get_block("latest")
    except (BlockNotFound, Web3Exception, ValueError) as exc:
        raise SnapshotUnavailable(address, str(block), "the block does not exist") from exc
    if block != "latest" and block != header["number"]:
        # An older block: rebuilt from the policy's events, since a node without archive
        # state (and anvil without historical states) cannot run calls there.
        return policy_at(w3, address, block=block, from_block=from_block)
    number, block_hash = header["number"], HexBytes(header["hash"])
    at = block_hash
    if len(w3.eth.get_code(address, block_identifier=at)) == 0:
        raise SnapshotUnavailable(address, str(number), "there is no contract at that address")
    policy = bind(w3, "TrainingPolicy", address).functions
    try:
        version = policy.policyVersion().call(block_identifier=at)
        datasets = []
        for dataset_id in policy.datasetIds().call(block_identifier=at):
            (content, manifest, root, terms, provider, consented_at, allowed, uri, licence) = (
                policy.getDataset(dataset_id).call(block_identifier=at)
            )
            withdrawn_at = policy.withdrawnAt(dataset_id, provider).call(block_identifier=at)
            datasets.append(
                DatasetEntry(
                    dataset_id=hash32_of(dataset_id),
                    content_hash=hash32_of(content),
                    manifest_hash=hash32_of(manifest),
                    records_root=hash32_of(root),
                    uri=uri,
                    licence=licence,
                    terms_hash=hash32_of(terms),
                    provider=to_address(provider),
                    consented_at=consented_at,
                    allowed=allowed,
                    # At the same second a withdrawal beats the offer, as on chain.
                    withdrawn=withdrawn_at != 0 and withdrawn_at >= consented_at,
                )
            )
        metrics, values, directions = policy.thresholds().call(block_identifier=at)
        strategy, constraint = policy.mitigation().call(block_identifier=at)
    except Web3Exception as exc:
        raise SnapshotUnavailable(
            address, str(number), f"it is not a TrainingPolicy ({exc})"
        ) from exc
    try:
        rule_metrics, rules = policy.evidenceRules().call(block_identifier=at)
    except Web3Exception as exc:
        # Every other getter answered: this is a TrainingPolicy from before evidence rules.
        raise PolicyLacksEvidenceRule(address) from exc
    evidence = [
        EvidenceRuleEntry(
            metric=None if bytes(m) == _DEFAULT_KEY else _text(m),
            confidence_level=str(from_fixed(confidence)),
            min_group_size=min_group,
            min_denominator=min_denominator,
            on_inconclusive=ON_INCONCLUSIVE[when],
        )
        for m, (confidence, min_group, min_denominator, when) in zip(
            rule_metrics, rules, strict=True
        )
    ]
    if not evidence or evidence[0].metric is not None:
        raise PolicyLacksEvidenceRule(address)
    try:
        federation = FederationPolicy.from_chain(
            *policy.federationPolicy().call(block_identifier=at)
        )
    except Web3Exception as exc:
        # Evidence rules answered: a TrainingPolicy from before the federation policy.
        raise PolicyLacksFederationPolicy(address) from exc
    thresholds = [
        ThresholdEntry(metric=_text(m), value=str(from_fixed(v)), direction=_DIRECTIONS[d])
        for m, v, d in zip(metrics, values, directions, strict=True)
    ]
    return PolicySnapshot(
        chain_id=w3.eth.chain_id,
        policy=address,
        block_number=number,
        block_hash=hash32_of(block_hash),
        policy_version=version,
        datasets=tuple(sorted(datasets, key=lambda d: d.dataset_id)),
        thresholds=tuple(sorted(thresholds, key=lambda t: t.metric)),
        mitigation=Mitigation(strategy=_text(strategy), constraint=_text(constraint)),
        evidence=evidence[0],
        evidence_overrides=tuple(sorted(evidence[1:], key=lambda r: r.metric or "")),
        federation=federation,
    )
