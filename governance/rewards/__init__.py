"""Providers' rewards, service side: the reward statement, split rules, the Merkle tree of
(provider, amount), the root posted on chain, and claims (#15).

When a model is approved, its epoch's reward is split among the providers whose datasets
trained it, by rows or by leave-one-provider-out value. The :class:`RewardStatement` holds
every input of the split; its sha256 is anchored with the root by ``ProviderRewards.postRoot``,
and :func:`verify_statement` checks a statement against that anchor and recomputes it.
Training the leave-one-out models is the audit package's (``audit.rewards``).
"""

from __future__ import annotations

from governance.rewards._split import (
    SplitRule,
    largest_remainder,
    loo_values,
    split_by_rows,
    split_leave_one_out,
)
from governance.rewards._statement import (
    SCHEMA_VERSION,
    Allocation,
    Contribution,
    EpochContext,
    LeaveOneOut,
    ProviderUtility,
    RewardStatement,
    UtilityDefinition,
    build_statement,
    parse_statement,
    recompute,
    verify_statement,
)
from governance.rewards._tree import (
    LEAF_ENCODING,
    build_tree,
    reward_proof,
    reward_root,
    verify_reward_proof,
)

__all__ = [
    "LEAF_ENCODING",
    "SCHEMA_VERSION",
    "Allocation",
    "Contribution",
    "EpochContext",
    "LeaveOneOut",
    "ProviderUtility",
    "RewardStatement",
    "SplitRule",
    "UtilityDefinition",
    "build_statement",
    "build_tree",
    "largest_remainder",
    "loo_values",
    "parse_statement",
    "recompute",
    "reward_proof",
    "reward_root",
    "split_by_rows",
    "split_leave_one_out",
    "verify_reward_proof",
    "verify_statement",
]
