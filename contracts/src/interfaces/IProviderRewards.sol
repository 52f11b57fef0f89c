// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAuditRegistry} from "./IAuditRegistry.sol";

/// @title IProviderRewards
/// @notice Events, errors, types and functions of the data providers' rewards: the DAO funds the
/// contract from its treasury, fairgov posts one Merkle root of (provider, amount) per approved model
/// (an epoch) with the hash of the reward statement that recomputes it, the guardian or the DAO may
/// cancel a root during its challenge window, and after the window each provider claims their amount
/// once, directly or through a relayer with an EIP-712 signature.
/// @dev Leaves are OpenZeppelin StandardMerkleTree leaves of ["address", "uint256"]:
/// keccak256(bytes.concat(keccak256(abi.encode(provider, amount)))).
interface IProviderRewards {
    /// @notice How an epoch's reward is split among the providers whose data trained the model.
    enum SplitRule {
        Rows,
        LeaveOneOut
    }

    struct Epoch {
        bytes32 root;
        bytes32 statementHash;
        bytes32 runId;
        uint256 total;
        uint256 claimed;
        uint64 postedAt;
        uint64 challengeEnds;
        bool cancelled;
    }

    /// @notice A root was posted for `epoch` (the audit run `runId` approved its model).
    event RootPosted(
        uint256 indexed epoch, bytes32 indexed runId, bytes32 root, bytes32 statementHash, uint256 total, uint64 challengeEnds
    );
    /// @notice The guardian or the DAO cancelled the root of `epoch` during its challenge window.
    event RootCancelled(uint256 indexed epoch, address indexed by);
    /// @notice `account` claimed `amount` of `epoch`, paid to `account`.
    event Claimed(uint256 indexed epoch, address indexed account, uint256 amount);
    event SplitRuleSet(SplitRule rule);
    event RewardPerEpochSet(uint256 amount);
    event ChallengeWindowSet(uint64 window);
    event GuardianSet(address guardian);

    /// @notice The epoch was never posted.
    error RewardsUnknownEpoch(uint256 epoch);
    /// @notice A root, statement hash or run id is zero.
    error RewardsZeroHash();
    /// @notice A run already has an epoch that was not cancelled.
    error RewardsRunAlreadyPosted(bytes32 runId);
    /// @notice The AuditRegistry holds no passing audit for the run: only an approved model is paid.
    error RewardsRunNotApproved(bytes32 runId);
    /// @notice The contract's unreserved balance cannot cover the epoch's total.
    error RewardsInsufficientFunds(uint256 total, uint256 available);
    /// @notice An epoch's total is above the voted reward per epoch (a wrong or compromised poster).
    error RewardsTotalAboveRewardPerEpoch(uint256 total, uint256 rewardPerEpoch);
    /// @notice Only the guardian or the DAO may cancel a root.
    error RewardsNotCanceller(address account);
    /// @notice The challenge window of the epoch is over (cancel) or not over yet (claim).
    error RewardsChallengeWindowOver(uint256 epoch, uint64 challengeEnds);
    error RewardsChallengeWindowOpen(uint256 epoch, uint64 challengeEnds);
    /// @notice The epoch's root was cancelled.
    error RewardsEpochCancelled(uint256 epoch);
    /// @notice `account` already claimed `epoch`.
    error RewardsAlreadyClaimed(uint256 epoch, address account);
    /// @notice The proof does not show (account, amount) under the epoch's root.
    error RewardsInvalidProof(uint256 epoch, address account, uint256 amount);
    /// @notice The claim's signature is not the account's, or its deadline passed.
    error RewardsInvalidClaimSignature(uint256 epoch, address account);
    error RewardsClaimExpired(uint256 epoch, uint256 deadline);
    /// @notice A challenge window of zero would leave no time to cancel a wrong root; one above
    /// 2**32 - 1 seconds is refused too.
    error RewardsInvalidChallengeWindow(uint64 window);

    /// @notice Posts the root of an approved model's reward split. Poster role only. The run must be
    /// anchored in the AuditRegistry as passed, and have no epoch unless that epoch was cancelled (a
    /// corrected root of the same run).
    /// @param runId The audit run that approved the model (anchored in the AuditRegistry).
    /// @param root The StandardMerkleTree root of (provider, amount).
    /// @param statementHash sha256 of the reward statement's canonical JSON.
    /// @param total The sum of the amounts; reserved from the unreserved balance.
    /// @return epoch The new epoch's number (from 1).
    function postRoot(bytes32 runId, bytes32 root, bytes32 statementHash, uint256 total)
        external
        returns (uint256 epoch);

    /// @notice Cancels an epoch's root during its challenge window (guardian or DAO); frees its reserve.
    function cancelRoot(uint256 epoch) external;

    /// @notice Claims the caller's amount of `epoch` after its challenge window.
    function claim(uint256 epoch, uint256 amount, bytes32[] calldata proof) external;

    /// @notice Claims `account`'s amount with their EIP-712 Claim signature; pays `account`. Anyone may
    /// send it (the relayer pays the gas).
    function claimBySig(
        uint256 epoch,
        address account,
        uint256 amount,
        bytes32[] calldata proof,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice The EIP-712 digest of Claim(uint256 epoch,address account,uint256 amount,uint256 deadline).
    function hashClaim(uint256 epoch, address account, uint256 amount, uint256 deadline)
        external
        view
        returns (bytes32);

    function setSplitRule(SplitRule rule) external;
    function setRewardPerEpoch(uint256 amount) external;
    function setChallengeWindow(uint64 window) external;
    function setGuardian(address guardian) external;

    function epoch(uint256 number) external view returns (Epoch memory);
    function epochCount() external view returns (uint256);
    /// @notice The run's latest epoch (a cancelled one when its corrected root was not posted); zero for none.
    function epochOfRun(bytes32 runId) external view returns (uint256);
    function claimed(uint256 epoch, address account) external view returns (bool);
    function splitRule() external view returns (SplitRule);
    function rewardPerEpoch() external view returns (uint256);
    function challengeWindow() external view returns (uint64);
    function guardian() external view returns (address);
    /// @notice Tokens held and not reserved for an uncancelled epoch's unclaimed amounts.
    function available() external view returns (uint256);
    /// @notice Tokens reserved for the unclaimed amounts of uncancelled epochs.
    function reserved() external view returns (uint256);
    /// @notice The reward token (the governance token).
    function token() external view returns (IERC20);
    /// @notice The AuditRegistry whose passing audits alone may be paid.
    function registry() external view returns (IAuditRegistry);
}
