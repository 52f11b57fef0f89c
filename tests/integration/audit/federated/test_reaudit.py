"""An honest re-audit overturns an anchored federated verdict (review of #16, finding 2).

The run id of a federated run covered only the spec, the voted content hashes and the
policy snapshot, so the first outcome anchored owned it: after a node had lied (or was
refused, or dropped out), the honest re-run ended ``anchor_conflict`` and the model stayed
approved. Here two outcomes of the same spec under the same policy, with the same model,
are audited, anchored and gated on a real chain and database: the first with one node's
counts inflated to equal rates (PASS), the second with its honest counts (FAIL).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select
from web3 import Web3

from audit.db_models import AuditRunRecord, ModelStatus
from audit.errors import ModelNotApproved
from audit.federated import learning
from audit.federated.governed import audit_outcome, federated_run_id, start_row
from audit.federated.outcome import FederatedOutcome, NodeOutcome, NodeRefusal
from audit.gate import require_approved
from audit.spec import FederatedSpec
from audit.synthetic import make_loans
from audit.verify import frozen_snapshot
from bias_checks import GroupCounts, Verdict, group_counts
from core.canonical import sha256_hex
from core.db import session_scope
from governance.actions import dataset_id_of
from governance.chain import deploy
from governance.policy.models import FederationPolicy
from tests.helpers import PROVIDER_KEY, SECOND_PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import audit_env, dp_threshold, govern

pytestmark = pytest.mark.chain

NAMES = ("clinic-a", "bank-b")
INPUTS = ("income", "debt_ratio", "credit_years")


def _spec() -> FederatedSpec:
    return FederatedSpec.model_validate(
        {
            "name": "reaudited",
            "federated": True,
            "datasets": [dataset_id_of(n) for n in NAMES],
            "label": "approved",
            "features": list(INPUTS),
            "sensitive_features": ["group"],
            "n_boot": 50,
        }
    )


def _counts(rows: int, rates: tuple[float, float]) -> GroupCounts:
    """Held-out counts of ``rows`` rows per group, the model predicting 1 at ``rates``."""
    groups = np.repeat(["A", "B"], rows)
    y_true = np.tile(np.arange(rows) % 2, 2)
    y_pred = np.concatenate([(np.arange(rows) < rate * rows).astype(int) for rate in rates])
    return group_counts(
        y_true,
        y_pred,
        sensitive_features=pd.DataFrame({"group": groups}),
        classes=(0, 1),
        pos_label=1,
    )


def _outcome(
    bank_counts: GroupCounts, *, refused: tuple[NodeRefusal, ...] = ()
) -> FederatedOutcome:
    summary = learning.summarize(make_loans(200, seed=1)[list(INPUTS)])
    n_inputs = len(learning.global_preprocessor(summary).get_feature_names_out())
    params = [np.full((1, n_inputs), 0.1), np.zeros(1)]
    honest = _counts(600, (0.6, 0.4))
    nodes = tuple(
        NodeOutcome(
            node_id=i + 1,
            provider="0x" + "0a" * 20,
            dataset_id=dataset_id_of(name),
            content_hash=sha256_hex(name.encode()),
            train_rows=3 * counts.n_rows,
            heldout_rows=counts.n_rows,
            bytes_sent=1000,
            counts=counts,
        )
        for i, (name, counts) in enumerate(zip(NAMES, (honest, bank_counts), strict=True))
    )
    return FederatedOutcome(
        params=tuple(params),
        preprocessor=summary.model_dump(mode="json"),
        nodes=nodes,
        refusals=refused,
        rounds=(),
        policy=FederationPolicy(min_nodes=2),
        superlink="127.0.0.1:1",
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_honest_re_audit_blocks_the_model_a_lie_had_approved(
    isolated_chain: Web3, deployment: deploy.Deployment, engine: Engine, tmp_path: Path
) -> None:
    w3 = isolated_chain
    allows = [
        allow_raw(w3, deployment, name, sha256_hex(name.encode()), "0x" + "ef" * 32, name, key)
        for name, key in zip(NAMES, (PROVIDER_KEY, SECOND_PROVIDER_KEY), strict=True)
    ]
    govern(w3, deployment, [*allows, dp_threshold("0.05")], "allow two nodes, bound DP")
    env = audit_env(engine, w3, deployment, tmp_path / "data")
    spec = _spec()
    snapshot = frozen_snapshot(w3, deployment.addresses.training_policy)
    hashes = tuple(sha256_hex(n.encode()) for n in NAMES)
    auditor = env.require_auditor_key()

    def audit(outcome: FederatedOutcome) -> tuple[str, Verdict, ModelStatus]:
        row_id = start_row(engine, spec, snapshot, hashes)
        run = audit_outcome(
            env,
            auditor,
            spec=spec,
            snapshot=snapshot,
            outcome=outcome,
            row_id=row_id,
            say=lambda _: None,
            reference=None,
        )
        return run.run_id, run.verdict, run.model_status

    # The bank's node inflated its rows 1000-fold at equal rates: the pooled DP vanishes.
    lied = _outcome(_counts(600_000, (0.5, 0.5)))
    first, verdict, status = audit(lied)
    assert (verdict, status) == (Verdict.PASS, ModelStatus.APPROVED)
    honest = _outcome(_counts(600, (0.6, 0.4)))
    second, verdict, status = audit(honest)
    assert second != first
    assert (verdict, status) == (Verdict.FAIL, ModelStatus.BLOCKED)
    with Session(engine) as session, pytest.raises(ModelNotApproved):
        require_approved(session, spec.name)
    with session_scope(engine) as session:
        ids = [r.run_id for r in session.exec(select(AuditRunRecord)).all()]
    assert ids == [first, second]
    # The same participants sending the same replies make the same run; a refused node
    # more is another run.
    assert federated_run_id(spec, hashes, snapshot.hash, honest) == second
    refused = NodeRefusal(9, None, "node_not_provider", "another key")
    assert (
        federated_run_id(
            spec, hashes, snapshot.hash, _outcome(_counts(600, (0.6, 0.4)), refused=(refused,))
        )
        != second
    )
