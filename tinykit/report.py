"""Results: JSON written atomically with provenance, rich terminal tables, matplotlib plots.

A results file is either complete or absent: it is written to a temporary file in the same
directory and renamed over the target, so an interrupted or failed run never leaves half a file.
"""

from __future__ import annotations

import datetime as _dt
import shlex
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from tinykit import __version__
from tinykit.errors import TinykitError
from tinykit.files import check_output_file, write_json


def provenance(toolchain: str | None = None, argv: list[str] | None = None) -> dict[str, Any]:
    """What every results file carries so a figure can be traced to the run that produced it."""
    return {
        "tinykit_version": __version__,
        "created_utc": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "command_line": shlex.join(argv if argv is not None else ["tinykit", *sys.argv[1:]]),
        "toolchain": toolchain,
    }


def check_writable(path: str | Path) -> Path:
    """Fail before measuring (not after) if the results file cannot be written."""
    path = check_output_file(path, force=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def write_json_atomic(path: str | Path, data: dict[str, Any]) -> Path:
    """Write ``data`` as JSON via a temporary file + ``os.replace`` (all or nothing)."""
    path = check_writable(path)
    try:
        return write_json(path, data, fsync=True)
    except OSError as err:
        raise TinykitError(f"cannot write results to {path}: {err.strerror or err}") from None


# -- terminal ------------------------------------------------------------------------------------
def _fmt(v: float | int | None, unit: str = "") -> str:
    if v is None:
        return "-"
    text = f"{v:,.0f}" if float(v).is_integer() or abs(v) >= 100 else f"{v:,.3g}"
    return f"{text} {unit}".strip()


def latency_table(result: dict[str, Any]) -> Table:
    lat = result["latency"]
    table = Table()
    for col in ("", "median", "p90", "max"):
        table.add_column(col, justify="right" if col else "left")
    table.add_row(lat["unit"], *(_fmt(lat[k]) for k in ("median", "p90", "max")))
    if "us" in lat:
        table.add_row("µs", *(_fmt(lat["us"][k]) for k in ("median", "p90", "max")))
    return table


def summary_table(result: dict[str, Any]) -> Table:
    model = Path(result["model_path"]).name if result.get("model_path") else "model"
    table = Table(title=f"{model} on {result['board']}", title_justify="left",
                  show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    val = result["validation"]
    if val.get("checked"):
        verdict = "[green]bit-exact[/green]" if val["mismatched_bytes"] == 0 else "[red]MISMATCH[/red]"
        table.add_row("validation vs tflite-micro",
                      f"{verdict}: {val['mismatched_bytes']} of {val['compared_bytes']} bytes differ "
                      f"(max |diff| {val['max_abs_diff']}) over {result['inputs']} inputs")
        if result.get("stateful"):
            table.add_row("stateful model", f"compared as sequences: {result['steps']} inferences, state reset "
                                            "(tk-reset) before each pass over the inputs")
    else:
        table.add_row("validation", "not checked (no model given)")
    for key, label in (("flash_bytes", "flash"), ("ram_bytes", "RAM")):
        if result.get(key) is not None:
            total = result.get(f"{key.split('_')[0]}_total")
            share = f" of {total:,} B ({100 * result[key] / total:.1f} %)" if total else ""
            table.add_row(label, f"{result[key]:,} B{share}")
    for key, label in (("arena_bytes", "arena"), ("stack_used_bytes", "stack used")):
        if result.get(key) is not None:
            table.add_row(label, f"{result[key]:,} B")
    if result.get("accuracy") is not None:
        host = result.get("host_accuracy")
        table.add_row("accuracy (device / host)", f"{result['accuracy']:.3f} / " + (f"{host:.3f}" if host is not None
                                                                                   else "-"))
    est = result.get("energy_estimate")
    if result.get("macs"):
        unit = result["latency"]["unit"]
        table.add_row(f"{unit} per MAC", f"{result['latency']['median'] / result['macs']:.2f} "
                      f"({result['macs']:,} MACs)")
    table.add_row("energy (estimate)", f"{_fmt(est['energy_uj'])} µJ/inference" if est else "n/a")
    if est:
        table.add_row("  power model", f"{est.get('source')}" + (f"; {est['cycles_note']}" if est.get("cycles_note")
                                                                 else ""))
    meas = result.get("energy_measured")
    if meas and meas.get("energy_uj") is not None:
        table.add_row("energy (measured)", f"{_fmt(meas['energy_uj'])} µJ/inference ({meas.get('monitor')})")
    if result.get("device_faults"):
        table.add_row("[yellow]recovered device faults[/yellow]", str(len(result["device_faults"])))
    return table


def layers_table(result: dict[str, Any], limit: int = 40) -> Table | None:
    layers = result.get("layers") or []
    if not layers:
        return None
    total = sum(layer["cycles"] for layer in layers) or 1
    table = Table(title=f"Per-layer {result['latency']['unit']} (first input)", title_justify="left")
    for col in ("#", "op", result["latency"]["unit"], "share"):
        table.add_column(col, justify="left" if col == "op" else "right")
    for layer in layers[:limit]:
        table.add_row(str(layer["index"]), layer["name"], _fmt(layer["cycles"]),
                      f"{100 * layer['cycles'] / total:.1f} %")
    return table


def print_report(result: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(summary_table(result))
    console.print(f"Latency: {result['latency']['description']}", soft_wrap=True)
    console.print(latency_table(result))
    layers = layers_table(result)
    if layers is not None:
        console.print(layers)
    for fault in result.get("device_faults") or []:
        console.print(f"[yellow]warning: recovered from: {fault}[/yellow]")


# -- plots ---------------------------------------------------------------------------------------
def plot_layers(result: dict[str, Any], path: str | Path) -> Path | None:
    """Bar chart of per-layer cycles/instructions (None when the device reported no layers)."""
    layers = result.get("layers") or []
    if not layers:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 0.35 * len(layers)), 4))
    ax.bar(range(len(layers)), [layer["cycles"] for layer in layers])
    ax.set_xticks(range(len(layers)), [f"{x['index']} {x['name']}" for x in layers], rotation=90, fontsize=7)
    ax.set_ylabel(result["latency"]["unit"])
    ax.set_title(f"{result['latency']['description']} per layer ({result['board']})")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
