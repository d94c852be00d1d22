"""``tinykit inspect``."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tinykit.cli import DATA_HELP, main
from tinykit.inspect import inspect_graph, load_for_inspection
from tinykit.ir.support import require_supported
from tinykit.models import resolve_model


@main.command()
@click.argument("model")
@click.option("--board", "-b", help="Board id: also report whether the model fits its RAM and flash.")
@click.option("--data", type=click.Path(path_type=Path), help=f"Calibration {DATA_HELP} (Keras models).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(model: str, board: str | None, data: Path | None, as_json: bool) -> None:
    """Per-layer cost of MODEL (.tflite, or Keras with --data): MACs, weights, live memory, arena."""
    graph = load_for_inspection(resolve_model(model), data)
    report = inspect_graph(graph, board)
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        _print_report(report)
    require_supported(graph)


def _print_report(report: dict) -> None:
    console = Console(width=max(Console().width, 100))
    table = Table(title=f"{escape(Path(report['model']['path']).name)}  (sha256 {report['model']['sha256'][:16]})")
    for column in ("#", "op", "output shape", "params", "MACs", "weight bytes", "live bytes"):
        text = column in ("op", "output shape")
        table.add_column(column, justify="left" if text else "right", no_wrap=True)
    for row in report["ops"]:  # op names come from the file (custom ops): never rich markup
        op = escape(row["op"]) if row["supported"] else f"[red]{escape(row['op'])} (unsupported)[/red]"
        live = "" if row["live_bytes"] is None else f"{row['live_bytes']:,}"
        table.add_row(str(row["index"]), op, "x".join(map(str, row["output_shape"])), f"{row['params']:,}",
                      f"{row['macs']:,}", f"{row['weight_bytes']:,}", live)
    console.print(table)
    _print_folded(console, report["folded"])
    totals = report["totals"]
    console.print(f"MACs {totals['macs']:,}   params {totals['params']:,}   weights {totals['weight_bytes']:,} B")
    if totals["arena_bytes"] is not None:
        console.print(f"arena {totals['arena_bytes']:,} B   lower bound {totals['arena_lower_bound_bytes']:,} B")
    if totals["state_tensors"]:
        console.print(f"state {totals['state_bytes']:,} B in {len(totals['state_tensors'])} variable tensors "
                      "(kept between inferences, in their own region of the arena)")
    fit = report.get("board")
    if fit:
        verdict = "[green]fits[/green]" if fit["fits"] else "[red]does not fit[/red]"
        console.print(
            f"board {fit['id']}: {verdict}  RAM {fit['ram_needed']:,} / {fit['ram_available']:,} B"
            f"   flash {fit['flash_needed']:,} / {fit['flash_available']:,} B"
        )
        if not fit["fits"]:
            console.print(f"  short by {fit['ram_missing']:,} B of RAM and {fit['flash_missing']:,} B of flash;"
                          " try `tinykit prune`, `tinykit fit`, or a bigger board")


def _print_folded(console: Console, folded: list[dict]) -> None:
    """What the reader evaluated at generation time or dropped: these ops never run on the device."""
    for row in folded:
        if row["kind"] == "dead":
            console.print(f"dropped op {row['index']} {row['op']}: its result reaches no model output")
            continue
        if row["kind"] == "resource":
            _print_resource_op(console, row)
            continue
        results = []
        for t in row["tensors"]:
            shown = f" = {t['values']}" if "values" in t else ""
            results.append(f"tensor {t['index']} {t['dtype']}[{'x'.join(map(str, t['shape']))}]{shown}")
        console.print(f"folded op {row['index']} {row['op']} -> {', '.join(results)}", markup=False)


def _print_resource_op(console: Console, row: dict) -> None:
    """VAR_HANDLE and CALL_ONCE: the reader turned the resource variables into state tensors."""
    if row["op"] == "CALL_ONCE":
        console.print(f"resource op {row['index']} CALL_ONCE: its init subgraph's values are set by NAME_init() "
                      "(a reset does not restore them, as in TFLite Micro)", markup=False)
        return
    states = [f"tensor {t['index']} {t['name']!r} {t['dtype']}[{'x'.join(map(str, t['shape']))}]"
              for t in row["tensors"]]
    console.print(f"resource op {row['index']} {row['op']} -> state {', '.join(states)}", markup=False)
