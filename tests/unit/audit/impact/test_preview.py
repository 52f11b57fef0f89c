"""How a model's verdict moves under a proposal, as the preview names it."""

from __future__ import annotations

import pytest

from audit.impact import VerdictChange, verdict_change
from bias_checks import Verdict

P, F, U = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE


@pytest.mark.parametrize(
    ("current", "previewed", "change"),
    [
        (P, F, VerdictChange.PASS_TO_FAIL),
        (F, P, VerdictChange.FAIL_TO_PASS),
        (P, P, VerdictChange.UNCHANGED),
        (U, U, VerdictChange.UNCHANGED),
        (P, U, VerdictChange.TO_INCONCLUSIVE),
        (F, U, VerdictChange.TO_INCONCLUSIVE),
        (U, P, VerdictChange.FROM_INCONCLUSIVE),
        (U, F, VerdictChange.FROM_INCONCLUSIVE),
        (P, None, VerdictChange.UNKNOWN),
    ],
)
def test_verdict_change(current, previewed, change):
    assert verdict_change(current, previewed) == change
