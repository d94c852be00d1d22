"""`tinykit doctor`: the tools, attached boards and probes on this machine, and what to run next."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from tinykit.cli import main


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def doctor(as_json: bool) -> None:
    """Check the tools each stage needs, list attached serial ports and debug probes (matched to board
    ids by USB VID:PID), and say which boards are usable here."""
    from tinykit.doctor import doctor as run_doctor

    report = run_doctor()
    if as_json:
        click.echo(json.dumps(report))
        return
    console = Console()
    tools = Table(title="tools")
    for col in ("tool", "version", "needed for"):
        tools.add_column(col)
    for t in report["tools"]:
        tools.add_row(t["name"], t["version"] or "[red]missing[/red]", t["needed_for"])
    console.print(tools)
    devices = Table(title="USB devices")
    for col in ("VID:PID", "what", "port", "boards"):
        devices.add_column(col)
    for d in report["usb_devices"]:
        devices.add_row(d["id"], d["probe"] or d["description"], d["port"] or "",
                        ", ".join(f"{b['board']} ({b['role']})" for b in d["boards"]))
    console.print(devices if report["usb_devices"] else "USB devices: none attached (no serial ports, no probes)")
    boards = Table(title="boards")
    for col in ("board", "flasher", "state"):
        boards.add_column(col)
    for b in report["boards"]:
        boards.add_row(b["id"], b["flasher"], b["state"])
    console.print(boards)
    for step in report["next"]:
        click.echo(f"next: {step}")
