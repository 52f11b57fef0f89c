"""``fairgov demo``: the whole governed audit loop, driven over the HTTP API like a real client.

A biased dataset is registered, the token holders delegate and vote to allow it with a
fairness threshold, the audit FAILs, the holders vote a mitigation, the audit PASSes, and
an auditor downloads the report and checks it against the chain. The demo signs everything
locally with the development chain's well-known keys, so it runs only on a local chain.
"""

from cli.demo.command import demo

__all__ = ["demo"]
