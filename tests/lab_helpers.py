"""Helpers for the lab tests: a fake LabResult and a headless-Chromium screenshot."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

CHROMIUM_TIMEOUT_S = 120
PAGE_WIDTH = 1280
TALL_WINDOW = 16000  # taller than any report: the screenshot is then cropped to the page


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def screenshot(html: Path, png: Path, profile: Path, height: int = 2000) -> subprocess.CompletedProcess:
    """Render a local page with headless Chromium (Debian's `chromium` package) into a PNG."""
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={PAGE_WIDTH},{height}",
           html.resolve().as_uri()]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT_S)


def full_page_screenshot(html: Path, png: Path, profile: Path) -> subprocess.CompletedProcess:
    """The whole page at 1280 px wide: a very tall window, cropped below the last painted row."""
    import matplotlib.image as mpimg

    proc = screenshot(html, png, profile, TALL_WINDOW)
    if proc.returncode == 0 and png.exists():
        img = mpimg.imread(png)[..., :3]
        background = img[-1, 0]
        painted = np.nonzero(np.any(np.abs(img - background) > 1e-3, axis=(1, 2)))[0]
        bottom = int(painted[-1]) + 24 if painted.size else img.shape[0]
        mpimg.imsave(png, img[: min(bottom, img.shape[0])])
    return proc


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def png_is_not_blank(path: Path) -> bool:
    """True when the screenshot has many distinct colours (text and plots, not an empty page)."""
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    return len(np.unique((img[..., :3] * 255).astype(np.uint8).reshape(-1, 3), axis=0)) > 50


def fake_lab_result(out: Path, model: Path, wav: Path):
    """A LabResult as run_lab would fill it, for rendering the report without running the lab."""
    from tinykit.lab.kws import LabConfig, LabResult

    macs = 100_000
    res = LabResult(out, LabConfig(words=("yes", "no")))
    res.stages = {
        "train": {"model": str(out / "train" / "model.keras"), "metrics": {"accuracy": 0.91}},
        "quantize": {"size_bytes": 45896, "health": {"float_accuracy": 0.91, "int8_accuracy": 0.9,
                                                     "agreement": 0.98, "warnings": [],
                                                     "layers": [{"op": "CONV_2D", "sqnr_db": 27.5}]}},
        "fit": {"report": {"candidates": [
                    {"ratio": 0.0, "accuracy": 0.9, "float_accuracy": 0.91, "params": 23000, "weight_bytes": 23000,
                     "arena_bytes": 17000, "ram_needed": 26000, "fits": True},
                    {"ratio": 0.25, "accuracy": 0.89, "float_accuracy": 0.9, "params": 13000, "weight_bytes": 13000,
                     "arena_bytes": 13000, "ram_needed": 22000, "fits": True}],
                    "chosen": {"ratio": 0.0}},
                "pareto_png": "", "deployed": {"candidate": {"ratio": 0.25, "params": 13000}}},
        "build": {"size": {"flash_used": 46900, "flash_total": 4194304, "ram_used": 25248, "ram_total": 4194304}},
        "measure": {"inputs": 40, "accuracy": 0.9, "host_accuracy": 0.9, "mismatched_bytes": 0, "emulated": True,
                    "clock_hz": 25_000_000, "macs": macs,
                    "latency": {"median": 300_000, "p90": 300_100, "max": 300_200},
                    "layers": [{"index": i, "name": "X", "cycles": 1000 * (i + 1)} for i in range(13)],
                    "energy_estimate": {"energy_uj": 120.0, "power_mw": 10.0, "latency_s": 0.012,
                                        "source": "datasheet"},
                    "stack_used_bytes": 400, "stack_bytes": 8192},
        "stream": {"unit": "instructions", "instructions_per_audio_second": 60_000_000, "clock_hz": 25_000_000,
                   "real_time_fraction": 2.4, "audio_seconds": 3.0, "errors": [], "wav": str(wav),
                   "detections": [{"label": "yes", "score": 0.9, "sample": 24000}],
                   "match": {"found": 1, "expected": 2, "false_alarms": [],
                             "words": [{"word": "yes", "start": 16000, "end": 22000, "detected": True,
                                        "detection": {"label": "yes", "score": 0.9, "sample": 24000}},
                                       {"word": "no", "start": 30000, "end": 36000, "detected": False,
                                        "detection": None}]}},
    }
    res.seconds = {"data": 5.0, "train": 60.0}
    return res
