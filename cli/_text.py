"""Text from users' data shown on the console exactly as it is."""

from __future__ import annotations

from rich.markup import escape


def literal(value: object) -> str:
    """``value`` as literal console text: control characters shown as escapes, rich markup
    escaped (group names, paths and records come from the user's data: ``[/]`` or ``[bold]``
    in a group name crashed or vanished, an ESC sequence reached the terminal).

    Examples
    --------
    >>> literal("a[bold]\\x1b")
    'a\\\\[bold]\\\\x1b'
    """
    return escape("".join(c if c.isprintable() else repr(c)[1:-1] for c in str(value)))


#: Base units per token: the governance and reward tokens have 18 decimals.
TOKEN = 10**18


def tokens(amount: int | str) -> str:
    """Base units as tokens, exactly: grouped whole tokens and every decimal that is not zero,
    so a small tally never reads 0.00 (review, session 26).

    Examples
    --------
    >>> tokens(400_000 * 10**18), tokens(15 * 10**17), tokens(1), tokens(0)
    ('400,000', '1.5', '0.000000000000000001', '0')
    """
    whole, fraction = divmod(int(amount), TOKEN)
    decimals = f"{fraction:018d}".rstrip("0")
    return f"{whole:,}" + (f".{decimals}" if decimals else "")


def moment(timestamp: int, now: int) -> str:
    """A unix time as UTC ISO 8601, and how long from ``now`` (both in seconds).

    Examples
    --------
    >>> moment(1_767_225_600, 1_767_225_600 - 3_725)
    '2026-01-01T00:00:00Z (in 1 h 2 min)'
    >>> moment(1_767_225_600, 1_767_225_600 + 59)
    '2026-01-01T00:00:00Z (59 s ago)'
    """
    from datetime import UTC, datetime

    stamp = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    left = timestamp - now
    if left == 0:
        return f"{stamp} (now)"
    span = _span(abs(left))
    return f"{stamp} (in {span})" if left > 0 else f"{stamp} ({span} ago)"


def _span(seconds: int) -> str:
    """A duration in its two largest units: ``3 d 4 h``, ``1 h 2 min``, ``59 s``."""
    units = (("d", 86_400), ("h", 3_600), ("min", 60), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count or parts:
            parts.append(f"{count} {name}")
        if len(parts) == 2:
            break
    return " ".join(p for p in parts if not p.startswith("0 ")) or "0 s"
