"""Constants and helpers of the ProviderRewards tests: posting, waiting out the window, claiming
directly and by EIP-712 signature. The fixtures (treasury, rewards, wallet, providers, tree) are
in conftest.py."""

from brownie import chain
from dao import TOKEN, sha256_hex, text_id
from eth_account import Account
from signing import Signer, typed_message

CHALLENGE_WINDOW = 2 * 3600  # seconds: longer than a proposal's vote and timelock delay
REWARD_PER_EPOCH = 1_000 * TOKEN
TREASURY = 100_000 * TOKEN
FUNDING = 5_000 * TOKEN
ROWS, LEAVE_ONE_OUT = 0, 1
CLAIM = [
    {"name": "epoch", "type": "uint256"},
    {"name": "account", "type": "address"},
    {"name": "amount", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
ALICE, BOB = Signer.named("rewards alice"), Signer.named("rewards bob")
WALLET_OWNER = Signer.named("rewards wallet owner")
PROVIDER_AMOUNTS = (400, 250, 150, 120, 80)  # whole tokens, in the order of the providers fixture
APPROVED_RUNS = 6  # run(1) .. run(6) have a PASS audit in the registry (the rewards fixture)


def run(n):
    return text_id(f"audit run {n}")


def statement(n):
    return sha256_hex(f"reward statement {n}".encode())


def publish_audit(registry, auditor, n, *, passed=True):
    """The auditor anchors audit run ``n`` in the AuditRegistry: PASS unless ``passed`` is False."""
    model, report = sha256_hex(f"model {n}".encode()), sha256_hex(f"report {n}".encode())
    return registry.publish(run(n), model, text_id("loans"), report, 1, passed, {"from": auditor})


def amount_of(tree, account):
    return dict(tree.entries)[str(account.address)]


def post(rewards, auditor, tree, n=1, *, total=None):
    total = tree.total if total is None else total
    return rewards.postRoot(run(n), tree.root, statement(n), total, {"from": auditor})


def after_window():
    chain.sleep(CHALLENGE_WINDOW)
    chain.mine()


def claim(rewards, tree, account, epoch=1):
    amount = amount_of(tree, account)
    return rewards.claim(epoch, amount, tree.proof(account.address, amount), {"from": account})


def claim_message(rewards, epoch, account, amount, deadline):
    """The EIP-712 Claim a provider's wallet signs."""
    domain = {
        "name": "fairgov ProviderRewards",
        "version": "1",
        "chainId": chain.id,
        "verifyingContract": rewards.address,
    }
    return typed_message(
        domain,
        "Claim",
        CLAIM,
        {"epoch": epoch, "account": str(account), "amount": amount, "deadline": deadline},
    )


def sign_claim(signer, rewards, epoch, account, amount, deadline):
    message = claim_message(rewards, epoch, account, amount, deadline)
    return bytes(Account.sign_message(message, signer.key).signature)


def claim_by_sig(rewards, tree, account, relayer, *, signer, epoch=1, deadline=None, amount=None):
    amount = amount_of(tree, account) if amount is None else amount
    deadline = chain.time() + 3600 if deadline is None else deadline
    signature = sign_claim(signer, rewards, epoch, account.address, amount, deadline)
    proof = tree.proof(account.address, amount_of(tree, account))
    return rewards.claimBySig(
        epoch, account.address, amount, proof, deadline, signature, {"from": relayer}
    )
