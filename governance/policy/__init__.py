"""The voted TrainingPolicy: frozen, hashed snapshots and the policy at any past block."""
