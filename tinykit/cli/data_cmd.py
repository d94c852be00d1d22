"""`tinykit data ...`: download, record or synthesise a keyword set; summarise a data set."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import click

from tinykit.cli import main
from tinykit.cli.options import force_option
from tinykit.errors import DataError
from tinykit.files import check_output_dir

DEFAULT_WORDS = "yes,no,up,down,left,right,on,off,stop,go"
AUTO_REDO_LIMIT = 5  # bad takes in a row before `record --yes` gives up


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
@click.option("--clean", is_flag=True, help="no rooms, microphones or backgrounds (quick experiments)")
def synth_kws_cmd(output: Path, words: str, per_word: int, seed: int, no_unknown: bool, no_silence: bool,
                  force: bool, clean: bool):
    """Speak keywords with espeak-ng into a Speech Commands-layout data set (deterministic)."""
    from rich.console import Console

    from tinykit.data.synth import synth_kws

    check_output_dir(output, force)

    bar, progress = count_progress(Console(stderr=True))
    with bar:
        res = synth_kws(output, words.split(","), per_word=per_word, seed=seed, unknown=not no_unknown,
                        silence=not no_silence, progress=progress, clean=clean, force=force)
    click.echo(f"wrote {sum(res.counts.values())} clips in {len(res.labels)} classes to {res.directory}")


def count_progress(console):
    """A rich progress display of counted phases (speakers spoken, clips written); (display, callback)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(TextColumn("{task.description:<20}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console)
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return bar, update


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
@force_option
def get_cmd(name: str, output: Path, words: str | None, archive: Path | None, url: str | None,
            sha256: str | None, cache: Path | None, no_unknown: bool, no_silence: bool, seed: int,
            force: bool) -> None:
    """Download Google Speech Commands v0.02 (resumable, checked) and extract the chosen words."""
    from rich.console import Console

    from tinykit.data import speech_commands as sc

    word_list = [w for w in words.split(",")] if words else None
    bar, update = byte_progress(Console(stderr=True))
    with bar:
        res = sc.get(output, word_list, archive=archive, url=url or sc.URL,
                     sha256=sha256 or sc.SHA256, cache=cache,
                     unknown=not no_unknown, silence=not no_silence, seed=seed, progress=update, force=force)
    counts = res["counts"]
    click.echo(f"wrote {sum(counts.values())} clips in {len(counts)} classes to {res['directory']} "
               f"({', '.join(f'{k} {v}' for k, v in counts.items())})")


class _RecordUI:
    """The terminal side of a recording session: countdown, level meter, keep/redo/play/quit."""

    CHOICES: ClassVar[dict[str, str]] = {"k": "keep", "r": "redo", "p": "play", "q": "quit"}

    def __init__(self, countdown: int, ask: bool) -> None:
        from rich.console import Console

        self.console, self.wait, self.ask, self.bad = Console(stderr=True), countdown, ask, 0

    def countdown(self, word: str, take: int, total: int) -> None:
        import time

        self.console.print(f"say [bold]{word!r}[/bold] (take {take} of {total})", end="")
        for i in range(self.wait, 0, -1):
            self.console.print(f" {i}…", end="")
            time.sleep(1)
        self.console.print(" [bold green]speak![/bold green]")

    def level(self, db: float) -> None:
        width = int(max(0.0, min(1.0, (db + 60) / 60)) * 30)
        self.console.print(f"\r  level {'█' * width}{'·' * (30 - width)} {db:6.1f} dBFS", end="")

    def choose(self, take) -> str:
        self.console.print()
        for p in take.problems:
            self.console.print(f"  [yellow]{p}[/yellow]")
        if not self.ask:
            self.bad = self.bad + 1 if take.problems else 0
            if self.bad >= AUTO_REDO_LIMIT:
                raise DataError(f"{self.bad} takes in a row were not usable ({take.problems[0]})",
                                hint="check the microphone (`python -m sounddevice` lists devices)")
            return "redo" if take.problems else "keep"
        answer = click.prompt("  [k]eep, [r]edo, [p]lay, [q]uit", default="r" if take.problems else "k",
                              type=click.Choice(list(self.CHOICES)), show_choices=False, err=True)
        return self.CHOICES[answer]

    def saved(self, path: Path) -> None:
        self.console.print(f"  saved {path}")


@data.command("record")
@click.option("--words", required=True, help="comma-separated words to record, e.g. yes,no")
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="data set folder (new, or an existing one to add to)")
@click.option("--speaker", required=True, help="your name; only its hash is stored (it names the files)")
@click.option("--takes", type=click.IntRange(1, 1000), default=10, show_default=True, help="kept clips per word")
@click.option("--seconds", type=float, default=1.5, show_default=True,
              help="recording length per take (the loudest second is kept)")
@click.option("--countdown", type=click.IntRange(0, 10), default=3, show_default=True)
@click.option("--device", default=None, help="input device (index or name; see `python -m sounddevice`)")
@click.option("--yes", "auto", is_flag=True, help="keep every take without asking (redo only bad ones)")
def record_cmd(words: str, output: Path, speaker: str, takes: int, seconds: float, countdown: int,
               device: str | None, auto: bool) -> None:
    """Record your own voice from the microphone into a Speech Commands-layout data set."""
    from tinykit.data.record import session, speaker_id

    dev = int(device) if device and device.isdigit() else device
    kept = session(output, words.split(","), speaker_id(speaker), takes, _RecordUI(countdown, not auto),
                   seconds=seconds, device=dev)
    click.echo(f"kept {sum(kept.values())} clips ({', '.join(f'{w} {n}' for w, n in kept.items())}) "
               f"in {output} as speaker {speaker_id(speaker)}")


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
