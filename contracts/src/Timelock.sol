// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

// Pulls OpenZeppelin's TimelockController into the build so that its artifact is produced with the
// same compiler and settings as the rest of the system.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
