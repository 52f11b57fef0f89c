"""Shared by the proposal tests: a holder, the actions it proposes, and signing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eth_account import Account
from web3 import Web3

from core.settings import DEV_PRIVATE_KEYS
from governance.actions import Action, DatasetOffer, SetMitigation, SetThreshold
from governance.chain import deploy
from governance.consent import sign_offer
from governance.messages.proposals import PreparedProposal, prepare_proposal
from tests.helpers import HOLDER_KEYS, PROVIDER_KEY, address_of

KEY = HOLDER_KEYS[0]
PROPOSER = address_of(KEY)
H1, H2, H3 = ("0x" + c * 32 for c in ("aa", "bb", "cc"))
DP = "demographic_parity_difference"
AUDITOR = address_of(DEV_PRIVATE_KEYS[9])  # the deployment's default auditor
NEWCOMER = address_of(DEV_PRIVATE_KEYS[7])  # holds no tokens
#: A provider's offer dated at the epoch and valid for ever, so it is the same in every test.
OFFER = DatasetOffer(
    dataset_id=H1,
    content_hash=H2,
    manifest_hash=H3,
    records_root=H1,
    uri="file://loans.csv",
    provider=address_of(PROVIDER_KEY),
    issued_at=1,
    deadline=2**63,
)


def policy_actions(deployment: deploy.Deployment) -> list[Action]:
    """A dataset offered by its provider, a threshold and a mitigation."""
    return [
        sign_offer(OFFER, PROVIDER_KEY, deployment),
        SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper"),
        SetMitigation(strategy="exponentiated_gradient", constraint="error_rate_parity"),
    ]


def prepare(w3: Web3, deployment: deploy.Deployment, **kwargs: Any) -> PreparedProposal:
    args: dict[str, Any] = {
        "proposer": PROPOSER,
        "actions": policy_actions(deployment),
        "description": "Allow the loans data and bound demographic parity",
    }
    return prepare_proposal(w3, deployment, **(args | kwargs))


def signed(tx: dict[str, Any], key: str = KEY, **changes: Any) -> bytes:
    return bytes(Account.sign_transaction(tx | changes, key).raw_transaction)
