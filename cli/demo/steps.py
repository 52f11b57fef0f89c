"""The demo's steps, one section each: register the dataset, delegate, a proposal's life (propose,
vote, execute), audits, and verifying the report."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from cli._checks import CheckLine, checks_table
from cli._errors import fail
from cli.demo.client import DemoClient, Json, address_of
from cli.demo.stage import (
    AUDITOR_KEY,
    DATASET,
    FINAL_FAILURES,
    HOLDER_KEYS,
    METRIC,
    MODEL,
    POLL_SECONDS,
    PROVIDER_KEY,
    VOTES,
    Demo,
    DemoTimeout,
    Votes,
    console,
    progress_bar,
    short,
    tokens,
)
from core.canonical import sha256_hex
from core.settings import DEV_PRIVATE_KEYS

# -- 1. the dataset -------------------------------------------------------------------------


def _find_operator(client: DemoClient) -> tuple[str, str]:
    for key in DEV_PRIVATE_KEYS:
        token = client.login(key)
        if client.me(token)["operator"]:
            return key, token
    raise fail(
        "no development account is an operator of this API: restart `fairgov run` with "
        f"FAIRGOV_OPERATORS={address_of(DEV_PRIVATE_KEYS[0])}"
    )


def register_dataset(demo: Demo) -> Json:
    """Write the biased synthetic dataset, sign in as an operator and register its manifest;
    its provider offers it. Returns the checked ``allow_dataset`` action."""
    from audit.synthetic import write_loans_csv

    demo.heading("Register biased loan datasets; their providers offer them")
    csv = write_loans_csv(demo.out_dir / f"{DATASET}.csv")
    console.print(f"wrote 4,000 synthetic loan applications to {csv}")
    console.print("  group B's historical approvals were pushed down by 0.4 (the injected bias)")
    key, demo.operator_token = _find_operator(demo.client)
    console.print(f"signed in with Ethereum (EIP-4361) as operator {address_of(key)}")
    bias = "synthetic loan approvals with injected bias against group B"
    return offer_dataset(demo, csv, DATASET, PROVIDER_KEY, bias)


def offer_dataset(demo: Demo, csv: Path, name: str, provider_key: str, description: str) -> Json:
    """Commit every record of ``csv``, register its manifest as the signed-in operator, and
    have ``provider_key`` sign an offer of it; returns the checked ``allow_dataset`` action."""
    from audit.manifest import build_manifest
    from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE

    manifest = build_manifest(
        csv,
        name=name,
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        licence="CC0-1.0",
        description=description,
        salts_path=demo.out_dir / f"{name}.salts",
    )
    console.print(f"committed every record with a salt: records root {manifest.records_root}")
    created = demo.client.register_dataset(
        json.loads(manifest.canonical_json()), demo.operator_token
    )
    stored = created["manifest"]
    demo.dataset_ids[name] = str(stored["dataset_id"])
    console.print(f"registered [bold]{name}[/]: dataset id {short(stored['dataset_id'])}")
    console.print(f"  content sha256 {stored['content_hash']}")
    console.print(f"  manifest hash  {stored['manifest_hash']}")
    accepted = demo.client.offer(provider_key, stored["manifest_hash"], name)
    console.print(
        f"its provider {address_of(provider_key)} signed an offer (EIP-712) in their wallet; "
        "the policy contract checked it"
    )
    allow: Json = accepted["action"]
    return allow


# -- 2. delegation --------------------------------------------------------------------------


def delegate(demo: Demo) -> None:
    """Each holder signs a gasless delegation to itself; wait until the votes count."""
    demo.heading("Token holders delegate their votes (EIP-712, gasless)")
    expiry = int(time.time()) + 3600
    for key in HOLDER_KEYS:
        holder = address_of(key)
        if demo.client.voter(holder)["delegate"] == holder:
            console.print(f"{holder} already delegates to itself")
            continue
        relay = demo.client.delegate(key, holder, expiry)
        console.print(
            f"{holder} signed a delegation to itself: relay #{relay['id']} {relay['status']}"
        )

    def powers() -> tuple[list[Json] | None, str]:
        voters = [demo.client.voter(address_of(k)) for k in HOLDER_KEYS]
        ready = sum(int(v["voting_power"]) > 0 for v in voters)
        return (voters if ready == len(voters) else None), f"{ready}/{len(voters)} holders can vote"

    voters = demo.wait(
        "relaying the delegations", powers, "is the scheduler running (relay_outbox)?"
    )
    table = Table(show_header=True, title_justify="left")
    for column in ("holder", "tokens", "voting power"):
        table.add_column(column, justify="right" if column != "holder" else "left")
    for voter in voters:
        table.add_row(voter["address"], tokens(voter["balance"]), tokens(voter["voting_power"]))
    console.print(table)


# -- 3 to 5, and 7: a proposal's life ---------------------------------------------------------


def propose(demo: Demo, description: str, actions: list[Json]) -> str:
    """The first holder prepares, signs and submits a proposal; returns its id."""
    proposer = HOLDER_KEYS[0]
    stamped = f"{description} (demo {time.strftime('%Y-%m-%d %H:%M:%S')})"
    submitted = demo.client.propose(proposer, stamped, actions)
    proposal_id = str(submitted["proposal_id"])
    console.print(f"{address_of(proposer)} signed the propose transaction; fairgov broadcasts it")
    console.print(f"proposal [bold]{short(proposal_id)}[/] (id {proposal_id})")
    for summary in submitted["summaries"]:
        console.print(f"  • {escape(summary)}")
    return proposal_id


def vote(demo: Demo, proposal_id: str, votes: Votes = VOTES) -> None:
    """Wait until voting opens, then each holder signs a ballot; wait until they are mined."""

    def active() -> tuple[Json | None, str]:
        proposal = demo.client.proposal(proposal_id)
        if proposal is None:
            return None, "waiting for the proposal to be mined and indexed"
        state = str(proposal["state"])
        if state not in {"Pending", "Active"}:
            raise fail(f"proposal {proposal_id} is {state} before anyone voted")
        return (
            proposal if state == "Active" else None
        ), f"{state}, snapshot block {proposal['snapshot']}"

    demo.wait("opening the vote", active, "is the chain mining blocks and the scheduler syncing?")
    relays: list[Json] = []
    for key, (support, reason) in zip(HOLDER_KEYS, votes, strict=True):
        relay = demo.client.vote(key, proposal_id, support, reason)
        relays.append(relay)
        said = escape(f' ("{reason}")') if reason else ""
        label = "[green]for[/]" if support == 1 else "[red]against[/]"
        console.print(f"{address_of(key)} votes {label}{said}: signed ballot, relay #{relay['id']}")

    wait_relayed(demo, relays, "ballots")


def wait_relayed(demo: Demo, relays: list[Json], what: str) -> None:
    """Wait until the relayer has every one of ``relays`` confirmed on chain."""

    def mined() -> tuple[bool | None, str]:
        records = [demo.client.relay(int(r["id"])) for r in relays]
        failed = [r for r in records if r["status"] == "failed"]
        if failed:
            raise fail(f"{what} relay #{failed[0]['id']} failed: {failed[0]['error']}")
        done = sum(r["status"] == "confirmed" for r in records)
        return (True if done == len(records) else None), f"{done}/{len(records)} {what} on chain"

    demo.wait(f"relaying the {what}", mined, "is the scheduler running (relay_outbox)?")


def follow(demo: Demo, proposal_id: str, *, until: str) -> Json:
    """Follow the proposal's vote with a progress bar until it reaches state ``until``."""
    with progress_bar() as progress:
        task = progress.add_task("voting", total=None)
        deadline = time.monotonic() + demo.timeout
        while True:
            proposal = demo.client.proposal(proposal_id)
            assert proposal is not None  # it was indexed before anyone voted
            state = str(proposal["state"])
            block = int(demo.client.governance()["block"])
            tallies = proposal["tallies"]
            line = (
                f"{state}: block {block}, deadline {proposal['deadline']}, for "
                f"{tokens(tallies['for_votes'])} / against {tokens(tallies['against_votes'])}"
            )
            start = int(proposal["snapshot"])
            progress.update(
                task,
                description=line,
                total=max(1, int(proposal["deadline"]) - start),
                completed=min(max(0, block - start), int(proposal["deadline"]) - start),
            )
            if state == until:
                return proposal
            if state in FINAL_FAILURES | {"Executed"}:
                raise fail(
                    f"proposal {proposal_id} ended {state}, where the story expected {until}"
                )
            if time.monotonic() > deadline:
                raise DemoTimeout(
                    f"proposal {proposal_id} reaching {until} (it is {state})",
                    demo.timeout,
                    "is the keeper on (FAIRGOV_KEEPER_ENABLED) and the chain mining?",
                )
            time.sleep(POLL_SECONDS)


def execute(demo: Demo, proposal_id: str) -> Json:
    """Follow the proposal through the vote's end, the keeper's queue and execution."""
    proposal = follow(demo, proposal_id, until="Executed")
    _print_outcome(proposal)
    return proposal


def _print_outcome(proposal: Json) -> None:
    tallies = proposal["tallies"]
    console.print(
        f"tally: [green]for {tokens(tallies['for_votes'])}[/], [red]against "
        f"{tokens(tallies['against_votes'])}[/], abstain {tokens(tallies['abstain_votes'])} "
        f"(quorum {tokens(proposal['quorum'] or 0)}, reached: {proposal['quorum_reached']})"
    )
    console.print(
        f"the keeper queued it in block {proposal['queued_block']} and executed it in block "
        f"{proposal['executed_block']}: [bold green]Executed[/]"
    )


def pass_proposal(demo: Demo, description: str, actions: list[Json]) -> str:
    """Propose, vote and wait for execution, without headings (for step 7)."""
    proposal_id = propose(demo, description, actions)
    vote(demo, proposal_id)
    execute(demo, proposal_id)
    return proposal_id


# -- 6 and 8: audits ----------------------------------------------------------------------


def audit(demo: Demo, expect: str, spec: Json | None = None) -> Json:
    """Start an audit of ``spec`` (default: the demo's model on its dataset) over HTTP and
    follow it to its verdict."""
    spec = spec or {"name": MODEL, "dataset": DATASET, "n_boot": 100}
    policy = demo.client.policy()
    mitigation = policy["mitigation"]
    console.print(
        f"policy version {policy['policy_version']}: mitigation {mitigation['strategy']}"
        + (f" ({mitigation['constraint']})" if mitigation["constraint"] else "")
    )
    console.print(_evidence_line(policy))
    run_id = demo.client.start_audit(spec, demo.operator_token)
    console.print(
        f"audit run {short(run_id)} started (train {spec['name']}, check, report, anchor)"
    )

    def finished() -> tuple[Json | None, str]:
        summary = demo.client.audit(run_id)
        status = str(summary["status"])
        return (None if status in {"queued", "running"} else summary), status

    summary = demo.wait("auditing", finished, "is the API's audit worker busy or stuck?")
    if summary["status"] != "completed":
        raise fail(
            f"audit run {run_id} {summary['status']}: "
            f"{summary.get('error') or summary['error_code']}"
        )
    _print_verdict(demo, summary, expect)
    return summary


def _evidence_line(policy: Json) -> str:
    """The voted evidence rule that judges the demo's metric, as one line."""
    override = next((r for r in policy["evidence_overrides"] if r["metric"] == METRIC), None)
    rule = override or policy["evidence"]
    level = float(rule["confidence_level"])
    outcome = "blocks" if rule["on_inconclusive"] == "block" else "approves with a warning"
    source = "voted for this metric" if override else "the default rule"
    return (
        f"evidence rule for {METRIC} ({source}): {level:.0%} intervals, groups of at least "
        f"{rule['min_group_size']} rows, denominators of at least {rule['min_denominator']}; "
        f"INCONCLUSIVE {outcome} the model"
    )


def _print_verdict(demo: Demo, summary: Json, expect: str) -> None:
    verdict = str(summary["verdict"])
    colour = "green" if verdict == "PASS" else "red" if verdict == "FAIL" else "yellow"
    console.print(checks_table(CheckLine.of_summary(c) for c in summary["checks"] or []))
    gate = next(
        (m for m in demo.client.models()["data"] if m["latest_run_id"] == summary["run_id"]), None
    )
    console.print(f"verdict: [bold {colour}]{verdict}[/]")
    if gate is not None:
        console.print(f"model gate: {gate['status']} ({escape(str(gate['reason']))})")
    console.print(
        f"report hash {summary['report_hash']} anchored in block {summary['anchor_block']} "
        f"(tx {short(str(summary['anchor_tx']))})"
    )
    if verdict != expect:
        console.print(f"[yellow]the story expected {expect} here[/]")


# -- 9. the report ------------------------------------------------------------------------


def verify_report(demo: Demo, summary: Json) -> Path:
    """As an auditor, download the report, check it against the chain and save its HTML."""
    run_id = str(summary["run_id"])
    token = demo.client.login(AUDITOR_KEY)
    if not demo.client.me(token)["auditor"]:
        raise fail(
            f"development account 9 ({address_of(AUDITOR_KEY)}) holds no AUDITOR_ROLE here: "
            "add it to FAIRGOV_AUDITORS"
        )
    console.print(f"signed in as auditor {address_of(AUDITOR_KEY)}")
    response = demo.client.report(run_id, "json", token)
    local = sha256_hex(response.content)
    verification = demo.client.verification(run_id)
    compared = {
        "ETag": response.headers.get("etag", "").strip('"'),
        "X-Fairgov-Report-Hash": response.headers.get("x-fairgov-report-hash", ""),
        "audit summary report_hash": str(summary["report_hash"]),
        "AuditRegistry (on chain)": str(verification.get("anchored_hash")),
    }
    console.print(f"sha256 of the downloaded report.json: {local}")
    for name, value in compared.items():
        mark = "[green]✓ equals[/]" if value == local else "[red]✗ differs from[/]"
        console.print(f"  {mark} {name}: {value}")
    mismatched = [name for name, value in compared.items() if value != local]
    if mismatched or not verification["ok"]:
        raise fail(
            f"the report of run {run_id} does not match {', '.join(mismatched) or 'its anchor'} "
            f"(verification: {verification['status']})"
        )
    console.print(
        f"report [bold green]verified[/] against AuditRegistry {verification['registry']} on "
        f"chain {verification['chain_id']} (block {verification['block_number']}, auditor "
        f"{verification['auditor']})"
    )
    html = demo.client.report(run_id, "html", token)
    path = demo.out_dir / f"report-{run_id[2:14]}.html"
    path.write_bytes(html.content)
    console.print(f"HTML report saved: {path.resolve().as_uri()}")
    console.print(f"  (API, auditors only: {demo.client.base_url}/v1/reports/{run_id}.html)")
    return path
