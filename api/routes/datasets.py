"""Datasets: registered manifests (public), and registering one (operators)."""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Path, status

from api.deps import CurrentOperator, SessionDep
from api.errors import NotFound, responses
from api.schemas.audits import DatasetPublic, ManifestCreated, ManifestPublic, ManifestsPublic
from api.schemas.common import HASH_PATTERN, Limit, Offset
from audit.errors import DatasetFileMissing
from audit.manifest import DatasetManifest, store_manifest
from audit.records_check import check_records_count
from audit.service import dataset_manifests, list_manifests
from audit.training import check_registration

router = APIRouter(prefix="/datasets", tags=["datasets"])


@router.get("", response_model=ManifestsPublic, responses=responses())
def read_datasets(session: SessionDep, offset: Offset = 0, limit: Limit = 50) -> ManifestsPublic:
    """Every registered manifest, newest first."""
    page = list_manifests(session, offset=offset, limit=limit)
    return ManifestsPublic(data=[ManifestPublic.of(r) for r in page.rows], count=page.count)


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=responses(404))
def read_dataset(
    session: SessionDep,
    dataset_id: Annotated[str, Path(pattern=HASH_PATTERN, description="keccak256 of the name")],
) -> DatasetPublic:
    """One dataset's manifests, newest first."""
    rows = dataset_manifests(session, dataset_id)
    if not rows:
        raise NotFound("dataset", dataset_id)
    return DatasetPublic(
        dataset_id=rows[0].dataset_id,
        name=rows[0].name,
        manifests=[ManifestPublic.of(r) for r in rows],
    )


@router.post(
    "",
    response_model=ManifestCreated,
    status_code=status.HTTP_201_CREATED,
    responses=responses(401, 403),
)
def register_dataset(
    session: SessionDep, _operator: CurrentOperator, body: DatasetManifest
) -> ManifestCreated:
    """Register a manifest (operators only); the same manifest twice is stored once. Its
    provider then signs an offer of it (``POST /v1/providers/offers/prepare``). A privileged
    group that has no rows in the file is refused (422 ``unknown_reference_group``), as
    ``fairgov datasets register`` refuses it, before anyone votes on it; so is data no run
    could audit (no rows, an empty label, a positive label that no row or every row has), and a
    ``records`` count that is not the file's (422 ``records_count_mismatch``)."""
    # Data held elsewhere (a federated node's) cannot be read here: a run checks the group.
    with suppress(DatasetFileMissing):
        check_registration(body)
        check_records_count(body)  # a federated dataset's count is its provider's word
    record = store_manifest(session, body)
    session.commit()
    return ManifestCreated(manifest=ManifestPublic.of(record))
