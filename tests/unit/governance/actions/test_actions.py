"""Typed policy actions: validation, calldata encoding and decoding, summaries."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from eth_abi.abi import encode as abi_encode
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError
from web3 import Web3

from bias_checks import METRICS
from governance import actions as act
from governance.chain.deploy import Addresses
from governance.errors import (
    InvalidMetricName,
    InvalidMitigation,
    InvalidThresholdValue,
    ThresholdOutOfRange,
    UnknownMetric,
)

ADDRESSES = Addresses(
    token="0x" + "11" * 20,
    timelock="0x" + "22" * 20,
    governor="0x" + "33" * 20,
    training_policy="0x" + "44" * 20,
    audit_registry="0x" + "55" * 20,
    classifier="0x" + "66" * 20,
    rewards="0x" + "77" * 20,
)
POLICY = Web3.to_checksum_address(ADDRESSES.training_policy)
ELSEWHERE = Web3.to_checksum_address("0x" + "66" * 20)
DP = "demographic_parity_difference"
H1, H2 = "0x" + "aa" * 32, "0x" + "bb" * 32


def roundtrip(actions: list[act.Action]) -> list[act.Action]:
    return act.decode(*act.encode(actions, ADDRESSES), ADDRESSES)


# ---------------------------------------------------------------- strategies

hash32 = st.binary(min_size=32, max_size=32).filter(any).map(lambda b: "0x" + b.hex())
address = st.binary(min_size=20, max_size=20).map(Web3.to_checksum_address)
metric = st.sampled_from(sorted(METRICS))


def _in_range(name: str) -> st.SearchStrategy[Decimal]:
    """Signed fixed-point bounds within the values ``name`` can take (int256 where unbounded)."""
    low, high = METRICS[name].value_range
    units = (
        st.integers(min_value=int(low * 10**6), max_value=int(high * 10**6))
        if high != float("inf")
        else st.integers(min_value=int(low * 10**6), max_value=2**255 - 1)
    )
    return units.map(act.from_fixed)


threshold = metric.flatmap(
    lambda name: st.builds(
        act.SetThreshold, metric=st.just(name), value=_in_range(name),
        direction=st.sampled_from(["upper", "lower"]),
    )
)  # fmt: skip
uint48 = st.integers(min_value=0, max_value=2**48 - 1)
mitigation = st.sampled_from(
    [(s, c) for s, constraints in act.CONSTRAINTS.items() for c in constraints]
)
interval_metric = st.sampled_from(sorted(m for m, info in METRICS.items() if info.has_interval))
confidence = st.integers(min_value=500_001, max_value=999_999).map(act.from_fixed)
uint64 = st.integers(min_value=0, max_value=2**64 - 1)
calldata = st.binary(max_size=80).map(lambda b: "0x" + b.hex())

offer = st.tuples(uint64, uint64).flatmap(
    lambda times: st.builds(
        act.DatasetOffer,
        dataset_id=hash32,
        content_hash=hash32,
        manifest_hash=hash32,
        records_root=hash32,
        uri=st.text(),
        licence=st.text(max_size=20),
        terms_hash=hash32,
        provider=address,
        issued_at=st.just(min(times)),
        deadline=st.just(max(times)),
    )
)
signature = st.binary(min_size=1, max_size=200).map(lambda b: "0x" + b.hex())

action = st.one_of(
    st.builds(act.AllowDataset, offer=offer, provider_signature=signature, name=st.none()),
    st.builds(act.RevokeDataset, dataset_id=hash32),
    threshold,
    st.builds(act.ClearThreshold, metric=metric),
    mitigation.map(lambda sc: act.SetMitigation(strategy=sc[0], constraint=sc[1])),  # type: ignore[arg-type]
    st.builds(act.SetEvidenceRule, metric=st.none() | interval_metric,
              confidence_level=confidence, min_group_size=uint64, min_denominator=uint64,
              on_inconclusive=st.sampled_from(act.ON_INCONCLUSIVE)),
    st.builds(act.ClearEvidenceRule, metric=interval_metric),
    st.builds(act.SetVotingDelay, blocks=uint48),
    st.builds(act.SetVotingPeriod, blocks=st.integers(min_value=1, max_value=2**32 - 1)),
    st.builds(act.SetProposalThreshold, tokens=st.integers(min_value=0, max_value=10**30)),
    st.builds(act.UpdateQuorumNumerator, percent=st.integers(min_value=0, max_value=100)),
    st.builds(act.SetLateQuorumVoteExtension, blocks=uint48),
    st.integers(min_value=1, max_value=2**64 - 1).flatmap(
        lambda d: st.integers(min_value=d // 2 + 1, max_value=d).map(
            lambda n: act.SetSupermajority(numerator=n, denominator=d))),
    st.builds(act.SetLooseningVotingPeriod, blocks=st.integers(min_value=1, max_value=2**32 - 1)),
    st.builds(act.SetGuardian, guardian=st.none() | address),
    st.builds(act.GrantAuditor, account=address),
    st.builds(act.RevokeAuditor, account=address),
    st.builds(act.RawCall, target=address, value=st.integers(min_value=0, max_value=2**256 - 1),
              calldata=calldata),
)  # fmt: skip


@given(st.lists(action, min_size=1, max_size=6))
def test_decode_inverts_encode(actions: list[act.Action]) -> None:
    assert roundtrip(actions) == actions


@given(st.lists(action, min_size=1, max_size=4))
def test_actions_survive_json(actions: list[act.Action]) -> None:
    adapter = TypeAdapter(list[act.Action])
    assert adapter.validate_json(adapter.dump_json(actions)) == actions


# ---------------------------------------------------------------- encoding


def test_policy_actions_target_the_policy_and_settings_the_governor() -> None:
    targets, values, calldatas = act.encode(
        [
            act.ClearThreshold(metric=DP),
            act.SetVotingPeriod(blocks=20),
            act.GrantAuditor(account=ELSEWHERE),
        ],
        ADDRESSES,
    )
    assert [t.lower() for t in targets] == [
        ADDRESSES.training_policy,
        ADDRESSES.governor,
        ADDRESSES.audit_registry,
    ]
    assert values == [0, 0, 0]
    assert calldatas[0] == Web3.keccak(text="clearThreshold(bytes32)")[:4] + DP.encode().ljust(
        32, b"\0"
    )
    grant = Web3.keccak(text="grantRole(bytes32,address)")[:4]
    assert calldatas[2] == grant + abi_encode(
        ["bytes32", "address"], [Web3.keccak(text="AUDITOR_ROLE"), ELSEWHERE]
    )


def test_threshold_value_goes_on_chain_in_fixed_point_with_six_decimals() -> None:
    (_,), _, (data,) = act.encode(
        [act.SetThreshold(metric="equalized_odds_ratio", value=Decimal("0.8"), direction="lower")],
        ADDRESSES,
    )
    assert data[4:] == abi_encode(
        ["bytes32", "uint256", "uint8"], [b"equalized_odds_ratio".ljust(32, b"\0"), 800_000, 1]
    )


def test_proposal_threshold_goes_on_chain_in_token_units() -> None:
    _, _, (data,) = act.encode([act.SetProposalThreshold(tokens=1_000)], ADDRESSES)
    assert int.from_bytes(data[4:], "big") == 1_000 * 10**18


def _offer(name: str = "loans-v1", **changes: Any) -> act.DatasetOffer:
    fields: dict[str, Any] = {
        "content_hash": H1,
        "manifest_hash": H2,
        "records_root": H1,
        "uri": "file://loans.csv",
        "provider": "0x" + "77" * 20,
        "issued_at": 10,
        "deadline": 20,
    }
    return act.DatasetOffer.for_name(name, **(fields | changes))


def test_an_offer_derives_the_id_from_the_name() -> None:
    allow = act.AllowDataset(offer=_offer(), provider_signature="0x" + "12" * 65, name="loans-v1")
    assert allow.dataset_id == Web3.keccak(text="loans-v1").to_0x_hex()
    # The name is not on chain: decoding gives the same call without it.
    (decoded,) = roundtrip([allow])
    assert decoded == allow.model_copy(update={"name": None})


def test_a_name_must_match_the_dataset_id() -> None:
    with pytest.raises(ValidationError, match="keccak256"):
        act.AllowDataset(offer=_offer("other"), provider_signature="0x12", name="loans")


def test_an_offer_needs_a_signature_and_non_zero_hashes_and_ordered_times() -> None:
    with pytest.raises(ValidationError, match="no signature"):
        act.AllowDataset(offer=_offer(), provider_signature="0x")
    with pytest.raises(ValidationError, match="must not be zero"):
        _offer(records_root="0x" + "00" * 32)
    with pytest.raises(ValidationError, match="deadline"):
        _offer(issued_at=30)


def test_an_offer_survives_its_eip712_message() -> None:
    offer = _offer(licence="CC-BY-4.0")
    assert act.DatasetOffer.from_message(offer.message()) == offer
    typed = offer.typed_data(31337, POLICY)
    assert typed["domain"]["name"] == act.POLICY_DOMAIN_NAME
    assert len(offer.digest(31337, POLICY)) == 32
    assert offer.digest(31337, POLICY) != offer.digest(1, POLICY)


def test_hashes_are_normalised_to_lowercase() -> None:
    revoke = act.RevokeDataset(dataset_id="0x" + "AB" * 32)
    assert revoke.dataset_id == "0x" + "ab" * 32


# ---------------------------------------------------------------- decoding what is not ours


def test_an_unknown_selector_decodes_as_a_raw_call() -> None:
    data = Web3.keccak(text="renounceOwnership()")[:4]
    (decoded,) = act.decode([POLICY], [0], [data], ADDRESSES)
    assert decoded == act.RawCall(target=POLICY, value=0, calldata="0x" + data.hex())
    assert decoded.selector == "0x" + data.hex()


def test_our_call_to_another_target_decodes_as_a_raw_call() -> None:
    _, _, (data,) = act.encode([act.RevokeDataset(dataset_id=H1)], ADDRESSES)
    (decoded,) = act.decode([ELSEWHERE], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)
    assert decoded.selector == "0x" + Web3.keccak(text="revokeDataset(bytes32)")[:4].hex()


def test_a_call_with_value_decodes_as_a_raw_call() -> None:
    _, _, (data,) = act.encode([act.RevokeDataset(dataset_id=H1)], ADDRESSES)
    (decoded,) = act.decode([POLICY], [5], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)
    assert decoded.value == 5


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda d: d[:-1], id="truncated"),
        pytest.param(lambda d: d + b"\0" * 32, id="trailing-bytes"),
    ],
)
def test_calldata_that_does_not_reencode_exactly_decodes_as_a_raw_call(mutate: Any) -> None:
    _, _, (data,) = act.encode([act.RevokeDataset(dataset_id=H1)], ADDRESSES)
    (decoded,) = act.decode([POLICY], [0], [mutate(data)], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_a_threshold_on_an_unknown_metric_decodes_as_a_raw_call() -> None:
    selector = Web3.keccak(text="setThreshold(bytes32,int256,uint8)")[:4]
    data = selector + abi_encode(
        ["bytes32", "int256", "uint8"], [b"made_up_metric".ljust(32, b"\0"), 1, 0]
    )
    (decoded,) = act.decode([POLICY], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_granting_another_role_decodes_as_a_raw_call() -> None:
    registry = Web3.to_checksum_address(ADDRESSES.audit_registry)
    data = Web3.keccak(text="grantRole(bytes32,address)")[:4] + abi_encode(
        ["bytes32", "address"], [b"\0" * 32, ELSEWHERE]
    )
    (decoded,) = act.decode([registry], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_a_proposal_threshold_in_fractions_of_tokens_decodes_as_a_raw_call() -> None:
    governor = Web3.to_checksum_address(ADDRESSES.governor)
    data = Web3.keccak(text="setProposalThreshold(uint256)")[:4] + abi_encode(
        ["uint256"], [10**18 + 1]
    )
    (decoded,) = act.decode([governor], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_a_raw_call_selector_must_match_its_calldata() -> None:
    with pytest.raises(ValidationError, match="first four bytes"):
        act.RawCall(target=ELSEWHERE, calldata="0xdeadbeef", selector="0x12345678")


# ---------------------------------------------------------------- validation


def test_an_unknown_metric_is_refused_with_its_code() -> None:
    with pytest.raises(UnknownMetric) as caught:
        act.SetThreshold(metric="roc_auc_score", value=Decimal("0.1"), direction="upper")
    assert caught.value.code == "unknown_metric"
    assert caught.value.details == {"metric": "roc_auc_score"}


def test_a_metric_longer_than_32_bytes_is_refused() -> None:
    with pytest.raises(InvalidMetricName, match="33 bytes"):
        act.ClearThreshold(metric="x" * 33)
    assert act.metric_to_bytes32("y" * 32) == b"y" * 32


@pytest.mark.parametrize("name", ["", "parité", "a\0b"])
def test_a_metric_name_that_is_not_plain_ascii_is_refused(name: str) -> None:
    with pytest.raises(InvalidMetricName):
        act.metric_to_bytes32(name)


@pytest.mark.parametrize(
    ("value", "units"),
    [("0", 0), ("0.1", 100_000), ("1", 1_000_000), ("0.000001", 1), ("12.5", 12_500_000)],
)
def test_fixed_point_conversion(value: str, units: int) -> None:
    assert act.to_fixed(Decimal(value)) == units
    assert act.from_fixed(units) == Decimal(value)
    assert len(str(act.from_fixed(units)).split(".")[1]) == 6


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("0.0000001", "more than six decimals"),
        ("-0.0000001", "more than six decimals"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        (str(2**255), "too large"),
        (str(-(2**255)), "too small"),
    ],
)
def test_values_that_do_not_fit_fixed_point_are_refused(value: str, problem: str) -> None:
    with pytest.raises(InvalidThresholdValue, match=problem):
        act.to_fixed(Decimal(value))


@pytest.mark.parametrize("value", ["0.1000001", "-0.1000001"])
def test_thresholds_that_do_not_fit_are_refused_with_their_code(value: str) -> None:
    with pytest.raises(InvalidThresholdValue) as caught:
        act.SetThreshold(metric="statistical_parity_difference", value=Decimal(value),
                         direction="lower")  # fmt: skip
    assert caught.value.code == "invalid_threshold_value"


@pytest.mark.parametrize(
    ("value", "units"),
    [("-0.1", -100_000), ("-1", -1_000_000), ("-0.000001", -1), ("-12.5", -12_500_000)],
)
def test_negative_values_are_signed_fixed_point(value: str, units: int) -> None:
    assert act.to_fixed(Decimal(value)) == units
    assert act.from_fixed(units) == Decimal(value)


@pytest.mark.parametrize("name", ["statistical_parity_difference", "average_odds_difference"])
def test_a_directional_metric_takes_a_negative_bound_encoded_as_int256(name: str) -> None:
    bound = act.SetThreshold(metric=name, value=Decimal("-0.1"), direction="lower")
    (_, _, (data,)) = act.encode([bound], ADDRESSES)
    assert data[:4] == Web3.keccak(text="setThreshold(bytes32,int256,uint8)")[:4]
    assert data[36:68] == (2**256 - 100_000).to_bytes(32, "big")  # two's complement
    assert roundtrip([bound]) == [bound]
    assert act.describe(bound) == f"Set threshold {name} >= -0.1"


@pytest.mark.parametrize(
    ("name", "value", "direction", "outcome"),
    [
        (DP, "-0.1", "upper", "no model could ever meet it"),
        (DP, "-0.1", "lower", "no model could ever fail it"),
        ("disparate_impact", "-0.2", "lower", "no model could ever fail it"),
        ("statistical_parity_difference", "-1.1", "lower", "no model could ever fail it"),
        ("average_odds_difference", "1.5", "lower", "no model could ever meet it"),
        ("accuracy", "1.01", "upper", "no model could ever fail it"),
    ],
)
def test_a_bound_outside_the_metric_values_is_refused_with_its_code(
    name: str, value: str, direction: str, outcome: str
) -> None:
    with pytest.raises(ThresholdOutOfRange, match=re.escape(outcome)) as caught:
        act.SetThreshold(metric=name, value=Decimal(value), direction=direction)
    assert caught.value.code == "threshold_out_of_range"
    assert "propose a bound in that range" in str(caught.value)
    assert "\n" not in str(caught.value)
    negative_hint = "only directional metrics such as statistical_parity_difference go below 0"
    assert (negative_hint in str(caught.value)) == (
        Decimal(value) < 0 and METRICS[name].value_range[0] >= 0
    )


def test_the_range_edges_are_bounds() -> None:
    for name, edge in [(DP, "0"), (DP, "1"), ("statistical_parity_difference", "-1")]:
        assert act.SetThreshold(metric=name, value=Decimal(edge), direction="upper").value == (
            Decimal(edge)
        )


def test_an_out_of_range_threshold_made_elsewhere_decodes_as_a_raw_call() -> None:
    selector = Web3.keccak(text="setThreshold(bytes32,int256,uint8)")[:4]
    data = selector + abi_encode(
        ["bytes32", "int256", "uint8"], [DP.encode().ljust(32, b"\0"), -100_000, 0]
    )
    (decoded,) = act.decode([POLICY], [0], [data], ADDRESSES)
    assert isinstance(decoded, act.RawCall)


def test_trailing_zeros_are_not_extra_decimals() -> None:
    threshold = act.SetThreshold(metric=DP, value=Decimal("0.10000000"), direction="upper")
    assert threshold.value == Decimal("0.1")


@pytest.mark.parametrize(
    ("strategy", "constraint"),
    [
        ("none", "demographic_parity"),
        ("threshold_optimizer", ""),
        ("exponentiated_gradient", ""),
        ("threshold_optimizer", "error_rate_parity"),
        ("exponentiated_gradient", "equal_opportunity"),
    ],
)
def test_mitigations_fairlearn_cannot_run_are_refused(strategy: Any, constraint: str) -> None:
    with pytest.raises(InvalidMitigation) as caught:
        act.SetMitigation(strategy=strategy, constraint=constraint)
    assert caught.value.code == "invalid_mitigation"


def test_every_allowed_constraint_is_one_fairlearn_accepts() -> None:
    from fairlearn import reductions
    from fairlearn.postprocessing._threshold_optimizer import ALL_CONSTRAINTS

    assert set(act.CONSTRAINTS["threshold_optimizer"]) <= set(ALL_CONSTRAINTS)
    moments = {
        "demographic_parity": reductions.DemographicParity,
        "equalized_odds": reductions.EqualizedOdds,
        "true_positive_rate_parity": reductions.TruePositiveRateParity,
        "false_positive_rate_parity": reductions.FalsePositiveRateParity,
        "error_rate_parity": reductions.ErrorRateParity,
    }
    assert set(act.CONSTRAINTS["exponentiated_gradient"]) == set(moments)


@pytest.mark.parametrize(
    "build",
    [
        lambda: act.SetVotingPeriod(blocks=0),
        lambda: act.UpdateQuorumNumerator(percent=101),
        lambda: act.SetVotingDelay(blocks=2**48),
        lambda: act.SetProposalThreshold(tokens=-1),
        lambda: _offer(content_hash="0x" + "0" * 64),
        lambda: act.GrantAuditor(account="0x1234"),
    ],
)  # fmt: skip
def test_settings_the_contracts_would_refuse_are_refused(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


# ---------------------------------------------------------------- summaries


@pytest.mark.parametrize(
    ("action", "summary"),
    [
        (
            act.SetThreshold(metric=DP, value=Decimal("0.1"), direction="upper"),
            "Set threshold demographic_parity_difference <= 0.1",
        ),
        (
            act.SetThreshold(
                metric="equalized_odds_ratio", value=Decimal("0.8"), direction="lower"
            ),
            "Set threshold equalized_odds_ratio >= 0.8",
        ),
        (
            act.SetThreshold(
                metric="statistical_parity_difference", value=Decimal("-0.1"), direction="lower"
            ),
            "Set threshold statistical_parity_difference >= -0.1",
        ),
        (act.ClearThreshold(metric=DP), "Clear threshold demographic_parity_difference"),
        (act.SetMitigation(strategy="none"), "Set mitigation none"),
        (
            act.SetMitigation(strategy="threshold_optimizer", constraint="equalized_odds"),
            "Set mitigation threshold_optimizer with constraint equalized_odds",
        ),
        (act.SetVotingPeriod(blocks=20), "Set voting period to 20 blocks"),
        (act.UpdateQuorumNumerator(percent=10), "Set quorum to 10% of the token supply"),
        (act.SetProposalThreshold(tokens=5), "Set proposal threshold to 5 tokens"),
        (act.RevokeAuditor(account=ELSEWHERE), f"Revoke the auditor role from {ELSEWHERE}"),
        (act.RevokeDataset(dataset_id=H1), f"Revoke dataset {H1}"),
        (
            act.RawCall(target=ELSEWHERE, value=7, calldata="0xdeadbeef01"),
            f"Raw call to {ELSEWHERE}: function 0xdeadbeef, 5 bytes of calldata, value 7 wei",
        ),
    ],
)
def test_describe(action: act.Action, summary: str) -> None:
    assert act.describe(action) == summary


def test_describe_names_a_dataset_when_the_name_is_known() -> None:
    allow = act.AllowDataset(offer=_offer(), provider_signature="0x12", name="loans-v1")
    assert act.describe(allow).startswith(f"Allow dataset loans-v1 ({allow.dataset_id}) offered")


def test_a_known_call_must_say_how_to_encode_decode_and_summarise_itself():
    from governance.actions._models import KnownCall

    class Incomplete(KnownCall):
        contract = "policy"
        signature = "setNothing()"

        def args(self) -> tuple[Any, ...]:
            return ()

    with pytest.raises(TypeError, match="abstract"):
        Incomplete()
