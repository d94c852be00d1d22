"""`tinykit train` and `tinykit distill`: zoo models on a data set."""

from __future__ import annotations

import json
from pathlib import Path

import click
import numpy as np

from tinykit.cli import DATA_HELP, main
from tinykit.cli.options import force_option
from tinykit.files import check_output_file
from tinykit.tflog import tensorflow_log

MODEL_CHOICES = ("ds-cnn", "cnn", "resnet8", "mobilenet-v1", "autoencoder", "mlp")


def _progress(total: int, label: str):
    """A rich progress bar over epochs; returns (context manager, callback)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), transient=False, console=Console(stderr=True))
    task = bar.add_task(label, total=total, info="")

    def update(epoch: int, logs: dict) -> None:
        bar.update(task, completed=epoch + 1, description=f"{label}: epoch {epoch + 1}/{total}",
                   info=f"loss {logs['loss']:.3f} val {logs['val']:.3f}")

    return bar, update


@main.command("train")
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help=f"The {DATA_HELP}.")
@click.option("--model", "model_name", type=click.Choice(MODEL_CHOICES), default="ds-cnn", show_default=True)
@click.option("--width", type=float, default=None, help="channel width multiplier")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr", type=float, default=2e-3, show_default=True)
@click.option("--patience", type=int, default=6, show_default=True, help="early-stopping patience")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-augment", is_flag=True)
@click.option("--no-cache", is_flag=True, help="train even if the same training was done before (see `cached`)")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="model.keras")
@force_option
@click.option("--json", "as_json", is_flag=True)
def train_cmd(data_path, model_name, width, epochs, batch_size, lr, patience, seed, no_augment, no_cache, output,
              force, as_json):
    """Train a zoo model; writes the model, metrics.json, a curves PNG and features.json."""
    from tinykit.train.trainer import TrainConfig, train

    check_output_file(output, force, (".keras",))

    cfg = TrainConfig(epochs=epochs, batch_size=batch_size, learning_rate=lr, patience=patience,
                      seed=seed, augment=not no_augment)
    if as_json:
        with tensorflow_log(Path(output).parent):
            res = train(data_path, model_name, output, cfg, width, use_cache=not no_cache)
        click.echo(json.dumps({"model": str(res.model_path), "accuracy": res.metrics.get("accuracy"),
                               "params": res.metrics["params"]}))
        return
    bar, update = _progress(epochs, f"train {model_name}")
    with tensorflow_log(Path(output).parent), bar:
        res = train(data_path, model_name, output, cfg, width, progress=update, use_cache=not no_cache)
        _finish_bar(bar, res.history, epochs, patience, res.metrics.get("cached", False))
    acc = res.metrics.get("accuracy")
    shown = f"test accuracy {acc:.4f}" if acc is not None else f"test mse {res.metrics['mse']:.5f}"
    click.echo(f"{shown}, {res.metrics['params']} params -> {output}")


def _finish_bar(bar, history: dict, epochs: int, patience: int, cached: bool) -> None:
    """Close the epoch bar; say so when early stopping ended training before the last epoch."""
    ran = len(history.get("loss", []))
    task = bar.tasks[0].id
    if cached:
        bar.update(task, total=ran, completed=ran, description=f"{ran} epochs (from the cache)",
                   info=f"val {max(history['val_score']):.3f}")
        bar.console.print("the same training (data, model, settings) ran before: its result was reused "
                          "(--no-cache trains again)")
    elif ran < epochs:
        best = int(np.argmax(history["val_score"])) + 1
        bar.update(task, total=ran, completed=ran,
                   description=f"stopped early at epoch {ran}/{epochs}")
        bar.console.print(f"early stopping: validation accuracy did not improve for {patience} epochs after "
                          f"epoch {best}; the weights of epoch {best} are kept")


@main.command("distill")
@click.option("--teacher", type=click.Path(path_type=Path), required=True)
@click.option("--student-model", type=click.Choice(MODEL_CHOICES), default="ds-cnn", show_default=True)
@click.option("--width", type=float, default=0.5, show_default=True)
@click.option("--data", "data_path", type=click.Path(path_type=Path), required=True, help=f"The {DATA_HELP}.")
@click.option("--temperature", type=float, default=4.0, show_default=True)
@click.option("--alpha", type=float, default=0.3, show_default=True,
              help="weight of the hard-label loss (1 - alpha weighs the T^2-scaled soft loss)")
@click.option("--epochs", type=int, default=30, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="student.keras")
@force_option
@click.option("--json", "as_json", is_flag=True)
def distill_cmd(teacher, student_model, width, data_path, temperature, alpha, epochs, seed, output, force,
                as_json):
    """Train a student on the teacher's soft targets; compares with the same student trained alone."""
    from tinykit.train.distill import distill
    from tinykit.train.trainer import TrainConfig

    check_output_file(output, force, (".keras",))

    with tensorflow_log(Path(output).parent):
        res = distill(teacher, student_model, width, data_path, output, TrainConfig(epochs=epochs, seed=seed),
                      temperature=temperature, alpha=alpha)
    if as_json:
        click.echo(json.dumps(res))
        return
    click.echo(f"teacher {res['teacher_accuracy']:.4f}  student+KD {res['student_accuracy']:.4f}  "
               f"student alone {res['baseline_accuracy']:.4f} -> {output}")
