"""Anchors a chain rollback took away, published again from the run's stored record.

A run's anchor is written once (:func:`audit.publish.publish_run`), but a receipt is not
final: a reorg on a real network, or the embedded anvil restored from its last save after a
crash (or rolled back on purpose), can take the ``AuditRegistry.publish`` transaction away.
The report, the model's approval and the run row would then still say "anchored" while the
chain has no record, and no reward root could be posted for the run (the rewards contract
pays only runs the registry holds as passed).

:func:`reanchor_lost` checks every run whose anchor is not final yet, by the relayer's rule
(``docs/durability.md``): its block within ``depth`` blocks of the head (or above it, after
a rollback), or the run finished within ``recent``. A run the registry no longer holds is
published again with the fingerprint its row stored (:func:`audit.anchor.publish_audit`
is idempotent), and the row takes the new transaction and block.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, select
from web3.exceptions import Web3Exception

from audit.anchor import publish_audit, read_anchor
from audit.db_models import AuditRunRecord, RunStatus, utcnow
from audit.env import AuditEnv
from bias_checks import Verdict
from core.errors import FairgovError

RECENT = timedelta(minutes=10)
"""Runs finished this recently are checked whatever their depth: after a crash of the
embedded chain, new blocks soon bury the height a lost anchor had."""


@dataclass(frozen=True)
class Reanchored:
    """What one pass found: runs checked, published again, and those that could not be
    (run id, error code), to be tried on the next pass."""

    checked: int
    restored: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]


def _unsettled(session: Session, head: int, depth: int) -> list[AuditRunRecord]:
    since = utcnow() - RECENT
    rows = session.exec(
        select(AuditRunRecord).where(
            AuditRunRecord.status == RunStatus.COMPLETED,
            col(AuditRunRecord.anchor_tx).is_not(None),
            or_(
                col(AuditRunRecord.anchor_block).is_(None),  # read back on this pass
                col(AuditRunRecord.anchor_block) > head - depth,
                col(AuditRunRecord.finished_at) >= since,
            ),
        )
    )
    return list(rows.all())


def reanchor_lost(env: AuditEnv, auditor_key: str, *, depth: int) -> Reanchored:
    """Publish again every unsettled run's anchor that the chain no longer holds.

    Examples
    --------
    >>> reanchor_lost(env, auditor_key, depth=12).restored  # doctest: +SKIP
    ('0x3fab…',)
    """
    registry = env.deployment.addresses.audit_registry
    restored: list[str] = []
    failed: list[tuple[str, str]] = []
    with Session(env.engine) as session:
        rows = _unsettled(session, env.w3.eth.block_number, depth)
        for row in rows:
            try:
                on_chain = read_anchor(env.w3, registry, row.run_id)
                if on_chain is None and row.model_hash and row.report_hash:
                    on_chain = publish_audit(
                        env.w3,
                        registry,
                        auditor_key,
                        run_id=row.run_id,
                        model_hash=row.model_hash,
                        dataset_id=row.dataset_id,
                        report_hash=row.report_hash,
                        policy_version=row.policy_version,
                        passed=row.verdict == Verdict.PASS,
                    )
                    row.anchor_tx = on_chain.tx_hash
                    restored.append(row.run_id)
            except (FairgovError, Web3Exception) as exc:
                failed.append((row.run_id, getattr(exc, "code", type(exc).__name__)))
                continue
            if on_chain is None:  # a row without its hashes: nothing to publish
                continue
            row.anchor_block = on_chain.block_number  # re-mined elsewhere after a reorg
            session.add(row)
            session.commit()
    return Reanchored(len(rows), tuple(restored), tuple(failed))
