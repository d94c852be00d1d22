"""OUT/report.html of `tinykit lab kws`: one self-contained page (PNG plots embedded as data URIs).

The page shows what the lab's stages measured: accuracy and confusion matrix on the device, the
Pareto front of `fit`, per-layer MACs / memory / device time, the memory plan over time, latency
and energy on the board, flash and RAM against the board's limits, and the streaming detections.
Python computes every number and draws every plot; templates/report/ only substitutes.
"""

from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit import __version__
from tinykit.files import write_atomic
from tinykit.render import render_template

DPI = 96


@dataclass
class Section:
    """A titled block of the page: key/value rows, a table, images and notes."""

    title: str
    anchor: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    table_head: list[str] = field(default_factory=list)
    table_rows: list[list[str]] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (data URI, caption)
    notes: list[str] = field(default_factory=list)


@dataclass
class ReportContext:
    banner: str
    title: str
    subtitle: str
    headline: list[tuple[str, str, str]]  # (label, value, css class "ok"/"bad"/"")
    sections: list[Section]


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _file_png(path: Path) -> str | None:
    path = Path(path)
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode() if path.is_file() else None


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _n(v, digits: int = 0) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}" if isinstance(v, float) else f"{v:,}"


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
    return _png(fig)


def layers_plot(names: list[str], macs: list[int], cycles: list[int], unit: str) -> str:
    plt = _plt()
    fig, ax1 = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(names))
    ax1.bar(x - 0.2, np.array(macs) / 1e3, 0.4, label="MACs (k)", color="#4878a8")
    ax2 = ax1.twinx()
    ax2.bar(x + 0.2, np.array(cycles) / 1e3, 0.4, label=f"{unit} (k)", color="#e08040")
    ax1.set_xticks(x, [f"{i} {n[:10]}" for i, n in enumerate(names)], rotation=45, ha="right", fontsize=8)
    ax1.set_ylabel("MACs (thousands)")
    ax2.set_ylabel(f"{unit} on the device (thousands)")
    fig.legend(loc="upper right", fontsize=8)
    return _png(fig)


def memory_plan_plot(plan, names: list[str]) -> str:
    """Arena over time: one rectangle per buffer (op steps x offset), and live bytes."""
    plt = _plt()
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 4.8), sharex=True, height_ratios=[3, 1])
    for i, b in enumerate(plan.buffers):
        color = "#c8a060" if b.scratch_of is not None else plt.cm.tab20(i % 20)
        ax.add_patch(plt.Rectangle((b.first - 0.4, b.offset / 1024), b.last - b.first + 0.8, b.size / 1024,
                                   facecolor=color, edgecolor="black", linewidth=0.5))
    ax.set_xlim(-0.6, max(len(names) - 0.4, 0.6))
    ax.set_ylim(0, max(plan.arena_bytes, 1) / 1024 * 1.05)
    ax.axhline(plan.arena_bytes / 1024, color="red", linewidth=1)
    ax.set_ylabel("arena offset (KiB)")
    ax.set_title(f"arena {plan.arena_bytes:,} B (lower bound {plan.lower_bound_bytes:,} B); "
                 "ochre = kernel scratch", fontsize=9)
    ax2.step(range(len(plan.live_bytes)), np.array(plan.live_bytes) / 1024, where="mid")
    ax2.set_ylabel("live KiB")
    ax2.set_xticks(range(len(names)), [f"{i} {n[:10]}" for i, n in enumerate(names)], rotation=45,
                   ha="right", fontsize=8)
    return _png(fig)


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
    return _png(fig)


def stream_plot(wav: Path, stream: dict, rate: int) -> str:
    from tinykit.audio.stream import read_pcm

    plt = _plt()
    pcm, _ = read_pcm(wav)
    t = np.arange(pcm.size) / rate
    fig, ax = plt.subplots(figsize=(8, 2.6))
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
    return _png(fig)


def host_confusion(model: Path, inputs: Path, labels_path: Path, n: int) -> np.ndarray:
    """Confusion matrix of the oracle's outputs (equal to the device's when no byte mismatched)."""
    from tinykit import oracle

    x = np.load(inputs)["x"]
    y = np.load(labels_path)
    outs = oracle.reference_outputs(model, [row.tobytes() for row in x])
    pred = [int(np.argmax(np.frombuffer(o[0], np.int8))) for o in outs]
    conf = np.zeros((n, n), np.int64)
    np.add.at(conf, (y, pred), 1)
    return conf


def _labels(model: Path) -> list[str]:
    path = Path(model).parent / "labels.json"
    return json.loads(path.read_text()) if path.exists() else []


def write_report(res, model: Path) -> Path:
    """Render OUT/report.html from a LabResult (tinykit.lab)."""
    ctx = build_sections(res, Path(model))
    return write_atomic(Path(res.out) / "report.html", render_template("report", "report.html.j2", ctx=ctx))


def banner() -> str:
    return html.escape(f"generated by tinykit {__version__}, do not edit")


def _accuracy_section(res, model: Path) -> Section:
    m = res.stages.get("measure", {})
    labels = _labels(model)
    sec = Section("Accuracy on the device", "accuracy", facts=[
        ("test clips (whole test split)", _n(m.get("inputs"))),
        ("accuracy on the device", _n(m.get("accuracy"), 4)),
        ("accuracy of the host int8 model (oracle)", _n(m.get("host_accuracy"), 4)),
        ("output bytes differing from the oracle", _n(m.get("mismatched_bytes"))),
        ("float accuracy (training, test split)", _n(res.stages["train"]["metrics"].get("accuracy"), 4)),
    ])
    out = Path(res.out)
    if (out / "testset.npz").exists() and labels:
        conf = host_confusion(model, out / "testset.npz", out / "testset_labels.npy", len(labels))
        sec.images.append((confusion_plot(conf, labels), "Confusion matrix of the int8 model on the test split "
                           "(device outputs equal the oracle's byte for byte, so this is the device's)."))
    curves = _file_png(Path(res.stages["train"]["model"]).with_suffix(".png"))
    if curves:
        sec.images.append((curves, "Training curves"))
    return sec


def _compress_section(res) -> Section:
    q = res.stages.get("quantize", {})
    h = q.get("health", {})
    fit = res.stages.get("fit", {})
    sec = Section("Pruning, quantization and fit", "compress", facts=[
        ("pruning ratio (channels removed)", f"{res.config.prune_ratio:.2f}"),
        ("int8 .tflite", f"{_n(q.get('size_bytes'))} B"),
        ("float / int8 accuracy (health check)",
         f"{_n(h.get('float_accuracy'), 4)} / {_n(h.get('int8_accuracy'), 4)}"),
        ("float/int8 agreement", _n(h.get("agreement"), 4)),
        ("lowest layer SQNR", min((f"{layer['sqnr_db']:.1f} dB ({layer['op']})" for layer in h.get("layers", [])),
                                  default="–", key=lambda s: float(s.split()[0]))),
    ], notes=list(h.get("warnings", [])))
    rep = fit.get("report", {})
    if "error" in rep:
        sec.notes.append(f"fit: {rep['error']}")
    sec.table_head = ["pruning ratio", "int8 accuracy", "params", "weights B", "arena B", "RAM needed B", "fits"]
    sec.table_rows = [[f"{c['ratio']:.2f}", f"{c['accuracy']:.4f}", _n(c["params"]), _n(c["weight_bytes"]),
                       _n(c["arena_bytes"]), _n(c["ram_needed"]), "yes" if c["fits"] else "no"]
                      for c in rep.get("candidates", [])]
    pareto = _file_png(Path(fit.get("pareto_png", "")))
    if pareto:
        sec.images.append((pareto, f"Pareto front from `tinykit fit --board {res.config.board}`"))
    return sec


def _layers_section(res, model: Path) -> tuple[Section, Section]:
    from tinykit.ir import read_model
    from tinykit.plan import plan_memory

    g = read_model(model)
    plan = plan_memory(g)
    m = res.stages.get("measure", {})
    unit = "instructions" if m.get("emulated") else "cycles"
    dev = {row["index"]: row["cycles"] for row in m.get("layers", [])}
    names = [op.opcode for op in g.operators]
    macs = [int(op.macs) for op in g.operators]
    rows = []
    for step, op in enumerate(g.operators):  # the device numbers layers by step, not by file index
        outs = sum(g.tensors[i].nbytes for i in op.outputs if i >= 0)
        weights = sum(g.tensors[i].nbytes for i in op.inputs if i >= 0 and g.tensors[i].is_constant)
        rows.append([str(op.index), op.opcode, _n(int(op.macs)), _n(weights), _n(outs), _n(dev.get(step))])
    layers = Section("Per-layer MACs, memory and time", "layers", table_head=[
        "#", "op", "MACs", "weights B", "output B", f"{unit} on device"], table_rows=rows,
        facts=[("total MACs", _n(int(g.total_macs))), ("weights", f"{_n(int(g.weight_bytes))} B")])
    layers.images.append((layers_plot(names, macs, [dev.get(i, 0) for i in range(len(names))], unit),
                          f"MACs and measured {unit} per layer"))
    mem = Section("Memory plan over time", "memory", facts=[
        ("arena", f"{_n(plan.arena_bytes)} B"), ("lower bound (peak live bytes)", f"{_n(plan.lower_bound_bytes)} B")])
    mem.images.append((memory_plan_plot(plan, names), "Each rectangle is a tensor (or kernel scratch) in the "
                       "arena from the op that writes it to the last op that reads it."))
    return layers, mem


def _board_section(res) -> Section:
    m = res.stages.get("measure", {})
    size = res.stages.get("build", {}).get("size", {})
    unit = "instructions (emulated core)" if m.get("emulated") else "cycles"
    e = m.get("energy_estimate") or {}
    lat = m.get("latency", {})
    sec = Section(f"Latency, energy and memory on {res.config.board}", "board", facts=[
        (f"{unit} per inference (median)", _n(lat.get("median"))),
        ("p90 / max", f"{_n(lat.get('p90'))} / {_n(lat.get('max'))}"),
        (f"{unit} per MAC", _n(lat["median"] / m["macs"], 2) if m.get("macs") and lat.get("median") else "–"),
        ("clock", f"{_n(m.get('clock_hz'))} Hz"),
        ("latency at that clock (estimate)", f"{e.get('latency_s', 0) * 1e3:.1f} ms" if e else "–"),
        ("energy per inference (estimate)", f"{e.get('energy_uj', 0):,.0f} µJ at {e.get('power_mw', 0):.1f} mW"
         if e else "–"),
        ("power model", e.get("source", "–")),
        ("stack used / reserved", f"{_n(m.get('stack_used_bytes'))} / {_n(m.get('stack_bytes'))} B"),
    ])
    if m.get("emulated"):
        sec.notes.append("QEMU does not model timing: figures are instructions on the emulated core "
                         "(-icount shift=0), and the energy estimate takes one instruction as one cycle.")
    if size:
        sec.images.append((size_plot(size), "Firmware flash and RAM against the board's limits"))
    return sec


def _stream_section(res) -> Section:
    s = res.stages.get("stream", {})
    match = s.get("match", {})
    unit = s.get("unit", "cycles")
    sec = Section("Streaming detection", "stream", facts=[
        ("keywords found at the right place", f"{match.get('found', 0)} of {match.get('expected', 0)}"),
        ("false alarms", _n(len(match.get("false_alarms", [])))),
        ("audio", f"{s.get('audio_seconds', 0):.2f} s"),
        (f"device {unit} per second of audio", _n(s.get(f"{unit}_per_audio_second"))),
        (f"real-time factor at {s.get('clock_hz', 0) / 1e6:g} MHz", f"{s.get('real_time_fraction', 0):.3f}"),
        ("stream errors", _n(len(s.get("errors", [])))),
    ], table_head=["spoken", "from s", "to s", "detected", "score", "window end s"])
    for row in match.get("words", []):
        d = row.get("detection") or {}
        sec.table_rows.append([row["word"], f"{row['start'] / 16000:.2f}", f"{row['end'] / 16000:.2f}",
                               "yes" if row["detected"] else "NO", _n(d.get("score"), 2) if d else "–",
                               f"{d['sample'] / 16000:.2f}" if d else "–"])
    for d in match.get("false_alarms", []):
        sec.notes.append(f"false alarm: {d['label']} (score {d['score']:.2f}) at {d['sample'] / 16000:.2f} s")
    if s.get("wav") and Path(s["wav"]).exists():
        sec.images.append((stream_plot(Path(s["wav"]), s, 16000), "The streamed sentence and the detections"))
    return sec


def build_sections(res, model: Path) -> ReportContext:
    m = res.stages.get("measure", {})
    match = res.stages.get("stream", {}).get("match", {})
    same = m.get("accuracy") is not None and m.get("accuracy") == m.get("host_accuracy")
    all_found = match.get("found") == match.get("expected") and not match.get("false_alarms")
    headline = [
        ("device accuracy", _n(m.get("accuracy"), 4), "ok" if same else "bad"),
        ("host int8 accuracy", _n(m.get("host_accuracy"), 4), ""),
        ("bytes differing from oracle", _n(m.get("mismatched_bytes")),
         "ok" if m.get("mismatched_bytes") == 0 else "bad"),
        ("keywords detected", f"{match.get('found', 0)}/{match.get('expected', 0)}", "ok" if all_found else "bad"),
        ("lab time", f"{sum(res.seconds.values()) / 60:.1f} min", ""),
    ]
    layers, mem = _layers_section(res, model)
    timing = Section("Stage times", "times", table_head=["stage", "seconds"],
                     table_rows=[[k, f"{v:.1f}"] for k, v in res.seconds.items()])
    return ReportContext(banner=banner(), title="tinykit keyword-spotting lab",
                         subtitle=f"board {res.config.board} · words {', '.join(res.config.words)} · "
                                  f"tinykit {__version__}",
                         headline=headline,
                         sections=[_accuracy_section(res, model), _compress_section(res), layers, mem,
                                   _board_section(res), _stream_section(res), timing])
