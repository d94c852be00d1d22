"""The lab report's figures (matplotlib, returned as PNG data URIs so the page stays self-contained).

Figures are sized for a page 1280 px wide and saved with tight bounding boxes, so labels are never
cut; legends sit outside the plotting area, where they cannot cover bars or axis labels.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np

DPI = 96


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def file_uri(path: Path, mime: str = "image/png") -> str | None:
    path = Path(path)
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode() if path.is_file() else None


def confusion_plot(conf: np.ndarray, labels: list[str]) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    ax.imshow(conf, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted on the device")
    ax.set_ylabel("true label")
    for (i, j), v in np.ndenumerate(conf):
        ax.text(j, i, str(v), ha="center", va="center", color="white" if v > conf.max() / 2 else "black")
    return png(fig)


def layer_names(opcodes: list[str]) -> list[str]:
    """'3 DEPTHWISE_CONV_2D' style tick labels: the step number and the whole op name."""
    return [f"{i} {name}" for i, name in enumerate(opcodes)]


def layers_plot(opcodes: list[str], macs: list[int], cycles: list[int], unit: str) -> str:
    """MACs and measured device time per layer, side by side, legend above the plot."""
    plt = _plt()
    fig, ax1 = plt.subplots(figsize=(11, 4.2))
    x = np.arange(len(opcodes))
    b1 = ax1.bar(x - 0.2, np.array(macs) / 1e3, 0.4, color="#4878a8")
    ax2 = ax1.twinx()
    b2 = ax2.bar(x + 0.2, np.array(cycles) / 1e3, 0.4, color="#e08040")
    ax1.set_xticks(x, layer_names(opcodes), rotation=40, ha="right", fontsize=9)
    ax1.set_xlim(-0.6, len(opcodes) - 0.4)
    ax1.set_ylabel("MACs (thousands)", color="#4878a8")
    ax2.set_ylabel(f"{unit} on the device (thousands)", color="#e08040")
    ax1.legend([b1, b2], ["MACs (multiply-accumulates)", f"{unit} measured on the device"],
               loc="lower center", bbox_to_anchor=(0.5, 1.01), ncol=2, fontsize=9, frameon=False)
    return png(fig)


def memory_plan_plot(plan, opcodes: list[str]) -> str:
    """Arena over time: one rectangle per buffer (op steps x offset), and live bytes."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(11, 5.0), sharex=True, height_ratios=[3, 1])
    for i, b in enumerate(plan.buffers):
        color = "#c8a060" if b.scratch_of is not None else plt.cm.tab20(i % 20)
        ax.add_patch(plt.Rectangle((b.first - 0.4, b.offset / 1024), b.last - b.first + 0.8, b.size / 1024,
                                   facecolor=color, edgecolor="black", linewidth=0.5))
    ax.set_xlim(-0.6, max(len(opcodes) - 0.4, 0.6))
    ax.set_ylim(0, max(plan.arena_bytes, 1) / 1024 * 1.05)
    ax.axhline(plan.arena_bytes / 1024, color="red", linewidth=1)
    ax.set_ylabel("arena offset (KiB)")
    ax.set_title(f"arena {plan.arena_bytes:,} B (lower bound {plan.lower_bound_bytes:,} B); "
                 "ochre = kernel scratch", fontsize=9)
    ax2.step(range(len(plan.live_bytes)), np.array(plan.live_bytes) / 1024, where="mid")
    ax2.set_ylabel("live KiB")
    ax2.set_xticks(range(len(opcodes)), layer_names(opcodes), rotation=40, ha="right", fontsize=9)
    return png(fig)


def size_plot(size: dict) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 1.9))
    for row, (used, total) in enumerate(((size["flash_used"], size["flash_total"]),
                                         (size["ram_used"], size["ram_total"]))):
        frac = used / total if total else 0
        ax.barh(row, 1.0, color="#e8e8e8")
        ax.barh(row, frac, color="#c04040" if frac > 1 else "#40a060")
        ax.text(min(frac, 1) + 0.01, row, f"{used:,} of {total:,} B ({100 * frac:.1f} %)", va="center", fontsize=9)
    ax.set_yticks([0, 1], ["flash", "RAM"])
    ax.set_xlim(0, 1.45)
    ax.set_xticks([0, 0.5, 1.0], ["0", "50 %", "100 %"])
    return png(fig)


def stream_plot(wav: Path, stream: dict, rate: int) -> str:
    from tinykit.audio.stream import read_pcm

    plt = _plt()
    pcm, _ = read_pcm(wav)
    t = np.arange(pcm.size) / rate
    fig, ax = plt.subplots(figsize=(11, 2.8))
    ax.plot(t[::4], pcm[::4] / 32768.0, linewidth=0.4, color="#607080")
    for row in stream.get("match", {}).get("words", []):
        ax.axvspan(row["start"] / rate, row["end"] / rate, color="#80c080" if row["detected"] else "#e08080",
                   alpha=0.4)
        ax.text(row["start"] / rate, 0.9, row["word"], fontsize=9)
    for d in stream.get("detections", []):
        ax.axvline(d["sample"] / rate, color="#2040c0", linestyle="--", linewidth=1)
        ax.text(d["sample"] / rate, -0.95, f"{d['label']} {d['score']:.2f}", color="#2040c0", fontsize=8)
    ax.set_ylim(-1, 1)
    ax.set_xlabel("seconds (green: spoken keyword found, red: missed; dashed: detection = end of window)")
    return png(fig)
