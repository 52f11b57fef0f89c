"""Shared by the federated integration tests: the loans schema the nodes train on."""

from __future__ import annotations

from audit.federated.protocol import Schema

#: The synthetic loans (audit.synthetic.make_loans): numeric inputs, audited by group.
LOANS = Schema(
    label="approved",
    positive_label="1",
    inputs=("income", "debt_ratio", "credit_years"),
    sensitive=("group",),
)
