"""Providers' rewards, service side: the reward statement, split rules, the Merkle tree of
(provider, amount), the root posted on chain, and claims (#15).

When a model is approved, its epoch's reward is split among the providers whose datasets
trained it, by rows or by leave-one-provider-out value. The :class:`RewardStatement` holds
every input of the split; its sha256 is anchored with the root by ``ProviderRewards.postRoot``,
and :func:`verify_statement` checks a statement against that anchor and recomputes it.
Training the leave-one-out models is the audit package's (``audit.rewards``).
"""

from __future__ import annotations

from governance.rewards._chain import (
    Posted,
    RewardParams,
    epoch_of_run,
    has_claimed,
    post_root,
    read_epoch,
    read_params,
)
from governance.rewards._claims import (
    CLAIM_DEADLINE_MARGIN,
    CLAIM_SIGNATURE_PATTERN,
    REWARDS_DOMAIN_NAME,
    SignedClaim,
    check_claim,
    claim_typed_data,
    rewards_domain,
)
from governance.rewards._intake import accept_claim, claim_key, queued_claim
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
    EpochState,
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
    "CLAIM_DEADLINE_MARGIN",
    "CLAIM_SIGNATURE_PATTERN",
    "LEAF_ENCODING",
    "REWARDS_DOMAIN_NAME",
    "SCHEMA_VERSION",
    "Allocation",
    "Contribution",
    "EpochContext",
    "EpochState",
    "LeaveOneOut",
    "Posted",
    "ProviderUtility",
    "RewardParams",
    "RewardStatement",
    "SignedClaim",
    "SplitRule",
    "UtilityDefinition",
    "accept_claim",
    "build_statement",
    "build_tree",
    "check_claim",
    "claim_key",
    "claim_typed_data",
    "epoch_of_run",
    "has_claimed",
    "largest_remainder",
    "loo_values",
    "parse_statement",
    "post_root",
    "queued_claim",
    "read_epoch",
    "read_params",
    "recompute",
    "reward_proof",
    "reward_root",
    "rewards_domain",
    "split_by_rows",
    "split_leave_one_out",
    "verify_reward_proof",
    "verify_statement",
]
