"""Which manifest URIs name a folder or a glob, and the URIs registering one writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.dataset_files import files_uri, several_files


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("file:///data/loans.csv", None),
        ("file:///data/loans%20%5Bv1%5D.csv", None),  # one file whose name has brackets
        ("file:///data/loans%2A.parquet", None),  # one file named with a star
        ("file:///data/loans/", "/data/loans/"),
        ("file:///data/my%20loans/part-*.parquet", "/data/my loans/part-*.parquet"),
        ("file:///data/year=*/part-?.parquet", "/data/year=*/part-?.parquet"),
        ("file:///data/part-[0-9].parquet", "/data/part-[0-9].parquet"),
        ("/data/loans/", "/data/loans/"),
        ("/data/part-*.parquet", "/data/part-*.parquet"),
        ("/data/loans.csv", None),
        ("https://example.org/loans/", None),  # not local: local_path refuses it
    ],
)
def test_several_files_tells_a_folder_or_glob_from_one_file(uri: str, expected: str | None):
    assert several_files(uri) == expected


def test_a_local_folder_is_a_folder_even_without_its_slash(tmp_path: Path):
    assert several_files(tmp_path.as_uri()) == str(tmp_path)
    assert several_files(str(tmp_path)) == str(tmp_path)


def test_a_plain_path_naming_a_file_with_a_star_is_that_file(tmp_path: Path):
    path = tmp_path / "odd*.csv"
    path.write_text("a\n1\n")
    assert several_files(str(path)) is None


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("/data/loans", "file:///data/loans/"),
        ("/data/my loans", "file:///data/my%20loans/"),
        ("/data/my loans/part-*.parquet", "file:///data/my%20loans/part-*.parquet"),
        ("/data/year=*/part-[0-9].parquet", "file:///data/year%3D*/part-[0-9].parquet"),
    ],
)
def test_files_uri_round_trips_through_several_files(path: str, uri: str):
    assert files_uri(Path(path)) == uri
    assert several_files(uri) == (path + "/" if uri.endswith("/") else path)
