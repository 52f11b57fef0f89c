"""Salted per-record commitments of a dataset, in OpenZeppelin's StandardMerkleTree encoding (#15).

A data provider commits to every record of a data file without publishing any of them:

- **record bytes**: the canonical JSON (:func:`core.canonical.canonical_json`) of the row as
  ``{column: field}``, with the header's column names and the fields as the text written in the
  CSV (no type conversion), e.g. ``b'{"age":"41","sex":"F"}'``. A record owner who knows their
  row's values and the column names can rebuild these bytes; quoting and line endings of the
  file do not matter (:func:`encode_record`). A Parquet row's fields are the text Arrow
  casts its typed values to, a null being ``None`` (:mod:`audit.parquet_records`).
- **leaf**: the pair ``(salt, sha256(record bytes))``, both ``bytes32``, hashed as OpenZeppelin's
  StandardMerkleTree does: ``keccak256(keccak256(abi.encode(salt, recordHash))))``. The double
  hash is what ``MerkleProof.verify`` expects on chain (no second-preimage by an inner node),
  and ``abi.encode`` of two ``bytes32`` is their 64-byte concatenation.
- **salt**: 32 random bytes per record from :mod:`secrets`. Without it a leaf (and so the root)
  cannot be matched against guessed records, even low-entropy ones: the commitment hides the
  record. The provider keeps the salts (:func:`write_salts`); they are never published.
- **root**: the StandardMerkleTree root over all leaves (leaves sorted by hash, as OZ's
  ``StandardMerkleTree.of``), which the provider publishes.

An :class:`InclusionProof` shows one record with its salt is in the committed set; the prover
reveals that record and salt to the verifier (a commitment, not a zero-knowledge proof).
"""

from __future__ import annotations

import csv
import hashlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Final

from murky_tree.core import make_merkle_tree
from murky_tree.merkletree import build_tree
from murky_tree.standard import StandardMerkleTree
from sha3 import keccak_256

from audit.errors import (
    NOT_UTF8,
    ONE_FIELD_A_COLUMN,
    RAGGED_ROW,
    RENAME_REPEATED,
    REPEATED_COLUMN,
    SAVE_AS_UTF8,
    InputFileNotFound,
    InvalidSalts,
    NoRecords,
    RecordIndexOutOfRange,
    RecordNotInDataset,
    SaltsMismatch,
    UnreadableFile,
)
from core.canonical import canonical_json
from core.types import Hash32, to_hash32

#: OZ StandardMerkleTree leaf encoding: (salt, sha256 of the record bytes).
LEAF_ENCODING: Final = ["bytes32", "bytes32"]
SALT_BYTES: Final = 32
#: First line of a salts file; the salts follow as 32-byte blocks in record order.
SALTS_MAGIC: Final = b"fairgov-salts-v1\n"

#: Called with the number of records read so far.
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Commitments:
    """The salted commitments of one dataset: what the provider keeps and the root it publishes.

    ``salts`` and ``record_hashes`` are in record order; ``tree`` is the OZ-compatible tree,
    built when first asked for (a proof): the root alone needs only the nodes' hashes, and
    murky-tree's tree object holds several Python objects a record (820 MiB for 1e6).
    """

    root: Hash32
    salts: tuple[bytes, ...]
    record_hashes: tuple[bytes, ...]

    @property
    def count(self) -> int:
        """The number of records (leaves)."""
        return len(self.salts)

    @cached_property
    def tree(self) -> StandardMerkleTree[tuple[bytes, bytes]]:
        """The StandardMerkleTree of the leaves (for proofs)."""
        return _standard_tree(list(zip(self.salts, self.record_hashes, strict=True)))


@dataclass(frozen=True)
class InclusionProof:
    """That record ``index`` (salt ``salt``, hash ``record_hash``) is a leaf under ``root``.

    ``path`` holds the sibling hashes from the leaf up, as ``MerkleProof.verify`` takes them.
    """

    index: int
    salt: bytes
    record_hash: bytes
    path: tuple[Hash32, ...]
    root: Hash32


def encode_record(row: Mapping[str, str | None]) -> bytes:
    """The committed bytes of one record: canonical JSON of ``{column: field}``.

    A field is text; a Parquet null is ``None`` (JSON ``null``, :mod:`audit.parquet_records`).

    Examples
    --------
    >>> encode_record({"sex": "F", "age": "41"})
    b'{"age":"41","sex":"F"}'
    """
    return canonical_json(dict(row))


def record_hash(record: bytes) -> bytes:
    """sha256 of a record's bytes (the second value of its leaf)."""
    return hashlib.sha256(record).digest()


def _keccak(data: bytes) -> bytes:
    return keccak_256(data).digest()  # type: ignore[no-any-return]


def leaf_hash(salt: bytes, digest: bytes) -> bytes:
    """The tree node of the leaf ``(salt, digest)``: StandardMerkleTree's
    ``keccak256(keccak256(abi.encode(bytes32, bytes32)))``, where ``abi.encode`` of two
    ``bytes32`` is their concatenation."""
    return _keccak(_keccak(salt + digest))


def _node_hash(a: bytes, b: bytes) -> bytes:
    """StandardMerkleTree's inner node: keccak256 of the two children, smaller first."""
    return _keccak(a + b if a < b else b + a)


def _standard_tree(leaves: list[tuple[bytes, bytes]]) -> StandardMerkleTree[tuple[bytes, bytes]]:
    """``StandardMerkleTree.of(leaves, LEAF_ENCODING)``, built by murky-tree from hashes
    taken with safe-pysha3's C keccak: murky hashes every leaf through eth_abi and eth-hash's
    pycryptodome backend, about 5 times slower a hash and 37 us a record in all (a 1e7-row
    dataset: six minutes). Same tree, same root (``test_commitments.py`` checks them)."""
    hashes = [leaf_hash(salt, digest) for salt, digest in leaves]
    tree, values = build_tree(leaves, hashes, True, _node_hash)
    return StandardMerkleTree(tree, values, LEAF_ENCODING, _leaf_hashes=hashes)


def _standard_root(salts: Sequence[bytes], hashes: Sequence[bytes]) -> bytes:
    """The root of :func:`_standard_tree` without its tree object: murky-tree's flat tree
    of the sorted leaf hashes."""
    leaves = sorted(leaf_hash(salt, digest) for salt, digest in zip(salts, hashes, strict=True))
    root: bytes = make_merkle_tree(leaves, _node_hash)[0]
    return root


def new_salts(count: int) -> list[bytes]:
    """``count`` salts of 32 random bytes each, from :mod:`secrets`."""
    return [secrets.token_bytes(SALT_BYTES) for _ in range(count)]


def check_header(path: Path, header: Sequence[str], *, kind: str = "CSV") -> None:
    """Refuse a header that names a column twice (spaces before a name aside, as pandas
    reads it): a record would keep one of the values and pandas would rename the other.

    Raises
    ------
    UnreadableFile
        Naming the first column named again.
    """
    seen: set[str] = set()
    for name in header:
        key = name.lstrip(" ")
        if key in seen:
            raise UnreadableFile(
                str(path), REPEATED_COLUMN.format(name=key), kind=kind, advice=RENAME_REPEATED
            )
        seen.add(key)


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV file as :func:`read_records` reads it, checked by
    :func:`check_header`; ``[]`` for an empty file.

    Raises
    ------
    UnreadableFile
        A column named twice, or a header that is not UTF-8 CSV.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle), [])
    except UnicodeDecodeError:
        raise UnreadableFile(str(path), NOT_UTF8, kind="CSV", advice=SAVE_AS_UTF8) from None
    except csv.Error as error:
        raise UnreadableFile(str(path), str(error), kind="CSV") from None
    check_header(path, header)
    return header


def _csv_rows(path: Path, columns: Sequence[str] | None) -> Iterator[tuple[list[str], list[str]]]:
    """The header and each data row's fields, every row checked to have one field a column."""
    if not path.is_file():
        raise InputFileNotFound(str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = list(columns) if columns is not None else next(reader, None)
            if header is None:
                raise UnreadableFile(str(path), "empty file, no header", kind="CSV")
            check_header(path, header)
            row = 0
            for fields in reader:
                if not fields:
                    continue  # a blank line is no record (pandas skips them too)
                row += 1
                if len(fields) != len(header):
                    raise UnreadableFile(
                        str(path),
                        RAGGED_ROW.format(row=row, fields=len(fields), columns=len(header)),
                        kind="CSV",
                        advice=ONE_FIELD_A_COLUMN,
                    )
                yield header, fields
        except UnicodeDecodeError:
            raise UnreadableFile(str(path), NOT_UTF8, kind="CSV", advice=SAVE_AS_UTF8) from None
        except csv.Error as error:
            raise UnreadableFile(str(path), str(error), kind="CSV") from None


def check_rows(path: Path, *, columns: Sequence[str] | None = None) -> None:
    """Read the CSV file through as :func:`read_records` does, without encoding a record:
    a ragged row, a repeated column or bytes that are not UTF-8 are refused here.

    Raises
    ------
    InputFileNotFound, UnreadableFile
    """
    for _ in _csv_rows(path, columns):
        pass


def read_records(
    path: Path,
    *,
    columns: Sequence[str] | None = None,
    on_progress: Progress | None = None,
    every: int = 100_000,
) -> Iterator[bytes]:
    """The record bytes (:func:`encode_record`) of each data row of a CSV file, streamed.

    ``columns`` names the columns of a file without a header row (as a manifest's
    ``columns``); otherwise the first row is the header. ``on_progress`` is called with the
    count every ``every`` rows and once at the end. A header naming a column twice, a row
    with another number of fields than the header, and bytes that are not UTF-8 are
    :class:`~audit.errors.UnreadableFile`.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text("age,sex\\n41,F\\n")
    >>> list(read_records(p))
    [b'{"age":"41","sex":"F"}']
    """
    count = 0
    for header, fields in _csv_rows(path, columns):
        yield encode_record(dict(zip(header, fields, strict=True)))
        count += 1
        if on_progress is not None and count % every == 0:
            on_progress(count)
    if on_progress is not None:
        on_progress(count)


def build_commitments(
    records: Iterable[bytes], *, salts: Sequence[bytes] | None = None
) -> Commitments:
    """Salt and hash every record and build the Merkle tree of their leaves.

    Parameters
    ----------
    records
        Record bytes in order (:func:`read_records`, or :func:`encode_record` of each row).
    salts
        One 32-byte salt per record, to rebuild the same commitments; fresh random salts
        when omitted (the provider must then keep ``Commitments.salts``).

    Examples
    --------
    >>> c = build_commitments([b"a", b"b"], salts=[bytes(32), bytes([1]) * 32])
    >>> c.count, c.root[:10]
    (2, '0x5e71c0da')
    """
    hashes = [record_hash(record) for record in records]
    if salts is None:
        salts = new_salts(len(hashes))
    elif len(salts) != len(hashes):
        raise SaltsMismatch(len(salts), len(hashes))
    for salt in salts:
        _check_salt(salt)
    if not hashes:
        raise NoRecords()
    salts = tuple(bytes(salt) for salt in salts)
    root = _standard_root(salts, hashes)
    return Commitments(root=to_hash32("0x" + root.hex()), salts=salts, record_hashes=tuple(hashes))


def prove(commitments: Commitments, index: int) -> InclusionProof:
    """The inclusion proof of record ``index``.

    Examples
    --------
    >>> c = build_commitments([b"a", b"b", b"c"])
    >>> p = prove(c, 1)
    >>> verify(p, b"b", c.salts[1], c.root)
    True
    """
    if not 0 <= index < commitments.count:
        raise RecordIndexOutOfRange(index, commitments.count)
    path = tuple(to_hash32(step) for step in commitments.tree.get_proof(index))
    return InclusionProof(
        index=index,
        salt=commitments.salts[index],
        record_hash=commitments.record_hashes[index],
        path=path,
        root=commitments.root,
    )


def verify(proof: InclusionProof, record: bytes, salt: bytes, root: str) -> bool:
    """Whether ``record`` with ``salt`` is a leaf under ``root`` along ``proof.path``.

    Only ``proof.path`` is trusted from the proof: the leaf is recomputed from ``record`` and
    ``salt``, and ``root`` is the one the verifier holds (e.g. read from the chain).

    Examples
    --------
    >>> c = build_commitments([b"a", b"b"])
    >>> verify(prove(c, 0), b"x", c.salts[0], c.root)
    False
    """
    if len(salt) != SALT_BYTES:
        return False
    leaf = (bytes(salt), record_hash(record))
    return bool(StandardMerkleTree.verify(root, LEAF_ENCODING, leaf, list(proof.path)))


def require_inclusion(proof: InclusionProof, record: bytes, salt: bytes, root: str) -> None:
    """:func:`verify`, raising :class:`~audit.errors.RecordNotInDataset` when it fails."""
    if not verify(proof, record, salt, root):
        raise RecordNotInDataset(proof.index, root)


def write_salts(path: Path, salts: Sequence[bytes]) -> None:
    """Write the salts file: :data:`SALTS_MAGIC` then each 32-byte salt, in record order.

    The file is as sensitive as the data it salts; it is the provider's, never published
    (written readable by its owner only). It is written to a temporary file renamed over
    ``path``, so a failure leaves an existing salts file whole.
    """
    for salt in salts:
        _check_salt(salt)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(SALTS_MAGIC)
            for salt in salts:
                out.write(salt)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_salts(path: Path, *, records: int | None = None) -> list[bytes]:
    """The salts of a file from :func:`write_salts`; ``records`` checks their number."""
    if not path.is_file():
        raise InputFileNotFound(str(path))
    data = path.read_bytes()
    if not data.startswith(SALTS_MAGIC):
        raise InvalidSalts(f"{path} is not a fairgov salts file")
    body = memoryview(data)[len(SALTS_MAGIC) :]
    if len(body) % SALT_BYTES:
        raise InvalidSalts(f"{path} is truncated ({len(body)} bytes is not whole salts)")
    salts = [bytes(body[i : i + SALT_BYTES]) for i in range(0, len(body), SALT_BYTES)]
    if records is not None and len(salts) != records:
        raise SaltsMismatch(len(salts), records)
    return salts


def _check_salt(salt: bytes) -> None:
    if not isinstance(salt, bytes) or len(salt) != SALT_BYTES:
        raise InvalidSalts(f"a salt must be {SALT_BYTES} bytes, got {salt!r:.40}")
