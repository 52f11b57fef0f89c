from __future__ import annotations

from pathlib import Path

from audit.synthetic import make_loans, write_loans_csv
from core.canonical import file_sha256


def test_same_seed_same_bytes_and_another_seed_other_bytes(tmp_path: Path) -> None:
    a = write_loans_csv(tmp_path / "a.csv", 500, seed=1)
    b = write_loans_csv(tmp_path / "b.csv", 500, seed=1)
    c = write_loans_csv(tmp_path / "c.csv", 500, seed=2)
    assert file_sha256(a) == file_sha256(b) != file_sha256(c)


def test_labels_are_biased_against_group_b_and_region_is_a_proxy() -> None:
    frame = make_loans(4000, seed=0)
    rates = frame.groupby("group")["approved"].mean()
    assert rates["A"] - rates["B"] > 0.2
    south = frame.groupby("group")["region"].apply(lambda r: (r == "south").mean())
    assert south["B"] > 0.8
    assert south["A"] < 0.2
    unbiased = make_loans(4000, seed=0, bias=0.0).groupby("group")["approved"].mean()
    assert abs(unbiased["A"] - unbiased["B"]) < 0.05
