"""The package's public names: every one resolves to its module's object, and the light ones
(catalogue, evidence rule, errors) import without pandas, scipy or fairlearn."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import bias_checks
from bias_checks import _LAZY


def test_every_public_name_resolves_to_the_object_its_module_defines() -> None:
    for name in bias_checks.__all__:
        value = getattr(bias_checks, name)
        module = _LAZY.get(name)
        if module is not None:
            assert value is getattr(importlib.import_module(module), name), name
    assert set(_LAZY) <= set(bias_checks.__all__)
    assert sorted(dir(bias_checks)) == sorted(bias_checks.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = bias_checks.no_such_name  # type: ignore[attr-defined]


def _imported_after(statement: str) -> set[str]:
    heavy = ("pandas", "scipy", "fairlearn", "sklearn")
    probe = f"import sys; {statement}; print(*(m for m in {heavy!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    return set(done.stdout.split())


def test_the_catalogue_evidence_rule_and_errors_import_without_the_numeric_stack() -> None:
    light = "from bias_checks import METRICS, EvidenceRule, UnknownMetricMistake, is_known_metric"
    assert _imported_after(light) == set()


def test_a_lazy_name_brings_its_module_in() -> None:
    assert "scipy" in _imported_after("from bias_checks import audit_predictions")
