"""``parse_reference``: the forms ``--reference`` and ``?reference=`` accept.

Resolving a reference against the data is tested through ``audit_predictions_file`` in
test_predictions.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from audit.reference import parse_reference
from bias_checks import InvalidParameterError


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("best", "best"),
        (" majority ", "majority"),
        ("sex=male", {"sex": "male"}),
        ("sex = male, race=A", {"sex": "male", "race": "A"}),
        ("band=18-25=young", {"band": "18-25=young"}),
    ],
)
def test_a_reference_is_a_word_or_one_value_per_feature(text: str, parsed: Any) -> None:
    assert parse_reference(text) == parsed


@pytest.mark.parametrize("text", ["", "worst", "sex", "sex=", "=male", "sex=a,sex=b", "sex=a,"])
def test_a_malformed_reference_is_one_line_naming_the_forms(text: str) -> None:
    with pytest.raises(InvalidParameterError, match="FEATURE=VALUE") as caught:
        parse_reference(text)
    assert caught.value.code == "invalid_parameter"
