"""``fairgov demo``: the whole governed audit loop, driven over the HTTP API like a real client.

A biased dataset is registered, the token holders delegate and vote to allow it with a
fairness threshold, the audit FAILs, the holders vote a mitigation, the audit PASSes, and
an auditor downloads the report and checks it against the chain. The demo signs everything
locally with the development chain's well-known keys, so it runs only on a local chain.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Final, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli._demo_client import ApiRefused, ApiUnreachable, DemoClient, Json, address_of
from cli._errors import fail, friendly_errors
from core.settings import DEV_PRIVATE_KEYS, LOCAL_CHAIN_IDS, Settings

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)

STEPS: Final = 9
DATASET: Final = "loans-demo"
MODEL: Final = "loans-demo-lr"
METRIC: Final = "demographic_parity_difference"
BOUND: Final = "0.1"
EVIDENCE: Final = {
    "confidence_level": "0.95",
    "min_group_size": 30,
    "min_denominator": 10,
    "on_inconclusive": "block",
}
HOLDER_KEYS: Final = DEV_PRIVATE_KEYS[1:5]
AUDITOR_KEY: Final = DEV_PRIVATE_KEYS[9]
#: For, for, for, against: the first three holders outvote the fourth.
VOTES: Final = ((1, "fairness must be measured"), (1, None), (1, None), (0, "too strict"))
FINAL_FAILURES: Final = frozenset({"Defeated", "Canceled", "Expired"})
_POLL_SECONDS: Final = 0.5
_WEI: Final = 10**18
_INTERRUPTED: Final = 130


class DemoTimeout(Exception):
    """A wait did not end within its bound."""

    def __init__(self, what: str, seconds: float, hint: str) -> None:
        super().__init__(f"{what} did not happen within {seconds:g} s: {hint}")


@dataclass
class Demo:
    """One run of the story: the client, its bounds, and what it has learned so far."""

    client: DemoClient
    timeout: float
    out_dir: Path
    step: int = 0
    operator_token: str = ""

    def heading(self, title: str) -> None:
        """Start the next numbered step of the story."""
        self.step += 1
        console.print()
        console.rule(f"[bold]{self.step}/{STEPS}  {title}", align="left")

    def wait(self, what: str, poll: Callable[[], tuple[T | None, str]], hint: str) -> T:
        """Poll until ``poll`` returns a value, showing its status line; bounded by timeout."""
        deadline = time.monotonic() + self.timeout
        with _progress() as progress:
            task = progress.add_task(what, total=None)
            while True:
                value, status = poll()
                progress.update(task, description=f"{what}: {status}")
                if value is not None:
                    return value
                if time.monotonic() > deadline:
                    raise DemoTimeout(what, self.timeout, hint)
                time.sleep(_POLL_SECONDS)


def _progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        TimeElapsedColumn(),
        console=console,
    )


def _tokens(wei: str | int) -> str:
    return f"{int(wei) // _WEI:,}"


def _short(value: str) -> str:
    return f"{value[:10]}…{value[-4:]}" if len(value) > 16 else value


# -- setting the stage ----------------------------------------------------------------------


def _default_url(settings: Settings) -> str:
    try:
        record = json.loads(settings.run_file.read_text("utf-8"))
        return str(record["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        raise fail(
            f"no running fairgov found ({settings.run_file} is missing or unreadable): "
            "start one with `fairgov run`, or pass --url"
        ) from None


def _check_local_chain(client: DemoClient) -> Json:
    governance = client.governance()
    try:
        chain_id = int(governance["chain_id"])
    except (KeyError, TypeError, ValueError):
        raise ApiUnreachable(client.base_url, "/v1/governance names no chain id") from None
    if chain_id not in LOCAL_CHAIN_IDS:
        raise fail(
            f"the API at {client.base_url} is on chain {chain_id}: the demo signs with public "
            "development keys and runs only on a local chain (31337 or 1337)"
        )
    return governance


def _intro(client: DemoClient, governance: Json) -> None:
    voting = governance["voting"]
    console.print(
        f"[bold]fairgov demo[/] against {client.base_url} (chain {governance['chain_id']})"
    )
    console.print(
        f"governor {governance['addresses']['governor']}: voting delay {voting['voting_delay']} "
        f"block(s), voting period {voting['voting_period']} blocks, quorum "
        f"{voting['quorum_numerator']}%, timelock {voting['timelock_delay']} s"
    )


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
    """Write the biased synthetic dataset, sign in as an operator and register its manifest."""
    from audit.manifest import build_manifest
    from audit.synthetic import LABEL, POSITIVE_LABEL, SENSITIVE, write_loans_csv

    demo.heading("Register a biased loan dataset")
    csv = write_loans_csv(demo.out_dir / f"{DATASET}.csv")
    console.print(f"wrote 4,000 synthetic loan applications to {csv}")
    console.print("  group B's historical approvals were pushed down by 0.4 (the injected bias)")
    manifest = build_manifest(
        csv,
        name=DATASET,
        label=LABEL,
        positive_label=POSITIVE_LABEL,
        sensitive_features=list(SENSITIVE),
        licence="CC0-1.0",
        description="synthetic loan approvals with injected bias against group B",
    )
    key, demo.operator_token = _find_operator(demo.client)
    console.print(f"signed in with Ethereum (EIP-4361) as operator {address_of(key)}")
    created = demo.client.register_dataset(
        json.loads(manifest.canonical_json()), demo.operator_token
    )
    stored = created["manifest"]
    console.print(f"registered [bold]{DATASET}[/]: dataset id {_short(stored['dataset_id'])}")
    console.print(f"  content sha256 {stored['content_hash']}")
    console.print(f"  manifest hash  {stored['manifest_hash']}")
    allow: Json = created["allow_action"]
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
        table.add_row(voter["address"], _tokens(voter["balance"]), _tokens(voter["voting_power"]))
    console.print(table)


# -- 3 to 5, and 7: a proposal's life ---------------------------------------------------------


def propose(demo: Demo, description: str, actions: list[Json]) -> str:
    """The first holder prepares, signs and submits a proposal; returns its id."""
    proposer = HOLDER_KEYS[0]
    stamped = f"{description} (demo {time.strftime('%Y-%m-%d %H:%M:%S')})"
    submitted = demo.client.propose(proposer, stamped, actions)
    proposal_id = str(submitted["proposal_id"])
    console.print(f"{address_of(proposer)} signed the propose transaction; fairgov broadcasts it")
    console.print(f"proposal [bold]{_short(proposal_id)}[/] (id {proposal_id})")
    for summary in submitted["summaries"]:
        console.print(f"  • {escape(summary)}")
    return proposal_id


def vote(demo: Demo, proposal_id: str) -> None:
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
    for key, (support, reason) in zip(HOLDER_KEYS, VOTES, strict=True):
        relay = demo.client.vote(key, proposal_id, support, reason)
        relays.append(relay)
        said = escape(f' ("{reason}")') if reason else ""
        label = "[green]for[/]" if support == 1 else "[red]against[/]"
        console.print(f"{address_of(key)} votes {label}{said}: signed ballot, relay #{relay['id']}")

    def mined() -> tuple[bool | None, str]:
        records = [demo.client.relay(int(r["id"])) for r in relays]
        failed = [r for r in records if r["status"] == "failed"]
        if failed:
            raise fail(f"ballot relay #{failed[0]['id']} failed: {failed[0]['error']}")
        done = sum(r["status"] == "confirmed" for r in records)
        return (True if done == len(records) else None), f"{done}/{len(records)} ballots on chain"

    demo.wait("relaying the ballots", mined, "is the scheduler running (relay_outbox)?")


def execute(demo: Demo, proposal_id: str) -> Json:
    """Follow the proposal through the vote's end, the keeper's queue and execution."""
    with _progress() as progress:
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
                f"{_tokens(tallies['for_votes'])} / against {_tokens(tallies['against_votes'])}"
            )
            start = int(proposal["snapshot"])
            progress.update(
                task,
                description=line,
                total=max(1, int(proposal["deadline"]) - start),
                completed=min(max(0, block - start), int(proposal["deadline"]) - start),
            )
            if state == "Executed":
                break
            if state in FINAL_FAILURES:
                raise fail(f"proposal {proposal_id} ended {state}: the holders did not pass it")
            if time.monotonic() > deadline:
                raise DemoTimeout(
                    f"proposal {proposal_id} reaching Executed (it is {state})",
                    demo.timeout,
                    "is the keeper on (FAIRGOV_KEEPER_ENABLED) and the chain mining?",
                )
            time.sleep(_POLL_SECONDS)
    _print_outcome(proposal)
    return proposal


def _print_outcome(proposal: Json) -> None:
    tallies = proposal["tallies"]
    console.print(
        f"tally: [green]for {_tokens(tallies['for_votes'])}[/], [red]against "
        f"{_tokens(tallies['against_votes'])}[/], abstain {_tokens(tallies['abstain_votes'])} "
        f"(quorum {_tokens(proposal['quorum'] or 0)}, reached: {proposal['quorum_reached']})"
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


def audit(demo: Demo, expect: str) -> Json:
    """Start an audit of the model over HTTP and follow it to its verdict."""
    spec = {"name": MODEL, "dataset": DATASET, "n_boot": 100}
    policy = demo.client.policy()
    mitigation = policy["mitigation"]
    console.print(
        f"policy version {policy['policy_version']}: mitigation {mitigation['strategy']}"
        + (f" ({mitigation['constraint']})" if mitigation["constraint"] else "")
    )
    console.print(_evidence_line(policy))
    run_id = demo.client.start_audit(spec, demo.operator_token)
    console.print(f"audit run {_short(run_id)} started (train {MODEL}, check, report, anchor)")

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


def _violation(check: Json) -> float:
    value, bound = check.get("value"), check.get("bound")
    if value is None or bound is None:
        return float("inf")
    return float(value) - float(bound) if check["direction"] == "upper" else float(bound) - value


def _print_verdict(demo: Demo, summary: Json, expect: str) -> None:
    verdict = str(summary["verdict"])
    colour = "green" if verdict == "PASS" else "red" if verdict == "FAIL" else "yellow"
    table = Table(title="checks, worst first", title_justify="left")
    for column in ("metric", "bound", "measured", "verdict"):
        table.add_column(column)
    for check in sorted(summary["checks"] or [], key=_violation, reverse=True):
        sign = "≤" if check["direction"] == "upper" else "≥"
        value = "n/a" if check["value"] is None else f"{float(check['value']):.4f}"
        style = "green" if check["verdict"] == "PASS" else "red"
        table.add_row(
            check["metric"], f"{sign} {check['bound']}", value, f"[{style}]{check['verdict']}[/]"
        )
    console.print(table)
    gate = next(
        (m for m in demo.client.models()["data"] if m["latest_run_id"] == summary["run_id"]), None
    )
    console.print(f"verdict: [bold {colour}]{verdict}[/]")
    if gate is not None:
        console.print(f"model gate: {gate['status']} ({escape(str(gate['reason']))})")
    console.print(
        f"report hash {summary['report_hash']} anchored in block {summary['anchor_block']} "
        f"(tx {_short(str(summary['anchor_tx']))})"
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
    local = "0x" + hashlib.sha256(response.content).hexdigest()
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


# -- the story --------------------------------------------------------------------------


def _story(demo: Demo) -> None:
    allow = register_dataset(demo)
    delegate(demo)

    demo.heading("Propose: allow the dataset and bound demographic parity")
    actions: list[Json] = [
        allow,
        {"kind": "set_threshold", "metric": METRIC, "value": BOUND, "direction": "upper"},
        # The evidence that bound is judged on is voted with it; INCONCLUSIVE blocks.
        {"kind": "set_evidence_rule", "metric": METRIC, **EVIDENCE},
    ]
    if demo.client.policy()["mitigation"]["strategy"] != "none":
        actions.append({"kind": "set_mitigation", "strategy": "none", "constraint": ""})
    first = propose(demo, f"Allow {DATASET}; {METRIC} <= {BOUND}, 95% evidence", actions)

    demo.heading("Holders sign and send their votes (EIP-712 ballots, gasless)")
    vote(demo, first)
    demo.heading("The keeper queues and executes the proposal")
    execute(demo, first)

    demo.heading("The audit runs on the allowed data")
    failed = audit(demo, expect="FAIL")

    demo.heading("Propose and pass a mitigation: ThresholdOptimizer(demographic_parity)")
    mitigation = {
        "kind": "set_mitigation",
        "strategy": "threshold_optimizer",
        "constraint": "demographic_parity",
    }
    second = pass_proposal(demo, "Mitigate bias with ThresholdOptimizer", [mitigation])

    demo.heading("The audit runs again under the mitigation")
    passed = audit(demo, expect="PASS")

    demo.heading("An auditor downloads the report and verifies it against the chain")
    html = verify_report(demo, passed)
    _summary(demo, [first, second], [failed, passed], html)


def _summary(demo: Demo, proposals: list[str], audits: list[Json], html: Path) -> None:
    console.print()
    console.rule("[bold]what happened", align="left")
    for label, proposal_id in zip(("allow + threshold", "mitigation"), proposals, strict=True):
        console.print(f"proposal ({label}): {proposal_id} [green]Executed[/]")
    for label, summary in zip(("before", "after"), audits, strict=True):
        console.print(
            f"audit {label} mitigation: [bold]{summary['verdict']}[/] "
            f"{demo.client.base_url}/v1/audits/{summary['run_id']}"
        )
    console.print(f"report: verified on chain, saved at {html.resolve().as_uri()}")


@contextmanager
def _one_line_failures(url: str) -> Iterator[None]:
    try:
        yield
    except ApiUnreachable as exc:
        raise fail(f"{exc}: start the stack with `fairgov run`, or check --url") from None
    except ApiRefused as exc:
        raise fail(f"the API refused a demo step: {exc}") from None
    except DemoTimeout as exc:
        raise fail(f"{exc} (or raise --timeout)") from None
    except KeyboardInterrupt:
        console.print("demo interrupted: what was already signed may still be relayed")
        raise typer.Exit(_INTERRUPTED) from None


@friendly_errors
def demo(
    url: Annotated[
        str | None,
        typer.Option(help="The fairgov API. Default: the one `fairgov run` recorded in run.json."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds each wait may take before the demo gives up.")
    ] = 300.0,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the dataset and the HTML report. Default: <data dir>/demo."
        ),
    ] = None,
) -> None:
    """Run the whole loop against a running local stack over its HTTP API: register a biased
    dataset, vote to allow it, see the audit FAIL, vote a mitigation, see it PASS, and verify
    the report against the chain."""
    settings = Settings()
    base_url = url or _default_url(settings)
    out_dir = (out or settings.data_dir / "demo").expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with DemoClient(base_url) as client, _one_line_failures(base_url):
        governance = _check_local_chain(client)
        _intro(client, governance)
        _story(Demo(client=client, timeout=timeout, out_dir=out_dir))
    console.print(f"[bold green]demo complete[/] in {time.monotonic() - started:.0f} s")
