// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title ProviderWallet
/// @notice Test only: a contract wallet of a data provider, owned by one key. It accepts (EIP-1271)
/// exactly the signatures its owner's key makes over a digest, and sends the owner's calls.
contract ProviderWallet is IERC1271 {
    /// @notice The key whose signatures the wallet accepts.
    address public owner;

    /// @notice The caller is not the wallet's owner.
    error ProviderWalletNotOwner(address caller);

    /// @param owner_ The key that signs for the wallet and sends its calls.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice EIP-1271: the magic value when the owner's key signed `hash`, else 0xffffffff.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(hash, signature);
        bool valid = error == ECDSA.RecoverError.NoError && signer == owner;
        return valid ? this.isValidSignature.selector : bytes4(0xffffffff);
    }

    /// @notice Hands the wallet to another key: signatures by the old key stop counting.
    function setOwner(address owner_) external {
        if (msg.sender != owner) revert ProviderWalletNotOwner(msg.sender);
        owner = owner_;
    }

    /// @notice Calls `target` with `data` as the wallet, bubbling up a revert.
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        if (msg.sender != owner) revert ProviderWalletNotOwner(msg.sender);
        (bool ok, bytes memory result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 0x20), mload(result))
            }
        }
        return result;
    }
}
