"""Chain access: everything that talks to a node.

- :mod:`~governance.chain.node`: connecting, sending, fee helpers.
- :mod:`~governance.chain.localchain`: the embedded anvil chain.
- :mod:`~governance.chain.contracts`: committed ABIs and bytecode.
- :mod:`~governance.chain.deploy`: deploying the stack and checking a deployment.
- :mod:`~governance.chain.rpc`: JSON-RPC batches; :mod:`~governance.chain.calldata`: call
  encoding; :mod:`~governance.chain.reverts`: decoding revert reasons.
- :mod:`~governance.chain.view`: the node's governance state, read to verify messages.
"""
