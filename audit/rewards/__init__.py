"""Providers' rewards, audit side: valuing each provider's data, and building, storing and
posting an approved run's reward statement (#15).

The statement, split rules, tree and claims are :mod:`governance.rewards`; this package adds
what needs training (leave-one-provider-out utilities, :mod:`audit.rewards.valuation`) and the
service over the audit runs (:mod:`audit.rewards.service`).
"""
