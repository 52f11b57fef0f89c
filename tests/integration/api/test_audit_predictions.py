"""``POST /v1/audits/predictions``: the CLI's predictions audit over HTTP, its report files
for the uploader and auditors, and its one-line errors."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import API_PREFIX
from api.uploads import UPLOAD_PATHS, UPLOADS_FOLDER
from audit.predictions import audit_predictions_file
from bias_checks import EvidenceRule
from core.canonical import sha256_hex
from core.settings import DEV_PRIVATE_KEYS
from tests.integration.api.api_support import error_code
from tests.integration.api.conftest import MakeApp
from tests.integration.api.siwe_support import bearer
from tests.integration.audit.audit_support import AUDITOR_KEY

# The database only holds the sessions here, so SQLite alone is enough.
pytestmark = [pytest.mark.chain, pytest.mark.parametrize("engine", ["sqlite"], indirect=True)]
URL = "/v1/audits/predictions"
UPLOADER, OTHER = DEV_PRIVATE_KEYS[3], DEV_PRIVATE_KEYS[4]
OPTIONS = {
    "label": "y",
    "prediction": "score",
    "sensitive": "sex,race",
    "cutoff": 0.5,
    "threshold": ["demographic_parity_difference<=0.1", "selection_rate>=0.2,confidence=0.9"],
    "min_group_size": 20,
    "n_boot": 50,
    "seed": 7,
    "filename": "preds.csv",
}


def _frame(n: int = 1200) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    sex = rng.choice(["f", "m"], n)
    race = rng.choice(["a", "b", "c"], n)
    score = np.clip(rng.random(n) + np.where(sex == "m", 0.15, -0.05), 0, 1)
    y = (rng.random(n) < score).astype(int)
    return pd.DataFrame({"y": y, "score": score.round(4), "sex": sex, "race": race})


def test_an_upload_is_audited_as_the_cli_audits_the_file(
    client: TestClient, tmp_path: Path
) -> None:
    assert f"{API_PREFIX}{UPLOAD_PATHS[0]}" == URL
    csv = tmp_path / "preds.csv"
    _frame().to_csv(csv, index=False)
    expected = audit_predictions_file(
        csv,
        label="y",
        prediction="score",
        sensitive=["sex", "race"],
        cutoff=0.5,
        thresholds=OPTIONS["threshold"],  # type: ignore[arg-type]
        evidence=EvidenceRule(min_group_size=20),
        n_boot=50,
        random_state=7,
    ).report
    uploader = bearer(client, UPLOADER)
    response = client.post(
        URL,
        params=OPTIONS,
        content=csv.read_bytes(),
        headers={**uploader, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["report_hash"], body["run_id"]) == (expected.hash, expected.run_id)
    assert body["verdict"] == expected.verdict
    assert [c["metric"] for c in body["checks"]] == [
        "demographic_parity_difference",
        "selection_rate",
    ]
    assert body["used_default_thresholds"] is False

    # The uploader and auditors download the files; report.json hashes to report_hash.
    report = client.get(body["files"]["json"], headers=uploader)
    assert report.status_code == 200
    assert sha256_hex(report.content) == expected.hash == report.headers["X-Fairgov-Report-Hash"]
    # Regression (review, session 17): the answer gave only value and verdict. Each check now
    # carries the evidence the verdict used, as report.json holds it.
    for answered, stored in zip(body["checks"], report.json()["audit"]["checks"], strict=True):
        level = stored["evidence_rule"]["confidence_level"]
        assert answered["ci"] == {**stored["ci"], "confidence_level": level}
        assert answered["pair"] == stored.get("pair")
        assert answered["unreliable_groups"] == (stored.get("unreliable_groups") or [])
        assert answered["rows_needed"] == stored.get("rows_needed")
        assert (answered["reason"], answered["evidence_rule"]) == (
            stored["reason"],
            stored["evidence_rule"],
        )
    assert [c["evidence_rule"]["confidence_level"] for c in body["checks"]] == [0.95, 0.9]
    assert body["checks"][0]["ci"]["low"] <= body["checks"][0]["value"]
    assert client.get(body["files"]["pdf"], headers=uploader).content.startswith(b"%PDF")
    auditor = bearer(client, AUDITOR_KEY)
    assert client.get(body["files"]["html"], headers=auditor).status_code == 200
    other = client.get(body["files"]["json"], headers=bearer(client, OTHER))
    assert (other.status_code, error_code(other)) == (404, "not_found")
    assert client.get(body["files"]["json"]).status_code == 401

    # The same predictions as Parquet: the same checks and verdict (another file, another id).
    parquet = tmp_path / "preds.parquet"
    _frame().to_parquet(parquet)
    as_parquet = client.post(
        URL,
        params={k: v for k, v in OPTIONS.items() if k != "filename"},
        content=parquet.read_bytes(),
        headers={**uploader, "Content-Type": "application/vnd.apache.parquet"},
    )
    assert as_parquet.status_code == 200, as_parquet.text
    assert as_parquet.json()["checks"] == body["checks"]

    # A stored file that is not the report is never served.
    stored = tmp_path / "predictions" / expected.hash[2:] / "report.json"
    stored.write_bytes(stored.read_bytes().replace(b'"verdict":"', b'"verdict":"X', 1))
    corrupt = client.get(body["files"]["json"], headers=uploader)
    assert (corrupt.status_code, error_code(corrupt)) == (500, "report_corrupt")
    assert not list((tmp_path / "uploads").iterdir())  # uploads are not kept


def test_bad_uploads_get_one_line_errors(make_app: MakeApp, tmp_path: Path) -> None:
    data = _frame(200).to_csv(index=False).encode()
    assert len(data) > 2048
    with TestClient(make_app(api_max_upload_bytes=2048)) as client:
        user = bearer(client, UPLOADER)
        csv = {**user, "Content-Type": "text/csv"}

        def post(content: bytes, **params: object):  # type: ignore[no-untyped-def]
            return client.post(URL, params={**OPTIONS, **params}, content=content, headers=csv)

        cases = {
            "missing_column": post(data[:2000], label="outcome"),
            "invalid_predictions": client.post(
                URL,
                params={k: v for k, v in OPTIONS.items() if k != "cutoff"},
                content=data[:2000],
                headers=csv,
            ),
            "empty_upload": post(b""),
            "body_too_large": post(data),
            "invalid_request": post(data[:2000], sensitive=""),
        }
        for code, response in cases.items():
            status = 413 if code == "body_too_large" else 422
            assert (response.status_code, error_code(response)) == (status, code), response.text
            assert "\n" not in response.json()["error"]["message"]
        unsigned = client.post(URL, params=OPTIONS, content=data[:2000])
        assert (unsigned.status_code, error_code(unsigned)) == (401, "not_authenticated")
        # the ordinary body limit still holds elsewhere
        assert client.post("/v1/auth/login", content=b"x" * 70_000).status_code == 413


def _parquet(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    return buffer.getvalue()


def test_a_malformed_upload_or_too_many_replicates_is_one_clear_4xx_line(
    client: TestClient,
) -> None:
    """Review of #17 (hole 9): a body that is not the format its type or name says was a 500;
    n_boot up to 10,000 ran in the API process for any signed-in user."""
    frame = _frame(200)
    csv, parquet = frame.to_csv(index=False).encode(), _parquet(frame)
    user = bearer(client, UPLOADER)
    as_parquet = {**user, "Content-Type": "application/vnd.apache.parquet"}
    as_csv = {**user, "Content-Type": "text/csv"}
    cases = [
        ("truncated", as_parquet, parquet[:-100], {}, "must end with PAR1"),
        ("csv-as-parquet", as_parquet, csv, {}, "it is text, not Parquet"),
        ("name", as_csv, csv, {"filename": "x.parquet"}, "if it is CSV, name it .csv"),
        ("parquet-as-csv", as_csv, parquet, {}, "it is a Parquet file): name it .parquet"),
        ("utf-16", as_csv, csv.decode().encode("utf-16"), {}, "save it as UTF-8"),
        ("bad quote", as_csv, b'y,score,sex,race\n1,0.5,"f\n', {}, "as CSV ("),
    ]
    for name, headers, body, params, message in cases:
        options = {k: v for k, v in OPTIONS.items() if k != "filename"} | params
        response = client.post(URL, params=options, content=body, headers=headers)
        assert (response.status_code, error_code(response)) == (422, "unreadable_file"), name
        text = response.json()["error"]["message"]
        assert message in text, (name, text)
        suffix = ".csv" if headers is as_csv else ".parquet"
        expected = params.get("filename") or f"predictions{suffix}"
        assert text.startswith(f"cannot read {expected} as "), text  # not the server's path
        assert "\n" not in text
    too_many = client.post(URL, params={**OPTIONS, "n_boot": 1001}, content=csv, headers=as_csv)
    assert (too_many.status_code, error_code(too_many)) == (422, "invalid_request")
    assert "1000" in too_many.json()["error"]["message"]


def test_the_evidence_rule_is_refused_with_the_codes_the_cli_and_governance_give(
    client: TestClient,
) -> None:
    """Review (session 15): the upload's own bounds answered invalid_request where the CLI and
    governance answer invalid_confidence_level or invalid_minimum_size, refused a minimum of
    0 that both accept, and let 0.9999999999999 through to the report."""
    csv = _frame(200).to_csv(index=False).encode()
    user = {**bearer(client, UPLOADER), "Content-Type": "text/csv"}

    def post(**params: object):  # type: ignore[no-untyped-def]
        return client.post(URL, params={**OPTIONS, **params}, content=csv, headers=user)

    cases = [
        ({"confidence": 0.5}, "invalid_confidence_level"),
        ({"confidence": 1}, "invalid_confidence_level"),
        ({"confidence": "nan"}, "invalid_confidence_level"),
        ({"confidence": 0.9999999999999}, "invalid_confidence_level"),
        ({"min_group_size": -1}, "invalid_minimum_size"),
        ({"min_denominator": 2**64}, "invalid_minimum_size"),
        ({"on_inconclusive": "warn"}, "invalid_on_inconclusive"),
        (
            {"threshold": "demographic_parity_difference<=0.1,confidence=0.5"},
            "invalid_confidence_level",
        ),
        # Regression (review, session 17): read by int() and float(), these were accepted.
        ({"confidence": "0.9_5"}, "invalid_confidence_level"),
        ({"confidence": "95%"}, "invalid_confidence_level"),
        ({"min_group_size": "3_0"}, "invalid_minimum_size"),
        ({"min_group_size": "30.0"}, "invalid_minimum_size"),
        ({"min_denominator": "\u0663\u0660"}, "invalid_minimum_size"),
        ({"threshold": "demographic_parity_difference<=1_0"}, "invalid_threshold_spec"),
        ({"threshold": "demographic_parity_diference<=0.1"}, "unknown_metric"),
        # Regression (review, session 22): pydantic's float read "0_5" as 5.0.
        ({"cutoff": "0_5"}, "invalid_request"),
        ({"cutoff": "\u0660.\u0665"}, "invalid_request"),
    ]
    for params, code in cases:
        response = post(**params)
        assert (response.status_code, error_code(response)) == (422, code), (params, response.text)
        assert "\n" not in response.json()["error"]["message"]
    accepted = post(min_group_size=0, min_denominator=0, n_boot=0)
    assert accepted.status_code == 200, accepted.text
    # Regression (review, session 17): a repeated key was silently the last one.
    query = [(k, v) for k, v in OPTIONS.items() if not isinstance(v, list)]
    query += [("threshold", t) for t in OPTIONS["threshold"]]  # type: ignore[union-attr]
    query += [("confidence", "0.9"), ("confidence", "0.99")]
    twice = client.post(URL, params=query, content=csv, headers=user)
    assert (twice.status_code, error_code(twice)) == (422, "repeated_parameter"), twice.text
    assert twice.json()["error"]["details"] == {"parameter": "confidence", "times": 2}


def test_a_named_reference_group_is_audited_as_the_cli_audits_it(
    client: TestClient, tmp_path: Path
) -> None:
    csv = tmp_path / "preds.csv"
    _frame().to_csv(csv, index=False)
    options = {**OPTIONS, "threshold": ["statistical_parity_difference>=-0.1"], "n_boot": 0}
    expected = audit_predictions_file(
        csv,
        label="y",
        prediction="score",
        sensitive=["sex", "race"],
        cutoff=0.5,
        thresholds=options["threshold"],  # type: ignore[arg-type]
        evidence=EvidenceRule(min_group_size=20),
        n_boot=0,
        random_state=7,
        reference={"sex": "f", "race": "b"},
    ).report
    user = {**bearer(client, UPLOADER), "Content-Type": "text/csv"}

    def post(reference: str):  # type: ignore[no-untyped-def]
        params = {**options, "reference": reference}
        return client.post(URL, params=params, content=csv.read_bytes(), headers=user)

    named = post("sex=f, race=b")
    assert named.status_code == 200, named.text
    assert (named.json()["report_hash"], named.json()["run_id"]) == (expected.hash, expected.run_id)
    assert dict(expected.data["audit"]["config"])["reference_group"] == {"sex": "f", "race": "b"}
    assert post("majority").json()["run_id"] != expected.run_id
    unknown = post("sex=x,race=b")
    assert (unknown.status_code, error_code(unknown)) == (422, "unknown_reference_group")
    assert "sex=x does not occur: column 'sex' holds f, m" in unknown.json()["error"]["message"]
    malformed = post("sex")
    assert (malformed.status_code, error_code(malformed)) == (422, "invalid_parameter")
    assert "FEATURE=VALUE" in malformed.json()["error"]["message"]
    assert "\n" not in malformed.json()["error"]["message"]


def _serve(app: FastAPI) -> tuple[uvicorn.Server, threading.Thread, int]:
    """The app behind a real uvicorn on a free port, in a thread (its lifespan runs)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    return server, thread, port


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_uploads_beyond_the_concurrency_limit_get_503_and_stale_folders_are_swept(
    make_app: MakeApp, tmp_path: Path
) -> None:
    """Real concurrent requests on a real server, limit 1: while one upload is in flight (its
    body still arriving) another gets 503 audits_busy with Retry-After, and once it is done
    the next is audited. The folder a crashed process left in uploads/ is gone at start-up."""
    crashed = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    left = tmp_path / "uploads" / f"p{crashed.stdout.strip()}-crashed"
    left.mkdir(parents=True)
    (left / "preds.csv").write_bytes(b"y,score\n")
    app = make_app(api_max_concurrent_audits=1)
    user = bearer(TestClient(app), UPLOADER)
    body = _frame().to_csv(index=False).encode()
    query = urlencode(OPTIONS, doseq=True)
    server, thread, port = _serve(app)
    try:
        assert not left.exists()  # swept when the app started
        slow = socket.create_connection(("127.0.0.1", port), timeout=60)
        head = (
            f"POST {URL}?{query} HTTP/1.1\r\nHost: testserver\r\n"
            f"Authorization: {user['Authorization']}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        slow.sendall(head.encode() + body[:1000])  # the rest of the body is still to come
        slots = app.state.ctx.audit_slots
        _wait_for(lambda: slots.in_use == 1)
        base = f"http://127.0.0.1:{port}"
        headers = {**user, "Content-Type": "text/csv", "Host": "testserver"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            busy = client.post(URL, params=OPTIONS, content=body)
            assert (busy.status_code, error_code(busy)) == (503, "audits_busy"), busy.text
            assert busy.headers["Retry-After"] == "5"
            assert busy.json()["error"]["message"] == (
                "the server is already auditing 1 uploads, its limit: retry in 5 s "
                "(operators: FAIRGOV_API_MAX_CONCURRENT_AUDITS)"
            )
            slow.sendall(body[1000:])
            answer = b""
            while chunk := slow.recv(65536):
                answer += chunk
            slow.close()
            assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
            assert slots.in_use == 0
            again = client.post(URL, params=OPTIONS, content=body)
            assert again.status_code == 200, again.text
            assert (
                again.json()["report_hash"]
                == json.loads(answer.split(b"\r\n\r\n", 1)[1])["report_hash"]
            )
        assert list((tmp_path / "uploads").iterdir()) == []
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_start_up_removes_the_uploads_a_crashed_process_with_this_pid_left(
    make_app: MakeApp, tmp_path: Path
) -> None:
    """Review #18: a restarted container runs the API with the same pid, so the folder of the
    crashed incarnation is named after the new process; the start-up sweep removes it."""
    crashed = tmp_path / UPLOADS_FOLDER / f"p{os.getpid()}-crashed"
    crashed.mkdir(parents=True)
    (crashed / "predictions.csv").write_bytes(b"x" * 1024)
    with TestClient(make_app()):  # the lifespan sweeps before serving
        pass
    assert not crashed.exists(), "a restarted API with the same pid keeps the crashed upload"
