"""``fairgov demo``: the whole governed audit loop, driven over the HTTP API like a real client.

A biased dataset is registered, the token holders delegate and vote to allow it with a
fairness threshold, the audit FAILs, the holders vote a mitigation, the audit PASSes, and
an auditor downloads the report and checks it against the chain. Then a model trained on two
providers' datasets earns them a reward that each claims gaslessly, and one provider's
withdrawal blocks it until the scheduler retrains it on the other. The demo signs everything
locally with the development chain's well-known keys, so it runs only on a local chain.
"""

from cli.demo.command import demo

__all__ = ["demo"]
