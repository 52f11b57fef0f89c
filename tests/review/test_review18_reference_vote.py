"""Review #18: the voted privileged group can be swapped without the loosening protection.

The directional metrics (``disparate_impact``, ``statistical_parity_difference``, ...) compare
every group with the manifest's ``reference_group``. Naming the disadvantaged group as the
reference turns a four-fifths FAIL into a PASS (the run's own integration test shows it), so
changing the group is a loosening change. Yet re-allowing a registered dataset with a newer
offer whose manifest names another group is classified ``Change.NONE``: it passes with a
simple majority and the normal voting period, while lowering the threshold itself needs the
supermajority.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from web3 import Web3

from audit.manifest import build_manifest
from governance import actions
from governance.chain import deploy
from governance.protection import Change, classify
from tests.helpers import Governance, pass_and_execute_encoded, signed_offer

pytestmark = pytest.mark.chain


def _data(tmp_path: Path) -> Path:
    path = tmp_path / "loans.csv"
    rows = ["income,sex,approved"]
    rows += [f"{i},{'M' if i % 2 else 'F'},{int(i % 3 == 0)}" for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    return path


def test_swapping_the_voted_privileged_group_is_loosening(
    isolated_chain: Web3, deployment: deploy.Deployment, tmp_path: Path
) -> None:
    gov = Governance(isolated_chain, deployment)
    gov.delegate_all_to_self()
    path = _data(tmp_path)
    men = build_manifest(
        path,
        name="loans-ref",
        label="approved",
        positive_label="1",
        sensitive_features=["sex"],
        salts_path=tmp_path / "salts.json",
        reference_group={"sex": "M"},
    )
    women = men.model_copy(update={"reference_group": {"sex": "F"}})
    assert women.sha256 == men.sha256
    assert women.hash != men.hash

    floor = actions.SetThreshold(metric="disparate_impact", value=Decimal("0.8"), direction="lower")
    first = signed_offer(isolated_chain, deployment, men)
    pass_and_execute_encoded(
        gov, *actions.encode([first, floor], deployment.addresses), "Allow, men privileged"
    )

    swap = signed_offer(isolated_chain, deployment, women)
    targets, _, calldatas = actions.encode([swap], deployment.addresses)
    result = classify(isolated_chain, deployment.addresses, targets, calldatas)
    # The privileged group changed: the verdict of every directional threshold can flip.
    assert result.loosening, f"re-allowing with another privileged group: {result.changes}"
    assert result.changes != (Change.NONE,)
