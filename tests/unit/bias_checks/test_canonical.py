"""Canonical JSON conventions."""

from __future__ import annotations

import json
import math

import numpy as np

from bias_checks import canonical_json


def test_sorted_keys_compact_utf8() -> None:
    assert canonical_json({"b": 1, "a": {"d": "é", "c": [1, 2]}}) == (
        '{"a":{"c":[1,2],"d":"é"},"b":1}'.encode()
    )


def test_non_finite_floats_are_explicit_strings_and_negative_zero_is_zero() -> None:
    data = {"nan": math.nan, "inf": np.inf, "minf": -np.float64("inf"), "z": -0.0}
    assert canonical_json(data) == b'{"inf":"Infinity","minf":"-Infinity","nan":"NaN","z":0.0}'


def test_floats_round_trip_exactly() -> None:
    values = [0.1, 1 / 3, 2.220446049250313e-16, 123456789.123456789, np.float64(0.7)]
    decoded = json.loads(canonical_json(values))
    assert decoded == [float(v) for v in values]


def test_numpy_scalars_and_tuples_become_plain_json() -> None:
    assert canonical_json((np.int64(3), np.bool_(True), ("x", None))) == b'[3,true,["x",null]]'
