// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";

/// @title AnySignatureWallet
/// @notice Test only: a malicious (or careless) EIP-1271 wallet that accepts every signature, to show
/// what SignatureChecker can and cannot promise: whoever names this wallet as provider consents for it.
contract AnySignatureWallet is IERC1271 {
    /// @notice EIP-1271: always the magic value.
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return this.isValidSignature.selector;
    }
}
