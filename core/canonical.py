"""Canonical JSON and its sha256: the one trust primitive behind every hash fairgov anchors.

Reports, dataset manifests, policy snapshots, model specs and run ids are all hashed as
``"0x" + sha256(canonical_json(document))`` (lower-case hex). ``docs/hashes.md`` shows how to
recompute each by hand.

Conventions
-----------
* Keys sorted, UTF-8, no insignificant whitespace (``separators=(",", ":")``), no ASCII
  escaping of non-ASCII characters.
* Finite floats are written with Python's shortest repr that round-trips exactly, so the
  bytes change only if a value changes. ``-0.0`` is written as ``0.0``. Integral values
  stored as floats stay floats (``1.0``); counts are integers.
* Non-finite floats are strings: ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``; a value that
  does not exist (an interval that was not computed) is ``null``.
* Tuples become arrays, numpy scalars become Python scalars, enums their values. Other
  objects (for example group values of exotic types) are written as ``str(value)``.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from core.types import Hash32

JsonValue = Any


def to_jsonable(value: Any) -> JsonValue:
    """Convert ``value`` to plain JSON types following the canonical conventions."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return value + 0.0
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    return str(value)


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` to canonical JSON bytes.

    Examples
    --------
    >>> canonical_json({"b": float("nan"), "a": [1, 0.1, -0.0]})
    b'{"a":[1,0.1,0.0],"b":"NaN"}'
    """
    return json.dumps(
        to_jsonable(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def sha256_hex(data: bytes) -> Hash32:
    """``"0x"`` + the lower-case hex sha256 of ``data``.

    >>> sha256_hex(b"")[:10]
    '0xe3b0c442'
    """
    return Hash32("0x" + hashlib.sha256(data).hexdigest())


def canonical_hash(value: Any) -> Hash32:
    """The hash of a document: :func:`sha256_hex` of its :func:`canonical_json` bytes."""
    return sha256_hex(canonical_json(value))


def file_sha256(path: Path, *, chunk: int = 1 << 20) -> Hash32:
    """:func:`sha256_hex` of a file's bytes, read in chunks (files may exceed memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return Hash32("0x" + digest.hexdigest())
