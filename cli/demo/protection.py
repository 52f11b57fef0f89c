"""The demo's steps on minority protection: a 60 % majority fails to loosen the bound it
needs two thirds for (after the impact preview showed what it would let through), and the
fairness guardian cancels a second attempt."""

from __future__ import annotations

import math
from decimal import Decimal

from rich.markup import escape
from rich.table import Table

from cli._errors import fail
from cli.demo.client import Json, address_of
from cli.demo.stage import (
    GUARDIAN_KEY,
    METRIC,
    SIXTY_PERCENT,
    Demo,
    console,
    short,
    tokens,
)
from cli.demo.steps import follow, propose, vote

_CHANGE_STYLE = {"fail_to_pass": "bold red", "pass_to_fail": "green"}


def looser_bound(failed_audit: Json) -> str:
    """A bound on the demo's metric loose enough that the failed model would pass, within
    the metric's values (a bound above 1 would be refused as out of range)."""
    check = next(c for c in failed_audit["checks"] or [] if c["metric"] == METRIC)
    value = float(check["value"])
    return str(min(Decimal(math.ceil((value + 0.15) * 20)) / 20, Decimal(1)))


def _raise_bound(bound: str) -> list[Json]:
    return [{"kind": "set_threshold", "metric": METRIC, "value": bound, "direction": "upper"}]


def _print_impact(impact: Json) -> None:
    console.print(f"classification: {escape(impact['rules']['summary'])}")
    console.print(f"veto: {escape(impact['rules']['veto_deadline'])}")
    table = Table(title="impact on the audited models (from their stored evidence)")
    for column in ("model", "verdict now → after", "gate now → after", "change"):
        table.add_column(column)
    for model in impact["models"]:
        style = _CHANGE_STYLE.get(str(model["change"]), "")
        after = model["previewed_verdict"] or "?"
        status_after = model["previewed_status"] or "?"
        change = f"[{style}]{model['change']}[/]" if style else str(model["change"])
        table.add_row(
            f"{model['model_name']} {short(model['model_hash'])}",
            f"{model['current_verdict']} → {after}",
            f"{model['current_status']} → {status_after}",
            change,
        )
    console.print(table)
    let_through = [m for m in impact["models"] if m["change"] == "fail_to_pass"]
    if let_through:
        names = ", ".join(f"{m['model_name']} {short(m['model_hash'])}" for m in let_through)
        console.print(
            f"[bold red]it would let through {len(let_through)} blocked model(s)[/]: {names}"
        )


def majority_fails(demo: Demo, failed_audit: Json) -> str:
    """Preview raising the bound, propose it, and see 60 % of the votes fall short of 2/3."""
    bound = looser_bound(failed_audit)
    demo.heading(f"A 60% majority tries to raise the {METRIC} bound to {bound}")
    actions = _raise_bound(bound)
    _print_impact(demo.client.impact(actions))
    proposal_id = propose(demo, f"Raise {METRIC} bound to {bound}", actions)
    vote(demo, proposal_id, SIXTY_PERCENT)
    proposal = follow(demo, proposal_id, until="Defeated")
    tallies = proposal["tallies"]
    cast = int(tallies["for_votes"]) + int(tallies["against_votes"])
    share = int(tallies["for_votes"]) / cast if cast else 0.0
    needed = proposal["protection"]["majority_needed"]
    console.print(
        f"tally: [green]for {tokens(tallies['for_votes'])}[/] ({share:.0%} of the votes cast), "
        f"[red]against {tokens(tallies['against_votes'])}[/]; a loosening proposal needs "
        f"{needed['numerator']}/{needed['denominator']}: [bold red]Defeated[/]"
    )
    return proposal_id


def guardian_cancels(demo: Demo) -> str:
    """A second loosening attempt (clearing the bound) is cancelled by the guardian."""
    demo.heading("The fairness guardian cancels a second loosening attempt")
    guardian = demo.client.protection()["guardian"]
    if guardian is None or guardian.lower() != address_of(GUARDIAN_KEY).lower():
        raise fail(
            f"the governor's guardian is {guardian}, not development account 6 "
            f"({address_of(GUARDIAN_KEY)}): deploy with the default configuration"
        )
    actions: list[Json] = [{"kind": "clear_threshold", "metric": METRIC}]
    proposal_id = propose(demo, f"Clear the {METRIC} bound", actions)

    def indexed() -> tuple[Json | None, str]:
        return demo.client.proposal(proposal_id), "waiting for the proposal to be mined and indexed"

    shown = demo.wait("indexing the proposal", indexed, "is the scheduler syncing the chain?")
    console.print(f"classification: {', '.join(shown['protection']['changes'])}; the guardian acts")
    relay = demo.client.guardian_cancel(GUARDIAN_KEY, proposal_id)
    console.print(
        f"guardian {guardian} signed cancel(); fairgov broadcasts it: relay #{relay['relay']['id']}"
    )
    follow(demo, proposal_id, until="Canceled")
    console.print(f"proposal {short(proposal_id)}: [bold]Canceled[/] by the fairness guardian")
    return proposal_id
