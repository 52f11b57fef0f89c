"""The demo's data providers: a second provider offers a dataset, a model trained on both
datasets earns them a reward that each claims gaslessly, and the first provider withdraws
their dataset, which blocks the model until the scheduler retrains it on what remains."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from rich.markup import escape
from rich.table import Table

from cli._errors import fail
from cli.demo.client import Json, address_of, node_call
from cli.demo.stage import (
    AUDITOR_KEY,
    DATASET,
    POOLED_MODEL,
    PROVIDER_KEY,
    REWARD_FUNDING,
    SECOND_DATASET,
    SECOND_PROVIDER_KEY,
    SECOND_SEED,
    WEI,
    Demo,
    console,
    short,
)
from cli.demo.steps import audit, offer_dataset, wait_relayed

PROVIDER_KEYS = (PROVIDER_KEY, SECOND_PROVIDER_KEY)


def amount(wei: str | int) -> str:
    """Base units as whole tokens with two decimals."""
    whole, rest = divmod(int(wei), WEI)
    return f"{whole:,}.{rest * 100 // WEI:02d}"


# -- 1. the second provider ---------------------------------------------------------------


def offer_second(demo: Demo) -> Json:
    """Write the second provider's dataset (same schema, another seed), register it and have
    its provider offer it; returns the checked ``allow_dataset`` action."""
    from audit.synthetic import write_loans_csv

    csv = write_loans_csv(demo.out_dir / f"{SECOND_DATASET}.csv", seed=SECOND_SEED)
    console.print()
    console.print(
        f"a second provider wrote 4,000 more loan applications (seed {SECOND_SEED}) to {csv}"
    )
    return offer_dataset(
        demo, csv, SECOND_DATASET, SECOND_PROVIDER_KEY, "more synthetic loan approvals"
    )


def fund_rewards() -> Json:
    """The action that moves the providers' reward budget from the treasury."""
    return {"kind": "fund_rewards", "tokens": REWARD_FUNDING}


# -- 12. a model on both datasets ---------------------------------------------------------


def pooled_audit(demo: Demo) -> Json:
    """Train and audit one model on both providers' datasets; it must PASS to be rewarded."""
    demo.heading("A model trained on both providers' datasets")
    # A new name each time: on a stack that ran the demo before, the model of that name
    # already has a version on the remaining dataset, and would not be retrained.
    name = f"{POOLED_MODEL}-{time.strftime('%H%M%S')}"
    spec = {"name": name, "datasets": [DATASET, SECOND_DATASET], "n_boot": 100}
    console.print(escape(f"spec {name}: datasets [{DATASET}, {SECOND_DATASET}] (8,000 rows)"))
    summary = audit(demo, expect="PASS", spec=spec)
    if summary["verdict"] != "PASS":
        raise fail(f"{name} did not pass ({summary['verdict']}): nobody is rewarded")
    return summary


# -- 13 and 14. the reward ----------------------------------------------------------------


def _reward_of(demo: Demo, key: str, run_id: str) -> Json | None:
    found = demo.client.rewards(address_of(key))["data"]
    return next((r for r in found if r["run_id"] == run_id), None)


def reward(demo: Demo, run: Json) -> list[Json]:
    """Wait for the scheduler to post the run's reward root, then out its challenge window."""
    demo.heading("The providers' reward is posted, then its challenge window passes")
    run_id = str(run["run_id"])

    def posted() -> tuple[list[Json] | None, str]:
        found = [_reward_of(demo, key, run_id) for key in PROVIDER_KEYS]
        ready = [r for r in found if r is not None]
        done = None if len(ready) < len(found) else ready
        return done, f"{len(ready)}/{len(found)} providers have a reward for run {short(run_id)}"

    rewards = demo.wait(
        "the scheduler posting the reward root",
        posted,
        "is the scheduler running (post_rewards), and is the rewards contract funded?",
    )
    epoch = int(rewards[0]["epoch"])
    ends = int(rewards[0]["challenge_ends"])
    console.print(
        f"epoch {epoch} posted to ProviderRewards: statement sha256 {rewards[0]['statement_hash']}"
    )
    for key, row in zip(PROVIDER_KEYS, rewards, strict=True):
        console.print(f"  {address_of(key)}: {amount(row['amount'])} tokens (split by rows)")
    when = datetime.fromtimestamp(ends, UTC).strftime("%H:%M:%S UTC")
    console.print(
        f"its challenge window ends at chain time {ends} ({when}); until then the guardian "
        "may cancel the root, and nobody can claim"
    )
    _pass_the_window(demo, ends)

    def claimable() -> tuple[list[Json] | None, str]:
        found = [_reward_of(demo, key, run_id) for key in PROVIDER_KEYS]
        statuses = [str(r["status"]) if r else "missing" for r in found]
        if "cancelled" in statuses:
            raise fail(f"reward epoch {epoch} was cancelled during its challenge window")
        done = [r for r in found if r is not None and r["status"] == "claimable"]
        status = f"{', '.join(sorted(set(statuses)))}; chain time {_chain_time(demo)}"
        return (done if len(done) == len(found) else None), status

    return demo.wait("the challenge window", claimable, "is the chain mining blocks?")


def _chain_time(demo: Demo) -> int:
    assert demo.rpc_url is not None  # _pass_the_window checked it
    latest = node_call(demo.rpc_url, "eth_getBlockByNumber", ["latest", False])
    return int(str(latest["timestamp"]), 16)


def _pass_the_window(demo: Demo, ends: int) -> None:
    """Move the local chain's clock past ``ends``: between transactions the development
    chain mines no blocks, so its time would not reach the end of the window by itself."""
    if demo.rpc_url is None:
        raise fail(
            "the demo needs the local chain's JSON-RPC URL to move its clock past the "
            "challenge window: pass --rpc-url (run.json records it)"
        )
    seconds = ends - _chain_time(demo)
    if seconds <= 0:
        return
    node_call(demo.rpc_url, "evm_increaseTime", [seconds])
    node_call(demo.rpc_url, "evm_mine", [])
    console.print(
        f"[yellow]a local chain mines only when something happens: the demo moves its clock "
        f"{seconds} s forward (anvil evm_increaseTime, then evm_mine). On a public chain the "
        "window simply passes.[/]"
    )


def claim(demo: Demo, rewards: list[Json]) -> None:
    """Each provider signs a claim in their wallet; the relayer sends it; balances rise."""
    demo.heading("Each provider claims their share gaslessly (EIP-712; the relayer pays)")
    addresses = [address_of(key) for key in PROVIDER_KEYS]
    before = [int(demo.client.voter(a)["balance"]) for a in addresses]
    relays = []
    for key, row in zip(PROVIDER_KEYS, rewards, strict=True):
        relay = demo.client.claim(key, int(row["epoch"]))
        relays.append(relay)
        console.print(
            f"{address_of(key)} signed a claim of {amount(row['amount'])} tokens for epoch "
            f"{row['epoch']}: relay #{relay['id']}"
        )
    wait_relayed(demo, relays, "claims")
    after = [int(demo.client.voter(a)["balance"]) for a in addresses]
    table = Table(title="the providers' token balances", title_justify="left")
    for column in ("provider", "before", "after", "claimed"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for address, old, new in zip(addresses, before, after, strict=True):
        table.add_row(address, amount(old), amount(new), f"[green]+{amount(new - old)}[/]")
    console.print(table)
    short_paid = [
        a
        for a, r, o, n in zip(addresses, rewards, before, after, strict=True)
        if n - o != int(r["amount"])
    ]
    if short_paid:
        raise fail(f"{short_paid[0]}'s balance did not rise by its reward after the claim")


# -- 15 and 16. withdrawal and retraining -------------------------------------------------


def _version(demo: Demo, name: str, model_hash: str) -> Json | None:
    versions = demo.client.models()["data"]
    return next((m for m in versions if m["name"] == name and m["model_hash"] == model_hash), None)


def withdraw(demo: Demo, run: Json) -> Json:
    """The first provider withdraws their dataset by signature; the model is blocked."""
    demo.heading(f"The first provider withdraws {DATASET} (EIP-712, gasless)")
    name = str(run["model_name"])
    provider = address_of(PROVIDER_KEY)
    relay = demo.client.withdraw(PROVIDER_KEY, demo.dataset_ids[DATASET])
    console.print(
        f"{provider} signed a withdrawal of {DATASET} in their wallet: relay #{relay['id']}"
    )
    wait_relayed(demo, [relay], "withdrawal")

    def blocked() -> tuple[Json | None, str]:
        version = _version(demo, name, str(run["model_hash"]))
        status = "not listed" if version is None else str(version["status"])
        return (version if status == "blocked" else None), f"{name} {status}"

    version = demo.wait(
        "the next sync blocking the model", blocked, "is the scheduler running (sync_chain)?"
    )
    console.print(
        f"GET /v1/models: {name} {short(str(run['model_hash']))} "
        f"[bold red]blocked[/] at the gate ({escape(str(version['reason']))})"
    )
    return version


def retrained(demo: Demo, run: Json) -> Json:
    """Wait for the scheduler's retraining of ``run``'s model on the remaining dataset: the
    run whose report says it replaces ``run``. Show its verdict, gate and the withdrawal."""
    name = str(run["model_name"])
    demo.heading(f"The scheduler retrains {name} on {SECOND_DATASET} alone")
    token = demo.client.login(AUDITOR_KEY)
    checked: set[str] = {str(run["run_id"])}

    def replacement() -> tuple[tuple[Json, Json] | None, str]:
        for summary in demo.client.audits(name)["data"]:
            run_id = str(summary["run_id"])
            if run_id in checked:
                continue
            if summary["status"] in {"queued", "running"}:
                return None, f"run {short(run_id)} {summary['status']}"
            if summary["status"] == "completed" and summary["anchor_block"] is None:
                return None, f"run {short(run_id)} anchoring"
            checked.add(run_id)
            if summary["status"] != "completed":
                continue
            report = demo.client.report(run_id, "json", token).json()
            retraining = report.get("retraining") or {}
            if retraining.get("replaces_run_id") == run["run_id"]:
                return (summary, retraining), f"run {short(run_id)} completed"
        return None, "waiting for audit_on_policy_change to train a new version"

    summary, retraining = demo.wait(
        "the retraining", replacement, "is the scheduler running (audit_on_policy_change)?"
    )
    versions = demo.client.models()["data"]
    gate = next(
        m for m in versions if m["name"] == name and m["model_hash"] == summary["model_hash"]
    )
    colour = "green" if gate["status"] == "approved" else "red"
    console.print(
        f"run {short(str(summary['run_id']))}: verdict [bold]{summary['verdict']}[/], model "
        f"gate [bold {colour}]{gate['status']}[/] ({escape(str(gate['reason']))})"
    )
    for withdrawn in retraining["withdrawn"]:
        console.print(
            f"its report records the withdrawal: {withdrawn['dataset']} withdrawn by "
            f"{withdrawn['by']} {withdrawn['provider']} in block {withdrawn['block_number']} "
            f"(tx {short(withdrawn['tx_hash'])}, policy version {withdrawn['policy_version']})"
        )
    console.print(
        f"  it replaces run {short(retraining['replaces_run_id'])} and trained on "
        f"{', '.join(retraining['remaining'])}"
    )
    return summary
