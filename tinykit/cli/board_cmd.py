"""`tinykit boards`, `tinykit build`, `tinykit flash`: thin wrappers over boards, build and flash."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from tinykit.cli import main
from tinykit.cli.options import force_option, refuse_port_on_emulator, warn_ignored
from tinykit.errors import FlashError
from tinykit.files import check_output_dir
from tinykit.firmware.build import BuildResult, build_firmware, read_build_record
from tinykit.models import resolve_model
from tinykit.targets.boards import CLOCK_SETTINGS, DEFAULT_BOARD, board_file, board_summary, list_boards


def _kib(n: int) -> str:
    return f"{n / 1024:g} KB" if n < 1024 * 1024 else f"{n / (1024 * 1024):g} MB"


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def boards(as_json: bool) -> None:
    """List the boards tinykit can build for, and where each comes from (tinykit or your board files)."""
    all_boards = list_boards()
    if as_json:
        click.echo(json.dumps({"boards": [board_summary(b) for b in all_boards], "default": DEFAULT_BOARD}))
        return
    table = Table(title="tinykit boards")
    for col in ("id", "name", "cpu", "clock", "flash", "ram", "counter", "flasher", "source"):
        table.add_column(col, no_wrap=col in ("id", "cpu"))
    for b in all_boards:
        table.add_row(
            b.id + (" (default)" if b.id == DEFAULT_BOARD else ""),
            b.name,
            b.cpu,
            f"{b.clock_hz / 1e6:g} MHz",
            _kib(b.memory.flash.size),
            _kib(b.memory.ram.size),
            b.cycle_counter,
            b.flasher.kind + (f" ({b.emulator})" if b.emulator else ""),
            board_file(b.id).origin,
        )
    Console().print(table)


def _size_table(res: BuildResult) -> Table:
    s = res.size
    table = Table(title=f"firmware for {res.board}: {res.elf}")
    for col in ("section", "bytes", "region"):
        table.add_column(col, justify="right" if col == "bytes" else "left")
    for name, value, region in ((".text", s.text, "flash"), (".rodata", s.rodata, "flash"),
                                (".data", s.data, "flash+RAM"), (".bss", s.bss, "RAM"),
                                ("stack", s.stack, "RAM")):
        table.add_row(name, f"{value:,}", region)
    for label, used, total in (("flash used", s.flash_used, s.flash_total), ("RAM used", s.ram_used, s.ram_total)):
        table.add_row(label, f"{used:,}", f"of {total:,} ({100 * used / total:.1f} %)")
    return table


@main.command()
@click.argument("model")
@click.option("--board", "-b", default=DEFAULT_BOARD, show_default=True, help="Board id (see `tinykit boards`).")
@click.option("--output", "-o", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory for the firmware project and firmware.elf.")
@click.option("--energy", is_flag=True, help="MLPerf energy mode: 9600 baud, GPIO timestamps.")
@click.option("--uint8-input", is_flag=True,
              help="The host sends uint8 data (e.g. MLPerf images): the firmware subtracts 128 from each byte for "
                   "the int8 input (on by default for MLPerf's image classification model; tk-info shows it).")
@click.option("--clock", type=click.Choice(CLOCK_SETTINGS), default="board", show_default=True,
              help="`board`: the clock the board file states (e.g. 120 MHz); `reset`: keep the chip's reset "
                   "clock (low-power measurements).")
@force_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def build(model: str, board: str, out_dir: Path, energy: bool, uint8_input: bool, clock: str, force: bool,
          as_json: bool) -> None:
    """Generate the model library for MODEL and build firmware for BOARD (size report vs its limits)."""
    check_output_dir(out_dir, force)
    res = build_firmware(resolve_model(model), board, out_dir, energy_mode=energy, uint8_input=uint8_input,
                         clock=clock)
    if as_json:
        click.echo(json.dumps({"elf": str(res.elf), "dir": str(res.dir), "board": res.board,
                               "toolchain": res.toolchain, "model_sha256": res.model_sha256,
                               "energy_mode": res.energy_mode, "clock": res.clock, "clock_hz": res.clock_hz,
                               "size": res.size.__dict__}))
        return
    Console().print(_size_table(res))
    click.echo(f"clock: {res.clock_hz / 1e6:g} MHz ({res.clock}); toolchain: {res.toolchain}")


@main.command()
@click.argument("build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--board", "-b", default=None, help="Board id (default: the one the build was made for).")
@click.option("--port", "-p", default=None, help="Serial port of a real board (else from the user config).")
@click.option("--stop", is_flag=True, help="Stop the QEMU started by an earlier `tinykit flash DIR`.")
@click.option("--serial", "serial_backend", type=click.Choice(["tcp", "pty"]), default="tcp", show_default=True,
              help="QEMU boards: the UART on a local TCP socket, or on a pseudo-terminal (/dev/pts/N, as a "
                   "USB CDC board appears; what ser2net can export).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def flash(ctx: click.Context, build_dir: Path, board: str | None, port: str | None, stop: bool,
          serial_backend: str, as_json: bool) -> None:
    """Flash BUILD_DIR onto its board; for QEMU boards, start the emulator in the background."""
    from tinykit.flash import get_flasher, stop_detached
    from tinykit.flash.qemu import QemuFlasher
    from tinykit.targets.boards import load_board

    if stop:
        warn_ignored(ctx, ("board", "port"), "--stop only stops the QEMU of BUILD_DIR")
        stopped = stop_detached(build_dir)
        click.echo(json.dumps({"stopped": stopped}) if as_json else
                   ("stopped QEMU" if stopped else "no QEMU was running for this build"))
        return
    board = board or read_build_record(build_dir).get("board")
    if not board:
        raise FlashError(f"{build_dir}/build.json names no board", hint="pass --board")
    refuse_port_on_emulator(load_board(board), port)
    flasher = get_flasher(board)
    if isinstance(flasher, QemuFlasher):
        stop_detached(build_dir)
        link = QemuFlasher(flasher.board, serial=serial_backend).start_detached(build_dir)
    else:
        link = flasher.flash(build_dir, port=port)
    info = {"url": link.url, "pid": link.pid, "board": link.board}
    if as_json:
        click.echo(json.dumps(info))
    else:
        click.echo(f"{link.board}: firmware answers on {link.url}"
                   + (f" (QEMU pid {link.pid}; stop it with `tinykit flash --stop {build_dir}`)" if link.pid else ""))
