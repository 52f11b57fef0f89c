// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/// @title GovernanceToken
/// @notice The fairgov voting token: ERC20 with EIP-2612 permits and ERC-5805 checkpointed votes on a
/// block-number clock. Holders must delegate (to themselves or another account) for their balance to count.
contract GovernanceToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice The holders and supplies given to the constructor differ in length.
    error GovernanceTokenLengthMismatch(uint256 holders, uint256 amounts);

    /// @notice Mints the whole, fixed supply to the initial holders.
    /// @param name_ Token name; it is also the EIP-712 domain name of permits and delegations.
    /// @param symbol_ Token symbol.
    /// @param holders Initial holders.
    /// @param amounts Supply minted to each holder, in the token's smallest unit.
    constructor(string memory name_, string memory symbol_, address[] memory holders, uint256[] memory amounts)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        if (holders.length != amounts.length) revert GovernanceTokenLengthMismatch(holders.length, amounts.length);
        for (uint256 i = 0; i < holders.length; ++i) {
            _mint(holders[i], amounts[i]);
        }
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
