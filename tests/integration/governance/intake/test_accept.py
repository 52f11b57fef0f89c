"""The intake the API and the CLI share: node first, the chain index while the node is down."""

from __future__ import annotations

import pytest
from eth_account import Account
from sqlalchemy import Engine
from web3 import Web3

from governance.chain import deploy
from governance.index.indexer import Indexer
from governance.intake import MESSAGE_KINDS, IntakeService, governor_domain, token_domain
from governance.messages.eip712 import Domain
from governance.messages.kinds import RelayKind
from tests.helpers import HOLDER_KEYS, Governance
from tests.integration.governance.relay_support import open_proposal, relayer_for
from tests.voters import signed_ballot, signed_delegation

pytestmark = pytest.mark.chain

DEAD = "http://127.0.0.1:9"


@pytest.fixture
def gov(isolated_chain: Web3, deployment: deploy.Deployment) -> Governance:
    return Governance(isolated_chain, deployment)


def _voter(index: int) -> str:
    return str(Account.from_key(HOLDER_KEYS[index]).address)


def test_each_message_kind_names_its_contract_domain_and_nonce(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    a, config = deployment.addresses, deployment.config
    assert governor_domain(deployment) == Domain(
        config.governor_name, deployment.chain_id, a.governor
    )
    assert token_domain(deployment) == Domain(config.token_name, deployment.chain_id, a.token)
    assert MESSAGE_KINDS[RelayKind.BALLOT].contract(deployment) == gov.governor.address
    assert MESSAGE_KINDS[RelayKind.DELEGATION].contract(deployment) == gov.token.address
    assert RelayKind.RAW_TRANSACTION not in MESSAGE_KINDS
    # The nonce getters read the right contract: one delegation moves the token nonce only.
    intake = IntakeService.for_node(engine, gov.w3, deployment)
    voter = _voter(2)
    token_before = gov.token.functions.nonces(voter).call()
    governor_before = gov.governor.functions.nonces(voter).call()
    delegation = signed_delegation(
        token_domain(deployment), HOLDER_KEYS[2], voter, nonce=token_before
    )
    intake.accept_delegation(delegation)
    assert intake.next_nonce(RelayKind.DELEGATION, voter) == (token_before + 1, "chain")
    relayer_for(engine, gov.w3, deployment).run_until_idle()
    assert gov.token.functions.nonces(voter).call() == token_before + 1
    assert intake.next_nonce(RelayKind.DELEGATION, voter) == (token_before + 1, "chain")
    assert intake.next_nonce(RelayKind.BALLOT, voter) == (governor_before, "chain")


def test_with_the_node_down_ballots_are_accepted_against_the_index_and_relayed_later(
    gov: Governance, deployment: deploy.Deployment, engine: Engine
):
    """What ``fairgov vote`` gets when its node stops answering: the API's fallback."""
    proposal_id = open_proposal(gov)
    Indexer(engine, gov.w3, deployment).sync()
    voter = _voter(1)
    live = IntakeService.for_node(engine, gov.w3, deployment)
    assert live.next_nonce(RelayKind.BALLOT, voter)[1] == "chain"

    down = IntakeService.for_node(engine, gov.w3, deployment, rpc_url=DEAD)
    down.nonces = live.nonces  # one process: the cache outlives the outage
    nonce, source = down.next_nonce(RelayKind.BALLOT, voter)
    assert (nonce, source) == (gov.governor.functions.nonces(voter).call(), "index")
    assert down.chain_time() > 0  # the last indexed block's time
    ballot = signed_ballot(governor_domain(deployment), HOLDER_KEYS[1], proposal_id, nonce=nonce)
    item, created = down.accept_ballot(ballot)
    assert created
    again, created = down.accept_ballot(ballot)
    assert (again.id, created) == (item.id, False)
    # The next ballot of this voter must come after the one held in the outbox.
    assert down.next_nonce(RelayKind.BALLOT, voter) == (nonce + 1, "index")

    assert relayer_for(engine, gov.w3, deployment).run_until_idle().confirmed == 1
    assert gov.governor.functions.hasVoted(proposal_id, voter).call()
