"""The voted TrainingPolicy, frozen and hashed.

- :mod:`~governance.policy.models`: the snapshot's shape, its canonical JSON and hash.
- :mod:`~governance.policy.snapshot`: the policy read from the chain's state at a block.
- :mod:`~governance.policy.history`: the policy at any past block, replayed from events.
"""
