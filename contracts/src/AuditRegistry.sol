// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IAuditRegistry} from "./interfaces/IAuditRegistry.sol";

/// @title AuditRegistry
/// @notice On-chain fingerprints of fairgov's bias reports. Auditors publish the sha256 of each report
/// once per run; anyone can check a downloaded report against it. The latest verdict per model is kept.
/// @dev The timelock holds DEFAULT_ADMIN_ROLE, so only the DAO grants or revokes AUDITOR_ROLE.
contract AuditRegistry is IAuditRegistry, AccessControl {
    /// @notice Role allowed to publish audits.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");

    mapping(bytes32 runId => Audit) private _audits;
    bytes32[] private _runIds;
    mapping(bytes32 modelHash => bytes32 runId) private _latestRun;

    /// @param admin The timelock, which grants and revokes roles.
    /// @param auditors Accounts that may publish from the start.
    constructor(address admin, address[] memory auditors) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < auditors.length; ++i) {
            _grantRole(AUDITOR_ROLE, auditors[i]);
        }
    }

    /// @notice Publishes the fingerprint and verdict of one audit run. Each run publishes once.
    /// @param runId The audit run's id.
    /// @param modelHash sha256 of the model file.
    /// @param datasetId The TrainingPolicy id of the dataset audited on.
    /// @param reportHash sha256 of the canonical JSON report.
    /// @param policyVersion The TrainingPolicy version the run was judged under.
    /// @param passed Whether the model met every threshold.
    function publish(
        bytes32 runId,
        bytes32 modelHash,
        bytes32 datasetId,
        bytes32 reportHash,
        uint256 policyVersion,
        bool passed
    ) external onlyRole(AUDITOR_ROLE) {
        if (runId == bytes32(0) || modelHash == bytes32(0) || datasetId == bytes32(0) || reportHash == bytes32(0)) {
            revert AuditRegistryZeroHash();
        }
        if (_audits[runId].reportHash != bytes32(0)) revert AuditRegistryAlreadyPublished(runId);
        _audits[runId] = Audit({
            modelHash: modelHash,
            datasetId: datasetId,
            reportHash: reportHash,
            policyVersion: policyVersion,
            passed: passed,
            auditor: msg.sender,
            blockNumber: uint64(block.number),
            timestamp: uint64(block.timestamp)
        });
        _runIds.push(runId);
        _latestRun[modelHash] = runId;
        emit AuditPublished(runId, modelHash, datasetId, reportHash, policyVersion, passed, msg.sender);
    }

    /// @notice The audit published for a run; reverts when none was.
    /// @param runId The audit run's id.
    function getAudit(bytes32 runId) external view returns (Audit memory) {
        Audit memory audit = _audits[runId];
        if (audit.reportHash == bytes32(0)) revert AuditRegistryUnknownRun(runId);
        return audit;
    }

    /// @notice Whether a report was published for a run.
    /// @param runId The audit run's id.
    function isPublished(bytes32 runId) external view returns (bool) {
        return _audits[runId].reportHash != bytes32(0);
    }

    /// @notice The latest run published for a model and its verdict; reverts when none was.
    /// @param modelHash sha256 of the model file.
    function latestVerdict(bytes32 modelHash) external view returns (bytes32 runId, Audit memory audit) {
        runId = _latestRun[modelHash];
        if (runId == bytes32(0)) revert AuditRegistryUnknownModel(modelHash);
        audit = _audits[runId];
    }

    /// @notice How many audits were published.
    function auditCount() external view returns (uint256) {
        return _runIds.length;
    }

    /// @notice Run ids in publication order, from `start`, at most `count` of them.
    /// @param start Index of the first run id.
    /// @param count Maximum number of run ids.
    function runIds(uint256 start, uint256 count) external view returns (bytes32[] memory ids) {
        uint256 total = _runIds.length;
        if (start >= total) return new bytes32[](0);
        // `count > total - start`, not `start + count > total`: a caller may pass type(uint256).max for "all".
        uint256 end = count > total - start ? total : start + count;
        ids = new bytes32[](end - start);
        for (uint256 i = start; i < end; ++i) {
            ids[i - start] = _runIds[i];
        }
    }
}
