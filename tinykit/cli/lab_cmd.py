"""`tinykit lab`: classroom labs that chain the pipeline stages (see docs/labs/)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from tinykit.cli import main
from tinykit.cli.options import force_option, warn_ignored
from tinykit.errors import DataError
from tinykit.files import check_output_dir, check_output_file

STAGE_TEXT = {
    "data": "preparing the data set", "train": "training the DS-CNN",
    "fit": "pruning candidates for the board (Pareto search)",
    "quantize": "quantizing the deployed model to int8 (health check)",
    "build": "building the firmware", "measure": "measuring on the device (whole test split)",
    "stream": "streaming a sentence of keywords", "report": "writing report.html",
}


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise DataError(f"not a comma-separated list of numbers: {text!r}") from None


@main.group("lab")
def lab() -> None:
    """One-command labs (keyword spotting) and their helpers."""


@lab.command("kws")
@click.option("--board", default="qemu-m4", show_default=True, help="Board id (see `tinykit boards`).")
@click.option("--data", "data", default=None, metavar="SOURCE",
              help="`speech-commands` (download Google Speech Commands), a .tar.gz copy of it, or a Speech "
                   "Commands-layout folder (default: synthesize keywords with espeak-ng and MBROLA).")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="New output directory.")
@click.option("--words", default="yes,no,up,down", show_default=True, help="Keywords.")
@click.option("--per-word", type=click.IntRange(10), default=200, show_default=True,
              help="Synthetic clips per label.")
@click.option("--epochs", type=click.IntRange(1), default=30, show_default=True)
@click.option("--prune-ratio", type=click.FloatRange(0.0, 0.9), default=0.25, show_default=True,
              help="Pruning ratio of the deployed model (one of the fit candidates).")
@click.option("--finetune-epochs", type=click.IntRange(0), default=2, show_default=True)
@click.option("--fit-ratios", default="0,0.25,0.5", show_default=True, help="Pruning ratios `fit` tries.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue an interrupted run in OUTPUT from its last finished stage.")
@force_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the lab.json summary).")
@click.pass_context
def kws(ctx: click.Context, board: str, data: str | None, out: Path, words: str, per_word: int, epochs: int,
        prune_ratio: float, finetune_epochs: int, fit_ratios: str, seed: int, resume: bool, force: bool,
        as_json: bool) -> None:
    """Keyword spotting end to end: data, train, fit (prune), quantize, build, flash, measure, stream."""
    from tinykit.lab.kws import SPEECH_COMMANDS, LabConfig, prepare_output, run_lab
    from tinykit.targets.boards import load_board
    from tinykit.tflog import tensorflow_log

    if not resume:
        check_output_dir(out, force)
    load_board(board)
    if data is not None and data != SPEECH_COMMANDS and not Path(data).exists():
        raise DataError(f"data set {data} does not exist", hint=f"give a folder, a .tar.gz, or {SPEECH_COMMANDS}")
    if data is not None:
        warn_ignored(ctx, ("per_word",), "it sizes the synthesized data set, and --data gives one")
    word_list = tuple(w.strip().lower() for w in words.split(",") if w.strip())
    if not word_list:
        raise DataError("--words needs at least one keyword")
    ratios = _floats(fit_ratios)
    if prune_ratio not in ratios:
        ratios = tuple(sorted({*ratios, prune_ratio}))
    cfg = LabConfig(board=board, data=str(Path(data).resolve()) if data and data != SPEECH_COMMANDS else data,
                    words=word_list, per_word=per_word, epochs=epochs, prune_ratio=prune_ratio,
                    finetune_epochs=finetune_epochs, fit_ratios=ratios, seed=seed)
    prepare_output(out, cfg, resume, force)  # refuse a wrong folder before anything is written into it
    console = Console(stderr=as_json)
    with tensorflow_log(out), console.status("starting") as status:
        res = run_lab(cfg, out, _progress(console, status), resume=resume, force=force)
    if as_json:
        click.echo((out / "lab.json").read_text())
        return
    _print_summary(console, res)


def _progress(console, status):
    def progress(stage: str, message: str) -> None:
        if message == "start":
            status.update(f"[bold]{STAGE_TEXT.get(stage, stage)}[/bold] …")
        else:
            console.print(f"[green]✓[/green] {STAGE_TEXT.get(stage, stage)}: {message}")

    return progress


def _print_summary(console, res) -> None:
    m, s = res.stages["measure"], res.stages["stream"]
    q = res.stages["quantize"]["health"]
    match = s.get("match", {})
    console.print(f"deployed model (pruned {res.config.prune_ratio:g}): float {q.get('float_accuracy'):.4f}, "
                  f"int8 on the host {m.get('host_accuracy'):.4f}, on {res.config.board} {m.get('accuracy'):.4f} "
                  f"over {m.get('inputs')} test clips; output bytes differing from the oracle: "
                  f"{m.get('mismatched_bytes')}")
    for row in match.get("words", []):
        d = row.get("detection")
        where = f"detected at {d['sample'] / 16000:.2f} s (score {d['score']:.2f})" if d else "MISSED"
        console.print(f"  spoken '{row['word']}' at {row['start'] / 16000:.2f} s: {where}")
    for d in match.get("false_alarms", []):
        console.print(f"  false alarm: {d['label']} at {d['sample'] / 16000:.2f} s")
    console.print(f"streaming: real-time factor {s.get('real_time_fraction', 0):.3f} at the board clock "
                  f"(device time per second of audio; below 1 keeps up)")
    console.print(f"lab time {res.lab_seconds / 60:.1f} min; report: {res.out / 'report.html'}")


@lab.command("testset")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--data", "data_dir", type=click.Path(path_type=Path), required=True, help="The data set folder.")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="testset.npz")
@force_option
def testset(model: Path, data_dir: Path, out: Path, force: bool) -> None:
    """Export the whole test split as the int8 model inputs (for `tinykit measure --inputs`)."""
    from tinykit.audio.frontend import feature_config_for
    from tinykit.data.datasets import load_dataset
    from tinykit.lab.kws import export_testset

    check_output_file(out, force, (".npz",))
    check_output_file(out.with_name(out.stem + "_labels.npy"), force)
    if not model.is_file():
        raise DataError(f"model {model} does not exist")
    ds = load_dataset(data_dir, feature_config_for(model))
    inputs, labels = export_testset(model, ds, out)
    click.echo(json.dumps({"inputs": str(inputs), "labels": str(labels), "clips": len(ds.y["test"])}))


@lab.command("sentence")
@click.option("--words", required=True, help="Keywords to say, in order (comma-separated).")
@click.option("-o", "--output", "out", type=click.Path(path_type=Path), required=True, help="sentence.wav")
@click.option("--seed", type=int, default=0, show_default=True)
@force_option
def sentence(words: str, out: Path, seed: int, force: bool) -> None:
    """Write a WAV of keywords between noise (what `lab kws` streams) and where each word is."""
    from tinykit.lab.sentence import make_sentence

    word_list = [w.strip() for w in words.split(",") if w.strip()]
    if not word_list:
        raise DataError("--words needs at least one keyword")
    check_output_file(out, force, (".wav",))
    truth = make_sentence(word_list, out, seed)
    click.echo(f"wrote {out}: " + ", ".join(f"{t['word']} at {t['start'] / 16000:.2f}-{t['end'] / 16000:.2f} s"
                                            for t in truth))
