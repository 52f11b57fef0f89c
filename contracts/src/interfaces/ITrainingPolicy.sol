// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ITrainingPolicy
/// @notice Events, errors and types of the rules that fairgov's training pipeline obeys.
interface ITrainingPolicy {
    /// @notice Whether a threshold is a maximum (value <= bound) or a minimum (value >= bound).
    enum Direction {
        Upper,
        Lower
    }

    struct Dataset {
        bytes32 contentHash;
        bytes32 manifestHash;
        string uri;
        bool allowed;
    }

    struct Threshold {
        uint256 value;
        Direction direction;
    }

    event DatasetAllowed(
        bytes32 indexed datasetId, bytes32 contentHash, bytes32 manifestHash, string uri, uint256 policyVersion
    );
    event DatasetRevoked(bytes32 indexed datasetId, uint256 policyVersion);
    event ThresholdSet(bytes32 indexed metric, uint256 value, Direction direction, uint256 policyVersion);
    event ThresholdCleared(bytes32 indexed metric, uint256 policyVersion);
    event MitigationSet(bytes32 strategy, bytes32 constraint, uint256 policyVersion);

    /// @notice The dataset id has never been registered.
    error TrainingPolicyUnknownDataset(bytes32 datasetId);
    /// @notice The dataset is registered but currently revoked.
    error TrainingPolicyDatasetNotAllowed(bytes32 datasetId);
    /// @notice A dataset id, content hash or manifest hash is zero.
    error TrainingPolicyZeroHash();
    /// @notice A metric name is the zero bytes32.
    error TrainingPolicyEmptyMetric();
    /// @notice No threshold is set for the metric.
    error TrainingPolicyUnknownThreshold(bytes32 metric);
    /// @notice A mitigation strategy other than none was given without a constraint.
    error TrainingPolicyMissingConstraint(bytes32 strategy);
    /// @notice "none" was given with a constraint, which nothing would apply.
    error TrainingPolicyUnexpectedConstraint(bytes32 constraint);
    /// @notice Renouncing ownership would freeze the policy forever; the DAO may only transfer it.
    error TrainingPolicyCannotRenounceOwnership();
}
