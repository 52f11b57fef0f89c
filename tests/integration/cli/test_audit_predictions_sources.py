"""``fairgov audit predictions`` on Parquet, CSV, folders, globs, Hive partitions and Dask."""

from __future__ import annotations

import hashlib
import json
import socket
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.main import app

runner = CliRunner()


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    sex = rng.choice(["female", "male"], n)
    y = rng.integers(0, 2, n)
    score = np.clip(0.5 * y + 0.25 + rng.normal(0, 0.15, n) + (sex == "male") * 0.08, 0, 1)
    return pd.DataFrame(
        {
            "sex": sex,
            "race": rng.choice(["A", "B"], n),
            "y": y,
            "score": score.round(4),
        }
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sources")
    frame = _rows(3000, 11)
    frame.to_parquet(root / "all.parquet")
    frame.to_csv(root / "all.csv", index=False)
    (root / "parts").mkdir()
    (root / "hive").mkdir()
    for i, start in enumerate(range(0, 3000, 750)):
        part = frame.iloc[start : start + 750]
        part.to_parquet(root / "parts" / f"part-{i}.parquet")
        part.to_csv(root / f"day-{i}.csv", index=False)
        region = root / "hive" / f"region={'north' if i % 2 else 'south'}"
        region.mkdir(exist_ok=True)
        part.to_parquet(region / f"part-{i}.parquet")
    return root


def _run(source: str, out: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    args = [
        "audit",
        "predictions",
        source,
        "--label",
        "y",
        "--prediction",
        "score",
        "--cutoff",
        "0.5",
        "--sensitive",
        "sex,race",
        "--n-boot",
        "40",
        "--out",
        str(out),
        *extra,
    ]
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    report_file = out / "report.json"
    report = json.loads(report_file.read_bytes()) if report_file.exists() else {}
    return result.exit_code, result.output, report


def test_parquet_csv_folder_and_glob_give_the_same_audit(data: Path, tmp_path: Path):
    code, output, single = _run(str(data / "all.parquet"), tmp_path / "parquet")
    assert code in (0, 1, 3), output
    digest = "0x" + hashlib.sha256((data / "all.parquet").read_bytes()).hexdigest()
    assert single["dataset"]["content_hash"] == digest
    assert single["dataset"]["rows"] == 3000
    for name, source in {
        "csv": str(data / "all.csv"),
        "folder": str(data / "parts"),
        "glob": f"{data}/day-*.csv",
    }.items():
        other_code, other_output, other = _run(source, tmp_path / name)
        assert other_code == code, other_output
        assert other["audit"] == single["audit"], name
        assert other["dataset"]["rows"] == 3000
    folder = json.loads((tmp_path / "folder" / "report.json").read_bytes())["dataset"]
    assert folder["name"].startswith(f"{data / 'parts'} (4 files;")
    assert folder["content_hash"] != digest


def test_a_sensitive_column_the_parquet_schema_lacks_is_one_line(data: Path, tmp_path: Path):
    code, output, _ = _run(str(data / "all.parquet"), tmp_path / "out", "--sensitive", "age")
    assert code == 2, output
    assert output.strip().splitlines() == [
        "fairgov: column 'age' (from --sensitive) is not in the file; columns are: "
        "sex, race, y, score [missing_column]"
    ]
    assert not (tmp_path / "out").exists()


def test_a_glob_that_matches_nothing_is_one_line(data: Path, tmp_path: Path):
    code, output, _ = _run(f"{data}/nothing-*.parquet", tmp_path / "out")
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"fairgov: no data files match {data}/nothing-*.parquet")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_dask_cluster_that_does_not_answer_exits_2_with_one_line(data: Path, tmp_path: Path):
    address = f"tcp://127.0.0.1:{_closed_port()}"
    code, output, _ = _run(
        str(data / "all.parquet"), tmp_path / "out", "--dask", address, "--dask-timeout", "0.5"
    )
    assert code == 2, output
    assert output.strip().splitlines() == [
        f"fairgov: No Dask scheduler answered at {address} within 0.5 s; start one "
        "(dask scheduler) or pass --dask local [dask_unreachable]"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_local_dask_cluster_gives_the_same_audit_on_hive_partitions(data: Path, tmp_path: Path):
    hive = f"{data}/hive/region=*/part-*.parquet"
    extra = ("--sensitive", "region")  # a Hive partition column, beside sex and race
    code, output, here = _run(hive, tmp_path / "polars", *extra)
    assert code in (0, 1, 3), output
    dask_code, dask_output, on_dask = _run(hive, tmp_path / "dask", *extra, "--dask", "local")
    assert dask_code == code, dask_output
    assert "3,000 rows counted with Polars (streaming), 4 files" in output
    assert (
        "3,000 rows counted with Dask LocalCluster (2 workers), 4 files in 4 partitions"
        in dask_output
    )
    assert on_dask["audit"] == here["audit"]
    assert on_dask["dataset"] == here["dataset"]
    regions = {g["group"].get("region") for g in here["audit"]["groups"]}
    assert {"north", "south"} <= regions


@pytest.mark.parametrize(
    ("name", "damage", "says"),
    [
        ("t.parquet", "truncated", "(parquet: File out of specification: The file must end"),
        ("c.parquet", "csv", "as Parquet (it is text, not Parquet): if it is CSV, name it .csv"),
        ("p.csv", "parquet", "as CSV (it is a Parquet file): name it .parquet"),
    ],
)
def test_a_broken_data_file_exits_2_with_one_line(
    data: Path, tmp_path: Path, name: str, damage: str, says: str
):
    """Review of #17 (hole 10): never a traceback for a file that is not its format."""
    parquet = (data / "all.parquet").read_bytes()
    body = {
        "truncated": parquet[:-100],
        "csv": b"y,score,sex,race\n1,0.5,f,A\n",
        "parquet": parquet,
    }[damage]
    path = tmp_path / name
    path.write_bytes(body)
    code, output, _ = _run(str(path), tmp_path / "out")
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith(f"fairgov: cannot read {path} as "), output
    assert says in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_folder_is_listed_once(data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Review (session 22): the command listed the source's files to guard ``--out`` and
    again to audit them, so a ``**`` glob over a large tree was walked twice."""
    from audit import source_files

    walked: list[Path] = []
    walk = source_files._walk

    def counted(root: Path) -> list[Path]:
        walked.append(root)
        return walk(root)

    monkeypatch.setattr(source_files, "_walk", counted)
    code, output, report = _run(str(data / "parts"), tmp_path / "out")
    assert code in (0, 1, 3), output
    assert report["dataset"]["rows"] == 3000
    assert walked == [data / "parts"]


def test_more_groups_than_max_groups_is_one_line_before_any_metric(data: Path, tmp_path: Path):
    """Session 24: an id column given as --sensitive made 20,000 one-row groups: 3.6 minutes
    and a 118 MB report, every check INCONCLUSIVE. sex x race makes 2 x 2 = 4 groups here."""
    code, output, report = _run(str(data / "all.parquet"), tmp_path / "few", "--max-groups", "3")
    assert code == 2, output
    assert "Grouping by sex, race makes 4 groups, more than max_groups (3)" in output
    assert "[too_many_groups]" in output
    assert len(output.strip().splitlines()) == 1
    assert report == {}
    code, output, report = _run(str(data / "all.parquet"), tmp_path / "ok", "--max-groups", "4")
    assert code in (0, 1, 3), output
    assert report["dataset"]["rows"] == 3000
