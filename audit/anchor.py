"""Anchoring: publishing an audit's fingerprint to the AuditRegistry with the auditor key.

A publication is estimated before it is sent, so a transaction that would revert (a key
without ``AUDITOR_ROLE``, a zero hash) is never sent. Publishing is idempotent: a run whose
identical fingerprint is already on chain is read back, not sent again (with the hash of the
transaction that published it, from its ``AuditPublished`` event, so a row recorded after a
crash is as complete as one recorded at once), and a run anchored with other values is an
:class:`~audit.errors.AnchorConflict`.
"""

from __future__ import annotations

from dataclasses import dataclass

from web3 import Web3
from web3.exceptions import ContractLogicError, Web3Exception

from audit.errors import AnchorConflict, AnchorRefused
from core.types import hash32_of
from governance.chain.contracts import bind
from governance.chain.node import Sender, call_data
from governance.chain.reverts import decode_revert


@dataclass(frozen=True)
class Anchor:
    """One audit as the AuditRegistry records it."""

    run_id: str
    model_hash: str
    dataset_id: str
    report_hash: str
    policy_version: int
    passed: bool
    auditor: str
    block_number: int
    tx_hash: str | None = None


def _b32(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


def read_anchor(w3: Web3, registry_address: str, run_id: str) -> Anchor | None:
    """The anchored audit of ``run_id``, or None when nothing was published for it.

    Examples
    --------
    >>> read_anchor(w3, deployment.addresses.audit_registry, run.run_id)  # doctest: +SKIP
    Anchor(run_id='0x…', ..., passed=True, ...)
    """
    registry = bind(w3, "AuditRegistry", registry_address).functions
    if not registry.isPublished(_b32(run_id)).call():
        return None
    model, dataset, report, version, passed, auditor, block, _ = registry.getAudit(
        _b32(run_id)
    ).call()
    return Anchor(
        run_id=run_id.lower(),
        model_hash=hash32_of(model),
        dataset_id=hash32_of(dataset),
        report_hash=hash32_of(report),
        policy_version=int(version),
        passed=bool(passed),
        auditor=str(auditor),
        block_number=int(block),
    )


def _check_same(existing: Anchor, wanted: Anchor) -> None:
    for field in ("model_hash", "dataset_id", "report_hash", "policy_version", "passed"):
        anchored, ours = getattr(existing, field), getattr(wanted, field)
        if anchored != ours:
            raise AnchorConflict(wanted.run_id, field, str(anchored), str(ours))


def publish_audit(
    w3: Web3,
    registry_address: str,
    auditor_key: str,
    *,
    run_id: str,
    model_hash: str,
    dataset_id: str,
    report_hash: str,
    policy_version: int,
    passed: bool,
) -> Anchor:
    """Publish one audit's fingerprint and wait until it is mined; returns it as read back.

    Raises
    ------
    AnchorRefused
        The publication would revert; nothing was sent.
    AnchorConflict
        The run is already anchored with different values.
    governance.errors.TransactionFailed
        The transaction was sent but reverted or was not mined.

    Examples
    --------
    >>> anchor = publish_audit(w3, registry, auditor_key, run_id=run_id,
    ...     model_hash=model_hash, dataset_id=dataset_id, report_hash=report_hash,
    ...     policy_version=3, passed=True)  # doctest: +SKIP
    """
    wanted = Anchor(
        run_id.lower(), model_hash, dataset_id, report_hash, policy_version, passed, "", 0
    )
    existing = read_anchor(w3, registry_address, run_id)
    if existing is not None:
        _check_same(existing, wanted)
        return Anchor(
            **{**existing.__dict__, "tx_hash": _publication_tx(w3, registry_address, existing)}
        )
    sender = Sender.from_key(w3, auditor_key)
    registry = bind(w3, "AuditRegistry", registry_address)
    args = [_b32(run_id), _b32(model_hash), _b32(dataset_id), _b32(report_hash)]
    tx = call_data(registry, "publish", [*args, policy_version, passed])
    try:
        gas = w3.eth.estimate_gas({**tx, "from": sender.address})
    except ContractLogicError as exc:
        raise AnchorRefused(run_id, _reason(exc)) from None
    except Web3Exception as exc:
        raise AnchorRefused(run_id, str(exc)) from None
    receipt = sender.transact("publish audit", {**tx, "gas": gas + gas // 4})
    anchored = read_anchor(w3, registry_address, run_id)
    if anchored is None:  # pragma: no cover - a mined publish is always readable
        raise AnchorRefused(run_id, "the publication is not readable after it was mined")
    _check_same(anchored, wanted)
    return Anchor(**{**anchored.__dict__, "tx_hash": hash32_of(receipt["transactionHash"])})


def _publication_tx(w3: Web3, registry_address: str, anchor: Anchor) -> str | None:
    """The transaction that published ``anchor``: its ``AuditPublished`` event in the block
    the registry recorded (a run is published once, so there is one)."""
    registry = bind(w3, "AuditRegistry", registry_address)
    logs = registry.events.AuditPublished().get_logs(
        from_block=anchor.block_number,
        to_block=anchor.block_number,
        argument_filters={"runId": _b32(anchor.run_id)},
    )
    return hash32_of(logs[0]["transactionHash"]) if logs else None


def _reason(exc: ContractLogicError) -> str:
    data = exc.data if isinstance(exc.data, (str, bytes)) else None
    if data:
        return decode_revert(data).message()
    return str(exc.message or exc)
