"""Checking a manifest's record commitments against its data file: the records root with
the provider's salts, and the number of records (``records``)."""

from __future__ import annotations

from pathlib import Path

from audit.commitments import Progress, build_commitments, read_salts
from audit.errors import (
    ManifestLacksRecordsRoot,
    RecordsCountMismatch,
    RecordsRootMismatch,
)
from audit.manifest import DatasetManifest, manifest_records


def check_records_root(
    manifest: DatasetManifest, salts_path: Path, *, on_progress: Progress | None = None
) -> None:
    """Refuse a manifest whose records (:func:`manifest_records`), with the provider's
    salts, do not commit to its records root, or are not as many as its ``records`` says
    (before anyone signs or spends gas on it). ``on_progress`` gets the number of records
    read.

    Raises
    ------
    ManifestLacksRecordsRoot, RecordsRootMismatch, RecordsCountMismatch, SaltsMismatch,
    InvalidSalts
    """
    if manifest.records_root is None:
        raise ManifestLacksRecordsRoot(manifest.name)
    salts = read_salts(salts_path)
    commitments = build_commitments(
        manifest_records(manifest, on_progress=on_progress), salts=salts
    )
    if commitments.root != manifest.records_root:
        raise RecordsRootMismatch(manifest.name, manifest.records_root, commitments.root)
    if manifest.records is not None and commitments.count != manifest.records:
        raise RecordsCountMismatch(manifest.name, manifest.records, commitments.count)


def check_records_count(manifest: DatasetManifest) -> None:
    """Refuse a manifest whose ``records`` is not the number of records of its file (no
    salts needed to count them); nothing to check without ``records``.

    Raises
    ------
    RecordsCountMismatch, DatasetFileMissing
    """
    if manifest.records is not None:
        count = sum(1 for _ in manifest_records(manifest))
        if count != manifest.records:
            raise RecordsCountMismatch(manifest.name, manifest.records, count)
