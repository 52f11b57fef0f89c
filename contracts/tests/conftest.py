"""Fixtures for the fairgov contract tests: one fully wired DAO per test module.

Each test starts from the same chain state (brownie's fn_isolation), so a test may spend,
delegate and vote freely.
"""

import time

import pytest
from brownie import (
    AuditRegistry,
    FairnessGovernor,
    GovernanceToken,
    PolicyChangeClassifier,
    ProviderRewards,
    ProviderWallet,
    TimelockController,
    TrainingPolicy,
    accounts,
    web3,
)
from brownie.network.transaction import TransactionReceipt
from consent import Provider
from dao import (
    LOOSENING_VOTING_PERIOD,
    QUORUM_PERCENT,
    SUPERMAJORITY,
    SUPPLY,
    TIMELOCK_DELAY,
    TOKEN,
    VOTE_EXTENSION,
    VOTING_DELAY,
    VOTING_PERIOD,
    Change,
    Lifecycle,
    State,
    action,
)
from reward_tree import RewardTree
from rewards_support import (
    ALICE,
    APPROVED_RUNS,
    BOB,
    CHALLENGE_WINDOW,
    FUNDING,
    PROVIDER_AMOUNTS,
    REWARD_PER_EPOCH,
    ROWS,
    TREASURY,
    WALLET_OWNER,
    publish_audit,
)
from signing import Signer
from web3.exceptions import TransactionNotFound


@pytest.fixture(autouse=True)
def isolation(fn_isolation):
    """Every test starts from the same chain state."""


@pytest.fixture(scope="session", autouse=True)
def receipts_before_nonces():
    """Keeps brownie from calling a mined transaction "dropped".

    anvil mines in the background and makes the sender's new nonce visible a moment before
    the receipt. brownie 1.22 reads the nonce first, and when it has moved but no receipt
    is there yet it gives up ("Tx dropped without known replacement"): about one
    transaction in a few hundred here. Waiting for the receipt first closes that window.
    """
    original = TransactionReceipt._await_confirmation

    def await_confirmation(self, *args, **kwargs):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if web3.eth.get_transaction_receipt(self.txid)["blockHash"] is not None:
                    break
            except TransactionNotFound:
                pass
            time.sleep(0.005)
        return original(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionReceipt, "_await_confirmation", await_confirmation)
        yield


@pytest.fixture(scope="module")
def deployer():
    return accounts[0]


@pytest.fixture(scope="module")
def holders():
    """Three holders with 40%, 35% and 25% of the supply, each self-delegated."""
    return [accounts[1], accounts[2], accounts[3]]


@pytest.fixture(scope="module")
def policy_owner():
    """A plain account that owns the standalone TrainingPolicy of the unit tests."""
    return accounts[4]


@pytest.fixture(scope="module")
def auditor():
    return accounts[5]


@pytest.fixture(scope="module")
def newcomers():
    """Accounts with no tokens and no role, for tests that hand out votes or roles."""
    return [accounts[6], accounts[7], accounts[8]]


@pytest.fixture(scope="module")
def guardian():
    """The fairness guardian: may cancel loosening proposals, and nothing else."""
    return accounts[10]


@pytest.fixture(scope="module")
def outsider():
    """An account with no tokens and no role: a relayer, a keeper or an attacker."""
    return accounts[9]


@pytest.fixture(scope="module")
def token(deployer, holders):
    amounts = [SUPPLY * 40 // 100, SUPPLY * 35 // 100, SUPPLY * 25 // 100]
    token = GovernanceToken.deploy(
        "Fairgov", "FAIR", [h.address for h in holders], amounts, {"from": deployer}
    )
    for holder in holders:
        token.delegate(holder, {"from": holder})
    return token


@pytest.fixture(scope="module")
def timelock(deployer):
    return TimelockController.deploy(TIMELOCK_DELAY, [], [], deployer, {"from": deployer})


@pytest.fixture(scope="module")
def classifier(deployer, policy, registry, timelock, token, rewards_contract):
    return PolicyChangeClassifier.deploy(
        policy, registry, timelock, token, rewards_contract, {"from": deployer}
    )


@pytest.fixture(scope="module")
def governor(deployer, token, timelock, classifier, guardian):
    """The governor is the timelock's only proposer, canceller and executor; nobody is admin."""
    protection = (classifier, guardian, *SUPERMAJORITY, LOOSENING_VOTING_PERIOD)
    governor = FairnessGovernor.deploy(
        "FairnessGovernor",
        token,
        timelock,
        VOTING_DELAY,
        VOTING_PERIOD,
        0,
        QUORUM_PERCENT,
        VOTE_EXTENSION,
        protection,
        {"from": deployer},
    )
    for role in (timelock.PROPOSER_ROLE(), timelock.CANCELLER_ROLE(), timelock.EXECUTOR_ROLE()):
        timelock.grantRole(role, governor, {"from": deployer})
    timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), deployer, {"from": deployer})
    return governor


@pytest.fixture(scope="module")
def policy(deployer, timelock):
    return TrainingPolicy.deploy(timelock, {"from": deployer})


@pytest.fixture(scope="module")
def registry(deployer, timelock, auditor):
    return AuditRegistry.deploy(timelock, [auditor], {"from": deployer})


@pytest.fixture(scope="module")
def standalone_policy(deployer, policy_owner):
    """A TrainingPolicy owned by a plain account, for unit tests of its rules and errors."""
    return TrainingPolicy.deploy(policy_owner, {"from": deployer})


@pytest.fixture(scope="module")
def lifecycle(governor, holders):
    return Lifecycle(governor, holders)


@pytest.fixture(scope="module")
def give_votes(token, holders):
    """Moves `amount` from the first holder to `account`, which delegates to itself."""

    def give(account, amount):
        token.transfer(account, amount, {"from": holders[0]})
        token.delegate(account, {"from": account})

    return give


@pytest.fixture(scope="module")
def impersonate():
    """Sends transactions from any address, contracts included (anvil_impersonateAccount)."""

    def at(address):
        return accounts.at(str(address), force=True)

    return at


@pytest.fixture(scope="module")
def treasury(token, holders, timelock):
    """The timelock holds tokens, as a deployment's treasury_tokens give it."""
    token.transfer(timelock, TREASURY, {"from": holders[0]})
    return timelock


@pytest.fixture(scope="module")
def rewards_contract(deployer, token, timelock, guardian, auditor, registry):
    """The ProviderRewards the DAO administers (the timelock), not funded yet; the classifier
    guards it, so it is deployed first (a deployment predicts its address instead)."""
    return ProviderRewards.deploy(
        timelock,
        token,
        registry,
        guardian,
        [auditor],
        CHALLENGE_WINDOW,
        ROWS,
        REWARD_PER_EPOCH,
        {"from": deployer},
    )


@pytest.fixture(scope="module")
def rewards(rewards_contract, token, treasury, registry, auditor, lifecycle):
    """The rewards funded from the treasury by a real proposal; the registry holds a PASS audit
    for run(1) .. run(APPROVED_RUNS), so those runs may be posted."""
    rewards = rewards_contract
    lifecycle.pass_and_execute([action(token.transfer, rewards, FUNDING)], "Fund the rewards")
    for n in range(1, APPROVED_RUNS + 1):
        publish_audit(registry, auditor, n)
    return rewards


@pytest.fixture(scope="module")
def wallet(deployer):
    """A provider that is a contract wallet (EIP-1271), owned by an off-chain key."""
    return ProviderWallet.deploy(WALLET_OWNER.address, {"from": deployer})


@pytest.fixture(scope="module")
def providers(newcomers, wallet):
    """Two providers that send their own claims, two that only sign, and a contract wallet."""
    return [newcomers[0], newcomers[1], ALICE, BOB, wallet]


@pytest.fixture(scope="module")
def tree(providers):
    """The rewards tree of the providers and their amounts."""
    pairs = zip(providers, PROVIDER_AMOUNTS, strict=True)
    return RewardTree([(p.address, amount * TOKEN) for p, amount in pairs])


@pytest.fixture(scope="module")
def eoa_provider(impersonate):
    """A data provider whose key is its address."""
    signer = Signer.named("provider")
    return Provider(signer, impersonate(signer.address))


@pytest.fixture(scope="module")
def wallet_provider(deployer, impersonate):
    """A data provider that is an EIP-1271 contract wallet owned by a key."""
    signer = Signer.named("wallet owner")
    wallet = ProviderWallet.deploy(signer.address, {"from": deployer})
    return Provider(signer, impersonate(signer.address), wallet)


@pytest.fixture(params=["eoa", "contract wallet"])
def provider(request, eoa_provider, wallet_provider):
    """Each consent rule holds for an EOA provider and for an EIP-1271 wallet alike."""
    return {"eoa": eoa_provider, "contract wallet": wallet_provider}[request.param]


@pytest.fixture
def allow_as(standalone_policy, policy_owner):
    """allowDataset(offer, signature) by the standalone policy's owner; the signature defaults
    to the provider's own."""

    def allow(provider, offer, signature=None):
        signature = provider.sign(standalone_policy, offer) if signature is None else signature
        return standalone_policy.allowDataset(offer.args(), signature, {"from": policy_owner})

    return allow


@pytest.fixture(scope="module")
def as_timelock(timelock):
    return {"from": accounts.at(str(timelock), force=True)}


@pytest.fixture(scope="module")
def judge(lifecycle, governor, classifier, holders):
    """Asserts how `actions` are classified, then votes them 65/35 and asserts the outcome."""

    def check(actions, changes, description="loosening case"):
        targets = [target for target, _ in actions]
        calldatas = [calldata for _, calldata in actions]
        loosening = any(change != Change.NONE for change in changes)

        calls = [classifier.classifyCall(governor, t, d) for t, d in actions]
        assert calls == list(changes)
        views = [governor.classify(targets, calldatas)]
        views.append(classifier.classify(governor, targets, calldatas))
        for view in views:
            assert (view[0], list(view[1])) == (loosening, list(changes))

        proposal, tx = lifecycle.submit(actions, description)
        event = tx.events["ProposalClassified"]
        assert event["proposalId"] == proposal.id
        assert (event["loosening"], list(event["changes"])) == (loosening, list(changes))
        assert tuple(governor.proposalClassification(proposal.id)) == (
            loosening,
            2,
            3,
            LOOSENING_VOTING_PERIOD,
        )

        lifecycle.start_voting(proposal)
        lifecycle.vote_split(proposal, for_=[holders[0], holders[2]], against=[holders[1]])
        lifecycle.end_voting(proposal)
        assert governor.state(proposal.id) == (State.DEFEATED if loosening else State.SUCCEEDED)
        return proposal

    return check
