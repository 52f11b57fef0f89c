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

    /// @notice What an INCONCLUSIVE verdict does to a model at the gate.
    enum OnInconclusive {
        Block,
        ApproveWithWarning
    }

    /// @notice How a federated run combines the nodes' model updates (Flower's strategies of the
    /// same names). FedMedian, FedTrimmedAvg and Krum are robust to poisoned updates; FedAvg is not.
    enum Aggregation {
        FedAvg,
        FedMedian,
        FedTrimmedAvg,
        Krum
    }

    /// @notice A registered dataset: the offer its provider signed, and whether it may train models.
    struct Dataset {
        bytes32 contentHash;
        bytes32 manifestHash;
        bytes32 recordsRoot;
        bytes32 termsHash;
        address provider;
        uint64 consentedAt;
        bool allowed;
        string uri;
        string licence;
    }

    /// @notice What a data provider signs (EIP-712) to offer a dataset for training.
    /// @dev `recordsRoot` is the OpenZeppelin StandardMerkleTree root over the salted per-record
    /// commitments. `termsHash` is sha256 of the terms text. `issuedAt` is the provider's own clock:
    /// an offer counts only if it is newer than the dataset's current consent and than every
    /// withdrawal by the provider, and not dated after the block that accepts it. `deadline` is the
    /// last timestamp at which the offer can be accepted.
    struct DatasetOffer {
        bytes32 datasetId;
        bytes32 contentHash;
        bytes32 manifestHash;
        bytes32 recordsRoot;
        string uri;
        string licence;
        bytes32 termsHash;
        address provider;
        uint64 issuedAt;
        uint64 deadline;
    }

    /// @notice A bound on one fairness metric.
    /// @dev `value` is signed fixed point with six decimals (1e6 = 1.0): directional metrics such as
    /// statistical_parity_difference take negative bounds (for example >= -0.1e6).
    struct Threshold {
        int256 value;
        Direction direction;
    }

    /// @notice How strong the evidence must be before a verdict counts.
    /// @dev `confidence` is fixed point with six decimals, strictly between 0.5e6 and 1e6.
    struct EvidenceRule {
        uint64 confidence;
        uint64 minGroupSize;
        uint64 minDenominator;
        OnInconclusive onInconclusive;
    }

    /// @notice The voted rules of federated training and auditing.
    /// @dev `trimBeta` (FedTrimmedAvg's fraction cut from each end, strictly between 0 and 0.5e6) and
    /// `epsilon` (the differential-privacy budget each node spends on its audit counts; 0 = no noise)
    /// are fixed point with six decimals. `krumF` is the number of poisoned updates Krum tolerates (0
    /// with any other strategy). `minNodes` is the fewest accepted nodes a run may proceed with; Krum
    /// needs at least 2 * krumF + 3.
    struct FederationPolicy {
        Aggregation aggregation;
        uint64 trimBeta;
        uint32 krumF;
        uint64 epsilon;
        uint32 minNodes;
    }

    /// @notice The DAO accepted a provider's signed offer: the dataset may train models.
    event DatasetAllowed(
        bytes32 indexed datasetId, address indexed provider, DatasetOffer offer, uint256 policyVersion
    );
    /// @notice The provider withdrew consent as of `issuedAt`. `revoked`: the dataset was allowed under
    /// a consent not newer than the withdrawal and no longer is; only then does `policyVersion` rise
    /// (otherwise it is the current version, unchanged).
    event DatasetWithdrawn(
        bytes32 indexed datasetId, address indexed provider, uint64 issuedAt, bool revoked, uint256 policyVersion
    );
    event DatasetRevoked(bytes32 indexed datasetId, uint256 policyVersion);
    /// @notice The bound on `metric` was set; `value` is signed fixed point with six decimals.
    event ThresholdSet(bytes32 indexed metric, int256 value, Direction direction, uint256 policyVersion);
    event ThresholdCleared(bytes32 indexed metric, uint256 policyVersion);
    event MitigationSet(bytes32 strategy, bytes32 constraint, uint256 policyVersion);
    /// @notice The evidence rule of `metric` (bytes32(0): the default rule) was set.
    event EvidenceRuleSet(
        bytes32 indexed metric,
        uint64 confidence,
        uint64 minGroupSize,
        uint64 minDenominator,
        OnInconclusive onInconclusive,
        uint256 policyVersion
    );
    /// @notice The override of `metric` was removed; the default rule applies to it again.
    event EvidenceRuleCleared(bytes32 indexed metric, uint256 policyVersion);

    /// @notice The federation policy was set (the constructor sets the default).
    event FederationPolicySet(
        Aggregation aggregation, uint64 trimBeta, uint32 krumF, uint64 epsilon, uint32 minNodes, uint256 policyVersion
    );

    /// @notice The dataset id has never been registered.
    error TrainingPolicyUnknownDataset(bytes32 datasetId);
    /// @notice The dataset is registered but currently revoked.
    error TrainingPolicyDatasetNotAllowed(bytes32 datasetId);
    /// @notice The offer's signature is not the provider's (EOA or EIP-1271 contract wallet).
    error TrainingPolicyInvalidOfferSignature(bytes32 datasetId, address provider);
    /// @notice The withdrawal's signature is not the provider's.
    error TrainingPolicyInvalidWithdrawalSignature(bytes32 datasetId, address provider);
    /// @notice The offer's deadline has passed.
    error TrainingPolicyOfferExpired(bytes32 datasetId, uint64 deadline);
    /// @notice The offer is dated after the current block: it can be accepted once its date has passed.
    error TrainingPolicyOfferFromTheFuture(bytes32 datasetId, uint64 issuedAt);
    /// @notice The offer's issuedAt is zero: it carries no date to weigh against withdrawals.
    error TrainingPolicyOfferNotDated(bytes32 datasetId);
    /// @notice The file (its content hash) is registered under another dataset id: a withdrawn or
    /// allowed file cannot come back under a new id.
    error TrainingPolicyContentRegistered(bytes32 contentHash, bytes32 datasetId);
    /// @notice The dataset is registered to another provider.
    error TrainingPolicyNotProvider(bytes32 datasetId, address account);
    /// @notice The offer is not newer than the dataset's current consent (a replay or a downgrade).
    error TrainingPolicyStaleOffer(bytes32 datasetId, uint64 issuedAt, uint64 consentedAt);
    /// @notice The provider withdrew consent after this offer was issued.
    error TrainingPolicyConsentWithdrawn(bytes32 datasetId, uint64 issuedAt, uint64 withdrawnAt);
    /// @notice The withdrawal is not newer than the provider's last one (a replay).
    error TrainingPolicyStaleWithdrawal(bytes32 datasetId, uint64 issuedAt, uint64 withdrawnAt);
    /// @notice A dataset id, content hash, manifest hash or records root is zero.
    error TrainingPolicyZeroHash();
    /// @notice A metric name is the zero bytes32.
    error TrainingPolicyEmptyMetric();
    /// @notice No threshold is set for the metric.
    error TrainingPolicyUnknownThreshold(bytes32 metric);
    /// @notice A mitigation strategy other than none was given without a constraint.
    error TrainingPolicyMissingConstraint(bytes32 strategy);
    /// @notice "none" was given with a constraint, which nothing would apply.
    error TrainingPolicyUnexpectedConstraint(bytes32 constraint);
    /// @notice A confidence level is not strictly between 0.5 and 1 (fixed point, six decimals).
    error TrainingPolicyInvalidConfidence(uint256 confidence);
    /// @notice The metric has no confidence interval (it is exact), so no evidence rule applies.
    error TrainingPolicyMetricHasNoInterval(bytes32 metric);
    /// @notice No evidence rule override is set for the metric.
    error TrainingPolicyUnknownEvidenceRule(bytes32 metric);
    /// @notice The default evidence rule can be replaced but never removed.
    error TrainingPolicyCannotClearDefaultEvidenceRule();
    /// @notice FedTrimmedAvg's beta is not strictly between 0 and 0.5 (fixed point, six decimals).
    error TrainingPolicyInvalidTrimBeta(uint64 trimBeta);
    /// @notice krumF is not 0 with a strategy other than Krum, where nothing would read it.
    error TrainingPolicyUnusedKrumF(Aggregation aggregation, uint32 krumF);
    /// @notice A federated run needs at least one node, and Krum at least 2 * krumF + 3.
    error TrainingPolicyTooFewNodes(uint32 minNodes, uint256 needed);
    /// @notice Renouncing ownership would freeze the policy forever; the DAO may only transfer it.
    error TrainingPolicyCannotRenounceOwnership();
}
