"""A node's admission carries its voted manifest, and the server bounds its rows by it
(session 26), in process against anvil: the ClientApp answers as a SuperNode runs it, and
the server's check reads the policy on chain. No Flower process is started.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from flwr.app import Context, Message, RecordDict
from typer.testing import CliRunner
from web3 import Web3

from audit.federated.admission import check_manifest, verify_admission, voted_records
from audit.federated.client_app import app
from audit.federated.errors import InvalidNodeReply
from audit.federated.node import NodeConfig
from audit.federated.protocol import SCHEMA, Action, Admission, parse_refusal
from audit.manifest import DatasetManifest, build_manifest
from audit.synthetic import write_loans_csv
from cli.main import app as cli
from governance.chain import deploy, localchain
from governance.policy.models import allowed_dataset
from governance.policy.snapshot import read_snapshot
from tests.helpers import PROVIDER_KEY, allow_raw
from tests.integration.audit.audit_support import govern
from tests.integration.audit.federated.federated_support import LOANS

# Flower's app identity, set as an app process has it (conftest.py).
pytestmark = [pytest.mark.chain, pytest.mark.usefixtures("task_identity")]

ROWS = 400
NONCE = "0x" + "11" * 32


@dataclass(frozen=True)
class Provider:
    """A dataset committed with salts and allowed under its manifest, and its node."""

    w3: Web3
    policy: str
    config: NodeConfig
    manifest: DatasetManifest

    def admit(self, manifest: Path | None) -> Message:
        values: dict[str, bool | float | int | str] = dict(
            zip(NodeConfig.KEYS, self.config.to_node_config_values(), strict=True)
        )
        if manifest is not None:
            values["manifest-file"] = str(manifest)
        query = LOANS.to_config()
        query["nonce"] = NONCE
        message = Message(RecordDict({SCHEMA: query}), dst_node_id=7, message_type=Action.ADMISSION)
        context = Context(
            run_id=1, node_id=7, node_config=values, state=RecordDict(), run_config={}
        )
        return app(message, context)


@pytest.fixture
def provider(
    isolated_chain: Web3,
    deployment: deploy.Deployment,
    local_chain: localchain.LocalChain,
    tmp_path: Path,
) -> Provider:
    data = write_loans_csv(tmp_path / "clinic.csv", ROWS, seed=3)
    manifest = build_manifest(
        data,
        name="clinic",
        label=LOANS.label,
        positive_label=LOANS.positive_label,
        sensitive_features=list(LOANS.sensitive),
        salts_path=tmp_path / "clinic.salts",
    )
    (tmp_path / "clinic.manifest.json").write_bytes(manifest.canonical_json())
    offer = allow_raw(
        isolated_chain, deployment, "clinic", manifest.sha256, manifest.hash, manifest.uri
    )
    govern(isolated_chain, deployment, [offer], "allow the clinic's dataset")
    key = tmp_path / "provider.key"
    key.write_text(PROVIDER_KEY)
    policy = deployment.addresses.training_policy
    config = NodeConfig(data, manifest.dataset_id, key, local_chain.rpc_url, policy)
    return Provider(isolated_chain, policy, config, manifest)


def test_the_voted_manifest_bounds_the_rows_the_server_admits(
    provider: Provider, tmp_path: Path
) -> None:
    reply = provider.admit(tmp_path / "clinic.manifest.json")
    assert not reply.has_error()
    admission = Admission.from_record(reply.content)
    assert admission.manifest == provider.manifest.canonical_json().decode()
    snapshot = read_snapshot(provider.w3, provider.policy)
    verify_admission(admission, snapshot, NONCE, LOANS)
    assert voted_records(admission) == admission.train_rows + admission.heldout_rows == ROWS
    # The same node modified to double its rows: refused against the voted count (its
    # doubled column summary is left out here; the unit tests double it too).
    doubled = replace(admission, train_rows=600, heldout_rows=200, signature="")
    entry = allowed_dataset(snapshot, admission.dataset_id)
    assert entry is not None
    with pytest.raises(InvalidNodeReply, match="voted manifest records 400 rows"):
        check_manifest(doubled.sign(PROVIDER_KEY), entry)


def test_a_node_given_another_manifest_refuses_in_one_line(
    provider: Provider, tmp_path: Path
) -> None:
    other = tmp_path / "other.json"
    other.write_bytes(provider.manifest.model_copy(update={"version": "2"}).canonical_json())
    refusal = parse_refusal(provider.admit(other))
    assert refusal.code == "invalid_node_config"
    assert f"was allowed with manifest {provider.manifest.hash}" in refusal.message
    assert refusal.dataset_id == provider.manifest.dataset_id


def test_serve_refuses_another_manifest_before_it_starts(
    provider: Provider, tmp_path: Path
) -> None:
    other = tmp_path / "other.json"
    other.write_bytes(provider.manifest.model_copy(update={"version": "2"}).canonical_json())
    args = [
        "provider", "serve", "--data", str(provider.config.data), "--dataset-id", "clinic",
        "--manifest", str(other), "--superlink", "127.0.0.1:1",
        "--rpc-url", provider.config.rpc_url, "--policy", provider.policy,
        "--key-file", str(provider.config.key_file),
    ]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert f"was allowed with manifest {provider.manifest.hash}" in result.output
    assert "Traceback" not in result.output
