"""A record owner's inclusion check names only the models trained on the version of the
dataset whose records root the proof verifies under."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session
from web3 import Web3

from audit.commitments import build_commitments, encode_record, prove
from audit.gate import block, find_versions
from audit.inclusion import check_inclusion
from core.db import session_scope
from governance.actions import DatasetOffer
from governance.chain import deploy
from governance.consent import sign_offer
from governance.policy.snapshot import read_snapshot
from tests.helpers import OFFER_LIFETIME, PROVIDER_KEY, address_of, issue_time
from tests.integration.audit.audit_support import govern
from tests.integration.audit.rewards.service_support import approved_run

pytestmark = [pytest.mark.chain, pytest.mark.slow]


def _allow(
    w3: Web3, deployment: deploy.Deployment, name: str, version: int, records_root: str
) -> str:
    issued_at = issue_time(w3)
    offer = DatasetOffer.for_name(
        name,
        # The training_pass fixture report trained on content 0x12… / manifest 0x34…: version 1.
        content_hash="0x" + ("12" if version == 1 else "56") * 32,
        manifest_hash="0x" + ("34" if version == 1 else "78") * 32,
        records_root=records_root,
        uri=f"file:{name}-v{version}.csv",
        provider=address_of(PROVIDER_KEY),
        issued_at=issued_at,
        deadline=issued_at + OFFER_LIFETIME,
    )
    govern(w3, deployment, [sign_offer(offer, PROVIDER_KEY, deployment, name=name)], name)
    return offer.dataset_id


def test_a_record_added_in_a_later_version_is_not_said_to_have_trained_older_models(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    w3 = isolated_chain
    name = f"loans-{secrets.token_hex(4)}"
    old = {"age": "41", "sex": "F"}
    new = {"age": "29", "sex": "M"}  # only in version 2
    v1 = build_commitments([encode_record(old)])
    v2 = build_commitments([encode_record(old), encode_record(new)])
    dataset_id = _allow(w3, deployment, name, 1, v1.root)
    run = approved_run(engine, w3, deployment, tmp_path, dataset_id)  # trained on version 1
    _allow(w3, deployment, name, 2, v2.root)  # the provider's newer offer, voted in

    proof = prove(v2, 1)
    with Session(engine) as session:
        inclusion = check_inclusion(
            session,
            read_snapshot(w3, deployment.addresses.training_policy),
            dataset_id=dataset_id,
            record=new,
            salt=proof.salt,
            proof=list(proof.path),
        )

    trained = [m.run_id for m in inclusion.models]
    assert run.run_id not in trained, (
        "the record owner is told their record trained a model built before it was added"
    )


def test_a_record_owner_sees_the_models_gate_status_now(
    engine: Engine, isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
):
    """Review (session 23): a model blocked after its PASS (a withdrawal, a later audit) was
    still listed as "PASS, report anchored", with no word of the block."""
    w3 = isolated_chain
    name = f"loans-{secrets.token_hex(4)}"
    record = {"age": "41", "sex": "F"}
    commitments = build_commitments([encode_record(record)])
    dataset_id = _allow(w3, deployment, name, 1, commitments.root)
    run = approved_run(engine, w3, deployment, tmp_path, dataset_id)
    proof = prove(commitments, 0)

    def listed() -> tuple[str | None, str]:
        with Session(engine) as session:
            inclusion = check_inclusion(
                session,
                read_snapshot(w3, deployment.addresses.training_policy),
                dataset_id=dataset_id,
                record=record,
                salt=proof.salt,
                proof=list(proof.path),
            )
        (model,) = [m for m in inclusion.models if m.run_id == run.run_id]
        assert (model.verdict, model.anchored) == ("PASS", True)
        return model.status, model.reason

    assert listed()[0] == "approved"
    with session_scope(engine) as session:
        (version,) = find_versions(session, run.model_hash or "")
        block(session, version, "its provider withdrew the data")
    assert listed() == ("blocked", "its provider withdrew the data")
