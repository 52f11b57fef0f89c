"""``fairgov provider``: commit and offer a dataset, prove and check a record, withdraw it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner
from web3 import Web3

from audit.manifest import DatasetManifest
from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv
from cli.main import app
from governance.actions import AllowDataset
from governance.chain import deploy
from governance.policy.snapshot import read_snapshot
from tests.helpers import PROVIDER_KEY, address_of, advance_time
from tests.integration.audit.audit_support import govern

runner = CliRunner()
pytestmark = pytest.mark.chain
PROVIDER_ACCOUNT = "5"  # tests.helpers.PROVIDER_KEY


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def stack(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    deploy.save(deployment, tmp_path / "deployment.json")
    monkeypatch.setenv("FAIRGOV_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FAIRGOV_RPC_URL", isolated_chain.provider.endpoint_uri)  # type: ignore[attr-defined]
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


def _register_committed(stack: Path) -> tuple[Path, Path, str]:
    """Register 200 generated loans with their records committed: the data file, the salts
    file and the manifest as printed."""
    csv = write_loans_csv(stack / "loans.csv", 200)
    salts = stack / "loans.salts"
    code, output = _run(
        "datasets", "register", str(csv), "--label", LABEL, "--positive", POSITIVE_LABEL,
        "--sensitive", ",".join(SENSITIVE), "--salts", str(salts),
    )  # fmt: skip
    assert code == 0, output
    return csv, salts, output[output.index("{") :].strip()


def _typos_are_refused_before_any_gas(w3: Web3, deployment: deploy.Deployment) -> None:
    """Review (session 23): a typo was a paid, successful withdrawal of nothing, and the
    dataset the provider meant stayed allowed. Now refused before any gas."""
    provider = address_of(PROVIDER_KEY)
    balance = w3.eth.get_balance(provider)
    for typo, message in [
        ("loans ", "is not allowed on chain and no open proposal offers it"),
        ("Loans", "is not allowed on chain and no open proposal offers it"),
        ("0x" + "ab" * 31 + "a", "is not a dataset id (0x and 64 hex digits)"),
    ]:
        code, output = _run("provider", "withdraw", typo, "--dev-account", PROVIDER_ACCOUNT)
        assert code == 2, output
        assert message in output
        assert len(output.strip().splitlines()) == 1
    assert w3.eth.get_balance(provider) == balance
    (entry,) = read_snapshot(w3, deployment.addresses.training_policy).datasets
    assert entry.allowed
    code, output = _run(
        "provider", "withdraw", "never-proposed", "--unlisted", "--dev-account", PROVIDER_ACCOUNT
    )
    assert code == 0, output  # voids offers of it nobody proposed; the provider pays
    assert w3.eth.get_balance(provider) < balance


def test_a_provider_offers_proves_and_withdraws_from_the_command_line(
    isolated_chain: Web3, deployment: deploy.Deployment, stack: Path
) -> None:
    w3 = isolated_chain
    _, salts, manifest_text = _register_committed(stack)
    manifest = DatasetManifest.from_json(manifest_text)
    assert manifest.records_root is not None
    manifest_file = stack / "loans.manifest.json"
    manifest_file.write_text(manifest_text)

    # Wrong salts never reach a signature; the right ones give a checked action.
    other_salts = stack / "other.salts"
    other_salts.write_bytes(salts.read_bytes()[:-32] + bytes(32))
    code, output = _run(
        "provider", "offer", str(manifest_file), "--salts", str(other_salts),
        "--dev-account", PROVIDER_ACCOUNT,
    )  # fmt: skip
    assert code == 2
    assert "records root" in output
    code, output = _run(
        "provider", "offer", str(manifest_file), "--salts", str(salts),
        "--dev-account", PROVIDER_ACCOUNT,
    )  # fmt: skip
    assert code == 0, output
    (action,) = json.loads(output[output.index("[") :])
    allow = AllowDataset.model_validate(action)
    assert allow.offer.provider == address_of(PROVIDER_KEY)
    govern(w3, deployment, [allow], "allow loans")

    code, output = _run(
        "provider", "prove", str(manifest_file), "--salts", str(salts), "--row", "7"
    )
    assert code == 0, output
    proof_file = stack / "proof.json"
    proof_file.write_text(output)
    code, output = _run("provider", "check", str(proof_file))
    assert code == 0, output
    assert "the record is in dataset" in output
    assert "not a zero-knowledge proof" in output
    claim = json.loads(proof_file.read_text())
    claim["record"][LABEL] = "2" if claim["record"][LABEL] != "2" else "3"
    proof_file.write_text(json.dumps(claim))
    code, output = _run("provider", "check", str(proof_file))
    assert code == 2
    assert "not in the dataset" in output

    _typos_are_refused_before_any_gas(w3, deployment)

    code, output = _run("provider", "withdraw", "loans", "--dev-account", "3")
    assert code == 2
    assert "is not the provider of dataset" in output
    advance_time(w3, 2)
    code, output = _run("provider", "withdraw", "loans", "--dev-account", PROVIDER_ACCOUNT)
    assert code == 0, output
    (entry,) = read_snapshot(w3, deployment.addresses.training_policy).datasets
    assert (entry.allowed, entry.withdrawn) == (False, True)


@pytest.mark.parametrize("text", ["[]", '"x"', "null", "1", "[" * 100_000])
def test_a_proof_file_that_is_not_a_json_object_is_one_line(tmp_path: Path, text: str):
    # Regression (review, session 22): a list, string, null or number was a TypeError
    # traceback; a file nested 100,000 deep killed the process (py_ecc's recursion limit).
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(text)
    code, output = _run("provider", "check", str(proof_file))
    assert code == 2, output
    assert output.count("\n") == 1, output
    assert "is not a proof from `fairgov provider prove`" in output


def test_an_offer_no_run_would_accept_is_not_signed(
    isolated_chain: Web3, deployment: deploy.Deployment, stack: Path
) -> None:
    """Review (session 23): ``provider offer`` signed the offer of a manifest edited after
    registration, and of a file changed since (same records, new bytes): the vote would
    allow a content hash no run could match."""
    csv, salts, manifest_text = _register_committed(stack)
    registered = json.loads(manifest_text)
    edited = stack / "edited.manifest.json"
    edited.write_text(json.dumps({**registered, "description": "edited"}))
    code, output = _run(
        "provider", "offer", str(edited), "--salts", str(salts), "--dev-account", PROVIDER_ACCOUNT
    )
    assert code == 2
    assert "[manifest_not_registered]" in output
    assert len(output.strip().splitlines()) == 1

    manifest = stack / "loans.manifest.json"
    manifest.write_text(json.dumps(registered))
    csv.write_bytes(csv.read_bytes().replace(b"\n", b"\r\n"))  # the same records, new bytes
    code, output = _run(
        "provider", "offer", str(manifest), "--salts", str(salts), "--dev-account", PROVIDER_ACCOUNT
    )
    assert code == 2
    assert "differs from the registered content hash" in output
    assert "[dataset_hash_mismatch]" in output
