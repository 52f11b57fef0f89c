"""Public names a package imports on first use (PEP 562), so that importing one of its light
submodules does not load the heavy ones (pandas, scipy, scikit-learn)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, homes: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``homes[name]`` (a module path)
    on first use of ``name`` and returns its attribute of that name.

    Examples
    --------
    >>> __getattr__ = lazy_attributes("pkg", {"sqrt": "math"})
    >>> __getattr__("sqrt")(4.0)
    2.0
    """

    def attribute(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(import_module(home), name)

    return attribute
