"""Typed policy actions: what a proposal does, as data rather than calldata.

A proposal is a list of calls ``(target, value, calldata)``. :func:`encode` turns
:data:`Action` models into those calls and :func:`decode` turns any proposal's calls back
into actions, so the CLI, the API and the indexer show every proposal the same way. A call
that is not exactly one of ours (another target, another selector, a value, data that does
not re-encode to the same bytes) decodes to :class:`RawCall`, never to a guess.

Policy actions call the TrainingPolicy; the governor's own settings, including the
protection of loosening (supermajority, loosening voting period, guardian), call the
governor (through the timelock, as OpenZeppelin's ``onlyGovernance`` requires); auditor
changes call the AuditRegistry; the providers' rewards are funded by a token transfer from
the treasury (the timelock) and their settings call ProviderRewards. Metric names travel as
``bytes32`` (ASCII, zero padded), threshold values and evidence confidence levels as fixed
point with six decimals (1e6 = 1.0; threshold values are signed, ``int256``, so directional
metrics take negative bounds), proposal thresholds and token amounts in whole tokens.
The default evidence rule's metric is ``bytes32(0)``. The federation policy's beta and privacy
budget are fixed point too (an epsilon of 0 on chain means no noise).
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError

from core.types import to_address
from governance.actions._consent import (
    DOMAIN_FIELDS,
    POLICY_DOMAIN_NAME,
    DatasetOffer,
    DatasetWithdrawal,
    policy_domain,
    typed_digest,
)
from governance.actions._evidence import (
    ON_INCONCLUSIVE,
    ClearEvidenceRule,
    OnInconclusive,
    SetEvidenceRule,
    confidence_to_fixed,
)
from governance.actions._federation import (
    AGGREGATIONS,
    Aggregation,
    SetFederationPolicy,
    epsilon_to_fixed,
    krum_nodes_needed,
    trim_beta_to_fixed,
)
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
    is_supermajority,
)
from governance.actions._registry import BY_SELECTOR, Action
from governance.actions._rewards import (
    CancelRewardsRoot,
    FundRewards,
    SetRewardPerEpoch,
    SetRewardsChallengeWindow,
    SetSplitRule,
)
from governance.actions._values import (
    AUDITOR_ROLE,
    CONSTRAINTS,
    FIXED_POINT_DECIMALS,
    Contract,
    Direction,
    Strategy,
    bytes32_to_text,
    dataset_id_of,
    from_fixed,
    metric_to_bytes32,
    to_fixed,
)
from governance.chain.deploy import Addresses
from governance.errors import GovernanceError

__all__ = [
    "AGGREGATIONS",
    "AUDITOR_ROLE",
    "CONSTRAINTS",
    "DOMAIN_FIELDS",
    "FIXED_POINT_DECIMALS",
    "ON_INCONCLUSIVE",
    "POLICY_DOMAIN_NAME",
    "Action",
    "Aggregation",
    "AllowDataset",
    "CancelRewardsRoot",
    "ClearEvidenceRule",
    "ClearThreshold",
    "Contract",
    "DatasetOffer",
    "DatasetWithdrawal",
    "Direction",
    "FundRewards",
    "GrantAuditor",
    "OnInconclusive",
    "RawCall",
    "RevokeAuditor",
    "RevokeDataset",
    "SetEvidenceRule",
    "SetFederationPolicy",
    "SetGuardian",
    "SetLateQuorumVoteExtension",
    "SetLooseningVotingPeriod",
    "SetMitigation",
    "SetProposalThreshold",
    "SetRewardPerEpoch",
    "SetRewardsChallengeWindow",
    "SetSplitRule",
    "SetSupermajority",
    "SetThreshold",
    "SetVotingDelay",
    "SetVotingPeriod",
    "Strategy",
    "UpdateQuorumNumerator",
    "bytes32_to_text",
    "confidence_to_fixed",
    "dataset_id_of",
    "decode",
    "describe",
    "encode",
    "epsilon_to_fixed",
    "from_fixed",
    "is_supermajority",
    "krum_nodes_needed",
    "metric_to_bytes32",
    "policy_domain",
    "to_fixed",
    "trim_beta_to_fixed",
    "typed_digest",
]


def encode(
    actions: Sequence[Action], addresses: Addresses
) -> tuple[list[str], list[int], list[bytes]]:
    """The governor's ``(targets, values, calldatas)`` for ``actions``.

    Parameters
    ----------
    actions : sequence of Action
        What the proposal does, in order.
    addresses : Addresses
        The deployment's contracts: policy actions go to the TrainingPolicy, governor settings
        to the governor (which the timelock calls), auditor changes to the AuditRegistry,
        rewards funding to the token and rewards settings to ProviderRewards.

    Examples
    --------
    >>> clear = ClearThreshold(metric="accuracy_difference")
    >>> targets, values, calldatas = encode([clear], deployment.addresses)
    """
    targets: list[str] = []
    values: list[int] = []
    calldatas: list[bytes] = []
    for action in actions:
        if isinstance(action, RawCall):
            targets.append(action.target)
            values.append(action.value)
            calldatas.append(bytes.fromhex(action.calldata[2:]))
        else:
            targets.append(to_address(getattr(addresses, action.contract)))
            values.append(0)
            calldatas.append(action.bound(addresses).calldata())
    return targets, values, calldatas


def _decode_call(
    contract: Contract | None, value: int, data: bytes, addresses: Addresses
) -> KnownCall | None:
    if contract is None or value != 0:
        return None
    cls = BY_SELECTOR.get((contract, data[:4]))
    if cls is None:
        return None
    try:
        action = cls.from_args(tuple(abi_decode(cls.abi_types(), data[4:])))
    except (DecodingError, ValueError, IndexError, GovernanceError):
        return None
    # Only calldata that is exactly what we would send shows as a typed action.
    return action if action.calldata() == data and action.fits(addresses) else None


def decode(
    targets: Sequence[str],
    values: Sequence[int],
    calldatas: Sequence[bytes],
    addresses: Addresses,
) -> list[Action]:
    """The actions of any proposal's calls; a call that is not one of ours is a :class:`RawCall`.

    Examples
    --------
    >>> decode(*encode(actions, addresses), addresses) == actions
    True
    """
    by_address: dict[str, Contract] = {
        getattr(addresses, name).lower(): name
        for name in ("training_policy", "governor", "audit_registry", "token", "rewards")
    }
    actions: list[Action] = []
    for target, value, data in zip(targets, values, calldatas, strict=True):
        raw = bytes(data)
        action = _decode_call(by_address.get(target.lower()), value, raw, addresses)
        if action is None:
            actions.append(RawCall(target=target, value=value, calldata="0x" + raw.hex()))
        else:
            actions.append(action)  # type: ignore[arg-type]
    return actions


def describe(action: Action) -> str:
    """A one-line human summary of ``action``.

    Examples
    --------
    >>> describe(SetThreshold(metric="demographic_parity_difference", value="0.1",
    ...                       direction="upper"))
    'Set threshold demographic_parity_difference <= 0.1'
    """
    return action.summary()
