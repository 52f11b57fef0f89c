"""Inline SVG line charts of each group's rates across cutoffs (the report's cutoff sweep);
no scripts, no external resources, every text escaped."""

from __future__ import annotations

import math
from html import escape

from audit.render._common import fmt, num
from audit.report_model import CutoffSweepView
from audit.violations import group_label

WIDTH, HEIGHT = 420, 260
LEFT, RIGHT, TOP, BOTTOM = 44, 130, 30, 34
PALETTE = ("#3b6ea8", "#c2571a", "#2e8b57", "#8e44ad", "#b8860b", "#c0392b", "#16a085", "#555")
RATES = (
    ("selection_rate", "Selection rate"),
    ("true_positive_rate", "True positive rate"),
    ("false_positive_rate", "False positive rate"),
)
MAX_LINES = len(PALETTE)


def _xy(cutoff: float, rate: float, low: float, high: float) -> tuple[float, float]:
    span = (high - low) or 1.0
    x = LEFT + (cutoff - low) / span * (WIDTH - LEFT - RIGHT)
    y = TOP + (1.0 - rate) * (HEIGHT - TOP - BOTTOM)
    return x, y


def _path(cutoffs: list[float], rates: list[float], low: float, high: float) -> str:
    """Polyline segments; an undefined rate (NaN) breaks the line."""
    parts, pen = [], "M"
    for c, r in zip(cutoffs, rates, strict=True):
        if math.isnan(r):
            pen = "M"
            continue
        x, y = _xy(c, r, low, high)
        parts.append(f"{pen}{x:.1f},{y:.1f}")
        pen = "L"
    return " ".join(parts)


def _axes(low: float, high: float) -> list[str]:
    out = []
    for i in range(5):
        rate = i / 4
        _, y = _xy(low, rate, low, high)
        out.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{fmt(rate, 2)}</text>"
        )
        cutoff = low + (high - low) * i / 4
        x, _ = _xy(cutoff, 0.0, low, high)
        out.append(
            f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" fill="#555">'
            f"{fmt(cutoff, 2)}</text>"
        )
    out.append(
        f'<text x="{(LEFT + WIDTH - RIGHT) / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
        "cutoff (score &#8805; cutoff is positive)</text>"
    )
    return out


def sweep_chart(sweep: CutoffSweepView, rate: str, title: str) -> str:
    """One rate: a line per group (the first eight groups by size) across the cutoffs."""
    cutoffs = [num(c) for c in sweep.cutoffs]
    low, high = min(cutoffs), max(cutoffs)
    groups = sorted(sweep.groups, key=lambda g: -g.count)[:MAX_LINES]
    body = _axes(low, high)
    for i, group in enumerate(groups):
        colour = PALETTE[i]
        rates = [num(v) for v in getattr(group, rate)]
        body.append(
            f'<path d="{_path(cutoffs, rates, low, high)}" fill="none" stroke="{colour}" '
            'stroke-width="2"/>'
        )
        y = TOP + 14 * i + 8
        label = group_label(group.group)
        label = label if len(label) <= 18 else label[:17] + "\u2026"
        body.append(
            f'<line x1="{WIDTH - RIGHT + 8}" y1="{y - 4}" x2="{WIDTH - RIGHT + 22}" '
            f'y2="{y - 4}" stroke="{colour}" stroke-width="3"/>'
            f'<text x="{WIDTH - RIGHT + 26}" y="{y}">{escape(label)}</text>'
        )
    return (
        f'<svg role="img" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'font-family="sans-serif" font-size="11"><title>{escape(title)}</title>'
        f'<text x="0" y="14" font-weight="bold" font-size="13">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def sweep_charts(sweep: CutoffSweepView) -> str:
    """The three charts (selection rate, TPR, FPR), one figure each."""
    return "".join(f"<figure>{sweep_chart(sweep, rate, title)}</figure>" for rate, title in RATES)
