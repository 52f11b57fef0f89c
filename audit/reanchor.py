"""Anchors a chain rollback took away: published again, or never again when their policy went too.

A run's anchor is written once (:func:`audit.publish.publish_run`), but a receipt is not
final: a reorg on a real network, or the embedded anvil restored from its last save after a
crash (or rolled back on purpose), can take the ``AuditRegistry.publish`` transaction away.
The report, the model's approval and the run row would then still say "anchored" while the
chain has no record, and no reward root could be posted for the run (the rewards contract
pays only runs the registry holds as passed).

:func:`reanchor_lost` reads from the registry, on every pass, each run whose anchor is not
final yet, whatever the head is: new blocks mined after a rollback bury the height a lost
anchor had, so its depth says nothing. An anchor is final, and read no more, once the
registry holds it in a block ``depth`` blocks below the head, seen at the same block hash
for at least ``final_after`` (the relayer's rule, ``docs/durability.md``). A lost anchor:

- takes the approval it carried away at once (the model version becomes a candidate,
  :data:`audit.gate.ANCHOR_LOST`) and is published again with the fingerprint its row
  stored (:func:`audit.anchor.publish_audit` is idempotent); published, the approval comes
  back;
- is not published again when the policy the run was audited under is no longer the chain's
  (the proposal that made that policy version was rolled away with it): the row loses its
  anchor for good (``policy_rolled_back``) and the model version stays a candidate
  (:data:`audit.gate.POLICY_ROLLED_BACK`) until the re-audit under the current policy
  decides it, so no reward is posted for the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

from sqlmodel import Session, col, select
from web3.exceptions import Web3Exception

from audit.anchor import Anchor, publish_audit, read_anchor
from audit.db_models import AuditRunRecord, ModelStatus, ModelVersion, RunStatus, utcnow
from audit.env import AuditEnv
from audit.gate import ANCHOR_LOST, POLICY_ROLLED_BACK, decide
from bias_checks import OnInconclusive, Verdict
from core.errors import FairgovError
from governance.policy import history as policy_history

#: The ``error_code`` of a completed run whose anchor was lost with the policy it was audited
#: under: it is never anchored again.
POLICY_ROLLED_BACK_CODE: Final = "policy_rolled_back"


@dataclass(frozen=True)
class Reanchored:
    """What one pass found: runs checked, published again, lost with their policy (never
    published again), and those that could not be checked or published (run id, error
    code), to be tried on the next pass."""

    checked: int
    restored: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    invalidated: tuple[str, ...] = ()


def _unsettled(session: Session) -> list[AuditRunRecord]:
    rows = session.exec(
        select(AuditRunRecord)
        .where(
            AuditRunRecord.status == RunStatus.COMPLETED,
            col(AuditRunRecord.anchor_tx).is_not(None),
            ~col(AuditRunRecord.anchor_final),
        )
        .order_by(col(AuditRunRecord.id))
    )
    return list(rows.all())


@dataclass
class _Chain:
    """What one pass reads of the chain, once: the head, and the policy snapshot hash of each
    policy block a lost anchor's run names."""

    env: AuditEnv
    head: int
    policies: dict[int, tuple[int, str] | None] = field(default_factory=dict)

    def block_hash(self, number: int) -> str:
        return str(self.env.w3.eth.get_block(number)["hash"].to_0x_hex())

    def policy_holds(self, run: AuditRunRecord) -> bool:
        """Whether the chain's policy at the run's policy block is still the version and
        snapshot the run recorded (rebuilt from events: no archive state)."""
        if run.policy_block not in self.policies:
            self.policies[run.policy_block] = self._policy_at(run.policy_block)
        return self.policies[run.policy_block] == (run.policy_version, run.policy_snapshot_hash)

    def _policy_at(self, block: int) -> tuple[int, str] | None:
        if block > self.head:
            return None
        deployment = self.env.deployment
        snapshot = policy_history.policy_at(
            self.env.w3,
            deployment.addresses.training_policy,
            block=block,
            from_block=deployment.deploy_block,
        )
        return snapshot.policy_version, snapshot.hash


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class _Finality:
    depth: int
    final_after: timedelta


def _settle(
    row: AuditRunRecord, anchor: Anchor, block_hash: str, chain: _Chain, rule: _Finality
) -> None:
    """Record where the registry holds ``row``'s anchor; final once deep and seen long enough."""
    now = utcnow()
    if row.anchor_block != anchor.block_number or row.anchor_block_hash != block_hash:
        row.anchor_block, row.anchor_block_hash = anchor.block_number, block_hash
        row.anchor_seen_at = now
    seen_at = _aware(row.anchor_seen_at or now)
    row.anchor_final = (
        anchor.block_number <= chain.head - rule.depth and now - seen_at >= rule.final_after
    )


def _resting_on(session: Session, run: AuditRunRecord) -> ModelVersion | None:
    """The model version whose status ``run``'s audit decided last, if any."""
    return session.exec(
        select(ModelVersion).where(
            ModelVersion.name == run.model_name,
            ModelVersion.model_hash == run.model_hash,
            ModelVersion.latest_run_id == run.run_id,
        )
    ).first()


def _suspended(version: ModelVersion) -> bool:
    return version.status == ModelStatus.CANDIDATE and version.reason.startswith(
        (ANCHOR_LOST, POLICY_ROLLED_BACK)
    )


def _suspend(session: Session, run: AuditRunRecord, reason: str) -> None:
    """Take away the approval ``run``'s lost anchor carried: a candidate, with ``reason``."""
    version = _resting_on(session, run)
    if version is None or not (version.status == ModelStatus.APPROVED or _suspended(version)):
        return
    version.status = ModelStatus.CANDIDATE
    version.reason = reason
    version.updated_at = utcnow()
    session.add(version)


def _restore(session: Session, run: AuditRunRecord) -> None:
    """Give back the approval a lost anchor took away, now that the registry holds it again.

    Only an approved version was suspended, so its audit passed, or was INCONCLUSIVE under a
    rule that approves with a warning."""
    version = _resting_on(session, run)
    if version is None or not version.reason.startswith(ANCHOR_LOST) or run.verdict is None:
        return
    status, reason = decide(
        run.verdict, anchored=True, on_inconclusive=OnInconclusive.APPROVE_WITH_WARNING
    )
    if version.status == ModelStatus.CANDIDATE:
        version.status = status
        version.reason = f"run {run.run_id}: {reason}; anchored again after a chain rollback"
        version.updated_at = utcnow()
        session.add(version)


def _lost_reason(run: AuditRunRecord) -> str:
    return (
        f"{ANCHOR_LOST}: a chain rollback took away run {run.run_id}'s anchor; "
        "it is being published again"
    )


def _rolled_back_reason(run: AuditRunRecord) -> str:
    return (
        f"{POLICY_ROLLED_BACK}: run {run.run_id} was audited under policy version "
        f"{run.policy_version} (snapshot {run.policy_snapshot_hash}, block {run.policy_block}), "
        "which the chain no longer holds; its anchor went with it and is not published "
        "again: the re-audit under the current policy decides this model"
    )


def _invalidate(session: Session, run: AuditRunRecord) -> None:
    """``run``'s anchor went with its policy: it is never anchored, approved or paid again."""
    reason = _rolled_back_reason(run)
    _suspend(session, run, reason)
    run.anchor_tx = run.anchor_block = run.anchor_block_hash = run.anchor_seen_at = None
    run.anchor_final = False
    run.error_code, run.error = POLICY_ROLLED_BACK_CODE, reason
    session.add(run)


def _republish(env: AuditEnv, auditor_key: str, run: AuditRunRecord) -> Anchor:
    assert run.model_hash is not None  # the caller checked both hashes
    assert run.report_hash is not None
    return publish_audit(
        env.w3,
        env.deployment.addresses.audit_registry,
        auditor_key,
        run_id=run.run_id,
        model_hash=run.model_hash,
        dataset_id=run.dataset_id,
        report_hash=run.report_hash,
        policy_version=run.policy_version,
        passed=run.verdict == Verdict.PASS,
    )


def reanchor_lost(
    env: AuditEnv, auditor_key: str, *, depth: int, final_after: timedelta = timedelta(0)
) -> Reanchored:
    """Check every anchor not final yet against the registry; publish again each one a
    rollback took away, unless its run's policy went with it.

    Each pass costs three reads per anchor not yet final (``isPublished``, ``getAudit``, the
    block's header), and for a lost anchor one ``eth_getLogs`` of the policy's events per
    policy block; an anchor is final about ``depth`` blocks and ``final_after`` after it
    was mined.

    Examples
    --------
    >>> reanchor_lost(env, auditor_key, depth=12).restored  # doctest: +SKIP
    ('0x3fab…',)
    """
    registry = env.deployment.addresses.audit_registry
    rule = _Finality(depth, final_after)
    restored: list[str] = []
    invalidated: list[str] = []
    failed: list[tuple[str, str]] = []
    with Session(env.engine) as session:
        chain = _Chain(env, env.w3.eth.block_number)
        rows = _unsettled(session)
        for row in rows:
            try:
                on_chain = read_anchor(env.w3, registry, row.run_id)
                if on_chain is None and row.model_hash and row.report_hash:
                    if not chain.policy_holds(row):
                        _invalidate(session, row)
                        session.commit()
                        invalidated.append(row.run_id)
                        continue
                    _suspend(session, row, _lost_reason(row))
                    session.commit()  # not approved while it is published again
                    on_chain = _republish(env, auditor_key, row)
                    row.anchor_tx = on_chain.tx_hash or row.anchor_tx
                    restored.append(row.run_id)
                if on_chain is None:  # a row without its hashes: nothing to publish
                    continue
                block_hash = chain.block_hash(on_chain.block_number)
            except (FairgovError, Web3Exception) as exc:
                session.rollback()
                failed.append((row.run_id, getattr(exc, "code", type(exc).__name__)))
                continue
            _settle(row, on_chain, block_hash, chain, rule)
            _restore(session, row)
            session.add(row)
            session.commit()
    return Reanchored(len(rows), tuple(restored), tuple(failed), tuple(invalidated))
