"""On-chain governance of fairgov: contract artifacts, the local chain and deployment.

The DAO's decisions live in ``TrainingPolicy``; ``FairnessGovernor`` and its timelock are
the only way to change them.
"""
