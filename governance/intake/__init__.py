"""Intake: accepting signed messages into the outbox after checking everything, no gas spent.

- :mod:`~governance.intake.kinds`: each message kind's contract, EIP-712 domain and nonce
  (:data:`MESSAGE_KINDS`).
- :mod:`~governance.intake.service`: verify a ballot, delegation or signed proposal against
  a chain view, then commit one outbox row.
- :mod:`~governance.intake.accept`: :class:`IntakeService`, what the API and the CLI call:
  next nonces and acceptance with the node, or with the chain index while it is down.
"""

from governance.intake.accept import IntakeService, NonceCache, NonceSource
from governance.messages.kinds import MESSAGE_KINDS, MessageKind, governor_domain, token_domain

__all__ = [
    "MESSAGE_KINDS",
    "IntakeService",
    "MessageKind",
    "NonceCache",
    "NonceSource",
    "governor_domain",
    "token_domain",
]
