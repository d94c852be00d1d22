"""`tinykit data ...`: synthetic keyword set and data set summaries."""

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
