"""`tinykit check`: regression budgets on one or many boards (or labgrid places), for CI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from tinykit.cli import main
from tinykit.cli.options import force_option, refuse_port_on_emulator
from tinykit.errors import TinykitError
from tinykit.files import check_output_file

SPEC_HELP = """Run the budget SPEC (YAML) on its boards and judge every figure.

\b
SPEC format:
  checks:
    - model: kws.tflite          # relative to SPEC
      boards: [qemu-m4]
      inputs: 5                  # random inputs (latency, bit-exactness)
      dataset: kws_test/         # class folders of inputs (accuracy)
      budget: {max_instructions: 7800000, max_flash_bytes: 120000,
               max_ram_bytes: 40000, min_accuracy: 0.85, bit_exact: true}
               # also max_cycles, max_us (real boards), max_stack_bytes

Exit 0 when every budget holds, 1 when one regressed (each named with its figure and budget), 2 on error.
"""


def targets_from(boards: tuple[str, ...], port: str | None, places: tuple[str, ...], coordinator: str | None,
                 spec_boards: list[str]):
    """The boards to run on: --board (else the spec's), each at --port or a --place [BOARD=]NAME."""
    from tinykit.hil.target import Target, place_target

    chosen = list(dict.fromkeys(boards)) or spec_boards
    if port and len(chosen) != 1:
        raise TinykitError("--port needs exactly one board", hint="add --board ID")
    if places:
        try:
            return [place_target(p, chosen, coordinator) for p in places]
        except ValueError as err:
            raise TinykitError(f"--place {err}", hint="write --place BOARD=PLACE, or give one --board") from None
    return [Target(board=b, port=port) for b in chosen]


def _table(rows) -> Table:
    table = Table(title="tinykit check")
    for col in ("model", "board", "status", "instructions/cycles", "flash B", "RAM B", "accuracy", "detail"):
        table.add_column(col)
    for row in rows:
        f = row.figures
        count = f.get("instructions_per_inference") or f.get("cycles_per_inference")
        failed = [v["budget"] for v in row.verdicts if not v["ok"]]
        table.add_row(Path(row.model).name, row.target.label, row.status, f"{count:,}" if count else "–",
                      f"{f['flash_bytes']:,}" if f.get("flash_bytes") else "–",
                      f"{f['ram_bytes']:,}" if f.get("ram_bytes") else "–",
                      f"{f['accuracy']:.3f}" if f.get("accuracy") is not None else "–",
                      row.error or (", ".join(failed) if failed else "all budgets hold"))
    return table


@main.command("check", help=SPEC_HELP)
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=Path))
@click.option("--board", "boards", multiple=True, help="Only these boards of the spec (repeatable).")
@click.option("--port", help="pyserial URL of the (single) board: /dev/ttyACM0, socket://, rfc2217://.")
@click.option("--place", "places", multiple=True, metavar="[BOARD=]PLACE",
              help="Run on a labgrid place (acquired, then released); repeatable, one worker each.")
@click.option("--coordinator", envvar="LG_COORDINATOR", help="labgrid coordinator HOST[:PORT] ($LG_COORDINATOR).")
@click.option("-j", "--jobs", type=click.IntRange(1), help="Boards run in parallel (default: one worker per board).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--junit", "junit_path", type=click.Path(path_type=Path), help="Write JUnit XML here.")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write the results JSON here (atomically).")
@force_option
def check_command(spec_path, boards, port, places, coordinator, jobs, as_json, junit_path, output, force) -> None:
    from tinykit import report
    from tinykit.hil.budget import load_spec
    from tinykit.hil.check import exit_code, failures, run_checks, write_junit
    from tinykit.targets.boards import load_board

    for path in (output, junit_path):
        if path is not None:
            check_output_file(path, force)
    spec = load_spec(spec_path)
    spec_boards = list(dict.fromkeys(b for c in spec.checks for b in c.boards))
    targets = targets_from(boards, port, places, coordinator, spec_boards)
    if port is not None:
        refuse_port_on_emulator(load_board(targets[0].board), port)
    for path in (output, junit_path):
        if path is not None:
            report.check_writable(path)
    console = Console(stderr=True)
    rows = run_checks(spec, targets, jobs, progress=None if as_json else console.print)
    if not rows:
        raise TinykitError(f"no check of {spec_path} runs on {', '.join(t.label for t in targets)}",
                           hint=f"the spec's boards: {', '.join(spec_boards)}")
    code = exit_code(rows)
    data = {**report.provenance(), "spec": str(spec_path), "passed": code == 0, "exit_code": code,
            "results": [r.to_dict() for r in rows]}
    if output is not None:
        report.write_json_atomic(output, data)
    if junit_path is not None:
        write_junit(junit_path, rows)
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        Console().print(_table(rows))
    for line in failures(rows):
        click.echo(line, err=True)
    sys.exit(code)
