"""The demo prints the same checks table as ``fairgov audit run``, from the API's summary."""

from __future__ import annotations

from rich.console import Console

from cli._checks import CheckLine, checks_table

RULE = {"confidence_level": 0.95, "min_group_size": 30, "min_denominator": 10}


def _summary(metric: str, value: float | None, verdict: str, **extra: object) -> dict[str, object]:
    return {
        "metric": metric,
        "direction": "upper",
        "bound": 0.1,
        "value": value,
        "ci": None,
        "verdict": verdict,
        "rows_needed": None,
        "evidence_rule": {**RULE, "on_inconclusive": "block"},
        **extra,
    }


def _printed(checks: list[dict[str, object]]) -> list[str]:
    console = Console(width=200, record=True)
    console.print(checks_table(CheckLine.of_summary(c) for c in checks))
    return console.export_text().splitlines()


def test_the_api_summary_shows_interval_bound_and_rows_needed_worst_first():
    ci = {"low": 0.02, "high": 0.19, "method": "newcombe", "confidence_level": 0.95}
    lines = _printed(
        [
            _summary("equalized_odds_difference", 0.05, "PASS"),
            _summary("demographic_parity_difference", 0.31, "FAIL"),
            _summary(
                "true_positive_rate_difference", 0.09, "INCONCLUSIVE", ci=ci, rows_needed=4321
            ),
        ]
    )
    rows = [line for line in lines if "difference" in line]
    assert [r.split()[1] for r in rows] == [
        "demographic_parity_difference",
        "true_positive_rate_difference",
        "equalized_odds_difference",
    ]
    assert "<= 0.100" in rows[0]
    assert "0.020 to 0.190 (95%)" in rows[1]
    assert "~4,321 rows per group" in rows[1]
    assert "rows per group" not in rows[0] + rows[2]
