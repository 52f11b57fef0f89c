"""``lazy_attributes``: a package's public names imported on first use."""

from __future__ import annotations

import pytest

from core.lazy import lazy_attributes


def test_a_name_comes_from_its_home_module_and_an_unknown_one_is_an_attribute_error() -> None:
    attribute = lazy_attributes("pkg", {"dumps": "json", "sqrt": "math"})
    import json

    assert attribute("dumps") is json.dumps
    assert attribute("sqrt")(9.0) == 3.0
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'loads'"):
        attribute("loads")
