"""Errors of record commitments, inclusion proofs and a dataset's consent record (#15)."""

from __future__ import annotations

from typing import ClassVar

from audit.errors._base import AuditError
from core.errors import ErrorCategory


class RecordNotInDataset(AuditError):
    """A record with its salt does not prove into the committed root (#15)."""

    code: ClassVar[str] = "record_not_in_dataset"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, index: int | None, root: str) -> None:
        which = "this record" if index is None else f"record {index}"
        super().__init__(
            f"{which} with this salt and proof is not in the dataset committed as "
            f"{root}: check the record's fields, the salt and the proof",
            index=index,
            root=root,
        )


class DatasetNotInPolicy(AuditError):
    """The dataset id was never offered and allowed on chain, so it has no records root."""

    code: ClassVar[str] = "dataset_not_in_policy"
    category: ClassVar[ErrorCategory] = ErrorCategory.NOT_FOUND

    def __init__(self, dataset_id: str) -> None:
        super().__init__(
            f"dataset {dataset_id} was never allowed on chain, so no records root is recorded "
            "for it: check the dataset id (keccak256 of its name)",
            dataset_id=dataset_id,
        )


class RecordsRootMismatch(AuditError):
    """A manifest's records root is not the root of its file's records with the given salts."""

    code: ClassVar[str] = "records_root_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, dataset: str, declared: str, actual: str) -> None:
        super().__init__(
            f"the records of dataset {dataset} with these salts commit to {actual}, not to the "
            f"manifest's records root {declared}: use the salts file written with this manifest, "
            "or if the data changed since, register it again (fairgov datasets register "
            "--salts) and offer the new manifest",
            dataset=dataset,
            declared=declared,
            actual=actual,
        )


class RecordsCountMismatch(AuditError):
    """A manifest's ``records`` is not the number of records its file holds."""

    code: ClassVar[str] = "records_count_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, dataset: str, declared: int, actual: int) -> None:
        super().__init__(
            f"the file of dataset {dataset} holds {actual} records, not the {declared} its "
            "manifest records: rebuild the manifest from the data file (fairgov datasets "
            "register --salts)",
            dataset=dataset,
            declared=declared,
            actual=actual,
        )


class ManifestLacksRecordsRoot(AuditError):
    """A manifest without a records root cannot be offered: the policy requires one."""

    code: ClassVar[str] = "manifest_lacks_records_root"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, dataset: str) -> None:
        super().__init__(
            f"the manifest of dataset {dataset} has no records root: build the record "
            "commitments first (fairgov datasets register --salts)",
            dataset=dataset,
        )


class ProviderMismatch(AuditError):
    """The manifest names another provider than the one making the offer."""

    code: ClassVar[str] = "provider_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, dataset: str, named: str, signer: str) -> None:
        super().__init__(
            f"the manifest of dataset {dataset} names provider {named}, not {signer}: the "
            "offer must come from the provider the manifest names",
            dataset=dataset,
            named=named,
            signer=signer,
        )


class SaltsMismatch(AuditError):
    """A salts file whose number of salts is not the number of records."""

    code: ClassVar[str] = "salts_mismatch"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, salts: int, records: int) -> None:
        super().__init__(
            f"{salts} salts for {records} records: use the salts file written for this data file",
            salts=salts,
            records=records,
        )


class InvalidSalts(AuditError):
    """A salt that is not 32 bytes, or a salts file that is not one."""

    code: ClassVar[str] = "invalid_salts"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, problem: str) -> None:
        super().__init__(f"invalid salts: {problem}", problem=problem)


class RecordIndexOutOfRange(AuditError):
    """A proof asked for a record the dataset does not have."""

    code: ClassVar[str] = "record_index_out_of_range"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, index: int, records: int) -> None:
        super().__init__(
            f"no record {index}: the dataset has {records} records (0 to {records - 1})",
            index=index,
            records=records,
        )


class NoRecords(AuditError):
    """A dataset with no records has nothing to commit to."""

    code: ClassVar[str] = "no_records"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self) -> None:
        super().__init__("the data file has no records: there is nothing to commit to")


class UncommittableColumn(AuditError):
    """A Parquet column whose type has no stable text form, so its records cannot be committed."""

    code: ClassVar[str] = "uncommittable_column"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self, path: str, column: str, type_name: str) -> None:
        super().__init__(
            f"column {column!r} of {path} is {type_name}, which has no stable text form to "
            "commit: drop the column or store it as strings, then register again",
            path=path,
            column=column,
            type_name=type_name,
        )
