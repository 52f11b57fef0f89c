import shutil
import subprocess
from pathlib import Path

import pytest

from governance.chain.contracts import CONTRACT_NAMES, artifact

ROOT = Path(__file__).resolve().parents[4]


@pytest.mark.parametrize("name", CONTRACT_NAMES)
def test_every_artifact_loads_with_abi_and_bytecode(name: str):
    a = artifact(name)
    assert a.name == name
    assert a.bytecode.startswith("0x6")
    assert len(a.deployed_bytecode) > 100
    assert a.compiler_version.startswith("0.8.37")
    assert any(entry.get("type") == "function" for entry in a.abi)


def test_the_governor_is_standard_openzeppelin():
    names = {e["name"] for e in artifact("FairnessGovernor").abi if e.get("type") == "function"}
    expected = {"propose", "castVoteBySig", "castVoteWithReasonAndParamsBySig", "queue"}
    assert expected <= names
    assert {"execute", "proposalDeadline", "quorum", "lateQuorumVoteExtension"} <= names


def test_policy_errors_are_in_the_abi():
    errors = {e["name"] for e in artifact("TrainingPolicy").abi if e.get("type") == "error"}
    assert {"TrainingPolicyUnknownDataset", "OwnableUnauthorizedAccount"} <= errors


@pytest.mark.slow
def test_committed_artifacts_equal_a_fresh_compile():
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is required to recompile the contracts: install Node.js 20")
    if not (ROOT / "contracts" / "node_modules" / "solc").exists():
        pytest.fail("contracts/node_modules is missing: run ./dev.sh test")
    result = subprocess.run(
        [node, "contracts/toolchain/build-artifacts.js", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
