"""Inline SVG bar charts (no scripts, no external resources); every text is escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from audit.render._common import VERDICT_COLOURS, check_words, fmt, num
from audit.report_model import CheckView

BAR_COLOUR = "#3b6ea8"
SMALL_COLOUR = "#9aa5b1"
LABEL_WIDTH = 230
PLOT_WIDTH = 360
VALUE_WIDTH = 70
ROW = 24
TOP = 30

Bar = tuple[str, float, float, float, bool]


def _x(value: float, scale: float) -> float:
    return LABEL_WIDTH + max(0.0, min(value, scale)) / scale * PLOT_WIDTH


def _clip(text: str, limit: int = 34) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _svg(height: int, title: str, body: list[str]) -> str:
    width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH
    return (
        f'<svg role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">'
        f"<title>{escape(title)}</title>"
        f'<text x="0" y="16" font-weight="bold" font-size="13">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _whisker(low: float, high: float, y: float, scale: float) -> str:
    if math.isnan(low) or math.isnan(high):
        return ""
    x1, x2 = _x(low, scale), _x(high, scale)
    return (
        f'<g stroke="#222" stroke-width="1.4"><line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" '
        f'y2="{y:.1f}"/><line x1="{x1:.1f}" y1="{y - 5:.1f}" x2="{x1:.1f}" y2="{y + 5:.1f}"/>'
        f'<line x1="{x2:.1f}" y1="{y - 5:.1f}" x2="{x2:.1f}" y2="{y + 5:.1f}"/></g>'
    )


def _axis(height: int, scale: float) -> list[str]:
    parts = []
    for i in range(5):
        tick = scale * i / 4
        x = _x(tick, scale)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height - 18}" stroke="#ddd"/>'
            f'<text x="{x:.1f}" y="{height - 4}" text-anchor="middle" fill="#555">'
            f"{fmt(tick, 2)}</text>"
        )
    return parts


def group_bars(title: str, bars: Sequence[Bar]) -> str:
    """A horizontal bar per group with its confidence interval as a whisker.

    Groups too small to judge are drawn grey and marked "(small)".
    """
    finite = [v for b in bars for v in b[1:4] if not math.isnan(v)]
    scale = max([1.0, *finite]) if finite else 1.0
    height = TOP + ROW * len(bars) + 24
    body = _axis(height, scale)
    for i, (label, value, low, high, small) in enumerate(bars):
        y = TOP + i * ROW
        name = _clip(label) + (" (small)" if small else "")
        body.append(
            f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
        )
        if not math.isnan(value):
            width = _x(value, scale) - LABEL_WIDTH
            colour = SMALL_COLOUR if small else BAR_COLOUR
            body.append(
                f'<rect x="{LABEL_WIDTH}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" '
                f'fill="{colour}"/>'
            )
        body.append(_whisker(low, high, y + ROW / 2, scale))
        body.append(
            f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 6}" y="{y + 15}">{escape(fmt(value))}</text>'
        )
    return _svg(height, title, body)


def check_bar(check: CheckView) -> str:
    """One check: the measured value as a bar coloured by verdict, the bound as a dashed line."""
    threshold = check.threshold
    value, bound = num(check.value), float(threshold.bound)
    ci = check.ci
    low = num(None if ci is None else ci.low)
    high = num(None if ci is None else ci.high)
    finite = [v for v in (value, bound, low, high) if not math.isnan(v) and not math.isinf(v)]
    scale = max([1.0, *finite]) * (1.0 if max([1.0, *finite]) == 1.0 else 1.15)
    colour = VERDICT_COLOURS[check.verdict]
    height = TOP + ROW + 44
    y = TOP + 6
    title = f"{check_words(threshold)}: {check.verdict}"
    body = _axis(height, scale)
    body.append(f'<text x="{LABEL_WIDTH - 6}" y="{y + 15}" text-anchor="end">measured value</text>')
    if not math.isnan(value):
        body.append(
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{_x(value, scale) - LABEL_WIDTH:.1f}" '
            f'height="{ROW - 6}" fill="{colour}"/>'
        )
    body.append(_whisker(low, high, y + ROW / 2, scale))
    bx = _x(bound, scale)
    word = "max" if threshold.direction == "upper" else "min"
    body.append(
        f'<line x1="{bx:.1f}" y1="{y - 6}" x2="{bx:.1f}" y2="{y + ROW + 6}" stroke="#000" '
        f'stroke-width="2.5" stroke-dasharray="5,3"/>'
        f'<text x="{bx:.1f}" y="{y + ROW + 18}" text-anchor="middle" font-weight="bold">'
        f"{word} {escape(fmt(bound))}</text>"
        f'<text x="{LABEL_WIDTH + PLOT_WIDTH + 6}" y="{y + 15}" fill="{colour}" '
        f'font-weight="bold">{escape(fmt(value))}</text>'
    )
    return _svg(height, title, body)
