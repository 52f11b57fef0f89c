"""Errors of proposals: the actions, the proposer, and the signed propose transaction."""

from __future__ import annotations

from typing import ClassVar

from core.errors import ErrorCategory
from governance.errors._base import GovernanceError
from governance.errors._messages import SignatureError


class EmptyProposal(GovernanceError):
    """A proposal without any action."""

    code: ClassVar[str] = "empty_proposal"
    category: ClassVar[ErrorCategory] = ErrorCategory.INVALID

    def __init__(self) -> None:
        super().__init__("a proposal needs at least one action")


class BelowProposalThreshold(GovernanceError):
    """The proposer has fewer votes than the governor's proposal threshold."""

    code: ClassVar[str] = "below_proposal_threshold"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposer: str, votes: int, threshold: int) -> None:
        super().__init__(
            f"{proposer} has {votes} votes but proposing needs {threshold}: acquire or be "
            "delegated more tokens (delegate to yourself to activate your own)",
            proposer=proposer,
            votes=votes,
            threshold=threshold,
        )


class CallAlreadyHeld(GovernanceError):
    """A signed governor call (a proposal, a cancel) whose twin fairgov holds, not yet mined:
    only one of them can be mined, and the other would revert at its signer's expense."""

    code: ClassVar[str] = "call_already_held"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int, relay_id: int | None) -> None:
        super().__init__(
            f"a transaction making the same call on proposal {proposal_id} is already on its "
            f"way (relay #{relay_id}): follow it at /v1/relay/{relay_id} instead of sending "
            "another",
            proposal_id=str(proposal_id),
            relay_id=relay_id,
        )


class ProposalExists(GovernanceError):
    """A proposal with the same actions and description was already made."""

    code: ClassVar[str] = "proposal_exists"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, proposal_id: int, state: int) -> None:
        super().__init__(
            f"proposal {proposal_id} with these actions and this description already exists "
            f"(state {state}): change the description to propose it again",
            proposal_id=str(proposal_id),
            state=state,
        )


class ProposalWouldRevert(GovernanceError):
    """The governor would reject the propose transaction."""

    code: ClassVar[str] = "proposal_would_revert"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT

    def __init__(self, reason: str, revert_code: str) -> None:
        super().__init__(
            f"the governor would reject this proposal: {reason}",
            reason=reason,
            revert_code=revert_code,
        )


class InvalidRawTransaction(SignatureError):
    """Bytes that are not a signed Ethereum transaction."""

    code: ClassVar[str] = "invalid_raw_transaction"

    def __init__(self, problem: str) -> None:
        super().__init__(f"not a signed transaction: {problem}", problem=problem)


class NotOurGovernor(SignatureError):
    """A signed transaction is sent to another address than our governor."""

    code: ClassVar[str] = "not_our_governor"

    def __init__(self, to: str | None, governor: str) -> None:
        super().__init__(
            f"the transaction goes to {to}, not to the governor {governor}",
            to=to,
            governor=governor,
        )


class NotAProposeCall(SignatureError):
    """A signed transaction to the governor does not call propose."""

    code: ClassVar[str] = "not_a_propose_call"

    def __init__(self, selector: str, problem: str) -> None:
        super().__init__(
            f"the transaction is not a governor propose call ({problem})",
            selector=selector,
            problem=problem,
        )


class RestrictedProposer(SignatureError):
    """The description's ``#proposer=`` suffix names someone other than the proposer."""

    code: ClassVar[str] = "restricted_proposer"

    def __init__(self, proposer: str, named: str) -> None:
        super().__init__(
            f"the description is reserved for {named} by its #proposer= suffix, so {proposer} "
            "cannot propose it: remove the suffix or propose from that account",
            proposer=proposer,
            named=named,
        )


class UnminableTransaction(GovernanceError):
    """A signed transaction the chain would never mine as it is; nothing was stored."""

    code: ClassVar[str] = "unminable_transaction"
    category: ClassVar[ErrorCategory] = ErrorCategory.CONFLICT


class GasLimitTooLow(UnminableTransaction):
    """The signed gas limit is below what a simulation of the call needs."""

    code: ClassVar[str] = "gas_limit_too_low"

    def __init__(self, gas: int, needed: int) -> None:
        super().__init__(
            f"the transaction's gas limit is {gas} and the call needs {needed}: sign the "
            "prepared transaction unchanged (ethers v6 reads gasLimit, viem reads gas)",
            gas=gas,
            needed=needed,
        )


class GasLimitAboveBlock(UnminableTransaction):
    """The signed gas limit is above the block gas limit: no block can include it."""

    code: ClassVar[str] = "gas_limit_above_block"

    def __init__(self, gas: int, block_gas_limit: int) -> None:
        super().__init__(
            f"the transaction's gas limit {gas} is above the block gas limit "
            f"{block_gas_limit}: sign the prepared transaction unchanged",
            gas=gas,
            block_gas_limit=block_gas_limit,
        )


class FeesNotMinable(UnminableTransaction):
    """The signed fees can't be mined now: a priority fee above the fee cap, or a fee cap
    below the next block's base fee."""

    code: ClassVar[str] = "fees_not_minable"

    def __init__(self, max_fee: int, priority_fee: int, base_fee: int) -> None:
        problem = (
            f"its priority fee {priority_fee} is above its fee cap {max_fee}"
            if priority_fee > max_fee
            else f"its fee cap {max_fee} is below the base fee {base_fee}"
        )
        super().__init__(
            f"the transaction would never be mined: {problem} (wei per gas); "
            "sign the prepared transaction's fees unchanged",
            max_fee_per_gas=max_fee,
            max_priority_fee_per_gas=priority_fee,
            base_fee_per_gas=base_fee,
        )


class InsufficientFunds(UnminableTransaction):
    """The sender cannot pay the transaction's maximum cost."""

    code: ClassVar[str] = "insufficient_funds"

    def __init__(self, sender: str, balance: int, needed: int) -> None:
        super().__init__(
            f"{sender} holds {balance} wei and this transaction (with the sender's others "
            f"that fairgov holds) may cost {needed} wei: fund the account or lower maxFeePerGas",
            sender=sender,
            balance=str(balance),
            needed=str(needed),
        )


class TransactionNonceMismatch(UnminableTransaction):
    """The transaction's nonce is used, held by another accepted transaction, or leaves a gap."""

    code: ClassVar[str] = "wrong_transaction_nonce"

    def __init__(self, sender: str, nonce: int, expected: int, problem: str) -> None:
        super().__init__(
            f"{sender}'s transaction has nonce {nonce}, which {problem}; the next one must "
            f"have nonce {expected}: prepare the transaction again and sign that",
            sender=sender,
            nonce=nonce,
            expected=expected,
        )


class ContractWalletMustSend(GovernanceError):
    """A contract wallet's signed call that fairgov relayed passed every simulation and then
    reverted on chain: fairgov relays no more of that signer's calls."""

    code: ClassVar[str] = "contract_wallet_must_send"
    category: ClassVar[ErrorCategory] = ErrorCategory.FORBIDDEN

    def __init__(self, signer: str, tx_hash: str | None) -> None:
        super().__init__(
            f"a call signed by contract wallet {signer} passed every simulation, then reverted "
            f"on chain at the relayer's expense (transaction {tx_hash}): fairgov relays no "
            "more of its signed calls; send the transaction from the wallet itself",
            signer=signer,
            tx_hash=tx_hash,
        )
