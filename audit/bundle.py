"""Binding every rendering of a report to its on-chain anchor.

The anchor is ``reportHash = sha256(report.json)``. The HTML, CSV, PDF and model-card files
are not hashed separately: each is a deterministic function of the report's canonical JSON
(the PDF carries a fixed date), so a rendering is genuine exactly when it equals the
rendering of the anchored report, byte for byte. :func:`check_renderings` re-derives them
and compares.

Why re-derive rather than anchor a manifest of every file's sha256: ``reportHash`` keeps
its one meaning, so anyone holding ``report.json`` alone can check it against the chain, and
the contract, the index, ETags and existing anchors stay as they are. The cost: renderings
are compared with what *this* fairgov version renders, so a report rendered by a version
whose renderer differs shows its renderings as ``mismatch`` until they are rendered again
from the (still verified) JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from audit.render import render_csv, render_html, render_model_card, render_pdf
from audit.report import Report
from core.canonical import sha256_hex

#: Each rendering's file name and how it is made from the report.
RENDERERS: Final[Mapping[str, Callable[[Report], bytes]]] = {
    "report.html": lambda report: render_html(report).encode("utf-8"),
    "report.csv": lambda report: render_csv(report).encode("utf-8"),
    "report.pdf": render_pdf,
    "model-card.md": lambda report: render_model_card(report).encode("utf-8"),
}

RenderingStatus = Literal["ok", "mismatch", "missing"]


@dataclass(frozen=True)
class RenderingCheck:
    """One rendering against the rendering of the anchored report."""

    name: str
    status: RenderingStatus
    sha256: str | None
    expected_sha256: str

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def render(report: Report, name: str) -> bytes:
    """The bytes of rendering ``name`` (a key of :data:`RENDERERS`) of ``report``."""
    return RENDERERS[name](report)


def is_rendering(report: Report, name: str, body: bytes) -> bool:
    """Whether ``body`` is rendering ``name`` of ``report``, byte for byte."""
    return sha256_hex(body) == expected_digests(report)[name]


@functools.lru_cache(maxsize=256)
def expected_digests(report: Report) -> Mapping[str, str]:
    """``"0x" + sha256`` of each rendering of ``report``, by file name.

    Rendering takes about a tenth of a second (the PDF most of it) and depends on the
    report's bytes alone, so the digests of recently checked reports are remembered: a
    public verification endpoint must not re-render on every call.
    """
    return {name: sha256_hex(render(report, name)) for name in RENDERERS}


def check_renderings(report: Report, files: Mapping[str, bytes | None]) -> list[RenderingCheck]:
    """Compare each stored rendering with the one re-derived from ``report``.

    Parameters
    ----------
    report : Report
        The report whose hash was verified against the anchor.
    files : mapping of str to bytes or None
        The stored bytes of each file in :data:`RENDERERS` (None: the file is missing).

    Returns
    -------
    list of RenderingCheck
        One per rendering, in :data:`RENDERERS` order.

    Examples
    --------
    >>> checks = check_renderings(report, {"report.html": b"<html>forged</html>"})
    ... # doctest: +SKIP
    >>> [(c.name, c.status) for c in checks][:1]  # doctest: +SKIP
    [('report.html', 'mismatch')]
    """
    checks = []
    for name, expected in expected_digests(report).items():
        body = files.get(name)
        if body is None:
            checks.append(RenderingCheck(name, "missing", None, expected))
            continue
        actual = sha256_hex(body)
        status: RenderingStatus = "ok" if actual == expected else "mismatch"
        checks.append(RenderingCheck(name, status, actual, expected))
    return checks
