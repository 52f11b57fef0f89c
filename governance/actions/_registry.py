"""Every action fairgov knows, as one tagged union, and the table that decodes calls."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from governance.actions._evidence import ClearEvidenceRule, SetEvidenceRule
from governance.actions._federation import SetFederationPolicy
from governance.actions._models import (
    AllowDataset,
    ClearThreshold,
    GrantAuditor,
    KnownCall,
    RawCall,
    RevokeAuditor,
    RevokeDataset,
    SetLateQuorumVoteExtension,
    SetMitigation,
    SetProposalThreshold,
    SetThreshold,
    SetVotingDelay,
    SetVotingPeriod,
    UpdateQuorumNumerator,
)
from governance.actions._protection import (
    SetGuardian,
    SetLooseningVotingPeriod,
    SetSupermajority,
)
from governance.actions._rewards import (
    CancelRewardsRoot,
    FundRewards,
    SetRewardPerEpoch,
    SetRewardsChallengeWindow,
    SetSplitRule,
)
from governance.actions._values import Contract

Action = Annotated[
    AllowDataset
    | RevokeDataset
    | SetThreshold
    | ClearThreshold
    | SetMitigation
    | SetEvidenceRule
    | ClearEvidenceRule
    | SetFederationPolicy
    | SetVotingDelay
    | SetVotingPeriod
    | SetProposalThreshold
    | UpdateQuorumNumerator
    | SetLateQuorumVoteExtension
    | SetSupermajority
    | SetLooseningVotingPeriod
    | SetGuardian
    | GrantAuditor
    | RevokeAuditor
    | FundRewards
    | SetSplitRule
    | SetRewardPerEpoch
    | SetRewardsChallengeWindow
    | CancelRewardsRoot
    | RawCall,
    Field(discriminator="kind"),
]
"""One thing a proposal does; parse with ``pydantic.TypeAdapter(list[Action])``."""

CALLS: tuple[type[KnownCall], ...] = (
    AllowDataset,
    RevokeDataset,
    SetThreshold,
    ClearThreshold,
    SetMitigation,
    SetEvidenceRule,
    ClearEvidenceRule,
    SetFederationPolicy,
    SetVotingDelay,
    SetVotingPeriod,
    SetProposalThreshold,
    UpdateQuorumNumerator,
    SetLateQuorumVoteExtension,
    SetSupermajority,
    SetLooseningVotingPeriod,
    SetGuardian,
    GrantAuditor,
    RevokeAuditor,
    FundRewards,
    SetSplitRule,
    SetRewardPerEpoch,
    SetRewardsChallengeWindow,
    CancelRewardsRoot,
)
BY_SELECTOR: dict[tuple[Contract, bytes], type[KnownCall]] = {
    (c.contract, c.selector()): c for c in CALLS
}
