"""Review #18: a federated run's privileged group depends on what the coordinator stored.

:func:`audit.federated.governed.voted_reference` reads the group only from manifests stored
in the coordinator's database. When the voted manifest (its ``manifestHash`` is on chain)
names a privileged group but is not stored there, the run silently compares with the
largest group instead: the operator chooses the directional verdicts off chain by storing,
or not storing, a manifest. The run should refuse (or ask the nodes for the voted manifest)
rather than fall back to ``"majority"``.
"""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from audit.federated.governed import voted_reference
from audit.manifest import store_manifest
from core.db import session_scope
from core.errors import FairgovError
from tests.unit.audit.federated.test_governed import _allowing, _federated, _manifest


def test_an_unstored_voted_manifest_naming_a_group_is_not_replaced_by_the_largest_group(
    engine: Engine,
) -> None:
    voted = _manifest("node-c", {"group": "B"})  # on chain by hash; never stored here
    with pytest.raises(FairgovError):
        voted_reference(engine, _allowing(voted), _federated("node-c"))  # now: None (majority)


def test_an_unstored_voted_manifest_naming_another_group_is_not_outvoted_by_stored_ones(
    engine: Engine,
) -> None:
    a = _manifest("node-a", {"group": "A"})
    c = _manifest("node-c", {"group": "B"})  # voted, held by its node, not stored here
    with session_scope(engine) as session:
        store_manifest(session, a)
    with pytest.raises(FairgovError):
        voted_reference(engine, _allowing(a, c), _federated("node-a", "node-c"))  # now: A
