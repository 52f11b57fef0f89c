"""The reference (privileged) group of a predictions audit, as the CLI and the API name it.

Light on purpose (no Polars): the API validates its ``reference`` query parameter with it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from bias_checks import GroupCounts, InvalidParameterError, UnknownReferenceGroupError

#: ``"best"`` / ``"majority"`` (per metric), or one value (as text) per sensitive feature.
Reference: TypeAlias = Literal["best", "majority"] | Mapping[str, str]


def parse_reference(text: str) -> Reference:
    """Parse ``best``, ``majority`` or ``FEATURE=VALUE[,FEATURE=VALUE...]``.

    Raises
    ------
    InvalidParameterError
        The text has none of these forms, or names a feature twice.

    Examples
    --------
    >>> parse_reference("best")
    'best'
    >>> parse_reference("sex=male, race=A")
    {'sex': 'male', 'race': 'A'}
    """
    word = text.strip()
    if word in ("best", "majority"):
        return "best" if word == "best" else "majority"
    named: dict[str, str] = {}
    for part in word.split(","):
        feature, equals, value = (p.strip() for p in part.partition("="))
        if not (feature and equals and value) or feature in named:
            raise InvalidParameterError(
                f"The reference group {text!r} is not 'best', 'majority' or "
                "FEATURE=VALUE[,FEATURE=VALUE...] with each sensitive feature once.",
                parameter="reference",
            )
        named[feature] = value
    return named


def resolve_reference(
    reference: Reference, counts: GroupCounts
) -> Literal["best", "majority"] | dict[str, Any]:
    """The named group as the data's own values (``1`` for the text ``"1"``), for the engine.

    Raises :class:`bias_checks.UnknownReferenceGroupError` when it names a feature that is
    not sensitive, misses one, or names a value (or a combination) that does not occur.
    """
    start = len(counts.control)
    return resolve_reference_in(
        reference, counts.sensitive, [tuple(key[start:]) for key in counts.keys]
    )


def resolve_reference_in(
    reference: Reference, features: Sequence[str], groups: Iterable[tuple[Any, ...]]
) -> Literal["best", "majority"] | dict[str, Any]:
    """:func:`resolve_reference` against the ``groups`` that occur (one value per feature of
    ``features``, in order), such as the distinct rows of a governed run's held-out groups.

    Raises
    ------
    bias_checks.UnknownReferenceGroupError
        The reference misses a feature, names another, or names a group that does not occur.

    Examples
    --------
    >>> resolve_reference_in({"sex": "1"}, ["sex"], [(0,), (1,)])
    {'sex': 1}
    """
    if isinstance(reference, str):
        return reference
    occurring = {tuple(group) for group in groups}
    unknown = sorted(set(reference) - set(features))
    missing = [f for f in features if f not in reference]
    if unknown or missing:
        raise UnknownReferenceGroupError(
            f"The reference group must name one value for each sensitive feature "
            f"({', '.join(features)}); "
            + (f"{', '.join(unknown)} is not one" if unknown else f"{missing[0]} has none")
            + ".",
            feature=(unknown or missing)[0],
        )
    resolved: dict[str, Any] = {}
    for i, feature in enumerate(features):
        levels = sorted({group[i] for group in occurring}, key=str)
        match = [level for level in levels if str(level) == reference[feature]]
        if not match:
            shown = ", ".join(str(level) for level in levels[:8])
            raise UnknownReferenceGroupError(
                f"The reference group {feature}={reference[feature]} does not occur: column "
                f"{feature!r} holds {shown}{', ...' if len(levels) > 8 else ''}.",
                feature=feature,
            )
        resolved[feature] = match[0]
    if tuple(resolved[f] for f in features) not in occurring:
        named = ", ".join(f"{f}={reference[f]}" for f in features)
        raise UnknownReferenceGroupError(
            f"The reference group {named} has no rows; name a combination that occurs.",
            feature=features[0],
        )
    return resolved
