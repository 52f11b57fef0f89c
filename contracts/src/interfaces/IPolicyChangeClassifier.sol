// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPolicyChangeClassifier
/// @notice Says, call by call, whether a proposal would loosen the fairness policy or the rules that
/// protect it. The governor asks at proposal time (to set the majority and voting period a proposal
/// needs) and again at queue and execution (so a proposal that became loosening while it waited cannot
/// pass on a simple majority).
interface IPolicyChangeClassifier {
    /// @notice Why one call is, or is not, loosening. Anything but `None` is loosening.
    /// @dev New reasons are appended, so the codes of deployed classifiers keep their meaning.
    enum Change {
        None,
        ThresholdWeakened,
        ThresholdCleared,
        MitigationWeakened,
        EvidenceWeakened,
        ProtectionChanged,
        AuditorsChanged,
        Unrecognised,
        FederationWeakened,
        ManifestReplaced,
        TreasuryMoved,
        RewardsLoosened
    }

    /// @notice Classifies each call of a proposal against the policy as it stands now.
    /// @param governor The governor whose proposal this is (calls to it change the protection).
    /// @param targets The proposal's call targets.
    /// @param calldatas The proposal's call data, one per target.
    /// @return loosening Whether any call is loosening.
    /// @return changes The classification of each call, in order.
    function classify(address governor, address[] calldata targets, bytes[] calldata calldatas)
        external
        view
        returns (bool loosening, Change[] memory changes);
}
