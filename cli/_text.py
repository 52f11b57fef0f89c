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
