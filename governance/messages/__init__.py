"""The messages holders sign: EIP-712 ballots and delegations, and proposal transactions."""
