"""Relaying: the durable outbox and the relayer that takes its items to the chain once.

- :mod:`~governance.relay.outbox`: the outbox tables (items, signed attempts, the relayer's
  nonce) and their queries.
- :mod:`~governance.relay.relayer`: :class:`~governance.relay.relayer.Relayer`, one pass at
  a time: converge, bump what is stuck, sign and send what is queued.
- :mod:`~governance.relay.config`: the relayer's settings and a pass's report.
- :mod:`~governance.relay.calls`: each item's call, gas limit, fees and signed transaction.
- what a node's refusal of a transaction means: :mod:`~governance.chain.rejections`.
- :mod:`~governance.relay.reconcile`: checking sent items against the chain until final.
- :mod:`~governance.relay.signed_calls`: accepting a verified signed call (a gasless reward
  claim) after simulating it.
"""
