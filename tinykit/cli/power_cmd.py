"""`tinykit power check KIND:PORT`: connect to a power monitor, show what it is, disconnect."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from tinykit.cli import main
from tinykit.power import DEFAULT_VOLTAGE_MV, open_monitor


@main.group("power")
def power_group() -> None:
    """Power monitors (ST LPM01A, Nordic PPK2) for energy per inference."""


@power_group.command("check")
@click.argument("spec", metavar="KIND:PORT")
@click.option("--voltage-mv", type=int, default=DEFAULT_VOLTAGE_MV, show_default=True,
              help="Supply voltage the monitor sets up for the DUT.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def check_command(spec: str, voltage_mv: int, as_json: bool) -> None:
    """Connect to the monitor KIND:PORT (lpm01a:/dev/ttyACM1, ppk2:auto), print its identity, disconnect.

    Connecting configures the monitor as `measure --power` does, which powers the DUT on; leaving
    powers it off again.
    """
    with open_monitor(spec, voltage_mv=voltage_mv) as mon:
        identity = mon.identity()
    if as_json:
        click.echo(json.dumps(identity))
        return
    table = Table(title="power monitor", show_header=False)
    for key, value in identity.items():
        table.add_row(key, value)
    Console().print(table)
