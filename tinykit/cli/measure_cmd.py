"""`tinykit measure`, `tinykit run` and `tinykit bench`: parse, call the library, print."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from tinykit.cli import main
from tinykit.cli.options import force_option, refuse_port_on_emulator, warn_ignored
from tinykit.errors import BuildError, DeviceError, TinykitError
from tinykit.files import check_output_dir, check_output_file
from tinykit.models import resolve_model

DEVICE_FILE = "device.json"  # written by `tinykit flash DIR`: {"url", "pid", "board"}
EXIT_MISMATCH = 1  # the device's outputs differ from the host oracle

# A stateful model (LSTM/SVDF) is measured as passes over the inputs, each after `tk-reset`.
RUNS_HELP = "Inferences per input (a stateful model: passes over the inputs, each after tk-reset, at least 2)."


def _stderr_trace(line: str) -> None:
    click.echo(f"trace {time.monotonic():.3f} {line!r}"[:400], err=True)


def _device_url(build_dir: Path, board_id: str) -> str:
    path = build_dir / DEVICE_FILE
    try:
        data = json.loads(path.read_text())
        url = data["url"]
    except (OSError, ValueError, KeyError, TypeError):
        raise DeviceError(f"no running device recorded in {path}",
                          hint=f"start it with `tinykit flash {build_dir} --board {board_id}`") from None
    if data.get("board") not in (None, board_id):
        raise DeviceError(f"{build_dir} was flashed for board {data['board']!r}, not {board_id!r}")
    return str(url)


def _build_info(build_dir: Path) -> dict:
    """Model, toolchain and sizes recorded by `tinykit build` in DIR/build.json (if there)."""
    from tinykit.firmware.record import read_build_record

    try:
        record = read_build_record(build_dir)
    except BuildError:
        return {"model": None, "toolchain": None, "sizes": {}}
    model = record.get("model") if isinstance(record, dict) else None
    size = record.get("size") or {}
    sizes = {"flash_bytes": size.get("flash_used"), "ram_bytes": size.get("ram_used"),
             "flash_total": size.get("flash_total"), "ram_total": size.get("ram_total")}
    return {"model": Path(model) if model and Path(model).is_file() else None,
            "toolchain": record.get("toolchain"), "sizes": {k: v for k, v in sizes.items() if v is not None}}


def _progress(quiet: bool):
    """Progress on stderr, only for a person watching a terminal."""
    if quiet or not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        click.echo(f"\r  input {done}/{total}", err=True, nl=done == total)
    return show


def _emit(result: dict, as_json: bool, output: Path | None, console: Console) -> None:
    from tinykit import report

    if output is not None:
        report.write_json_atomic(output, result)
        if result.get("layers"):
            report.plot_layers(result, output.with_suffix(".layers.png"))
    if as_json:
        click.echo(json.dumps(result, default=str))
    else:
        report.print_report(result, console)
        if output is not None:
            console.print(f"results: {output}")
    if result.get("mismatched_bytes"):
        # Not a user error (exit 2) but a failed validation: scripts and CI must notice.
        sys.exit(EXIT_MISMATCH)


@main.command("measure")
@click.option("--board", "board_id", required=True, help="Board id (see `tinykit boards`).")
@click.option("--port", help="pyserial URL: /dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT.")
@click.option("--build", "build_dir", type=click.Path(path_type=Path), help="Build dir flashed by `tinykit flash`.")
@click.option("--model", help="The .tflite the device runs, or a bundled model name (for validation).")
@click.option("--inputs", "inputs_path", type=click.Path(path_type=Path), help=".npy/.npz/.bin file or directory.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path), help="Class labels (.npy or text).")
@click.option("--count", "num_inputs", type=click.IntRange(1), default=10, show_default=True,
              help="Random inputs (fixed seed) when --inputs is not given.")
@click.option("--runs", type=click.IntRange(1), default=1, show_default=True, help=RUNS_HELP)
@click.option("--power", help="Power monitor KIND:PORT (lpm01a:/dev/ttyACM1, ppk2:auto).")
@click.option("--place", help="labgrid place whose board to measure (acquired, then released).")
@click.option("--coordinator", envvar="LG_COORDINATOR", help="labgrid coordinator HOST[:PORT] ($LG_COORDINATOR).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--trace", is_flag=True, help="Log every serial line sent and received (stderr).")
@click.option("-o", "--output", type=click.Path(path_type=Path), help="Write results JSON here (atomically).")
@force_option
@click.pass_context
def measure_command(ctx, board_id, port, build_dir, model, inputs_path, labels_path, num_inputs, runs, power,
                    place, coordinator, as_json, trace, output, force) -> None:
    """Run inferences on a flashed device; report latency, bit-exactness, accuracy and energy."""
    from tinykit import report
    from tinykit.measure import MeasureRequest, measure
    from tinykit.targets.boards import load_board

    if inputs_path is not None:
        warn_ignored(ctx, ("num_inputs",), "--inputs gives the inputs")
    if output is not None:
        check_output_file(output, force)
    board = load_board(board_id)
    if sum(x is not None for x in (port, build_dir, place)) != 1:
        raise TinykitError("give exactly one of --port, --build or --place",
                           hint="e.g. --port socket://127.0.0.1:4444")
    if output is not None:
        report.check_writable(output)
    info = _build_info(build_dir) if build_dir else {"model": None, "toolchain": None, "sizes": {}}
    model = resolve_model(str(model)) if model is not None else info["model"]
    console = Console(stderr=as_json)
    with _where(port, build_dir, board.id, place, coordinator) as (url, place_info):
        req = MeasureRequest(url=url, board=board, model_path=model, inputs_path=inputs_path,
                             labels_path=labels_path, num_inputs=num_inputs, runs=runs, power=power,
                             trace=_stderr_trace if trace else None, progress=_progress(as_json))
        result = {**report.provenance(toolchain=info["toolchain"]), **measure(req), **info["sizes"], **place_info}
    _emit(result, as_json, output, console)


@contextlib.contextmanager
def _where(port: str | None, build_dir: Path | None, board_id: str, place: str | None, coordinator: str | None):
    """(url, extra results) of the device: a port, a `tinykit flash` build, or a labgrid place held meanwhile."""
    if place is None:
        yield port or _device_url(build_dir, board_id), {}
        return
    from tinykit.hil.farm import acquire_place

    with acquire_place(place, coordinator) as acquired:
        yield acquired.serial_url, acquired.to_dict()


@main.command("run")
@click.argument("model")
@click.option("--board", "board_id", default="qemu-m4", show_default=True, help="Board id.")
@click.option("-o", "--out-dir", type=click.Path(path_type=Path), default=Path("out/run"), show_default=True,
              help="Build directory; results.json is written here (an earlier run's folder is reused, any other "
                   "non-empty folder needs --force).")
@click.option("--port", help="Serial port of a real board (pyserial URL); QEMU needs none.")
@click.option("--count", "num_inputs", type=click.IntRange(1), default=10, show_default=True,
              help="Random inputs (fixed seed) to validate and time.")
@click.option("--runs", type=click.IntRange(1), default=1, show_default=True, help=RUNS_HELP)
@click.option("--place", help="labgrid place to run on (its board must run MODEL's firmware; held meanwhile).")
@click.option("--coordinator", envvar="LG_COORDINATOR", help="labgrid coordinator HOST[:PORT] ($LG_COORDINATOR).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--trace", is_flag=True, help="Log every serial line sent and received (stderr).")
@force_option
def run_command(model, board_id, out_dir, port, num_inputs, runs, place, coordinator, as_json, trace,
                force) -> None:
    """Build firmware for MODEL (a .tflite or kws/ic/vww/ad/hello_world), flash it and measure it."""
    from tinykit import report
    from tinykit.run import run
    from tinykit.targets.boards import load_board

    check_output_dir(out_dir, force, reuse_marker="results.json")
    model = resolve_model(model)
    board = load_board(board_id)
    refuse_port_on_emulator(board, port)
    output = report.check_writable(out_dir / "results.json")
    console = Console(stderr=as_json)
    if not as_json:
        console.print(f"building and flashing {model.name} for {board.id} ...")
    if port and place:
        raise TinykitError("give at most one of --port or --place")
    result = run(model, board.id, out_dir, num_inputs=num_inputs, runs=runs, port=port,
                 trace=_stderr_trace if trace else None, progress=_progress(as_json), place=place,
                 coordinator=coordinator)
    result = {**report.provenance(toolchain=result.get("toolchain")), **result}
    _emit(result, as_json, output, console)


@main.command("bench")
@click.option("--board", "board_ids", multiple=True, default=("qemu-m4",), show_default=True,
              help="Board id; repeat for several boards, benchmarked in parallel (a worker per board).")
@click.option("--model", "models", multiple=True, help="Only these reference models (kws, ic, vww, ad, hello_world).")
@click.option("-o", "--out-dir", type=click.Path(path_type=Path), default=Path("out/bench"), show_default=True,
              help="Builds, per-model results.json and bench.json go here (a sub-folder per board for several; "
                   "an earlier bench's folder is reused, any other non-empty folder needs --force).")
@click.option("--count", "num_inputs", type=click.IntRange(1), default=3, show_default=True,
              help="Random inputs per model (every output byte is checked against tflite-micro).")
@click.option("-j", "--jobs", type=click.IntRange(1), help="Boards benchmarked at once (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--markdown", "as_markdown", is_flag=True, help="Print the docs/BENCHMARKS.md table.")
@force_option
def bench_command(board_ids, models, out_dir, num_inputs, jobs, as_json, as_markdown, force) -> None:
    """Every bundled reference model on BOARD(s), next to TFLite Micro's figures (ANCHORS.md)."""
    from tinykit import bench, report
    from tinykit.models import REFERENCE_MODELS
    from tinykit.targets.boards import load_board

    check_output_dir(out_dir, force, reuse_marker="bench.json")
    boards = [load_board(b).id for b in dict.fromkeys(board_ids)]
    unknown = sorted(set(models) - set(REFERENCE_MODELS))
    if unknown:
        raise TinykitError(f"unknown reference model(s) {', '.join(unknown)}",
                           hint=f"choose from {', '.join(REFERENCE_MODELS)}")
    output = report.check_writable(out_dir / "bench.json")
    console = Console(stderr=True)
    rows = bench.bench_boards(boards, out_dir, list(models) or None, num_inputs, jobs=jobs,
                              progress=lambda m: console.print(f"bench: {m} ..."))
    data = {**report.provenance(), "board": boards[0], "boards": boards, "rows": rows}
    report.write_json_atomic(output, data)
    if as_json:
        click.echo(json.dumps(data, default=str))
    else:
        tables = [bench.markdown([r for r in rows if r["board"] == b], b) for b in boards]
        if as_markdown:
            click.echo("\n".join(tables), nl=False)
        else:
            for table in tables:
                Console().print(table)
    bad = [f"{r['model']} on {r['board']}" for r in rows if r.get("mismatched_bytes")]
    if bad:
        console.print(f"[red]validation failed: {', '.join(bad)} differ from the tflite-micro reference[/red]")
        sys.exit(EXIT_MISMATCH)
