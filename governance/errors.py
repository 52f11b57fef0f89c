"""Errors of the governance package. Each carries its data and a stable ``code``."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from core.errors import FairgovError


class GovernanceError(FairgovError):
    """Root of the governance errors."""

    code: ClassVar[str] = "governance_error"


class ChainUnreachable(GovernanceError):
    """The JSON-RPC node does not answer."""

    code: ClassVar[str] = "chain_unreachable"

    def __init__(self, rpc_url: str, reason: str) -> None:
        super().__init__(
            f"the chain node at {rpc_url} does not answer ({reason}): start it, or set "
            "FAIRGOV_RPC_URL to a node that runs",
            rpc_url=rpc_url,
            reason=reason,
        )


class AnvilNotFound(GovernanceError):
    """No anvil binary to run the local chain."""

    code: ClassVar[str] = "anvil_not_found"

    def __init__(self) -> None:
        super().__init__(
            "anvil was not found: run ./dev.sh run (it installs anvil from npm), or set "
            "FAIRGOV_ANVIL_PATH to the anvil binary"
        )


class AnvilStartFailed(GovernanceError):
    """anvil exited or did not answer in time."""

    code: ClassVar[str] = "anvil_start_failed"

    def __init__(self, reason: str, log_file: Path) -> None:
        super().__init__(
            f"the local chain did not start: {reason} (see {log_file})",
            reason=reason,
            log_file=str(log_file),
        )


class PortInUse(GovernanceError):
    """The local chain's port is taken."""

    code: ClassVar[str] = "port_in_use"

    def __init__(self, port: int) -> None:
        super().__init__(
            f"port {port} is already in use: stop what runs there, or set FAIRGOV_ANVIL_PORT "
            "to another port (0 picks a free one)",
            port=port,
        )


class DeploymentStale(GovernanceError):
    """The deployment file names contracts that are not on this chain."""

    code: ClassVar[str] = "deployment_stale"

    def __init__(self, path: Path, contract: str, address: str, problem: str) -> None:
        super().__init__(
            f"{path} points at {contract} {address}, but {problem}: delete {path} to deploy "
            "anew, or point FAIRGOV_RPC_URL at the chain it was deployed on",
            path=str(path),
            contract=contract,
            address=address,
            problem=problem,
        )


class DeploymentConfigInvalid(GovernanceError):
    """The deployment config file cannot be used."""

    code: ClassVar[str] = "deployment_config_invalid"

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"the deployment config {path} is invalid: {problem}", path=str(path), problem=problem
        )


class TransactionFailed(GovernanceError):
    """A transaction the service sent reverted."""

    code: ClassVar[str] = "transaction_failed"

    def __init__(self, what: str, tx_hash: str) -> None:
        super().__init__(f"{what} reverted in transaction {tx_hash}", what=what, tx_hash=tx_hash)


# ---------------------------------------------------------------- signed ballots and delegations


class SignatureError(GovernanceError):
    """Root of the errors found when checking a wallet's signature."""

    code: ClassVar[str] = "signature_error"


class InvalidSignature(SignatureError):
    """The signature cannot be recovered."""

    code: ClassVar[str] = "invalid_signature"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the signature is invalid ({reason}): sign the typed data again", reason=reason
        )


class SignatureMalleable(SignatureError):
    """A high-s signature: the malleable twin of a valid one."""

    code: ClassVar[str] = "signature_malleable"

    def __init__(self) -> None:
        super().__init__("the signature has a high s value: send the canonical (low-s) signature")


class SignerMismatch(SignatureError):
    """The recovered signer is not the claimed voter or delegator."""

    code: ClassVar[str] = "signer_mismatch"

    def __init__(self, *, claimed: str, recovered: str) -> None:
        super().__init__(
            f"the signature was made by {recovered}, not by {claimed}: sign with {claimed}'s "
            "wallet, over the typed data fairgov gave you",
            claimed=claimed,
            recovered=recovered,
        )


class WrongNonce(SignatureError):
    """The signed nonce is not the one the contract will check."""

    code: ClassVar[str] = "wrong_nonce"

    def __init__(self, *, account: str, expected: int, actual: int) -> None:
        super().__init__(
            f"nonce {actual} is not {account}'s next nonce ({expected}): fetch the typed data "
            "again and sign it",
            account=account,
            expected=expected,
            actual=actual,
        )


class WrongChain(SignatureError):
    """The typed data's chain id is not this chain's."""

    code: ClassVar[str] = "wrong_chain"

    def __init__(self, *, expected: int, actual: int) -> None:
        super().__init__(
            f"the message was signed for chain {actual}, but fairgov runs on chain {expected}: "
            "switch the wallet's network and sign again",
            expected=expected,
            actual=actual,
        )


class WrongVerifyingContract(SignatureError):
    """The typed data's verifying contract is not ours."""

    code: ClassVar[str] = "wrong_verifying_contract"

    def __init__(self, *, expected: str, actual: str) -> None:
        super().__init__(
            f"the message names contract {actual}, not {expected}: sign the typed data fairgov "
            "gives you",
            expected=expected,
            actual=actual,
        )


class InvalidSupport(GovernanceError):
    """Support is not 0 (against), 1 (for) or 2 (abstain)."""

    code: ClassVar[str] = "invalid_support"

    def __init__(self, support: int) -> None:
        super().__init__(
            f"support {support} is not a vote: use 0 (against), 1 (for) or 2 (abstain)",
            support=support,
        )


class UnknownProposal(GovernanceError):
    """No proposal has this id."""

    code: ClassVar[str] = "unknown_proposal"

    def __init__(self, proposal_id: int) -> None:
        super().__init__(
            f"there is no proposal {proposal_id}: check the id", proposal_id=str(proposal_id)
        )


class ProposalNotActive(GovernanceError):
    """The proposal does not take votes now."""

    code: ClassVar[str] = "proposal_not_active"

    def __init__(self, proposal_id: int, state: str) -> None:
        super().__init__(
            f"proposal {proposal_id} is {state}, not Active: votes are taken only while it is "
            "Active",
            proposal_id=str(proposal_id),
            state=state,
        )


class AlreadyVoted(GovernanceError):
    """The voter has already voted on the proposal."""

    code: ClassVar[str] = "already_voted"

    def __init__(self, proposal_id: int, voter: str) -> None:
        super().__init__(
            f"{voter} has already voted on proposal {proposal_id}: a vote cannot be changed",
            proposal_id=str(proposal_id),
            voter=voter,
        )


class BallotConflict(AlreadyVoted):
    """The voter already has another ballot on the proposal, accepted or on chain."""

    code: ClassVar[str] = "ballot_conflict"

    def __init__(
        self,
        proposal_id: int,
        voter: str,
        *,
        support: int,
        reason: str | None,
        relay_id: int | None,
    ) -> None:
        record = "" if relay_id is None else f" (relay record {relay_id})"
        GovernanceError.__init__(
            self,
            f"{voter} already voted on proposal {proposal_id} with support {support}"
            f"{record}: a vote cannot be changed",
            proposal_id=str(proposal_id),
            voter=voter,
            support=support,
            reason=reason,
            relay_id=relay_id,
        )


class DelegationConflict(GovernanceError):
    """Another delegation with the same delegator and nonce was accepted already."""

    code: ClassVar[str] = "delegation_conflict"

    def __init__(self, delegator: str, nonce: int, *, delegatee: str, relay_id: int | None) -> None:
        super().__init__(
            f"{delegator} already has a delegation with nonce {nonce}, to {delegatee}: only "
            "one can be relayed; sign the next one with the next nonce",
            delegator=delegator,
            nonce=nonce,
            delegatee=delegatee,
            relay_id=relay_id,
        )


class NoVotingPower(GovernanceError):
    """The voter had no votes at the proposal's snapshot."""

    code: ClassVar[str] = "no_voting_power"

    def __init__(self, voter: str, snapshot: int) -> None:
        super().__init__(
            f"{voter} had no voting power at block {snapshot}, the proposal's snapshot: "
            "tokens count only when delegated before the snapshot",
            voter=voter,
            snapshot=snapshot,
        )


class DelegationExpired(GovernanceError):
    """The delegation's expiry has passed."""

    code: ClassVar[str] = "delegation_expired"

    def __init__(self, expiry: int) -> None:
        super().__init__(
            f"the delegation expired at {expiry} (unix time): sign a new one with a later expiry",
            expiry=expiry,
        )


class UnknownMetric(GovernanceError):
    """A threshold names a metric that the bias_checks catalogue does not know."""

    code: ClassVar[str] = "unknown_metric"

    def __init__(self, metric: str) -> None:
        super().__init__(
            f"unknown fairness metric {metric!r}: use a name from the bias_checks metric "
            "catalogue, for example 'demographic_parity_difference'",
            metric=metric,
        )


class InvalidMetricName(GovernanceError):
    """A metric name cannot be stored on chain as bytes32."""

    code: ClassVar[str] = "invalid_metric_name"

    def __init__(self, metric: str, problem: str) -> None:
        super().__init__(
            f"the metric name {metric!r} cannot be stored on chain: {problem}",
            metric=metric,
            problem=problem,
        )


class InvalidThresholdValue(GovernanceError):
    """A threshold value is not a non-negative number with at most six decimals."""

    code: ClassVar[str] = "invalid_threshold_value"

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(
            f"the threshold value {value} is invalid: {problem}", value=value, problem=problem
        )


class InvalidConfidenceLevel(GovernanceError):
    """An evidence rule's confidence level is not strictly between 0.5 and 1 (six decimals)."""

    code: ClassVar[str] = "invalid_confidence_level"  # the engine's code for the same mistake

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(
            f"the confidence level {value} is invalid: {problem}; use a number strictly "
            "between 0.5 and 1 with at most six decimals, for example 0.95",
            value=value,
            problem=problem,
        )


class InvalidMinimumSize(GovernanceError):
    """An evidence rule's minimum group size or denominator is negative or too large."""

    code: ClassVar[str] = "invalid_minimum_size"

    def __init__(self, parameter: str, value: object) -> None:
        super().__init__(
            f"{parameter} {value!r} is invalid: use a whole number from 0 to {2**64 - 1}",
            parameter=parameter,
            value=value,
        )


class MetricHasNoInterval(GovernanceError):
    """An evidence rule names a metric that is exact, so it has no confidence interval."""

    code: ClassVar[str] = "metric_has_no_interval"

    def __init__(self, metric: str) -> None:
        super().__init__(
            f"the metric {metric!r} has no confidence interval, so no evidence rule applies "
            "to it: bound it with a plain threshold, or name a metric that is an estimate",
            metric=metric,
        )


class PolicyLacksEvidenceRule(GovernanceError):
    """The deployed TrainingPolicy predates evidence rules (an older contract)."""

    code: ClassVar[str] = "policy_lacks_evidence_rule"

    def __init__(self, policy: str, path: Path | None = None) -> None:
        where = "the data directory's deployment.json" if path is None else str(path)
        super().__init__(
            f"the TrainingPolicy {policy} predates evidence rules, so no audit may run under "
            f"it: move {where} aside and run `fairgov run` to deploy the current contracts, "
            "then propose the datasets and thresholds again",
            policy=policy,
        )


class InvalidMitigation(GovernanceError):
    """A mitigation strategy was combined with a constraint it does not support."""

    code: ClassVar[str] = "invalid_mitigation"

    def __init__(self, strategy: str, constraint: str, allowed: list[str]) -> None:
        choices = ", ".join(repr(c) for c in allowed)
        super().__init__(
            f"mitigation {strategy!r} does not take the constraint {constraint!r}: "
            f"use one of {choices}",
            strategy=strategy,
            constraint=constraint,
            allowed=allowed,
        )


class EmptyProposal(GovernanceError):
    """A proposal without any action."""

    code: ClassVar[str] = "empty_proposal"

    def __init__(self) -> None:
        super().__init__("a proposal needs at least one action")


class BelowProposalThreshold(GovernanceError):
    """The proposer has fewer votes than the governor's proposal threshold."""

    code: ClassVar[str] = "below_proposal_threshold"

    def __init__(self, proposer: str, votes: int, threshold: int) -> None:
        super().__init__(
            f"{proposer} has {votes} votes but proposing needs {threshold}: acquire or be "
            "delegated more tokens (delegate to yourself to activate your own)",
            proposer=proposer,
            votes=votes,
            threshold=threshold,
        )


class ProposalExists(GovernanceError):
    """A proposal with the same actions and description was already made."""

    code: ClassVar[str] = "proposal_exists"

    def __init__(self, proposal_id: int, state: int) -> None:
        super().__init__(
            f"proposal {proposal_id} with these actions and this description already exists "
            f"(state {state}): change the description to propose it again",
            proposal_id=str(proposal_id),
            state=state,
        )


class UnminableTransaction(GovernanceError):
    """A signed transaction the chain would never mine as it is; nothing was stored."""

    code: ClassVar[str] = "unminable_transaction"


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
            f"have nonce {expected}: prepare the proposal again and sign that",
            sender=sender,
            nonce=nonce,
            expected=expected,
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


class ProposalWouldRevert(GovernanceError):
    """The governor would reject the propose transaction."""

    code: ClassVar[str] = "proposal_would_revert"

    def __init__(self, reason: str, revert_code: str) -> None:
        super().__init__(
            f"the governor would reject this proposal: {reason}",
            reason=reason,
            revert_code=revert_code,
        )


class InvalidRawTransaction(GovernanceError):
    """Bytes that are not a signed Ethereum transaction."""

    code: ClassVar[str] = "invalid_raw_transaction"

    def __init__(self, problem: str) -> None:
        super().__init__(f"not a signed transaction: {problem}", problem=problem)


class NotOurGovernor(GovernanceError):
    """A signed transaction is sent to another address than our governor."""

    code: ClassVar[str] = "not_our_governor"

    def __init__(self, to: str | None, governor: str) -> None:
        super().__init__(
            f"the transaction goes to {to}, not to the governor {governor}",
            to=to,
            governor=governor,
        )


class NotAProposeCall(GovernanceError):
    """A signed transaction to the governor does not call propose."""

    code: ClassVar[str] = "not_a_propose_call"

    def __init__(self, selector: str, problem: str) -> None:
        super().__init__(
            f"the transaction is not a governor propose call ({problem})",
            selector=selector,
            problem=problem,
        )


class RestrictedProposer(GovernanceError):
    """The description's ``#proposer=`` suffix names someone other than the proposer."""

    code: ClassVar[str] = "restricted_proposer"

    def __init__(self, proposer: str, named: str) -> None:
        super().__init__(
            f"the description is reserved for {named} by its #proposer= suffix, so {proposer} "
            "cannot propose it: remove the suffix or propose from that account",
            proposer=proposer,
            named=named,
        )


class SnapshotUnavailable(GovernanceError):
    """The policy cannot be read at the requested block."""

    code: ClassVar[str] = "snapshot_unavailable"

    def __init__(self, policy: str, block: str, problem: str) -> None:
        super().__init__(
            f"cannot read the TrainingPolicy {policy} at block {block}: {problem}",
            policy=policy,
            block=block,
            problem=problem,
        )


# ---------------------------------------------------------------- chain index


class IndexRpcFailed(GovernanceError):
    """The node refused a call the indexer needs."""

    code: ClassVar[str] = "index_rpc_failed"

    def __init__(self, method: str, problem: str) -> None:
        super().__init__(
            f"the chain node refused {method} ({problem}): check that FAIRGOV_RPC_URL points at "
            "a node that serves logs and block headers, or lower the indexer's chunk size",
            method=method,
            problem=problem,
        )


class IndexDeploymentMismatch(GovernanceError):
    """The database index, or the chain, belongs to another deployment."""

    code: ClassVar[str] = "index_deployment_mismatch"

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(
            f"the chain index was built for {actual}, not for {expected}: point "
            "FAIRGOV_DATABASE_URL at this deployment's database, or resync the index",
            expected=expected,
            actual=actual,
        )


class ChainDirBusy(GovernanceError):
    """Another ``fairgov run`` runs the local chain of this data directory, and its node
    cannot be used."""

    code: ClassVar[str] = "chain_dir_busy"

    def __init__(self, chain_dir: Path, reason: str) -> None:
        super().__init__(
            f"another fairgov run holds the local chain in {chain_dir} ({reason}): stop it, "
            "or set FAIRGOV_DATA_DIR to another directory",
            chain_dir=str(chain_dir),
            reason=reason,
        )
