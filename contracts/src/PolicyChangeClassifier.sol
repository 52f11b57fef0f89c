// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IPolicyChangeClassifier} from "./interfaces/IPolicyChangeClassifier.sol";
import {IProviderRewards} from "./interfaces/IProviderRewards.sol";
import {ITrainingPolicy} from "./interfaces/ITrainingPolicy.sol";
import {TrainingPolicy} from "./TrainingPolicy.sol";

/// @title PolicyChangeClassifier
/// @notice Knows what "looser" means for fairgov's TrainingPolicy. A call is loosening when, against
/// the policy as it stands, it would raise an upper bound, lower a lower bound, change a bound's
/// direction, clear a threshold, switch mitigation off or away from the current strategy, weaken an
/// evidence rule, weaken the federation policy, replace a registered dataset's manifest (and so the
/// reference group its directional metrics compare with), change the governor, the timelock or the
/// policy's owner, or grant or revoke a role on the AuditRegistry. The treasury's tokens are votes, so a
/// call that could hand them, or their votes, to accounts a majority picks is loosening too: any call to
/// the token but a transfer to the rewards contract, and on the rewards contract a role or guardian
/// change, a shorter challenge window or a larger reward per epoch. Any call to those six contracts that
/// is not recognised, or whose arguments are malformed, is loosening. Calls to other contracts cannot
/// touch the policy or the treasury and are not loosening.
/// @dev Stateless; the addresses it guards are fixed at deployment.
contract PolicyChangeClassifier is IPolicyChangeClassifier {
    /// @notice The policy whose changes are classified.
    TrainingPolicy public immutable policy;
    /// @notice The audit registry (role changes are loosening).
    address public immutable registry;
    /// @notice The timelock that executes proposals (every call to it is loosening); it holds the treasury.
    address public immutable timelock;
    /// @notice The governance token (the treasury's tokens are votes).
    address public immutable token;
    /// @notice The providers' rewards, the one place the treasury's tokens may go by simple majority.
    IProviderRewards public immutable rewards;

    /// @notice Re-allowing a registered dataset with another manifest is loosening (ManifestReplaced).
    /// A classifier without this constant calls every allowDataset None, so its deployment is redeployed.
    bool public constant JUDGES_MANIFESTS = true;

    /// @notice Moving the treasury's tokens or votes, or loosening the rewards' guards, is loosening
    /// (TreasuryMoved, RewardsLoosened). A classifier without this constant calls them None.
    bool public constant GUARDS_TREASURY = true;

    bytes32 private constant _NO_MITIGATION = bytes32("none");

    /// @param policy_ The TrainingPolicy.
    /// @param registry_ The AuditRegistry.
    /// @param timelock_ The TimelockController.
    /// @param token_ The GovernanceToken.
    /// @param rewards_ The ProviderRewards (deployed after the governor: its address is predicted).
    constructor(
        TrainingPolicy policy_,
        address registry_,
        address timelock_,
        address token_,
        IProviderRewards rewards_
    ) {
        policy = policy_;
        registry = registry_;
        timelock = timelock_;
        token = token_;
        rewards = rewards_;
    }

    /// @inheritdoc IPolicyChangeClassifier
    function classify(address governor, address[] calldata targets, bytes[] calldata calldatas)
        external
        view
        returns (bool loosening, Change[] memory changes)
    {
        changes = new Change[](targets.length);
        for (uint256 i = 0; i < targets.length && i < calldatas.length; ++i) {
            changes[i] = classifyCall(governor, targets[i], calldatas[i]);
            if (changes[i] != Change.None) loosening = true;
        }
    }

    /// @notice Classifies one call against the policy as it stands now.
    /// @param governor The governor (calls to it change the protection).
    /// @param target The call's target.
    /// @param data The call's data.
    function classifyCall(address governor, address target, bytes calldata data) public view returns (Change) {
        if (target == address(policy)) return _policyCall(data);
        if (target == governor || target == timelock) return Change.ProtectionChanged;
        if (target == registry) return _isRoleCall(data) ? Change.AuditorsChanged : Change.Unrecognised;
        if (target == token) return _tokenCall(data);
        if (target == address(rewards)) return _rewardsCall(data);
        return Change.None;
    }

    /// @dev grantRole(bytes32,address), revokeRole(bytes32,address), renounceRole(bytes32,address).
    function _isRoleCall(bytes calldata data) private pure returns (bool) {
        if (data.length < 4) return false;
        bytes4 selector = bytes4(data[:4]);
        return selector == 0x2f2ff15d || selector == 0xd547741f || selector == 0x36568abe;
    }

    /// @dev Only transfer(rewards, amount) keeps the treasury's tokens where no majority picks their
    /// holder. A transfer elsewhere, approve, delegate and the rest hand tokens or votes to an account
    /// a majority could pick: two thirds could be reached with the treasury's votes.
    function _tokenCall(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32 * 2 || bytes4(data[:4]) != 0xa9059cbb) return Change.TreasuryMoved;
        uint256 to = _word(data, 0);
        if (to >> 160 != 0) return Change.Unrecognised;
        return address(uint160(to)) == address(rewards) ? Change.None : Change.TreasuryMoved;
    }

    /// @dev The posters decide whom a root pays, the guardian and the challenge window stop a bad root,
    /// and the reward per epoch bounds what a root pays: changing a role or the guardian, shortening the
    /// window or raising the reward would let a majority pay the treasury to itself. The split rule and
    /// cancelling a root do not.
    function _rewardsCall(bytes calldata data) private view returns (Change) {
        if (_isRoleCall(data)) return Change.RewardsLoosened;
        if (data.length < 4) return Change.Unrecognised;
        bytes4 selector = bytes4(data[:4]);
        if (selector == IProviderRewards.setGuardian.selector) return _sized(data, 1, Change.RewardsLoosened);
        if (selector == IProviderRewards.setSplitRule.selector) return _sized(data, 1, Change.None);
        if (selector == IProviderRewards.cancelRoot.selector) return _sized(data, 1, Change.None);
        if (data.length != 4 + 32) return Change.Unrecognised;
        uint256 value = _word(data, 0);
        if (selector == IProviderRewards.setRewardPerEpoch.selector) {
            return value > rewards.rewardPerEpoch() ? Change.RewardsLoosened : Change.None;
        }
        if (selector == IProviderRewards.setChallengeWindow.selector) {
            if (value > type(uint64).max) return Change.Unrecognised;
            return value < rewards.challengeWindow() ? Change.RewardsLoosened : Change.None;
        }
        return Change.Unrecognised;
    }

    function _policyCall(bytes calldata data) private view returns (Change) {
        if (data.length < 4) return Change.Unrecognised;
        bytes4 selector = bytes4(data[:4]);
        if (selector == TrainingPolicy.allowDataset.selector) return _allowDataset(data);
        if (selector == TrainingPolicy.revokeDataset.selector) return _sized(data, 1, Change.None);
        if (selector == TrainingPolicy.setThreshold.selector) return _threshold(data);
        if (selector == TrainingPolicy.clearThreshold.selector) return _sized(data, 1, Change.ThresholdCleared);
        if (selector == TrainingPolicy.setMitigation.selector) return _mitigation(data);
        if (selector == TrainingPolicy.setEvidenceRule.selector) return _evidence(data);
        if (selector == TrainingPolicy.clearEvidenceRule.selector) return _clearEvidence(data);
        if (selector == TrainingPolicy.setFederationPolicy.selector) return _federation(data);
        if (selector == 0xf2fde38b) return Change.ProtectionChanged; // transferOwnership(address)
        return Change.Unrecognised;
    }

    /// @dev A call with static arguments must carry exactly `words` 32-byte words after the selector.
    function _sized(bytes calldata data, uint256 words, Change ok) private pure returns (Change) {
        return data.length == 4 + 32 * words ? ok : Change.Unrecognised;
    }

    function _word(bytes calldata data, uint256 index) private pure returns (uint256) {
        return uint256(bytes32(data[4 + 32 * index:36 + 32 * index]));
    }

    /// @dev allowDataset(DatasetOffer offer, bytes signature). The offer is a dynamic tuple (it holds
    /// strings), so the first argument word is its offset; its first three words are datasetId,
    /// contentHash and manifestHash. Read where the ABI decoder reads them, so the classifier judges
    /// the offer the policy would store. A registered dataset (allowed, revoked or withdrawn) offered
    /// with another manifest is loosening: the manifest names the reference group the directional
    /// metrics compare with, so swapping it can turn a FAIL into a PASS like a weaker bound. Judging
    /// revoked datasets too closes the two-step route (revoke, then re-allow with another group).
    function _allowDataset(bytes calldata data) private view returns (Change) {
        if (data.length < 4 + 32 * 5) return Change.Unrecognised;
        uint256 offset = _word(data, 0);
        if (offset > data.length - 4 - 32 * 3) return Change.Unrecognised;
        bytes32 datasetId = bytes32(data[4 + offset:36 + offset]);
        bytes32 manifestHash = bytes32(data[68 + offset:100 + offset]);
        try policy.getDataset(datasetId) returns (ITrainingPolicy.Dataset memory current) {
            return current.manifestHash == manifestHash ? Change.None : Change.ManifestReplaced;
        } catch {
            return Change.None; // a dataset never registered: allowing it adds no looser rule
        }
    }

    function _threshold(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32 * 3) return Change.Unrecognised;
        bytes32 metric = bytes32(_word(data, 0));
        // Every word is a valid int256 (two's complement), so the bound needs no range check;
        // it must be compared signed: as uint256, -0.2 would look larger than -0.1.
        int256 value = int256(_word(data, 1));
        uint256 direction = _word(data, 2);
        if (direction > uint256(type(ITrainingPolicy.Direction).max)) return Change.Unrecognised;
        if (!policy.hasThreshold(metric)) return Change.None; // a new bound only adds protection
        ITrainingPolicy.Threshold memory current = policy.getThreshold(metric);
        if (uint256(current.direction) != direction) return Change.ThresholdWeakened;
        return weakensThreshold(current, value) ? Change.ThresholdWeakened : Change.None;
    }

    /// @notice Whether moving the bound of threshold `current` to `value`, in the same direction, lets
    /// more models pass: raising an upper bound or lowering a lower one, compared as signed numbers
    /// (lowering a lower bound from -0.1e6 to -0.2e6 is loosening).
    /// @param current The threshold in force.
    /// @param value The proposed bound, signed fixed point with six decimals.
    function weakensThreshold(ITrainingPolicy.Threshold memory current, int256 value) public pure returns (bool) {
        return current.direction == ITrainingPolicy.Direction.Upper ? value > current.value : value < current.value;
    }

    function _mitigation(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32 * 2) return Change.Unrecognised;
        bytes32 strategy = bytes32(_word(data, 0));
        bytes32 constraint = bytes32(_word(data, 1));
        (bytes32 currentStrategy, bytes32 currentConstraint) = policy.mitigation();
        if (currentStrategy == _NO_MITIGATION) return Change.None; // from none, anything adds protection
        if (strategy == currentStrategy && constraint == currentConstraint) return Change.None;
        return Change.MitigationWeakened;
    }

    function _evidence(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32 * 5) return Change.Unrecognised;
        uint256 onInconclusive = _word(data, 4);
        if (onInconclusive > uint256(type(ITrainingPolicy.OnInconclusive).max)) return Change.Unrecognised;
        if (_word(data, 1) > type(uint64).max || _word(data, 2) > type(uint64).max || _word(data, 3) > type(uint64).max)
        {
            return Change.Unrecognised;
        }
        ITrainingPolicy.EvidenceRule memory proposed = ITrainingPolicy.EvidenceRule(
            uint64(_word(data, 1)),
            uint64(_word(data, 2)),
            uint64(_word(data, 3)),
            ITrainingPolicy.OnInconclusive(onInconclusive)
        );
        ITrainingPolicy.EvidenceRule memory current = policy.getEvidenceRule(bytes32(_word(data, 0)));
        return weakens(current, proposed) ? Change.EvidenceWeakened : Change.None;
    }

    function _clearEvidence(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32) return Change.Unrecognised;
        bytes32 metric = bytes32(_word(data, 0));
        if (!policy.hasEvidenceRule(metric)) return Change.None; // reverts at execution anyway
        ITrainingPolicy.EvidenceRule memory current = policy.getEvidenceRule(metric);
        ITrainingPolicy.EvidenceRule memory fallback_ = policy.getEvidenceRule(policy.DEFAULT_EVIDENCE());
        return weakens(current, fallback_) ? Change.EvidenceWeakened : Change.None;
    }

    function _federation(bytes calldata data) private view returns (Change) {
        if (data.length != 4 + 32 * 5) return Change.Unrecognised;
        if (
            _word(data, 0) > uint256(type(ITrainingPolicy.Aggregation).max) || _word(data, 1) > type(uint64).max
                || _word(data, 2) > type(uint32).max || _word(data, 3) > type(uint64).max
                || _word(data, 4) > type(uint32).max
        ) return Change.Unrecognised;
        ITrainingPolicy.FederationPolicy memory proposed = ITrainingPolicy.FederationPolicy(
            ITrainingPolicy.Aggregation(_word(data, 0)),
            uint64(_word(data, 1)),
            uint32(_word(data, 2)),
            uint64(_word(data, 3)),
            uint32(_word(data, 4))
        );
        bool weaker = weakensFederation(policy.federationPolicy(), proposed, _approvesInconclusive());
        return weaker ? Change.FederationWeakened : Change.None;
    }

    /// @dev Whether any evidence rule in force (the default or an override) approves an INCONCLUSIVE model.
    function _approvesInconclusive() private view returns (bool) {
        (, ITrainingPolicy.EvidenceRule[] memory rules) = policy.evidenceRules();
        for (uint256 i = 0; i < rules.length; ++i) {
            if (rules[i].onInconclusive == ITrainingPolicy.OnInconclusive.ApproveWithWarning) return true;
        }
        return false;
    }

    /// @notice Whether replacing federation policy `current` by `proposed` weakens the protection of the
    /// people in the data: their privacy, the audit's evidence, or the model's defence against poisoning.
    /// @dev Loosening: fewer nodes; a higher epsilon or noise switched off (less privacy); more noise
    /// (a lower epsilon, or noise switched on) while some evidence rule approves INCONCLUSIVE models,
    /// because noise widens the intervals and a FAIL comes harder; any change of strategy away from a
    /// robust one (FedMedian, FedTrimmedAvg, Krum), as with mitigation; a lower beta under FedTrimmedAvg
    /// or a lower f under Krum. From FedAvg, any strategy is tighter.
    /// @param current The policy in force.
    /// @param proposed The policy that would replace it.
    /// @param approvesInconclusive Whether any evidence rule in force approves INCONCLUSIVE models.
    function weakensFederation(
        ITrainingPolicy.FederationPolicy memory current,
        ITrainingPolicy.FederationPolicy memory proposed,
        bool approvesInconclusive
    ) public pure returns (bool) {
        if (proposed.minNodes < current.minNodes) return true;
        bool lessPrivate = current.epsilon != 0 && (proposed.epsilon == 0 || proposed.epsilon > current.epsilon);
        bool noisier = proposed.epsilon != 0 && (current.epsilon == 0 || proposed.epsilon < current.epsilon);
        if (lessPrivate || (noisier && approvesInconclusive)) return true;
        ITrainingPolicy.Aggregation strategy = current.aggregation;
        if (strategy == ITrainingPolicy.Aggregation.FedAvg) return false;
        if (proposed.aggregation != strategy) return true;
        if (strategy == ITrainingPolicy.Aggregation.FedTrimmedAvg) return proposed.trimBeta < current.trimBeta;
        if (strategy == ITrainingPolicy.Aggregation.Krum) return proposed.krumF < current.krumF;
        return false;
    }

    /// @notice Whether replacing evidence rule `current` by `proposed` could approve a model that
    /// `current` blocks.
    /// @dev Under Block a model is approved only on PASS: a lower confidence makes PASS easier, and a
    /// larger minimum group size or denominator leaves small groups unjudged. Under ApproveWithWarning a
    /// model is approved unless it FAILs: a higher confidence makes FAIL harder, and any change to the
    /// minimums changes which groups (and so how many comparisons) a FAIL is adjusted over. Moving from
    /// Block to ApproveWithWarning is always loosening; the reverse is loosening only when it also
    /// leaves groups unjudged, because a PASS at any confidence is never a FAIL at another.
    /// @param current The rule in force.
    /// @param proposed The rule that would replace it.
    function weakens(ITrainingPolicy.EvidenceRule memory current, ITrainingPolicy.EvidenceRule memory proposed)
        public
        pure
        returns (bool)
    {
        bool fewerGroups =
            proposed.minGroupSize > current.minGroupSize || proposed.minDenominator > current.minDenominator;
        bool blocksNow = current.onInconclusive == ITrainingPolicy.OnInconclusive.Block;
        bool blocksAfter = proposed.onInconclusive == ITrainingPolicy.OnInconclusive.Block;
        if (blocksNow && !blocksAfter) return true;
        if (blocksNow) return fewerGroups || proposed.confidence < current.confidence;
        if (blocksAfter) return fewerGroups;
        return proposed.confidence > current.confidence || proposed.minGroupSize != current.minGroupSize
            || proposed.minDenominator != current.minDenominator;
    }
}
