"""On-chain governance of fairgov. The DAO's decisions live in ``TrainingPolicy``;
``FairnessGovernor`` and its timelock are the only way to change them.

A ballot's path through the subpackages: :mod:`~governance.messages` (what a holder signs)
→ :mod:`~governance.intake` (checked, then one outbox row) → :mod:`~governance.relay`
(sent exactly once) → the chain, read back by :mod:`~governance.index`. Around them:
:mod:`~governance.chain` (node access, deployment), :mod:`~governance.actions` (what a
proposal does, as data), :mod:`~governance.keeper` (queues and executes passed proposals)
and :mod:`~governance.policy` (the voted policy, frozen and hashed).
"""
