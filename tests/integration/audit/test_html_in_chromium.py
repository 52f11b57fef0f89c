"""The HTML report as a browser draws it: a red FAIL banner on top and coloured charts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from audit.render import render_html
from audit.report import DatasetInfo, build_report
from bias_checks import Threshold, audit_predictions

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAIL_RED = (0xC6, 0x28, 0x28)
BAR_BLUE = (0x3B, 0x6E, 0xA8)


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 12) -> bool:
    return all(abs(int(p) - c) <= tolerance for p, c in zip(pixel[:3], colour, strict=True))


def _fail_html() -> str:
    rng = np.random.default_rng(2)
    n = 300
    sex = rng.choice(["f", "m"], n)
    y = rng.integers(0, 2, n)
    pred = np.where(sex == "m", rng.random(n) < 0.75, rng.random(n) < 0.25).astype(int)
    audit = audit_predictions(
        y,
        pred,
        sensitive_features={"sex": sex},
        thresholds=[Threshold("demographic_parity_difference", 0.1)],
        n_boot=30,
    )
    report = build_report(
        kind="predictions",
        run_id="0x" + "ef" * 32,
        audit=audit,
        model=None,
        dataset=DatasetInfo(
            name="p.csv",
            content_hash="0x" + "01" * 32,
            rows=n,
            label="y",
            sensitive_features=["sex"],
        ),
        policy=None,
        seeds={"bootstrap": 0},
    )
    return render_html(report)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_fail_report_renders_a_red_banner_and_charts(tmp_path: Path):
    page = tmp_path / "report.html"
    page.write_text(_fail_html(), encoding="utf-8")
    shot = tmp_path / "shot.png"
    command = [
        str(CHROMIUM),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1200,2000",
        f"--screenshot={shot}",
        page.as_uri(),
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    banner = [image.getpixel((x, y)) for x in range(0, width, 40) for y in range(5, 120, 10)]
    assert sum(_near(p, FAIL_RED) for p in banner) > len(banner) * 0.6
    below = image.crop((0, 200, width, height))
    colours = below.getcolors(maxcolors=1 << 20) or []
    counts = {colour: count for count, colour in colours}
    red_bar = sum(c for colour, c in counts.items() if _near(colour, FAIL_RED))
    blue_bars = sum(c for colour, c in counts.items() if _near(colour, BAR_BLUE))
    assert red_bar > 500, "the failing check's bar is missing"
    assert blue_bars > 2000, "the per-group bars are missing"
