"""Review of issue #15 (consent on TrainingPolicy), as an attacker. Each test asserts the
secure behaviour; a failing test shows a hole on main. Run it by path:
./dev.sh brownie test tests/review_consent.py"""

import pytest
from brownie.exceptions import VirtualMachineError
from consent import Provider
from dao import latest_time, offer
from signing import Signer


@pytest.fixture
def policy(standalone_policy):
    return standalone_policy


def test_a_withdrawn_file_cannot_come_back_under_another_id(
    policy, allow_as, eoa_provider, impersonate
):
    """The provider withdraws "loans"; a copier offers the very same file (same content and
    manifest hashes) as "loans-mirror" from their own key. The policy accepts it, so the
    withdrawn bytes pass verify_datasets again and train, and the copier is the provider the
    rewards pay (docs/consent.md only warns about names and about copies outside fairgov)."""
    original = offer("loans", eoa_provider.address, issued_at=latest_time() - 60)
    allow_as(eoa_provider, original)
    eoa_provider.withdraw(policy, original.dataset_id)
    assert not policy.isAllowed(original.dataset_id)

    copier_key = Signer.named("copier")
    copier = Provider(copier_key, impersonate(copier_key.address))
    mirror = offer("loans-mirror", copier.address).replace(
        content_hash=original.content_hash,
        manifest_hash=original.manifest_hash,
        records_root=original.records_root,
    )
    with pytest.raises(VirtualMachineError):
        allow_as(copier, mirror)


def test_an_offer_dated_zero_is_not_called_withdrawn(policy, allow_as, eoa_provider):
    """An offer with issuedAt 0 (a wallet that left the field empty) fails as
    TrainingPolicyConsentWithdrawn(id, 0, 0), so the service answers ``consent_withdrawn``
    ("issued at or before the provider's last withdrawal") for a dataset never withdrawn."""
    made = offer("loans", eoa_provider.address, issued_at=0).replace(deadline=latest_time() + 3600)
    with pytest.raises(VirtualMachineError) as refused:
        allow_as(eoa_provider, made)
    assert "TrainingPolicyConsentWithdrawn" not in str(refused.value)
