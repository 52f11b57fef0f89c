"""The messages holders sign, and their checks.

- :mod:`~governance.messages.eip712`: EIP-712 domains, type hashes, typed data for wallets,
  signer recovery.
- :mod:`~governance.messages.ballots`: signed ballots and delegations, the
  :class:`~governance.messages.ballots.ChainView` they are checked against, and the checks.
- :mod:`~governance.messages.proposals`: preparing a ``propose`` transaction for a wallet.
- :mod:`~governance.messages.signed_proposals`: checking a signed ``propose`` transaction.
"""
