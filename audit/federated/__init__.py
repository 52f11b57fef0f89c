"""Federated training and auditing (#16): learn and audit where the data lives.

Data providers run Flower SuperNodes over their own files; fairgov's ServerApp trains with
the voted Flower strategy and collects, from each node, only model updates, column
summaries and per-group confusion counts. Counts add up, so the audit computed from their
sum equals the audit of the pooled held-out rows (see :func:`bias_checks.audit_counts`).

- :mod:`~audit.federated.learning`: the global preprocessor and logistic-regression updates.
- :mod:`~audit.federated.privacy`: calibrated noise on a node's counts (OpenDP).
- :mod:`~audit.federated.outcome`: what a federated run returns to the audit.
- :mod:`~audit.federated.protocol`: the messages server and nodes exchange, and the run plan.
- :mod:`~audit.federated.node`: a node's policy check, its rows, and what it computes.
- :mod:`~audit.federated.client_app`, :mod:`~audit.federated.server_app`: the Flower apps.
- :mod:`~audit.federated.strategy`: the voted Flower strategy over the admitted nodes.
- :mod:`~audit.federated.processes`: SuperLink and SuperNode processes, and the driver.
"""
