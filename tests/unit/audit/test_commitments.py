"""Salted record commitments: round trip, refusals, determinism, hiding, salts files."""

from __future__ import annotations

import doctest
import hashlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st
from murky_tree.standard import StandardMerkleTree

import audit.commitments
from audit.commitments import (
    LEAF_ENCODING,
    SALTS_MAGIC,
    build_commitments,
    encode_record,
    prove,
    read_records,
    read_salts,
    require_inclusion,
    verify,
    write_salts,
)
from audit.errors import (
    InvalidSalts,
    NoRecords,
    RecordIndexOutOfRange,
    RecordNotInDataset,
    SaltsMismatch,
    UnreadableFile,
)
from core.types import to_hash32

RECORDS = [encode_record({"age": str(20 + i), "sex": "FM"[i % 2]}) for i in range(13)]


def _salts(n: int, seed: int = 0) -> list[bytes]:
    return [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(n)]


def test_every_record_proves_and_verifies():
    c = build_commitments(RECORDS)
    assert c.count == 13
    for i, record in enumerate(RECORDS):
        p = prove(c, i)
        assert verify(p, record, c.salts[i], c.root)
        require_inclusion(p, record, c.salts[i], c.root)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 13, 31, 64, 100])
def test_the_tree_is_murky_trees_own_standard_tree(n: int):
    """The leaves and inner nodes hashed with safe-pysha3 give murky-tree's own
    ``StandardMerkleTree.of`` node for node (the same sorted order, leaf positions, root)."""
    records = [f"record {i}".encode() for i in range(n)]
    c = build_commitments(records, salts=_salts(n, seed=n))
    leaves = [(s, h) for s, h in zip(c.salts, c.record_hashes, strict=True)]
    theirs = StandardMerkleTree.of(leaves, LEAF_ENCODING)
    assert c.tree.tree == theirs.tree
    assert [v.tree_index for v in c.tree.values] == [v.tree_index for v in theirs.values]
    assert c.root == to_hash32(theirs.root)
    for i in range(n):
        assert c.tree.get_proof(i) == theirs.get_proof(i)


def test_a_single_record_has_its_leaf_as_root_and_an_empty_path():
    salt = _salts(1)[0]
    c = build_commitments([b"only"], salts=[salt])
    leaf = keccak(keccak(salt + hashlib.sha256(b"only").digest()))
    assert c.root == to_hash32("0x" + leaf.hex())
    assert prove(c, 0).path == ()


def test_tampered_record_salt_proof_or_root_is_refused():
    c = build_commitments(RECORDS)
    p = prove(c, 3)
    record, salt = RECORDS[3], c.salts[3]
    assert not verify(p, RECORDS[4], salt, c.root)
    assert not verify(p, record + b" ", salt, c.root)
    assert not verify(p, record, c.salts[4], c.root)
    assert not verify(p, record, bytes([salt[0] ^ 1]) + salt[1:], c.root)
    assert not verify(p, record, salt[:31], c.root)
    broken = list(p.path)
    broken[0] = to_hash32("0x" + "00" * 32)
    assert not verify(replace(p, path=tuple(broken)), record, salt, c.root)
    assert not verify(replace(p, path=p.path[:-1]), record, salt, c.root)
    other = build_commitments(RECORDS)
    assert not verify(p, record, salt, other.root)
    with pytest.raises(RecordNotInDataset) as caught:
        require_inclusion(p, RECORDS[4], salt, c.root)
    assert caught.value.code == "record_not_in_dataset"
    assert "\n" not in str(caught.value)


def test_the_same_salts_give_the_same_root_and_proofs():
    salts = _salts(len(RECORDS))
    a = build_commitments(RECORDS, salts=salts)
    b = build_commitments(list(RECORDS), salts=list(salts))
    assert a.root == b.root
    assert [prove(a, i).path for i in range(a.count)] == [prove(b, i).path for i in range(b.count)]


def test_salts_hide_records_same_records_different_salts_different_roots():
    a = build_commitments(RECORDS, salts=_salts(len(RECORDS), seed=1))
    b = build_commitments(RECORDS, salts=_salts(len(RECORDS), seed=2))
    fresh = build_commitments(RECORDS)
    assert len({a.root, b.root, fresh.root}) == 3
    # Nor do the leaves repeat the record hashes in the clear.
    assert not {to_hash32("0x" + h.hex()) for h in a.record_hashes} & set(prove(a, 0).path)


def test_fresh_salts_are_32_distinct_random_bytes():
    c = build_commitments(RECORDS)
    assert all(len(s) == 32 for s in c.salts)
    assert len(set(c.salts)) == len(RECORDS)


def test_identical_records_get_distinct_leaves_and_both_prove():
    c = build_commitments([b"same", b"same"])
    assert verify(prove(c, 0), b"same", c.salts[0], c.root)
    assert verify(prove(c, 1), b"same", c.salts[1], c.root)
    assert c.tree.leaf_hash((c.salts[0], c.record_hashes[0])) != c.tree.leaf_hash(
        (c.salts[1], c.record_hashes[1])
    )


@settings(max_examples=40, deadline=None)
@given(
    records=st.lists(st.binary(max_size=40), min_size=1, max_size=40),
    data=st.data(),
)
def test_any_subset_of_records_proves_and_verifies(records: list[bytes], data: st.DataObject):
    c = build_commitments(records)
    chosen = data.draw(st.sets(st.integers(0, len(records) - 1), min_size=1))
    for i in chosen:
        p = prove(c, i)
        assert p.index == i
        assert p.root == c.root
        assert verify(p, records[i], c.salts[i], c.root)


def test_wrong_salts_and_indices_are_refused_with_codes():
    with pytest.raises(SaltsMismatch) as caught:
        build_commitments(RECORDS, salts=_salts(3))
    assert caught.value.code == "salts_mismatch"
    with pytest.raises(InvalidSalts):
        build_commitments([b"a"], salts=[b"short"])
    with pytest.raises(NoRecords):
        build_commitments([])
    c = build_commitments(RECORDS)
    for index in (-1, 13):
        with pytest.raises(RecordIndexOutOfRange):
            prove(c, index)


def test_salts_file_round_trip_rebuilds_the_root(tmp_path: Path):
    c = build_commitments(RECORDS)
    path = tmp_path / "salts.bin"
    write_salts(path, c.salts)
    assert path.stat().st_size == len(SALTS_MAGIC) + 32 * len(RECORDS)
    salts = read_salts(path, records=len(RECORDS))
    assert build_commitments(RECORDS, salts=salts).root == c.root
    with pytest.raises(SaltsMismatch):
        read_salts(path, records=12)
    path.write_bytes(path.read_bytes()[:-1])
    with pytest.raises(InvalidSalts, match="truncated"):
        read_salts(path)
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(InvalidSalts, match="not a fairgov salts file"):
        read_salts(path)


class _DiskFullOnWrite(list[bytes]):
    """Salts whose second pass (the write, after the check) fails after one salt."""

    passes = 0

    def __iter__(self) -> Iterator[bytes]:
        self.passes += 1
        for i, salt in enumerate(list.__iter__(self)):
            if self.passes > 1 and i == 1:
                raise OSError("No space left on device")
            yield salt


def test_a_failed_salts_write_leaves_the_existing_file_whole(tmp_path: Path):
    """Review #18: the provider's salts file was truncated before it was rewritten."""
    path = tmp_path / "salts.bin"
    write_salts(path, build_commitments(RECORDS).salts)
    kept = path.read_bytes()
    with pytest.raises(OSError, match="No space left"):
        write_salts(path, _DiskFullOnWrite(build_commitments(RECORDS).salts))
    assert path.read_bytes() == kept
    assert [p.name for p in tmp_path.iterdir()] == ["salts.bin"]
    assert path.stat().st_mode & 0o077 == 0  # the provider's secret: owner only


def test_csv_records_are_canonical_json_of_the_row_and_stream_with_progress(tmp_path: Path):
    path = tmp_path / "d.csv"
    # Quoting and CRLF do not change a record's bytes; the owner rebuilds them from values.
    path.write_bytes(b'sex,age,note\r\nF,41,"a, b"\r\nM,7,\r\n' + b"F,1,x\n" * 5)
    seen: list[int] = []
    records = list(read_records(path, on_progress=seen.append, every=3))
    assert records[0] == encode_record({"age": "41", "note": "a, b", "sex": "F"})
    assert records[0] == b'{"age":"41","note":"a, b","sex":"F"}'
    assert records[1] == b'{"age":"7","note":"","sex":"M"}'
    assert len(records) == 7
    assert seen == [3, 6, 7]


def test_unreadable_csv_is_refused(tmp_path: Path):
    ragged = tmp_path / "r.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(UnreadableFile, match="row 2 has 1 fields"):
        list(read_records(ragged))
    # Review: a repeated column kept one of its values in the record, so files that differ
    # in the other value committed to the same records root.
    repeated = tmp_path / "dup.csv"
    repeated.write_text("y,x,x\n1,a,b\n")
    with pytest.raises(UnreadableFile, match="column 'x' appears more than once in the header"):
        list(read_records(repeated))
    latin1 = tmp_path / "l.csv"
    latin1.write_bytes("a,b\n1,\u00e9\n".encode("latin-1"))
    with pytest.raises(
        UnreadableFile, match=r"as CSV \(invalid utf-8 sequence\): save it as UTF-8"
    ):
        list(read_records(latin1))
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(UnreadableFile):
        list(read_records(empty))


def test_the_examples_in_the_docstrings_hold():
    result = doctest.testmod(audit.commitments)
    assert (result.failed, result.attempted >= 6) == (0, True)


def test_blank_lines_are_no_records_as_for_pandas(tmp_path: Path) -> None:
    """UCI Adult's file ends with an empty line; pandas skips it, so the records must too
    (the commitments count the rows a model trains on)."""
    path = tmp_path / "adult.data"
    path.write_text("39, State-gov, <=50K\n50, Private, >50K\n\n")
    records = list(read_records(path, columns=["age", "workclass", "income"]))
    assert records == [
        b'{"age":"39","income":" <=50K","workclass":" State-gov"}',
        b'{"age":"50","income":" >50K","workclass":" Private"}',
    ]
