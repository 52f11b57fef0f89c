"""The durable outbox and the relayer that takes its items to the chain exactly once."""
