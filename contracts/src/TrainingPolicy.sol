// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ITrainingPolicy} from "./interfaces/ITrainingPolicy.sol";

/// @title TrainingPolicy
/// @notice The voted rules of fairgov's training pipeline: which datasets (by content hash) may train
/// models, which fairness thresholds every model must meet, and which bias mitigation to apply.
/// Owned by the timelock, so only executed proposals change it. `policyVersion` rises on every change.
/// @dev Thresholds are fixed point with six decimals (1e6 = 1.0).
contract TrainingPolicy is ITrainingPolicy, Ownable {
    /// @notice Strategy value meaning "no mitigation".
    bytes32 public constant NO_MITIGATION = bytes32("none");

    uint256 private _policyVersion;

    mapping(bytes32 datasetId => Dataset) private _datasets;
    bytes32[] private _datasetIds;

    mapping(bytes32 metric => Threshold) private _thresholds;
    bytes32[] private _metrics;
    mapping(bytes32 metric => uint256) private _metricPosition; // index + 1; 0 means absent

    bytes32 private _strategy = NO_MITIGATION;
    bytes32 private _constraint;

    /// @param owner_ The timelock that executes the DAO's decisions.
    constructor(address owner_) Ownable(owner_) {}

    // ---------------------------------------------------------------- changes (owner only)

    /// @notice Allows a dataset, or updates the hashes and URI of one already registered.
    /// @param datasetId keccak256 of the dataset name.
    /// @param contentHash sha256 of the data file's bytes.
    /// @param manifestHash sha256 of the canonical manifest JSON.
    /// @param uri Where the data can be fetched.
    function allowDataset(bytes32 datasetId, bytes32 contentHash, bytes32 manifestHash, string calldata uri)
        external
        onlyOwner
    {
        if (datasetId == bytes32(0) || contentHash == bytes32(0) || manifestHash == bytes32(0)) {
            revert TrainingPolicyZeroHash();
        }
        Dataset storage dataset = _datasets[datasetId];
        if (dataset.contentHash == bytes32(0)) _datasetIds.push(datasetId);
        dataset.contentHash = contentHash;
        dataset.manifestHash = manifestHash;
        dataset.uri = uri;
        dataset.allowed = true;
        emit DatasetAllowed(datasetId, contentHash, manifestHash, uri, _bump());
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
    /// @param value The bound, fixed point with six decimals.
    /// @param direction Upper: the metric must be <= value. Lower: it must be >= value.
    function setThreshold(bytes32 metric, uint256 value, Direction direction) external onlyOwner {
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

    /// @notice Every metric that has a threshold, with its value and direction.
    function thresholds()
        external
        view
        returns (bytes32[] memory metrics, uint256[] memory values, Direction[] memory directions)
    {
        uint256 n = _metrics.length;
        metrics = _metrics;
        values = new uint256[](n);
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

    function _bump() private returns (uint256) {
        return ++_policyVersion;
    }
}
