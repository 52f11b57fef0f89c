// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGovernor, Governor} from "@openzeppelin/contracts/governance/Governor.sol";
import {GovernorSettings} from "@openzeppelin/contracts/governance/extensions/GovernorSettings.sol";
import {GovernorCountingSimple} from "@openzeppelin/contracts/governance/extensions/GovernorCountingSimple.sol";
import {GovernorVotes} from "@openzeppelin/contracts/governance/extensions/GovernorVotes.sol";
import {GovernorVotesQuorumFraction} from
    "@openzeppelin/contracts/governance/extensions/GovernorVotesQuorumFraction.sol";
import {GovernorTimelockControl} from "@openzeppelin/contracts/governance/extensions/GovernorTimelockControl.sol";
import {GovernorPreventLateQuorum} from
    "@openzeppelin/contracts/governance/extensions/GovernorPreventLateQuorum.sol";
import {GovernorProposalGuardian} from "@openzeppelin/contracts/governance/extensions/GovernorProposalGuardian.sol";
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IPolicyChangeClassifier} from "./interfaces/IPolicyChangeClassifier.sol";

/// @title FairnessGovernor
/// @notice The DAO that decides which data trains fairgov's models and which fairness thresholds they
/// must meet. A standard OpenZeppelin governor: wallets and Tally-style clients work with it unchanged.
/// Every successful proposal runs through the timelock, which owns TrainingPolicy and administers
/// AuditRegistry.
///
/// Loosening is protected. A PolicyChangeClassifier classifies every proposal when it is made. A
/// loosening proposal (one that weakens a threshold, the mitigation or an evidence rule, changes the
/// governance itself, or touches the auditors) succeeds only with a supermajority of the FOR and
/// AGAINST votes, and its vote lasts at least `looseningVotingPeriod`. The proposal is classified
/// again when it is queued and executed, so one that became loosening while it waited (another
/// proposal changed the policy) executes only if it reached the supermajority. The fairness guardian
/// (OpenZeppelin's proposal guardian) may cancel loosening proposals, and only those, until they execute.
contract FairnessGovernor is
    Governor,
    GovernorSettings,
    GovernorCountingSimple,
    GovernorVotes,
    GovernorVotesQuorumFraction,
    GovernorTimelockControl,
    GovernorPreventLateQuorum,
    GovernorProposalGuardian
{
    /// @notice Everything that protects the fairness policy from a bare majority.
    /// @param classifier Says which proposals are loosening; fixed for the governor's lifetime.
    /// @param guardian May cancel loosening proposals (address(0): nobody may).
    /// @param supermajorityNumerator With the denominator, the share of FOR among FOR + AGAINST that a
    /// loosening proposal needs; strictly above one half and at most one.
    /// @param supermajorityDenominator See `supermajorityNumerator`.
    /// @param looseningVotingPeriod The minimum vote length of a loosening proposal, in blocks.
    struct Protection {
        IPolicyChangeClassifier classifier;
        address guardian;
        uint64 supermajorityNumerator;
        uint64 supermajorityDenominator;
        uint32 looseningVotingPeriod;
    }

    /// @notice What a proposal was judged to be when it was made, and the supermajority it then needed.
    struct Classification {
        bool loosening;
        uint64 supermajorityNumerator;
        uint64 supermajorityDenominator;
        uint32 looseningVotingPeriod;
    }

    /// @notice A proposal was classified when it was made. `changes` has one entry per call
    /// (IPolicyChangeClassifier.Change); a loosening proposal needs numerator/denominator of FOR + AGAINST.
    event ProposalClassified(
        uint256 indexed proposalId, bool loosening, uint8[] changes, uint64 numerator, uint64 denominator
    );
    /// @notice The supermajority that loosening proposals need changed.
    event SupermajoritySet(uint64 oldNumerator, uint64 oldDenominator, uint64 newNumerator, uint64 newDenominator);
    /// @notice The minimum vote length of loosening proposals changed.
    event LooseningVotingPeriodSet(uint32 oldPeriod, uint32 newPeriod);

    /// @notice A supermajority must be a fraction in (1/2, 1].
    error FairnessGovernorInvalidSupermajority(uint256 numerator, uint256 denominator);
    /// @notice The minimum vote length of a loosening proposal must be at least one block.
    error FairnessGovernorInvalidLooseningPeriod(uint256 period);
    /// @notice The classifier address has no code.
    error FairnessGovernorInvalidClassifier(address classifier);
    /// @notice The guardian may cancel only loosening proposals.
    error FairnessGovernorNotLoosening(uint256 proposalId);
    /// @notice The proposal is loosening now, but its vote was shorter than a loosening vote must be
    /// (it was not loosening when made; propose it again).
    error FairnessGovernorLooseningVoteTooShort(uint256 proposalId, uint256 voteLength, uint256 required);
    /// @notice Proposals may not be made, queued or executed from inside another proposal's execution.
    error FairnessGovernorNestedGovernance();
    /// @notice The proposal is loosening now but did not reach the supermajority.
    error FairnessGovernorLooseningWithoutSupermajority(
        uint256 proposalId, uint256 forVotes, uint256 againstVotes, uint64 numerator, uint64 denominator
    );

    IPolicyChangeClassifier private immutable _classifier;
    uint64 private _supermajorityNumerator;
    uint64 private _supermajorityDenominator;
    uint32 private _looseningVotingPeriod;
    mapping(uint256 proposalId => Classification) private _classifications;
    bool private transient _proposingLoosening;
    bool private transient _cancellingLoosening;
    bool private transient _executing;

    /// @notice Wires the governor; every governance parameter comes from here.
    /// @param name_ Governor name, also the EIP-712 domain name of ballots.
    /// @param token_ The ERC-5805 votes token.
    /// @param timelock_ The timelock that executes proposals.
    /// @param votingDelay_ Blocks between proposal and vote start (the snapshot).
    /// @param votingPeriod_ Blocks a vote lasts.
    /// @param proposalThreshold_ Votes an account needs to propose.
    /// @param quorumNumerator_ Quorum as a percentage of the total supply at the snapshot.
    /// @param voteExtension_ Blocks the vote is extended by when quorum is reached late.
    constructor(
        string memory name_,
        IVotes token_,
        TimelockController timelock_,
        uint48 votingDelay_,
        uint32 votingPeriod_,
        uint256 proposalThreshold_,
        uint256 quorumNumerator_,
        uint48 voteExtension_,
        Protection memory protection_
    )
        Governor(name_)
        GovernorSettings(votingDelay_, votingPeriod_, proposalThreshold_)
        GovernorVotes(token_)
        GovernorVotesQuorumFraction(quorumNumerator_)
        GovernorTimelockControl(timelock_)
        GovernorPreventLateQuorum(voteExtension_)
    {
        if (address(protection_.classifier).code.length == 0) {
            revert FairnessGovernorInvalidClassifier(address(protection_.classifier));
        }
        _classifier = protection_.classifier;
        _setSupermajority(protection_.supermajorityNumerator, protection_.supermajorityDenominator);
        _setLooseningVotingPeriod(protection_.looseningVotingPeriod);
        _setProposalGuardian(protection_.guardian);
    }

    // ---------------------------------------------------------------- protection of loosening

    /// @notice The contract that classifies proposals.
    function classifier() external view returns (IPolicyChangeClassifier) {
        return _classifier;
    }

    /// @notice The share of FOR among FOR + AGAINST that a loosening proposal made now needs.
    function supermajority() external view returns (uint64 numerator, uint64 denominator) {
        return (_supermajorityNumerator, _supermajorityDenominator);
    }

    /// @notice The minimum vote length of a loosening proposal, in blocks.
    function looseningVotingPeriod() external view returns (uint32) {
        return _looseningVotingPeriod;
    }

    /// @notice Classifies calls against the policy as it stands now (what `propose` would record).
    /// @param targets The calls' targets.
    /// @param calldatas The calls' data.
    function classify(address[] calldata targets, bytes[] calldata calldatas)
        public
        view
        returns (bool loosening, IPolicyChangeClassifier.Change[] memory changes)
    {
        return _classifier.classify(address(this), targets, calldatas);
    }

    /// @notice How a proposal was classified when it was made, and the supermajority it then needed.
    /// @param proposalId The proposal.
    function proposalClassification(uint256 proposalId) external view returns (Classification memory) {
        return _classifications[proposalId];
    }

    /// @notice Whether a proposal's FOR votes reach the supermajority recorded when it was made.
    /// @param proposalId The proposal.
    function supermajorityReached(uint256 proposalId) public view returns (bool) {
        Classification memory c = _classifications[proposalId];
        (uint256 against, uint256 forVotes,) = proposalVotes(proposalId);
        return forVotes > 0
            && forVotes * c.supermajorityDenominator >= (forVotes + against) * c.supermajorityNumerator;
    }

    /// @notice Sets the supermajority loosening proposals need. Only through governance (and loosening).
    /// @param numerator The fraction's numerator.
    /// @param denominator The fraction's denominator; the fraction must lie in (1/2, 1].
    function setSupermajority(uint64 numerator, uint64 denominator) external onlyGovernance {
        _setSupermajority(numerator, denominator);
    }

    /// @notice Sets the minimum vote length of loosening proposals. Only through governance (and loosening).
    /// @param period Blocks, at least one.
    function setLooseningVotingPeriod(uint32 period) external onlyGovernance {
        _setLooseningVotingPeriod(period);
    }

    function _setSupermajority(uint64 numerator, uint64 denominator) private {
        if (denominator == 0 || uint256(numerator) * 2 <= denominator || numerator > denominator) {
            revert FairnessGovernorInvalidSupermajority(numerator, denominator);
        }
        emit SupermajoritySet(_supermajorityNumerator, _supermajorityDenominator, numerator, denominator);
        _supermajorityNumerator = numerator;
        _supermajorityDenominator = denominator;
    }

    function _setLooseningVotingPeriod(uint32 period) private {
        if (period == 0) revert FairnessGovernorInvalidLooseningPeriod(period);
        emit LooseningVotingPeriodSet(_looseningVotingPeriod, period);
        _looseningVotingPeriod = period;
    }

    function _propose(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        string memory description,
        address proposer
    ) internal override returns (uint256 proposalId) {
        if (_executing) revert FairnessGovernorNestedGovernance();
        (bool loosening, IPolicyChangeClassifier.Change[] memory changes) =
            _classifier.classify(address(this), targets, calldatas);
        _proposingLoosening = loosening; // read by votingPeriod() while super._propose runs
        proposalId = super._propose(targets, values, calldatas, description, proposer);
        _proposingLoosening = false;
        _classifications[proposalId] =
            Classification(loosening, _supermajorityNumerator, _supermajorityDenominator, _looseningVotingPeriod);
        uint8[] memory codes = new uint8[](changes.length);
        for (uint256 i = 0; i < changes.length; ++i) {
            codes[i] = uint8(changes[i]);
        }
        emit ProposalClassified(proposalId, loosening, codes, _supermajorityNumerator, _supermajorityDenominator);
    }

    /// @dev A loosening proposal needs the supermajority recorded at its creation; others a simple majority.
    function _voteSucceeded(uint256 proposalId)
        internal
        view
        override(Governor, GovernorCountingSimple)
        returns (bool)
    {
        if (_classifications[proposalId].loosening) return supermajorityReached(proposalId);
        return super._voteSucceeded(proposalId);
    }

    /// @dev Refuses to queue or execute a proposal that is loosening now without its supermajority
    /// or without a vote as long as a loosening one, and any queue or execute nested in another
    /// proposal's execution (where the policy it would be judged against is half-changed).
    function _requireProtected(uint256 proposalId, address[] memory targets, bytes[] memory calldatas)
        private
        view
    {
        if (_executing) revert FairnessGovernorNestedGovernance();
        (bool loosening,) = _classifier.classify(address(this), targets, calldatas);
        if (!loosening) return;
        Classification memory c = _classifications[proposalId];
        if (!supermajorityReached(proposalId)) {
            (uint256 against, uint256 forVotes,) = proposalVotes(proposalId);
            revert FairnessGovernorLooseningWithoutSupermajority(
                proposalId, forVotes, against, c.supermajorityNumerator, c.supermajorityDenominator
            );
        }
        uint256 voteLength = proposalDeadline(proposalId) - proposalSnapshot(proposalId);
        if (voteLength < c.looseningVotingPeriod) {
            revert FairnessGovernorLooseningVoteTooShort(proposalId, voteLength, c.looseningVotingPeriod);
        }
    }

    /// @dev The guardian cancels only proposals that are loosening (when made or now), only before
    /// execution; proposers keep OpenZeppelin's right to cancel their own pending proposals.
    function _validateCancel(uint256 proposalId, address caller)
        internal
        view
        override(Governor, GovernorProposalGuardian)
        returns (bool)
    {
        if (Governor._validateCancel(proposalId, caller)) return true;
        if (caller == address(0) || caller != proposalGuardian()) return false;
        if (!_classifications[proposalId].loosening && !_cancellingLoosening) revert FairnessGovernorNotLoosening(proposalId);
        _validateStateBitmap(
            proposalId,
            _encodeStateBitmap(ProposalState.Pending) | _encodeStateBitmap(ProposalState.Active)
                | _encodeStateBitmap(ProposalState.Succeeded) | _encodeStateBitmap(ProposalState.Queued)
        );
        return true;
    }

    /// @inheritdoc Governor
    /// @dev Classifies the calls first, so the guardian may cancel a proposal that became loosening.
    function cancel(address[] memory targets, uint256[] memory values, bytes[] memory calldatas, bytes32 descriptionHash)
        public
        override
        returns (uint256)
    {
        (_cancellingLoosening,) = _classifier.classify(address(this), targets, calldatas);
        uint256 proposalId = super.cancel(targets, values, calldatas, descriptionHash);
        _cancellingLoosening = false;
        return proposalId;
    }

    /// @inheritdoc IGovernor
    /// @dev A loosening proposal's vote lasts at least `looseningVotingPeriod`.
    function votingPeriod() public view override(Governor, GovernorSettings) returns (uint256) {
        uint256 period = super.votingPeriod();
        if (_proposingLoosening && _looseningVotingPeriod > period) return _looseningVotingPeriod;
        return period;
    }

    // ---------------------------------------------------------------- OpenZeppelin plumbing

    /// @inheritdoc IGovernor
    function votingDelay() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.votingDelay();
    }

    /// @inheritdoc IGovernor
    function quorum(uint256 timepoint)
        public
        view
        override(Governor, GovernorVotesQuorumFraction)
        returns (uint256)
    {
        return super.quorum(timepoint);
    }

    /// @inheritdoc IGovernor
    function state(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (ProposalState)
    {
        return super.state(proposalId);
    }

    /// @inheritdoc IGovernor
    function proposalNeedsQueuing(uint256 proposalId)
        public
        view
        override(Governor, GovernorTimelockControl)
        returns (bool)
    {
        return super.proposalNeedsQueuing(proposalId);
    }

    /// @inheritdoc IGovernor
    function proposalThreshold() public view override(Governor, GovernorSettings) returns (uint256) {
        return super.proposalThreshold();
    }

    /// @inheritdoc IGovernor
    function proposalDeadline(uint256 proposalId)
        public
        view
        override(Governor, GovernorPreventLateQuorum)
        returns (uint256)
    {
        return super.proposalDeadline(proposalId);
    }

    function _tallyUpdated(uint256 proposalId) internal override(Governor, GovernorPreventLateQuorum) {
        super._tallyUpdated(proposalId);
    }

    function _queueOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint48) {
        _requireProtected(proposalId, targets, calldatas);
        return super._queueOperations(proposalId, targets, values, calldatas, descriptionHash);
    }

    function _executeOperations(
        uint256 proposalId,
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) {
        _requireProtected(proposalId, targets, calldatas);
        _executing = true;
        super._executeOperations(proposalId, targets, values, calldatas, descriptionHash);
        _executing = false;
    }

    function _cancel(
        address[] memory targets,
        uint256[] memory values,
        bytes[] memory calldatas,
        bytes32 descriptionHash
    ) internal override(Governor, GovernorTimelockControl) returns (uint256) {
        return super._cancel(targets, values, calldatas, descriptionHash);
    }

    function _executor() internal view override(Governor, GovernorTimelockControl) returns (address) {
        return super._executor();
    }
}
