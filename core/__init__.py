"""Shared foundations of fairgov: settings, root errors and the type vocabulary.

Nothing in ``core`` imports any other fairgov package.
"""

import sys as _sys

# py_ecc (imported by web3 through eth_keyfile) raises the interpreter's recursion limit to
# 100,000 when it is first imported. At that limit a deeply nested input (a JSON or YAML file
# of 100,000 "[") overflows the C stack and the process dies of SIGSEGV, with no error line
# and no traceback, where the default limit raises RecursionError. fairgov never needs the
# deep recursion (it signs with eth_keys and uses none of py_ecc's pairings), so py_ecc is
# imported here and the limit put back: to what it was, or to Python's default when py_ecc
# was imported before fairgov.
_PY_ECC_LIMIT = 100_000
_PYTHON_DEFAULT_LIMIT = 1_000
_before = _sys.getrecursionlimit()
import py_ecc  # noqa: E402, F401

if _sys.getrecursionlimit() == _PY_ECC_LIMIT:
    _sys.setrecursionlimit(_before if _before != _PY_ECC_LIMIT else _PYTHON_DEFAULT_LIMIT)
