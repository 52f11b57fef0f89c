"""Chain access: connecting to a node, the local anvil chain, contract artifacts, deployment,
JSON-RPC batches, revert decoding and the read-only governance view used to verify messages."""
