// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IAuditRegistry} from "./interfaces/IAuditRegistry.sol";
import {IProviderRewards} from "./interfaces/IProviderRewards.sol";

/// @title ProviderRewards
/// @notice Pays data providers their share of each approved model's reward. The DAO funds the contract
/// from its treasury (the timelock transfers tokens to it); fairgov's auditor posts one Merkle root of
/// (provider, amount) per audit run the AuditRegistry holds as passed, reserving its total; the
/// guardian or the DAO may cancel the root during its challenge window (the run may then post a
/// corrected root); after it, each provider claims once, directly or through a relayer with an EIP-712
/// signature. Payment always goes to the provider, never to the sender.
/// @dev The timelock holds DEFAULT_ADMIN_ROLE: it grants POSTER_ROLE, sets the split rule, the reward
/// per epoch, the challenge window and the guardian, and may cancel roots. Tokens sent here without a
/// root stay available for later epochs.
contract ProviderRewards is IProviderRewards, AccessControl, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Role allowed to post roots (fairgov's auditor key).
    bytes32 public constant POSTER_ROLE = keccak256("POSTER_ROLE");
    /// @notice The EIP-712 type of a claim a relayer sends for the account.
    bytes32 public constant CLAIM_TYPEHASH =
        keccak256("Claim(uint256 epoch,address account,uint256 amount,uint256 deadline)");

    /// @inheritdoc IProviderRewards
    IERC20 public immutable token;
    /// @inheritdoc IProviderRewards
    IAuditRegistry public immutable registry;

    Epoch[] private _epochs; // epoch n is _epochs[n - 1]
    mapping(bytes32 runId => uint256) private _epochOfRun;
    mapping(uint256 epoch => mapping(address account => bool)) private _claimed;
    uint256 private _reserved;

    SplitRule private _splitRule;
    uint256 private _rewardPerEpoch;
    uint64 private _challengeWindow;
    address private _guardian;

    /// @param admin The timelock: setters, roles, and cancelling roots.
    /// @param token_ The reward token (the governance token).
    /// @param registry_ The AuditRegistry: a root may be posted only for a run it holds as passed.
    /// @param guardian_ May cancel a root during its challenge window; zero for none.
    /// @param posters Accounts that may post roots from the start.
    /// @param challengeWindow_ Seconds after posting during which a root may be cancelled: 1 to 2**32 - 1.
    /// @param splitRule_ How an epoch's reward is split among providers.
    /// @param rewardPerEpoch_ The most an epoch may pay in total, in the token's smallest unit.
    constructor(
        address admin,
        IERC20 token_,
        IAuditRegistry registry_,
        address guardian_,
        address[] memory posters,
        uint64 challengeWindow_,
        SplitRule splitRule_,
        uint256 rewardPerEpoch_
    ) EIP712("fairgov ProviderRewards", "1") {
        token = token_;
        registry = registry_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        for (uint256 i = 0; i < posters.length; ++i) {
            _grantRole(POSTER_ROLE, posters[i]);
        }
        _setGuardian(guardian_);
        _setChallengeWindow(challengeWindow_);
        _setSplitRule(splitRule_);
        _setRewardPerEpoch(rewardPerEpoch_);
    }

    // ---------------------------------------------------------------- roots

    /// @inheritdoc IProviderRewards
    function postRoot(bytes32 runId, bytes32 root, bytes32 statementHash, uint256 total)
        external
        onlyRole(POSTER_ROLE)
        returns (uint256 number)
    {
        if (runId == bytes32(0) || root == bytes32(0) || statementHash == bytes32(0)) revert RewardsZeroHash();
        uint256 previous = _epochOfRun[runId];
        if (previous != 0 && !_epochs[previous - 1].cancelled) revert RewardsRunAlreadyPosted(runId);
        if (!_approved(runId)) revert RewardsRunNotApproved(runId);
        if (total > _rewardPerEpoch) revert RewardsTotalAboveRewardPerEpoch(total, _rewardPerEpoch);
        uint256 free = available();
        if (total > free) revert RewardsInsufficientFunds(total, free);
        uint64 challengeEnds = uint64(block.timestamp) + _challengeWindow;
        _epochs.push(
            Epoch({
                root: root,
                statementHash: statementHash,
                runId: runId,
                total: total,
                claimed: 0,
                postedAt: uint64(block.timestamp),
                challengeEnds: challengeEnds,
                cancelled: false
            })
        );
        number = _epochs.length;
        _epochOfRun[runId] = number;
        _reserved += total;
        emit RootPosted(number, runId, root, statementHash, total, challengeEnds);
    }

    /// @dev A run the registry never published reverts there (AuditRegistryUnknownRun): not approved.
    function _approved(bytes32 runId) private view returns (bool) {
        try registry.getAudit(runId) returns (IAuditRegistry.Audit memory audit) {
            return audit.passed;
        } catch {
            return false;
        }
    }

    /// @inheritdoc IProviderRewards
    function cancelRoot(uint256 number) external {
        if (msg.sender != _guardian && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert RewardsNotCanceller(msg.sender);
        }
        Epoch storage e = _stored(number);
        if (e.cancelled) revert RewardsEpochCancelled(number);
        if (block.timestamp >= e.challengeEnds) revert RewardsChallengeWindowOver(number, e.challengeEnds);
        e.cancelled = true;
        _reserved -= e.total - e.claimed;
        emit RootCancelled(number, msg.sender);
    }

    // ---------------------------------------------------------------- claims

    /// @inheritdoc IProviderRewards
    function claim(uint256 number, uint256 amount, bytes32[] calldata proof) external {
        _claim(number, msg.sender, amount, proof);
    }

    /// @inheritdoc IProviderRewards
    function claimBySig(
        uint256 number,
        address account,
        uint256 amount,
        bytes32[] calldata proof,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert RewardsClaimExpired(number, deadline);
        if (!SignatureChecker.isValidSignatureNow(account, hashClaim(number, account, amount, deadline), signature)) {
            revert RewardsInvalidClaimSignature(number, account);
        }
        _claim(number, account, amount, proof);
    }

    /// @inheritdoc IProviderRewards
    function hashClaim(uint256 number, address account, uint256 amount, uint256 deadline)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(CLAIM_TYPEHASH, number, account, amount, deadline)));
    }

    function _claim(uint256 number, address account, uint256 amount, bytes32[] calldata proof) private {
        Epoch storage e = _stored(number);
        if (e.cancelled) revert RewardsEpochCancelled(number);
        if (block.timestamp < e.challengeEnds) revert RewardsChallengeWindowOpen(number, e.challengeEnds);
        if (_claimed[number][account]) revert RewardsAlreadyClaimed(number, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        if (!MerkleProof.verifyCalldata(proof, e.root, leaf)) revert RewardsInvalidProof(number, account, amount);
        // A root whose leaves sum above its total is wrong; it must not pay out other epochs' reserves.
        if (amount > e.total - e.claimed) revert RewardsInsufficientFunds(amount, e.total - e.claimed);
        _claimed[number][account] = true;
        e.claimed += amount;
        _reserved -= amount;
        emit Claimed(number, account, amount);
        token.safeTransfer(account, amount);
    }

    // ---------------------------------------------------------------- settings (admin only)

    /// @inheritdoc IProviderRewards
    function setSplitRule(SplitRule rule) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setSplitRule(rule);
    }

    /// @inheritdoc IProviderRewards
    function setRewardPerEpoch(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setRewardPerEpoch(amount);
    }

    /// @inheritdoc IProviderRewards
    /// @dev Applies to roots posted from now on; posted roots keep their end.
    function setChallengeWindow(uint64 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setChallengeWindow(window);
    }

    /// @inheritdoc IProviderRewards
    function setGuardian(address guardian_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setGuardian(guardian_);
    }

    function _setSplitRule(SplitRule rule) private {
        _splitRule = rule;
        emit SplitRuleSet(rule);
    }

    function _setRewardPerEpoch(uint256 amount) private {
        _rewardPerEpoch = amount;
        emit RewardPerEpochSet(amount);
    }

    function _setChallengeWindow(uint64 window) private {
        // At most 2**32 - 1 seconds (136 years), so postedAt + window never overflows a uint64.
        if (window == 0 || window > type(uint32).max) revert RewardsInvalidChallengeWindow(window);
        _challengeWindow = window;
        emit ChallengeWindowSet(window);
    }

    function _setGuardian(address guardian_) private {
        _guardian = guardian_;
        emit GuardianSet(guardian_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProviderRewards
    function epoch(uint256 number) external view returns (Epoch memory) {
        return _stored(number);
    }

    /// @inheritdoc IProviderRewards
    function epochCount() external view returns (uint256) {
        return _epochs.length;
    }

    /// @inheritdoc IProviderRewards
    /// @dev Zero when the run has no epoch; after a cancel and a corrected root, the corrected epoch.
    function epochOfRun(bytes32 runId) external view returns (uint256) {
        return _epochOfRun[runId];
    }

    /// @inheritdoc IProviderRewards
    function claimed(uint256 number, address account) external view returns (bool) {
        return _claimed[number][account];
    }

    /// @inheritdoc IProviderRewards
    function splitRule() external view returns (SplitRule) {
        return _splitRule;
    }

    /// @inheritdoc IProviderRewards
    function rewardPerEpoch() external view returns (uint256) {
        return _rewardPerEpoch;
    }

    /// @inheritdoc IProviderRewards
    function challengeWindow() external view returns (uint64) {
        return _challengeWindow;
    }

    /// @inheritdoc IProviderRewards
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IProviderRewards
    function available() public view returns (uint256) {
        uint256 balance = token.balanceOf(address(this));
        return balance > _reserved ? balance - _reserved : 0;
    }

    /// @inheritdoc IProviderRewards
    function reserved() external view returns (uint256) {
        return _reserved;
    }

    function _stored(uint256 number) private view returns (Epoch storage) {
        if (number == 0 || number > _epochs.length) revert RewardsUnknownEpoch(number);
        return _epochs[number - 1];
    }
}
