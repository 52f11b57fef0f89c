"""The ``--threshold`` text of ``audit predictions`` and ``POST /v1/audits/predictions``:
``METRIC<=VALUE`` or ``METRIC>=VALUE``, optionally followed by the check's own evidence rule
as ``,KEY=VALUE`` pairs."""

from __future__ import annotations

import difflib
import math
import re

from audit.errors import InvalidThresholdSpec, UnknownMetricName
from bias_checks import METRICS, EvidenceRule, Threshold
from core.numbers import is_decimal_text

DEFAULT_THRESHOLDS = ("demographic_parity_difference<=0.1", "equalized_odds_difference<=0.1")
DEFAULT_THRESHOLDS_WARNING = (
    "No thresholds were given, so the defaults were checked: "
    "demographic_parity_difference <= 0.1 and equalized_odds_difference <= 0.1."
)
_SPEC = re.compile(
    r"^\s*([A-Za-z0-9_]+)\s*(<=|>=)\s*([^,\s]+)\s*((?:,\s*[a-z_]+\s*=\s*[^,\s]+\s*)*)$"
)
_RULE_KEYS = {
    "confidence": "confidence_level",
    "min_group_size": "min_group_size",
    "min_denominator": "min_denominator",
    "on_inconclusive": "on_inconclusive",
}
_RULE_SYNTAX = (
    "after METRIC<=VALUE give the check's own evidence rule as ,KEY=VALUE with KEY one of "
    "confidence, min_group_size, min_denominator or on_inconclusive (block or "
    "approve_with_warning), each at most once"
)


def _rule_override(spec: str, text: str, base: EvidenceRule) -> EvidenceRule | None:
    """``,confidence=0.99,min_group_size=50`` on top of ``base``; None when there is none.
    A value the rule refuses gets the engine's code (:meth:`EvidenceRule.from_text`)."""
    pairs = [part.split("=", 1) for part in text.split(",") if part.strip()]
    if not pairs:
        return None
    texts: dict[str, str] = {}
    for key, raw in pairs:
        name = _RULE_KEYS.get(key.strip())
        if name is None:
            raise InvalidThresholdSpec(spec, f"unknown key {key.strip()!r}: {_RULE_SYNTAX}")
        if name in texts:
            raise InvalidThresholdSpec(spec, f"{key.strip()!r} is given twice: {_RULE_SYNTAX}")
        texts[name] = raw
    return EvidenceRule.from_text(texts, base)


def parse_threshold(spec: str, *, evidence: EvidenceRule | None = None) -> Threshold:
    """Parse ``METRIC<=VALUE`` (an upper bound) or ``METRIC>=VALUE`` (a lower bound).

    An evidence rule for this check alone may follow, as ``,KEY=VALUE`` pairs with keys
    ``confidence``, ``min_group_size``, ``min_denominator`` and ``on_inconclusive``; keys not
    given keep the audit's rule (``evidence``).

    Raises
    ------
    InvalidThresholdSpec
        The text does not have that form, or the value is not a finite number.
    UnknownMetricName
        The metric is not in the bias_checks catalogue (the error names a close match).

    Examples
    --------
    >>> t = parse_threshold("equalized_odds_ratio>=0.8")
    >>> (t.metric, t.bound, t.direction)
    ('equalized_odds_ratio', 0.8, 'lower')
    >>> parse_threshold("selection_rate>=0.2,confidence=0.99").evidence.confidence_level
    0.99
    """
    match = _SPEC.match(spec)
    if match is None:
        raise InvalidThresholdSpec(spec)
    metric, operator, raw, rule_text = match.groups()
    if not is_decimal_text(raw) or not math.isfinite(bound := float(raw)):
        raise InvalidThresholdSpec(
            spec, f"the bound {raw!r} must be a finite number in plain ASCII digits, e.g. 0.1"
        )
    if metric not in METRICS:
        close = difflib.get_close_matches(metric, list(METRICS), n=1, cutoff=0.5)
        raise UnknownMetricName(metric, close[0] if close else None)
    rule = _rule_override(spec, rule_text, evidence or EvidenceRule())
    return Threshold(
        metric, bound, direction="upper" if operator == "<=" else "lower", evidence=rule
    )
