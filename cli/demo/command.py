"""``fairgov demo`` itself: find the stack, check it is a local chain, tell the story, and turn
every failure into one line."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from cli._errors import fail, friendly_errors
from cli.demo.client import ApiRefused, ApiUnreachable, DemoClient, Json, NodeRefused
from cli.demo.preflight import check_stage
from cli.demo.protection import guardian_cancels, majority_fails
from cli.demo.providers import (
    claim,
    fund_rewards,
    offer_second,
    pooled_audit,
    retrained,
    reward,
    withdraw,
)
from cli.demo.stage import (
    BOUND,
    DATASET,
    EVIDENCE,
    INTERRUPTED,
    METRIC,
    SECOND_DATASET,
    Demo,
    DemoTimeout,
    console,
)
from cli.demo.steps import (
    audit,
    delegate,
    execute,
    pass_proposal,
    propose,
    register_dataset,
    verify_report,
    vote,
)
from core.settings import LOCAL_CHAIN_IDS, Settings

# -- setting the stage ----------------------------------------------------------------------


def _run_record(settings: Settings) -> Json:
    try:
        record = json.loads(settings.run_file.read_text("utf-8"))
        str(record["api_url"])
    except (OSError, ValueError, KeyError, TypeError):
        raise fail(
            f"no running fairgov found ({settings.run_file} is missing or unreadable): "
            "start one with `fairgov run`, or pass --url"
        ) from None
    found: Json = record
    return found


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


# -- the story --------------------------------------------------------------------------


def _story(demo: Demo) -> None:
    allow = register_dataset(demo)
    allow_second = offer_second(demo)
    delegate(demo)

    demo.heading("Propose: allow the datasets, fund the rewards, bound demographic parity")
    actions: list[Json] = [
        allow,
        allow_second,
        fund_rewards(),
        {"kind": "set_threshold", "metric": METRIC, "value": BOUND, "direction": "upper"},
        # The evidence that bound is judged on is voted with it; INCONCLUSIVE blocks.
        {"kind": "set_evidence_rule", "metric": METRIC, **EVIDENCE},
    ]
    if demo.client.policy()["mitigation"]["strategy"] != "none":
        actions.append({"kind": "set_mitigation", "strategy": "none", "constraint": ""})
    first = propose(
        demo,
        f"Allow {DATASET} and {SECOND_DATASET}; fund the providers' rewards; "
        f"{METRIC} <= {BOUND}, 95% evidence",
        actions,
    )

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
    defeated = majority_fails(demo, failed)
    canceled = guardian_cancels(demo)

    pooled = pooled_audit(demo)
    rewards = reward(demo, pooled)
    claim(demo, rewards)
    withdraw(demo, pooled)
    again = retrained(demo, pooled)

    _summary(demo, [first, second], [failed, passed], html)
    console.print(f"proposal (raise the bound, 60% for): {defeated} [red]Defeated[/]")
    console.print(f"proposal (clear the bound): {canceled} [yellow]Canceled[/] by the guardian")
    console.print(
        f"{pooled['model_name']} on both datasets: PASS, epoch {rewards[0]['epoch']} claimed "
        f"by both providers; blocked by the withdrawal of {DATASET}; retrained on "
        f"{SECOND_DATASET}: [bold]{again['verdict']}[/] "
        f"{demo.client.base_url}/v1/audits/{again['run_id']}"
    )


def _summary(demo: Demo, proposals: list[str], audits: list[Json], html: Path) -> None:
    console.print()
    console.rule("[bold]what happened", align="left")
    for label, proposal_id in zip(("allow, fund, bound", "mitigation"), proposals, strict=True):
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
    except NodeRefused as exc:
        raise fail(f"{exc}: is `fairgov run` still running, or check --rpc-url") from None
    except DemoTimeout as exc:
        raise fail(f"{exc} (or raise --timeout)") from None
    except KeyboardInterrupt:
        console.print("demo interrupted: what was already signed may still be relayed")
        raise typer.Exit(INTERRUPTED) from None


@friendly_errors
def demo(
    url: Annotated[
        str | None,
        typer.Option(help="The fairgov API. Default: the one `fairgov run` recorded in run.json."),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, help="Seconds each wait may take before the demo gives up.")
    ] = 300.0,
    rpc_url: Annotated[
        str | None,
        typer.Option(
            help="The local chain's JSON-RPC URL, to move its clock past the rewards' "
            "challenge window. Default: the one `fairgov run` recorded in run.json."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the dataset and the HTML report."
            " Default: demo/ in the data directory (FAIRGOV_DATA_DIR)."
        ),
    ] = None,
) -> None:
    """Run the whole loop against a running local stack over its HTTP API: register a biased
    dataset, vote to allow it, see the audit FAIL, vote a mitigation, see it PASS, and verify
    the report against the chain; then watch a 60% majority fail to loosen the bound (after
    previewing which models it would let through) and the guardian cancel a second try.
    Finally a model trained on two providers' datasets passes, both providers claim its reward
    gaslessly, and one withdraws their dataset: the model is blocked, then retrained on the
    other."""
    settings = Settings()
    record = _run_record(settings) if url is None else {}
    base_url = url or str(record["api_url"])
    rpc_url = rpc_url or record.get("rpc_url")
    out_dir = (out or settings.data_dir / "demo").expanduser().resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with DemoClient(base_url) as client, _one_line_failures(base_url):
        governance = _check_local_chain(client)
        check_stage(client)
        _intro(client, governance)
        _story(Demo(client=client, timeout=timeout, out_dir=out_dir, rpc_url=rpc_url))
    console.print(f"[bold green]demo complete[/] in {time.monotonic() - started:.0f} s")
