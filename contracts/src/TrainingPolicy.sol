// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ITrainingPolicy} from "./interfaces/ITrainingPolicy.sol";

/// @title TrainingPolicy
/// @notice The voted rules of fairgov's training pipeline: which datasets (by content hash) may train
/// models, which fairness thresholds every model must meet, and which bias mitigation to apply.
/// Owned by the timelock, so only executed proposals change it. `policyVersion` rises on every change.
/// The evidence rule says how sure an audit must be: the confidence of its intervals, the minimum
/// group size and rate denominator, and whether an INCONCLUSIVE verdict blocks a model or approves
/// it with a warning. A default rule (metric bytes32(0)) always exists; metrics may override it.
/// Datasets come with consent: the DAO can allow only what a provider offered in an EIP-712 signature
/// (from an EOA, or a contract wallet through EIP-1271), and the provider can withdraw it at any time
/// without a vote. The federation policy says how federated runs aggregate model updates, how much
/// privacy budget each node spends on its audit counts, and how few nodes a run may proceed with.
/// @dev Thresholds, confidence levels, the trim beta and epsilon are fixed point with six decimals (1e6 = 1.0).
/// Threshold values are signed (int256), so a directional metric can be bounded below zero; every
/// other fixed-point field is unsigned.
contract TrainingPolicy is ITrainingPolicy, Ownable, EIP712 {
    /// @notice The EIP-712 type of a dataset offer.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "DatasetOffer(bytes32 datasetId,bytes32 contentHash,bytes32 manifestHash,bytes32 recordsRoot,string uri,"
        "string licence,bytes32 termsHash,address provider,uint64 issuedAt,uint64 deadline)"
    );
    /// @notice The EIP-712 type of a provider's withdrawal of consent.
    bytes32 public constant WITHDRAWAL_TYPEHASH =
        keccak256("DatasetWithdrawal(bytes32 datasetId,address provider,uint64 issuedAt)");

    /// @notice Threshold values are signed fixed point (int256). A TrainingPolicy without this constant
    /// predates signed thresholds: it stores them as uint256, so its data directory must be redeployed.
    bool public constant SIGNED_THRESHOLDS = true;

    /// @notice Strategy value meaning "no mitigation".
    bytes32 public constant NO_MITIGATION = bytes32("none");

    uint256 private _policyVersion;

    mapping(bytes32 datasetId => Dataset) private _datasets;
    bytes32[] private _datasetIds;
    mapping(bytes32 datasetId => mapping(address provider => uint64)) private _withdrawnAt;
    mapping(bytes32 contentHash => bytes32 datasetId) private _datasetOfContent; // first id, kept forever

    mapping(bytes32 metric => Threshold) private _thresholds;
    bytes32[] private _metrics;
    mapping(bytes32 metric => uint256) private _metricPosition; // index + 1; 0 means absent

    bytes32 private _strategy = NO_MITIGATION;
    bytes32 private _constraint;

    /// @notice The metric key of the default evidence rule.
    bytes32 public constant DEFAULT_EVIDENCE = bytes32(0);
    uint64 private constant _ONE = 1e6;

    mapping(bytes32 metric => EvidenceRule) private _evidence;
    bytes32[] private _evidenceMetrics; // overrides only; the default is always present
    mapping(bytes32 metric => uint256) private _evidencePosition; // index + 1; 0 means absent

    FederationPolicy private _federation;

    /// @param owner_ The timelock that executes the DAO's decisions.
    /// @dev Starts with the default evidence rule 0.95 / 30 / 10 / Block and the default federation
    /// policy (FedAvg, beta 0.2, f 0, no noise, 2 nodes), so no policy lacks either.
    constructor(address owner_) Ownable(owner_) EIP712("fairgov TrainingPolicy", "1") {
        _storeEvidence(DEFAULT_EVIDENCE, EvidenceRule(950_000, 30, 10, OnInconclusive.Block), _policyVersion);
        _storeFederation(FederationPolicy(Aggregation.FedAvg, 200_000, 0, 0, 2), _policyVersion);
    }

    // ---------------------------------------------------------------- changes (owner only)

    /// @notice Allows a dataset its provider offered, or updates a registered one to a newer offer.
    /// @param offer The provider's offer: hashes, records root, URI, licence and terms, validity.
    /// @param signature The provider's EIP-712 signature of `offer` (65-byte ECDSA, or whatever the
    /// provider's contract wallet accepts through EIP-1271).
    function allowDataset(DatasetOffer calldata offer, bytes calldata signature) external onlyOwner {
        bytes32 datasetId = offer.datasetId;
        if (
            datasetId == bytes32(0) || offer.contentHash == bytes32(0) || offer.manifestHash == bytes32(0)
                || offer.recordsRoot == bytes32(0)
        ) revert TrainingPolicyZeroHash();
        if (block.timestamp > offer.deadline) revert TrainingPolicyOfferExpired(datasetId, offer.deadline);
        // A consent dated after now would outlive a direct withdrawal (dated now) until its date passed.
        if (offer.issuedAt > block.timestamp) revert TrainingPolicyOfferFromTheFuture(datasetId, offer.issuedAt);
        if (offer.issuedAt == 0) revert TrainingPolicyOfferNotDated(datasetId);
        bytes32 owningId = _datasetOfContent[offer.contentHash];
        if (owningId != bytes32(0) && owningId != datasetId) {
            revert TrainingPolicyContentRegistered(offer.contentHash, owningId);
        }
        Dataset storage dataset = _datasets[datasetId];
        bool registered = dataset.contentHash != bytes32(0);
        if (registered && dataset.provider != offer.provider) {
            revert TrainingPolicyNotProvider(datasetId, offer.provider);
        }
        if (registered && offer.issuedAt <= dataset.consentedAt) {
            revert TrainingPolicyStaleOffer(datasetId, offer.issuedAt, dataset.consentedAt);
        }
        uint64 withdrawnAt = _withdrawnAt[datasetId][offer.provider];
        if (offer.issuedAt <= withdrawnAt) revert TrainingPolicyConsentWithdrawn(datasetId, offer.issuedAt, withdrawnAt);
        if (!SignatureChecker.isValidSignatureNow(offer.provider, hashOffer(offer), signature)) {
            revert TrainingPolicyInvalidOfferSignature(datasetId, offer.provider);
        }
        if (!registered) _datasetIds.push(datasetId);
        if (owningId == bytes32(0)) _datasetOfContent[offer.contentHash] = datasetId;
        dataset.contentHash = offer.contentHash;
        dataset.manifestHash = offer.manifestHash;
        dataset.recordsRoot = offer.recordsRoot;
        dataset.termsHash = offer.termsHash;
        dataset.provider = offer.provider;
        dataset.consentedAt = offer.issuedAt;
        dataset.allowed = true;
        dataset.uri = offer.uri;
        dataset.licence = offer.licence;
        emit DatasetAllowed(datasetId, offer.provider, offer, _bump());
    }

    // ---------------------------------------------------------------- withdrawal (the provider, no vote)

    /// @notice The caller withdraws consent to `datasetId` as of now: the dataset is no longer allowed if
    /// the caller is its provider, and no offer the caller issued until now can allow it again.
    /// @dev policyVersion rises only when the withdrawal revokes an allowed dataset.
    /// @param datasetId The dataset to withdraw (registered to the caller, or not registered at all).
    function withdrawDataset(bytes32 datasetId) external {
        _withdraw(datasetId, msg.sender, uint64(block.timestamp));
    }

    /// @notice Withdraws consent on the provider's behalf with their EIP-712 signature (gasless for them).
    /// @param datasetId The dataset to withdraw.
    /// @param provider The provider who signed.
    /// @param issuedAt When the provider signed; offers issued up to then lose their force.
    /// @param signature The provider's signature of the DatasetWithdrawal message.
    function withdrawDatasetBySig(bytes32 datasetId, address provider, uint64 issuedAt, bytes calldata signature)
        external
    {
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, datasetId, provider, issuedAt)));
        if (!SignatureChecker.isValidSignatureNow(provider, digest, signature)) {
            revert TrainingPolicyInvalidWithdrawalSignature(datasetId, provider);
        }
        _withdraw(datasetId, provider, issuedAt);
    }

    function _withdraw(bytes32 datasetId, address provider, uint64 issuedAt) private {
        Dataset storage dataset = _datasets[datasetId];
        if (dataset.contentHash != bytes32(0) && dataset.provider != provider) {
            revert TrainingPolicyNotProvider(datasetId, provider);
        }
        uint64 last = _withdrawnAt[datasetId][provider];
        if (issuedAt <= last) revert TrainingPolicyStaleWithdrawal(datasetId, issuedAt, last);
        _withdrawnAt[datasetId][provider] = issuedAt;
        // A tie goes to the withdrawal, as in allowDataset: the outcome must not depend on which lands first.
        bool revoked = dataset.allowed && dataset.consentedAt <= issuedAt;
        if (!revoked) {
            // Nothing training may use has changed, so the version stays: anyone may withdraw an
            // unregistered id, and every new version makes fairgov re-audit every approved model.
            emit DatasetWithdrawn(datasetId, provider, issuedAt, false, _policyVersion);
            return;
        }
        dataset.allowed = false;
        emit DatasetWithdrawn(datasetId, provider, issuedAt, true, _bump());
    }

    /// @notice Revokes an allowed dataset; its record stays for audit history.
    /// @param datasetId The dataset to revoke.
    function revokeDataset(bytes32 datasetId) external onlyOwner {
        Dataset storage dataset = _datasets[datasetId];
        if (dataset.contentHash == bytes32(0)) revert TrainingPolicyUnknownDataset(datasetId);
        if (!dataset.allowed) revert TrainingPolicyDatasetNotAllowed(datasetId);
        dataset.allowed = false;
        emit DatasetRevoked(datasetId, _bump());
    }

    /// @notice Sets (or replaces) the bound every model must meet on a fairness metric.
    /// @param metric The metric's catalogue name as bytes32 (for example "demographic_parity_difference").
    /// @param value The bound, signed fixed point with six decimals (-100000 is -0.1).
    /// @param direction Upper: the metric must be <= value. Lower: it must be >= value.
    function setThreshold(bytes32 metric, int256 value, Direction direction) external onlyOwner {
        if (metric == bytes32(0)) revert TrainingPolicyEmptyMetric();
        if (_metricPosition[metric] == 0) {
            _metrics.push(metric);
            _metricPosition[metric] = _metrics.length;
        }
        _thresholds[metric] = Threshold(value, direction);
        emit ThresholdSet(metric, value, direction, _bump());
    }

    /// @notice Removes the threshold on a metric.
    /// @param metric The metric whose threshold to remove.
    function clearThreshold(bytes32 metric) external onlyOwner {
        uint256 position = _metricPosition[metric];
        if (position == 0) revert TrainingPolicyUnknownThreshold(metric);
        bytes32 last = _metrics[_metrics.length - 1];
        _metrics[position - 1] = last;
        _metricPosition[last] = position;
        _metrics.pop();
        delete _metricPosition[metric];
        delete _thresholds[metric];
        emit ThresholdCleared(metric, _bump());
    }

    /// @notice Sets the bias mitigation the pipeline applies.
    /// @param strategy "none", "threshold_optimizer" or "exponentiated_gradient" as bytes32.
    /// @param constraint The fairness constraint, for example "demographic_parity"; zero with "none".
    function setMitigation(bytes32 strategy, bytes32 constraint) external onlyOwner {
        if (strategy != NO_MITIGATION && constraint == bytes32(0)) revert TrainingPolicyMissingConstraint(strategy);
        if (strategy == NO_MITIGATION && constraint != bytes32(0)) revert TrainingPolicyUnexpectedConstraint(constraint);
        _strategy = strategy;
        _constraint = constraint;
        emit MitigationSet(strategy, constraint, _bump());
    }

    /// @notice Sets the evidence rule of a metric, or the default rule with metric bytes32(0).
    /// @param metric The metric's catalogue name as bytes32, or bytes32(0) for the default rule.
    /// @param confidence Two-sided confidence of every interval, fixed point, strictly between 0.5e6 and 1e6.
    /// @param minGroupSize Groups with fewer rows are not judged.
    /// @param minDenominator A rate is judged in a group only when its denominator reaches this.
    /// @param onInconclusive Block (the safe default) or ApproveWithWarning.
    function setEvidenceRule(
        bytes32 metric,
        uint64 confidence,
        uint64 minGroupSize,
        uint64 minDenominator,
        OnInconclusive onInconclusive
    ) external onlyOwner {
        if (confidence <= _ONE / 2 || confidence >= _ONE) revert TrainingPolicyInvalidConfidence(confidence);
        if (_isExact(metric)) revert TrainingPolicyMetricHasNoInterval(metric);
        if (metric != DEFAULT_EVIDENCE && _evidencePosition[metric] == 0) {
            _evidenceMetrics.push(metric);
            _evidencePosition[metric] = _evidenceMetrics.length;
        }
        _storeEvidence(metric, EvidenceRule(confidence, minGroupSize, minDenominator, onInconclusive), _bump());
    }

    /// @notice Removes a metric's evidence rule override; the default rule applies to it again.
    /// @param metric The metric whose override to remove (never bytes32(0)).
    function clearEvidenceRule(bytes32 metric) external onlyOwner {
        if (metric == DEFAULT_EVIDENCE) revert TrainingPolicyCannotClearDefaultEvidenceRule();
        uint256 position = _evidencePosition[metric];
        if (position == 0) revert TrainingPolicyUnknownEvidenceRule(metric);
        bytes32 last = _evidenceMetrics[_evidenceMetrics.length - 1];
        _evidenceMetrics[position - 1] = last;
        _evidencePosition[last] = position;
        _evidenceMetrics.pop();
        delete _evidencePosition[metric];
        delete _evidence[metric];
        emit EvidenceRuleCleared(metric, _bump());
    }

    /// @notice Sets the federation policy: the aggregation strategy, its parameter, the privacy budget
    /// and the minimum number of nodes of every federated run.
    /// @param policy_ trimBeta strictly between 0 and 0.5e6 (kept with every strategy, read by
    /// FedTrimmedAvg); krumF 0 unless Krum; epsilon 0 for no noise; minNodes at least 1, and at least
    /// 2 * krumF + 3 with Krum (Krum's guarantee needs n > 2f + 2).
    function setFederationPolicy(FederationPolicy calldata policy_) external onlyOwner {
        if (policy_.trimBeta == 0 || policy_.trimBeta >= _ONE / 2) {
            revert TrainingPolicyInvalidTrimBeta(policy_.trimBeta);
        }
        bool krum = policy_.aggregation == Aggregation.Krum;
        if (!krum && policy_.krumF != 0) revert TrainingPolicyUnusedKrumF(policy_.aggregation, policy_.krumF);
        // With fewer nodes a robust strategy is a plain average: the median of two is their
        // mean, and FedTrimmedAvg cuts floor(beta * n) nodes from each end.
        uint256 needed = krum ? 2 * uint256(policy_.krumF) + 3 : 1;
        if (policy_.aggregation == Aggregation.FedMedian) needed = 3;
        if (policy_.aggregation == Aggregation.FedTrimmedAvg) {
            needed = (_ONE + policy_.trimBeta - 1) / policy_.trimBeta;
        }
        if (policy_.minNodes < needed) revert TrainingPolicyTooFewNodes(policy_.minNodes, needed);
        _storeFederation(policy_, _bump());
    }

    /// @notice Always reverts: a policy without an owner could never change again.
    function renounceOwnership() public view override onlyOwner {
        revert TrainingPolicyCannotRenounceOwnership();
    }

    // ---------------------------------------------------------------- views

    /// @notice Rises by one on every change to the policy.
    function policyVersion() external view returns (uint256) {
        return _policyVersion;
    }

    /// @notice The record of a dataset; reverts for an id never registered.
    /// @param datasetId The dataset's id.
    function getDataset(bytes32 datasetId) external view returns (Dataset memory) {
        Dataset memory dataset = _datasets[datasetId];
        if (dataset.contentHash == bytes32(0)) revert TrainingPolicyUnknownDataset(datasetId);
        return dataset;
    }

    /// @notice The EIP-712 digest a provider signs to make `offer`.
    /// @param offer The offer.
    function hashOffer(DatasetOffer calldata offer) public view returns (bytes32) {
        // Two encodings of static words concatenate to one; split so the stack stays shallow.
        bytes memory head = abi.encode(
            OFFER_TYPEHASH,
            offer.datasetId,
            offer.contentHash,
            offer.manifestHash,
            offer.recordsRoot,
            keccak256(bytes(offer.uri))
        );
        bytes memory tail = abi.encode(
            keccak256(bytes(offer.licence)), offer.termsHash, offer.provider, offer.issuedAt, offer.deadline
        );
        return _hashTypedDataV4(keccak256(bytes.concat(head, tail)));
    }

    /// @notice The EIP-712 digest a provider signs to withdraw consent as of `issuedAt`.
    function hashWithdrawal(bytes32 datasetId, address provider, uint64 issuedAt) external view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(WITHDRAWAL_TYPEHASH, datasetId, provider, issuedAt)));
    }

    /// @notice The time of the provider's latest withdrawal of `datasetId` (0: never).
    function withdrawnAt(bytes32 datasetId, address provider) external view returns (uint64) {
        return _withdrawnAt[datasetId][provider];
    }

    /// @notice The dataset id a file's content hash was first allowed under; zero if none. A content
    /// hash stays with that id for good, withdrawn or revoked, so only that id may offer it again.
    function datasetOfContent(bytes32 contentHash) external view returns (bytes32) {
        return _datasetOfContent[contentHash];
    }

    /// @notice Whether a dataset may currently be used for training.
    /// @param datasetId The dataset's id.
    function isAllowed(bytes32 datasetId) external view returns (bool) {
        return _datasets[datasetId].allowed;
    }

    /// @notice Every dataset id ever registered, allowed or revoked, in registration order.
    function datasetIds() external view returns (bytes32[] memory) {
        return _datasetIds;
    }

    /// @notice The ids of the currently allowed datasets, in registration order.
    function allowedDatasetIds() external view returns (bytes32[] memory ids) {
        uint256 count;
        for (uint256 i = 0; i < _datasetIds.length; ++i) {
            if (_datasets[_datasetIds[i]].allowed) ++count;
        }
        ids = new bytes32[](count);
        uint256 j;
        for (uint256 i = 0; i < _datasetIds.length; ++i) {
            if (_datasets[_datasetIds[i]].allowed) ids[j++] = _datasetIds[i];
        }
    }

    /// @notice The threshold on a metric; reverts when none is set.
    /// @param metric The metric's catalogue name as bytes32.
    function getThreshold(bytes32 metric) external view returns (Threshold memory) {
        if (_metricPosition[metric] == 0) revert TrainingPolicyUnknownThreshold(metric);
        return _thresholds[metric];
    }

    /// @notice Whether a threshold is set on a metric.
    /// @param metric The metric's catalogue name as bytes32.
    function hasThreshold(bytes32 metric) external view returns (bool) {
        return _metricPosition[metric] != 0;
    }

    /// @notice Every metric that has a threshold, with its value (signed fixed point) and direction.
    function thresholds()
        external
        view
        returns (bytes32[] memory metrics, int256[] memory values, Direction[] memory directions)
    {
        uint256 n = _metrics.length;
        metrics = _metrics;
        values = new int256[](n);
        directions = new Direction[](n);
        for (uint256 i = 0; i < n; ++i) {
            Threshold memory t = _thresholds[_metrics[i]];
            values[i] = t.value;
            directions[i] = t.direction;
        }
    }

    /// @notice The mitigation strategy and constraint the pipeline applies.
    function mitigation() external view returns (bytes32 strategy, bytes32 constraint) {
        return (_strategy, _constraint);
    }

    /// @notice The evidence rule that applies to a metric: its override, else the default rule.
    /// @param metric The metric's catalogue name as bytes32, or bytes32(0) for the default rule.
    function getEvidenceRule(bytes32 metric) external view returns (EvidenceRule memory) {
        return _evidence[_evidencePosition[metric] == 0 ? DEFAULT_EVIDENCE : metric];
    }

    /// @notice Whether a metric has its own evidence rule (false for bytes32(0), which is the default).
    /// @param metric The metric's catalogue name as bytes32.
    function hasEvidenceRule(bytes32 metric) external view returns (bool) {
        return _evidencePosition[metric] != 0;
    }

    /// @notice Every evidence rule: the default first (metric bytes32(0)), then each override.
    function evidenceRules() external view returns (bytes32[] memory metrics, EvidenceRule[] memory rules) {
        uint256 n = _evidenceMetrics.length + 1;
        metrics = new bytes32[](n);
        rules = new EvidenceRule[](n);
        rules[0] = _evidence[DEFAULT_EVIDENCE];
        for (uint256 i = 1; i < n; ++i) {
            metrics[i] = _evidenceMetrics[i - 1];
            rules[i] = _evidence[metrics[i]];
        }
    }

    /// @notice The rules of federated training and auditing.
    function federationPolicy() external view returns (FederationPolicy memory) {
        return _federation;
    }

    function _storeFederation(FederationPolicy memory policy_, uint256 version) private {
        _federation = policy_;
        emit FederationPolicySet(
            policy_.aggregation, policy_.trimBeta, policy_.krumF, policy_.epsilon, policy_.minNodes, version
        );
    }

    function _storeEvidence(bytes32 metric, EvidenceRule memory rule, uint256 version) private {
        _evidence[metric] = rule;
        emit EvidenceRuleSet(
            metric, rule.confidence, rule.minGroupSize, rule.minDenominator, rule.onInconclusive, version
        );
    }

    /// @dev Group sizes and their differences and ratios are exact counts, not estimates.
    function _isExact(bytes32 metric) private pure returns (bool) {
        return metric == bytes32("count") || metric == bytes32("count_difference")
            || metric == bytes32("count_ratio");
    }

    function _bump() private returns (uint256) {
        return ++_policyVersion;
    }
}
