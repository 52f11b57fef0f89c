"""AuditRegistry: auditors anchor report hashes once per run; the DAO decides who audits."""

import pytest
from dao import ZERO_HASH, action, sha256_hex, text_id
from reverts import assert_custom_error

MODEL = sha256_hex(b"model v1 (skops)")
OTHER_MODEL = sha256_hex(b"model v2 (skops)")
LOANS = text_id("loans-2024")
MAX_UINT = 2**256 - 1


def run_id(n):
    return text_id(f"run-{n}")


def report(n):
    return sha256_hex(f"report {n}".encode())


def publish(registry, auditor, n, *, model=MODEL, passed=True, version=1):
    return registry.publish(run_id(n), model, LOANS, report(n), version, passed, {"from": auditor})


def test_publishing_records_the_audit(registry, auditor):
    tx = publish(registry, auditor, 1, passed=False, version=7)

    assert dict(tx.events["AuditPublished"][0]) == {
        "runId": run_id(1),
        "modelHash": MODEL,
        "datasetId": LOANS,
        "reportHash": report(1),
        "policyVersion": 7,
        "passed": False,
        "auditor": auditor,
    }
    assert registry.getAudit(run_id(1)).dict() == {
        "modelHash": MODEL,
        "datasetId": LOANS,
        "reportHash": report(1),
        "policyVersion": 7,
        "passed": False,
        "auditor": auditor,
        "blockNumber": tx.block_number,
        "timestamp": tx.timestamp,
    }
    assert registry.isPublished(run_id(1))
    assert registry.auditCount() == 1


def test_only_auditors_publish(registry, holders, deployer, timelock, impersonate):
    role = registry.AUDITOR_ROLE()
    for account in (holders[0], deployer, impersonate(timelock)):
        assert_custom_error(
            lambda account=account: publish(registry, account, 1),
            "AccessControlUnauthorizedAccount(address,bytes32)",
            account.address,
            role,
        )
    assert not registry.isPublished(run_id(1))
    assert registry.auditCount() == 0


def test_a_run_publishes_once(registry, auditor, newcomers, timelock, impersonate):
    second_auditor = newcomers[0]
    registry.grantRole(registry.AUDITOR_ROLE(), second_auditor, {"from": impersonate(timelock)})
    publish(registry, auditor, 1, passed=True)

    for account in (auditor, second_auditor):
        assert_custom_error(
            lambda account=account: registry.publish(
                run_id(1), OTHER_MODEL, LOANS, report(2), 2, False, {"from": account}
            ),
            "AuditRegistryAlreadyPublished(bytes32)",
            run_id(1),
        )
    assert registry.getAudit(run_id(1))["reportHash"] == report(1)
    assert registry.getAudit(run_id(1))["passed"] is True
    assert registry.auditCount() == 1


@pytest.mark.parametrize("zero", ["runId", "modelHash", "datasetId", "reportHash"])
def test_every_hash_is_required(registry, auditor, zero):
    args = {"runId": run_id(1), "modelHash": MODEL, "datasetId": LOANS, "reportHash": report(1)}
    args[zero] = ZERO_HASH

    assert_custom_error(
        lambda: registry.publish(*args.values(), 1, True, {"from": auditor}),
        "AuditRegistryZeroHash()",
    )
    assert registry.auditCount() == 0


def test_the_latest_verdict_follows_the_newest_publication(registry, auditor):
    publish(registry, auditor, 1, passed=True)
    publish(registry, auditor, 2, model=OTHER_MODEL, passed=True)
    publish(registry, auditor, 3, passed=False)

    run, audit = registry.latestVerdict(MODEL)
    assert run == run_id(3)
    assert audit["passed"] is False
    assert audit["reportHash"] == report(3)
    assert registry.latestVerdict(OTHER_MODEL)[0] == run_id(2)

    publish(registry, auditor, 4, passed=True)
    assert registry.latestVerdict(MODEL)[0] == run_id(4)
    assert registry.latestVerdict(MODEL)[1]["passed"] is True


def test_unknown_runs_and_models_revert(registry, auditor):
    publish(registry, auditor, 1)

    assert_custom_error(
        lambda: registry.getAudit(run_id(2)), "AuditRegistryUnknownRun(bytes32)", run_id(2)
    )
    assert_custom_error(
        lambda: registry.latestVerdict(OTHER_MODEL),
        "AuditRegistryUnknownModel(bytes32)",
        OTHER_MODEL,
    )
    assert not registry.isPublished(run_id(2))


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (0, 2, [0, 1]),
        (2, 2, [2, 3]),
        (4, 2, [4]),
        (5, 1, []),
        (9, 3, []),
        (0, 0, []),
        (0, 100, [0, 1, 2, 3, 4]),
        (3, MAX_UINT, [3, 4]),
        (MAX_UINT, MAX_UINT, []),
    ],
)
def test_run_ids_page_in_publication_order(registry, auditor, start, count, expected):
    for n in range(5):
        publish(registry, auditor, n)

    assert list(registry.runIds(start, count)) == [run_id(n) for n in expected]


def test_the_dao_grants_the_auditor_role(lifecycle, registry, newcomers, deployer):
    newcomer = newcomers[0]
    role = registry.AUDITOR_ROLE()
    assert_custom_error(
        lambda: registry.grantRole(role, newcomer, {"from": deployer}),
        "AccessControlUnauthorizedAccount(address,bytes32)",
        deployer.address,
        registry.DEFAULT_ADMIN_ROLE(),
    )

    _, tx = lifecycle.pass_and_execute(
        [action(registry.grantRole, role, newcomer)], "Make the newcomer an auditor"
    )

    assert tx.events["RoleGranted"]["account"] == newcomer
    publish(registry, newcomer, 1)
    assert registry.getAudit(run_id(1))["auditor"] == newcomer


def test_the_dao_revokes_the_auditor_role(lifecycle, registry, auditor):
    role = registry.AUDITOR_ROLE()

    lifecycle.pass_and_execute([action(registry.revokeRole, role, auditor)], "Remove the auditor")

    assert_custom_error(
        lambda: publish(registry, auditor, 1),
        "AccessControlUnauthorizedAccount(address,bytes32)",
        auditor.address,
        role,
    )
