"""Every error class has a unique code and a deliberately chosen category."""

from __future__ import annotations

from collections import Counter

from api.errors import STATUS_BY_CATEGORY, status_for_class
from core.errors import ErrorCategory, FairgovError
from tests.unit.core.error_classes import all_error_classes

#: Roots that are never raised themselves; their leaves each choose a category.
ABSTRACT_ROOTS = {"fairgov_error", "governance_error", "audit_error", "api_error"}


def _declares(cls: type, name: str) -> bool:
    return name in cls.__dict__


def test_every_code_is_declared_by_exactly_one_class():
    declared = Counter(c.code for c in all_error_classes() if _declares(c, "code"))
    assert [code for code, n in declared.items() if n > 1] == []
    # A class without a code of its own takes it from a *Mistake base: the engine and
    # governance report the same mistake with one code (bias_checks._errors says why).
    for cls in all_error_classes():
        if not _declares(cls, "code"):
            owner = next(k for k in cls.__mro__ if _declares(k, "code"))
            assert owner.__name__.endswith("Mistake"), cls.__qualname__


def test_every_raised_error_has_a_category_chosen_for_it():
    undecided = sorted(
        c.__qualname__
        for c in all_error_classes()
        if c.code not in ABSTRACT_ROOTS
        and not any(_declares(k, "category") for k in c.__mro__ if k is not FairgovError)
    )
    assert undecided == []


def test_the_abstract_roots_are_roots():
    roots = [c for c in all_error_classes() if c.code in ABSTRACT_ROOTS]
    assert sorted(c.code for c in roots) == sorted(ABSTRACT_ROOTS)
    for root in roots:
        assert root.__subclasses__() or root is FairgovError


def test_every_error_has_an_http_status():
    assert set(STATUS_BY_CATEGORY) == set(ErrorCategory)
    for cls in all_error_classes():
        assert 400 <= status_for_class(cls) <= 599, cls.__qualname__


def test_the_classes_are_found_in_every_package():
    packages = {c.__module__.split(".")[0] for c in all_error_classes()}
    assert packages == {"core", "bias_checks", "governance", "audit", "api", "cli"}
