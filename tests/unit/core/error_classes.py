"""Every :class:`~core.errors.FairgovError` subclass fairgov defines, found by importing every
module of its packages (an error class defined anywhere is found, not just in ``errors``)."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from core.errors import FairgovError

PACKAGES = ("core", "bias_checks", "governance", "audit", "api", "scheduler", "cli")


def _import_everything() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            if ".migrations" in info.name or info.name.endswith("__main__"):
                continue
            importlib.import_module(info.name)


@cache
def all_error_classes() -> tuple[type[FairgovError], ...]:
    """FairgovError and every subclass defined in fairgov's packages."""
    _import_everything()
    found: list[type[FairgovError]] = []
    todo: list[type[FairgovError]] = [FairgovError]
    while todo:
        cls = todo.pop()
        if cls not in found:
            found.append(cls)
            todo.extend(cls.__subclasses__())
    return tuple(c for c in found if c.__module__.split(".")[0] in PACKAGES)
