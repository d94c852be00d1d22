"""`tinykit quantize`, `tinykit prune`, `tinykit fit`: make a float model fit a microcontroller."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinykit.cli import DATA_HELP, main
from tinykit.cli.options import force_option, warn_ignored
from tinykit.files import check_output_dir, check_output_file
from tinykit.tflog import tensorflow_log


def _echo_warnings(warnings: list[str]) -> None:
    for w in warnings:
        click.echo(f"warning: {w}", err=True)


@main.command("quantize")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True,
              help=f"Calibration and health-check {DATA_HELP}.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="model.tflite")
@force_option
@click.option("--qat", is_flag=True, help="quantization-aware fine-tuning before conversion")
@click.option("--qat-epochs", type=int, default=3, show_default=True)
@click.option("--strict", is_flag=True, help="an unhealthy conversion is an error, not a warning")
@click.option("--max-drop", type=float, default=0.01, show_default=True, help="allowed accuracy drop")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--calibration-scale", type=float, default=1.0, hidden=True,
              help="multiply the representative set (for testing the health check)")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quantize_cmd(ctx, model, data_path, output, force, qat, qat_epochs, strict, max_drop, seed, calibration_scale,
                 as_json):
    """Convert a Keras model to a full-int8 .tflite and check its health."""
    from tinykit.compress.quantize import quantize_model

    check_output_file(output, force, (".tflite",))
    if not qat:
        warn_ignored(ctx, ("qat_epochs",), "it sets the epochs of --qat")

    with tensorflow_log(Path(output).parent):
        res = quantize_model(model, data_path, output, qat=qat, strict=strict, seed=seed, max_drop=max_drop,
                             calibration_scale=calibration_scale, qat_epochs=qat_epochs)
    h = res.health
    if as_json:
        click.echo(json.dumps({"tflite": str(res.tflite_path), "size_bytes": res.size_bytes, "io": res.io,
                               "health": h.to_dict(), "unsupported_ops": _unsupported(res.tflite_path)}))
        check_written_model(res.tflite_path)
        return
    _echo_warnings(h.warnings)
    inp, out = res.io["inputs"][0], res.io["outputs"][0]
    if h.float_accuracy is not None:
        click.echo(f"float accuracy {h.float_accuracy:.4f}  int8 {h.int8_accuracy:.4f}  "
                   f"agreement {h.agreement:.4f}")
    worst = min(h.layers, key=lambda layer: layer.sqnr_db, default=None)
    if worst is not None:
        click.echo(f"lowest layer SQNR {worst.sqnr_db:.1f} dB ({worst.op} '{worst.name}')")
    click.echo(f"input scale {inp['scale']:.6g} zero point {inp['zero_point']}; output scale "
               f"{out['scale']:.6g} zero point {out['zero_point']}")
    click.echo(f"wrote {res.tflite_path} ({res.size_bytes} bytes)")
    check_written_model(res.tflite_path)


def check_written_model(tflite: Path) -> None:
    """End `quantize` and `fit` with the support check of `inspect` (one line naming every op)."""
    from tinykit.ir.support import check_written_model as check

    check(tflite)


def _unsupported(tflite: Path) -> list[dict]:
    """The ops of a written model tinykit cannot run (as `inspect --json` lists them)."""
    from tinykit.ir import read_model
    from tinykit.ir.support import unsupported_rows

    return unsupported_rows(read_model(tflite))


def _layer_ratios(items: tuple[str, ...]) -> dict[str, float]:
    from tinykit.errors import TrainingError

    out = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError as err:
            raise TrainingError(f"--layer-ratio expects LAYER=RATIO, got {item!r}") from err
    return out


@main.command("prune")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help=f"The {DATA_HELP}.")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="pruned.keras")
@force_option
@click.option("--ratio", type=float, default=0.5, show_default=True, help="fraction of channels to remove")
@click.option("--target-macs", type=float, default=None, help="prune to this fraction of the MACs instead")
@click.option("--criterion", type=click.Choice(["l1", "l2", "activation"]), default="l1", show_default=True)
@click.option("--mode", type=click.Choice(["layer", "global"]), default="layer", show_default=True)
@click.option("--layer-ratio", "layer_ratio", multiple=True, metavar="LAYER=RATIO",
              help="per-layer ratio override (repeatable), e.g. --layer-ratio conv0=0.2")
@click.option("--steps", type=int, default=3, show_default=True)
@click.option("--finetune-epochs", type=int, default=3, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True, help="fine-tuning batch size")
@click.option("--lr", type=float, default=1e-3, show_default=True, help="fine-tuning learning rate")
@click.option("--sensitivity", is_flag=True, help="also report per-layer sensitivity")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def prune_cmd(ctx, model, data_path, output, force, ratio, target_macs, criterion, mode, layer_ratio, steps,
              finetune_epochs, batch_size, lr, sensitivity, seed, as_json):
    """Remove whole filters/units, fine-tuning between steps; reports every step."""
    from rich.console import Console
    from rich.table import Table

    from tinykit.compress.prune import PruneConfig, prune_file
    from tinykit.compress.quantize import load_for_model

    check_output_file(output, force, (".keras",))
    if target_macs is not None:
        warn_ignored(ctx, ("ratio",), "--target-macs sets how much to prune")

    cfg = PruneConfig(ratio=ratio, target_macs=target_macs, criterion=criterion, mode=mode, steps=steps,
                      layer_ratios=_layer_ratios(layer_ratio),
                      finetune_epochs=finetune_epochs, seed=seed, batch_size=batch_size, learning_rate=lr)
    with tensorflow_log(Path(output).parent):
        report = prune_file(model, load_for_model(model, data_path), output, cfg, with_sensitivity=sensitivity)
    if as_json:
        click.echo(json.dumps(report))
        return
    table = Table(title=f"pruning {model}")
    for col in ("step", "ratio", "accuracy", "params", "MACs", "weight bytes", "arena bytes"):
        table.add_column(col, justify="right")
    for s in report["steps"]:
        table.add_row(str(s["step"]), f"{s['ratio']:.3f}", f"{s['accuracy']:.4f}", str(s["params"]),
                      str(s["macs"]), str(s["weight_bytes"]), str(s["arena_bytes"]))
    Console().print(table)
    for row in report.get("sensitivity", []):
        click.echo(f"sensitivity {','.join(row['layers'])}: -{row['channels'] - row['kept']} channels "
                   f"-> val drop {100 * row['drop']:.1f} pts")
    click.echo(f"wrote {output}")


@main.command("fit")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--board", "board_id", required=True, help="board id, e.g. qemu-m0")
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help=f"The {DATA_HELP}.")
@click.option("--max-drop", type=float, default=0.02, show_default=True,
              help="allowed int8 accuracy loss against the unpruned int8 model")
@click.option("--ratios", default="0,0.25,0.5,0.7", show_default=True, help="pruning ratios to try")
@click.option("--finetune-epochs", type=int, default=3, show_default=True, help="fine-tuning epochs per ratio")
@click.option("--batch-size", type=int, default=16, show_default=True, help="fine-tuning batch size")
@click.option("--qat/--no-qat", default=True, show_default=True,
              help="use quantization-aware training for a fitting candidate whose float accuracy meets the "
                   "floor but whose PTQ accuracy does not")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="output directory")
@force_option
@click.option("--json", "as_json", is_flag=True)
def fit_cmd(model, board_id, data_path, max_drop, ratios, finetune_epochs, batch_size, qat, seed, output,
            force, as_json):
    """Find the most accurate int8 model that fits a board's RAM and flash."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from tinykit.compress.fit import fit_model
    from tinykit.compress.quantize import load_for_model
    from tinykit.errors import TrainingError

    try:
        ratio_list = [float(r) for r in ratios.split(",") if r.strip()]
    except ValueError as err:
        raise TrainingError(f"--ratios must be comma-separated numbers, got {ratios!r}") from err
    from tinykit.targets.boards import load_board

    check_output_dir(output, force)
    load_board(board_id)  # fail fast on an unknown board, before loading data
    console = Console(stderr=True)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, transient=True)
    tasks: dict[float, int] = {}

    def on_epoch(ratio: float, epoch: int, total: int) -> None:
        if ratio not in tasks:
            tasks[ratio] = bar.add_task(f"ratio {ratio:g}: fine-tuning epoch", total=total)
        bar.update(tasks[ratio], completed=epoch + 1)

    def progress(c) -> None:
        if c.ratio in tasks:
            bar.remove_task(tasks[c.ratio])
        bar.console.print(f"candidate ratio {c.ratio:.2f}: int8 accuracy {c.accuracy:.4f}, RAM {c.ram_needed}, "
                          f"flash {c.flash_needed}, {'fits' if c.fits else 'does not fit'}"
                          + (" (cached: trained by an earlier run)" if c.cached else ""))

    with tensorflow_log(output), bar:
        report = fit_model(model, board_id, load_for_model(model, data_path), output, max_drop, ratio_list,
                           finetune_epochs, seed, qat, progress=None if as_json else progress,
                           batch_size=batch_size, on_epoch=None if as_json else on_epoch)
    chosen = Path(output) / "model.tflite"
    if as_json:
        click.echo(json.dumps({**report, "unsupported_ops": _unsupported(chosen)}))
        check_written_model(chosen)
        return
    table = Table(title=f"candidates for {report['board']} (floor {report['accuracy_floor']:.4f})")
    for col in ("ratio", "method", "int8 acc", "params", "weights", "arena", "RAM need", "flash need", "fits"):
        table.add_column(col, justify="right")
    for c in report["candidates"]:
        table.add_row(f"{c['ratio']:.2f}", c["method"], f"{c['accuracy']:.4f}", str(c["params"]),
                      str(c["weight_bytes"]), str(c["arena_bytes"]), str(c["ram_needed"]),
                      str(c["flash_needed"]), "yes" if c["fits"] else "no")
    Console().print(table)
    ch = report["chosen"]
    click.echo(f"chose ratio {ch['ratio']:.2f}: int8 accuracy {ch['accuracy']:.4f}, RAM {ch['ram_needed']}, "
               f"flash {ch['flash_needed']} -> {chosen}")
    check_written_model(chosen)
