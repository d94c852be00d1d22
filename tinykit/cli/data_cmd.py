"""`tinykit data ...`: download, record or synthesise a keyword set; summarise a data set."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinykit.cli import main
from tinykit.cli.options import force_option
from tinykit.files import check_output_dir

DEFAULT_WORDS = "yes,no,up,down,left,right,on,off,stop,go"


@main.group()
def data() -> None:
    """Data sets: synthesise a keyword set, summarise a folder."""


@data.command("synth-kws")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="new directory")
@click.option("--words", default=DEFAULT_WORDS, show_default=True, help="comma-separated keywords")
@click.option("--per-word", type=int, default=100, show_default=True, help="clips per label")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--no-unknown", is_flag=True, help="omit the _unknown_ class")
@click.option("--no-silence", is_flag=True, help="omit the _silence_ class")
@force_option
def synth_kws_cmd(output: Path, words: str, per_word: int, seed: int, no_unknown: bool, no_silence: bool,
                  force: bool):
    """Speak keywords with espeak-ng into a Speech Commands-layout data set (deterministic)."""
    from rich.console import Console

    from tinykit.data.synth import synth_kws

    check_output_dir(output, force)

    console = Console(stderr=True)
    with console.status("synthesising") as status:
        res = synth_kws(output, words.split(","), per_word=per_word, seed=seed, unknown=not no_unknown,
                        silence=not no_silence, progress=lambda lab: status.update(f"wrote {lab}"), force=force)
    click.echo(f"wrote {sum(res.counts.values())} clips in {len(res.labels)} classes to {res.directory}")


def byte_progress(console):
    """A rich progress display for byte-counted phases (download, scan, extract); returns (display, callback)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn, TransferSpeedColumn

    bar = Progress(TextColumn("{task.description:<26}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), console=console)
    tasks: dict[str, int] = {}
    text = {"download": "downloading", "scan": "reading the archive (1/2)", "extract": "extracting (2/2)"}

    def update(phase: str, done: int, total: int | None) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(text.get(phase, phase), total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return bar, update


@data.command("get")
@click.argument("name", type=click.Choice(["speech-commands"]))
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True, help="new directory")
@click.option("--words", default=None, help="comma-separated words to keep (default: all 35)")
@click.option("--archive", type=click.Path(path_type=Path), default=None,
              help="use this local copy of speech_commands_v0.02.tar.gz instead of downloading")
@click.option("--url", default=None, help="download from this address instead of the official one")
@click.option("--sha256", default=None, help="expected SHA-256 of the archive (default: the official one)")
@click.option("--cache", "cache", type=click.Path(path_type=Path), default=None,
              help="where the archive is kept between runs (default: $TINYKIT_CACHE or ~/.cache/tinykit)")
@click.option("--no-unknown", is_flag=True, help="omit the _unknown_ class (clips of the other words)")
@click.option("--no-silence", is_flag=True, help="omit the _silence_ class (pieces of background noise)")
@click.option("--seed", type=int, default=0, show_default=True)
def get_cmd(name: str, output: Path, words: str | None, archive: Path | None, url: str | None,
            sha256: str | None, cache: Path | None, no_unknown: bool, no_silence: bool, seed: int) -> None:
    """Download Google Speech Commands v0.02 (resumable, checked) and extract the chosen words."""
    from rich.console import Console

    from tinykit.data import speech_commands as sc

    word_list = [w for w in words.split(",")] if words else None
    bar, update = byte_progress(Console(stderr=True))
    with bar:
        res = sc.get(output, word_list, archive=archive, url=url or sc.URL,
                     sha256=sha256 or sc.SHA256, cache=cache,
                     unknown=not no_unknown, silence=not no_silence, seed=seed, progress=update)
    counts = res["counts"]
    click.echo(f"wrote {sum(counts.values())} clips in {len(counts)} classes to {res['directory']} "
               f"({', '.join(f'{k} {v}' for k, v in counts.items())})")


@data.command("info")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
def info_cmd(path: Path, as_json: bool) -> None:
    """Summarise a data set: kind, input shape, clips per label and split."""
    from rich.console import Console
    from rich.table import Table

    from tinykit.data import load_dataset

    ds = load_dataset(path)
    counts = ds.counts()
    summary = {"kind": ds.kind, "input_shape": list(ds.input_shape), "labels": list(ds.labels),
               "counts": counts, "notes": ds.notes,
               "features": ds.feature_config.to_dict() if ds.feature_config else None}
    if as_json:
        click.echo(json.dumps(summary))
        return
    table = Table(title=f"{path} ({ds.kind}, input {ds.input_shape})")
    for col in ("label", "train", "val", "test"):
        table.add_column(col, justify="right" if col != "label" else "left")
    for i, label in enumerate(ds.labels):
        table.add_row(label, *(str(counts[s][i]) for s in ("train", "val", "test")))
    Console().print(table)
    for note in ds.notes[:10]:
        click.echo(f"note: {note}")
