"""The options of an audit of predictions that no file can make sense of, refused before any
file is read (one line each, at the CLI and the API alike)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from audit.errors import InvalidPredictions
from audit.spec import MAX_N_BOOT
from bias_checks import InvalidParameterError
from core.numbers import is_decimal_text


def cutoff_from_text(text: str, prediction: str) -> float:
    """``--cutoff`` as typed: a plain ASCII decimal, or :class:`InvalidPredictions`.
    ``float`` also reads ``0_5`` (as 5: every score below it, so a biased model PASSed) and
    other scripts' digits."""
    if not is_decimal_text(text):
        raise InvalidPredictions(
            prediction, f"--cutoff must be a plain decimal number such as 0.5, not {text!r}"
        )
    return float(text)


def check_options(
    *,
    label: str,
    prediction: str,
    sensitive: Sequence[str],
    score: str | None,
    cutoff: float | None,
    n_boot: int,
    random_state: int,
) -> None:
    """Refuse options no file can make sense of, before any file is read."""
    if cutoff is not None and not math.isfinite(cutoff):
        raise InvalidPredictions(prediction, f"--cutoff must be a finite number, not {cutoff}")
    if not 0 <= n_boot <= MAX_N_BOOT:
        raise InvalidParameterError(
            f"n_boot (--n-boot) must be between 0 and {MAX_N_BOOT:,}, not {n_boot}",
            parameter="n_boot",
            value=n_boot,
        )
    if random_state < 0:
        raise InvalidParameterError(
            f"the bootstrap seed (--seed) must be 0 or more, not {random_state}",
            parameter="random_state",
            value=random_state,
        )
    roles = {label: "--label", prediction: "--prediction", **({score: "--score"} if score else {})}
    taken = [name for name in sensitive if name in roles]
    if taken:
        raise InvalidParameterError(
            f"--sensitive {taken[0]!r} is also the {roles[taken[0]]} column: a sensitive "
            "feature must be a column of its own",
            parameter="sensitive",
            value=taken[0],
        )
