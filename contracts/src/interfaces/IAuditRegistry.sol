// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IAuditRegistry
/// @notice Events, errors, types and the views other contracts read (ProviderRewards pays only a run
/// published as passed) of the on-chain fingerprints of fairgov's bias reports.
interface IAuditRegistry {
    struct Audit {
        bytes32 modelHash;
        bytes32 datasetId;
        bytes32 reportHash;
        uint256 policyVersion;
        bool passed;
        address auditor;
        uint64 blockNumber;
        uint64 timestamp;
    }

    event AuditPublished(
        bytes32 indexed runId,
        bytes32 indexed modelHash,
        bytes32 indexed datasetId,
        bytes32 reportHash,
        uint256 policyVersion,
        bool passed,
        address auditor
    );

    /// @notice A report was already published for this run; runs are immutable.
    error AuditRegistryAlreadyPublished(bytes32 runId);
    /// @notice No report was published for this run.
    error AuditRegistryUnknownRun(bytes32 runId);
    /// @notice No report was published for this model.
    error AuditRegistryUnknownModel(bytes32 modelHash);
    /// @notice A run id, model hash, dataset id or report hash is zero.
    error AuditRegistryZeroHash();

    /// @notice The audit published for a run; reverts when none was.
    function getAudit(bytes32 runId) external view returns (Audit memory);
    /// @notice Whether a report was published for a run.
    function isPublished(bytes32 runId) external view returns (bool);
}
