"""`tinykit stream`: send a WAV to the streaming keyword-detection firmware, print detections."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinykit.cli import main
from tinykit.cli.measure_cmd import _stderr_trace as stderr_trace
from tinykit.cli.options import force_option, refuse_port_on_emulator, warn_ignored
from tinykit.errors import DataError
from tinykit.files import check_output_dir


def _printer(rate: int, quiet: bool):
    def on_event(kind: str, item) -> None:
        if quiet:
            return
        if kind == "detection":
            click.echo(f"detected {item.label:<10} score {item.score:.2f}  at sample {item.sample} "
                       f"({item.sample / rate:.2f} s)")
        else:
            click.secho(f"warning: {item}", fg="yellow", err=True)

    return on_event


def summary_lines(res) -> list[str]:
    """Human-readable real-time factor lines of a StreamResult."""
    unit = "instructions (emulated core)" if res.emulated else "cycles"
    st = res.stats
    fe, nn = st.get("fe_cycles", 0), st.get("nn_cycles", 0)
    secs = res.audio_seconds or 1.0
    return [
        f"{len(res.detections)} detection(s) in {res.audio_seconds:.2f} s of audio; "
        f"{st.get('frames', 0)} frames, {st.get('inferences', 0)} inferences, {len(res.errors)} stream error(s)",
        f"device work: {res.cycles_per_audio_second:,.0f} {unit} per second of audio "
        f"(front end {fe / secs:,.0f}, network {nn / secs:,.0f})",
        f"real-time factor at {res.clock_hz / 1e6:g} MHz: {res.real_time_fraction:.3f} "
        f"({'keeps up with' if res.real_time_fraction < 1 else 'slower than'} real time)",
    ]


@main.command("stream")
@click.argument("wav", type=click.Path(path_type=Path))
@click.option("--board", "board_id", default="qemu-m4", show_default=True, help="Board id.")
@click.option("--port", default=None, help="Serial port of a real board (QEMU needs none).")
@click.option("--model", "model_path", type=click.Path(path_type=Path),
              help="int8 keyword model (.tflite with features.json, labels.json): builds the stream firmware.")
@click.option("--build", "build_dir", type=click.Path(path_type=Path),
              help="An existing stream firmware build (instead of --model).")
@click.option("-o", "--out-dir", type=click.Path(path_type=Path), default=Path("out/stream"), show_default=True,
              help="Where --model builds the stream firmware (an earlier stream build is reused, any other "
                   "non-empty folder needs --force).")
@click.option("--infer-every", type=click.IntRange(1, 49), default=4, show_default=True,
              help="Frames (strides) between inferences.")
@click.option("--smooth", type=click.IntRange(1, 32), default=3, show_default=True, help="Posteriors averaged.")
@click.option("--threshold", type=click.FloatRange(0.01, 1.0), default=0.6, show_default=True,
              help="Smoothed score that triggers a detection.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--trace", is_flag=True, help="Log every serial line sent and received (stderr).")
@force_option
@click.pass_context
def stream_cmd(ctx: click.Context, wav: Path, board_id: str, port: str | None, model_path: Path | None,
               build_dir: Path | None, out_dir: Path, infer_every: int, smooth: int, threshold: float, as_json: bool,
               trace: bool, force: bool) -> None:
    """Stream WAV audio to the device; print keyword detections and the real-time factor."""
    from tinykit.audio.stream import build_stream_firmware, run_stream
    from tinykit.targets.boards import load_board

    if (model_path is None) == (build_dir is None):
        raise DataError("give exactly one of --model (build the stream firmware) or --build DIR")
    if model_path is not None:
        check_output_dir(out_dir, force, reuse_marker="build.json")
    else:
        warn_ignored(ctx, ("out_dir", "infer_every", "smooth", "threshold", "force"),
                     "it configures the firmware --model builds, and --build gives one")
    if not wav.is_file():
        raise DataError(f"audio file {wav} does not exist")
    refuse_port_on_emulator(load_board(board_id), port)
    if model_path is not None:
        if not model_path.is_file():
            raise DataError(f"model {model_path} does not exist")
        res = build_stream_firmware(model_path, board_id, out_dir, infer_every=infer_every, smooth=smooth,
                                    threshold=threshold)
        build_dir = res.dir
        if not as_json:
            click.echo(f"stream firmware for {board_id}: flash {res.size.flash_used:,} B, "
                       f"RAM {res.size.ram_used:,} B -> {build_dir}")
    from tinykit.audio.stream import read_pcm

    rate = read_pcm(wav)[1]
    result = run_stream(build_dir, board_id, wav, port, on_event=_printer(rate, as_json),
                        trace=stderr_trace if trace else None)
    if as_json:
        click.echo(json.dumps(result.to_dict() | {"board": board_id, "wav": str(wav)}))
        return
    for line in summary_lines(result):
        click.echo(line)
