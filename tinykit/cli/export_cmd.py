"""`tinykit export`: the model library laid out for CMake, Make, Arduino, PlatformIO or Zephyr."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinykit.cli import main
from tinykit.models import resolve_model

FORMAT_CHOICES = ("cmake", "make", "arduino", "platformio", "zephyr")


@main.command("export")
@click.argument("model")
@click.option("--format", "fmt", required=True, type=click.Choice(FORMAT_CHOICES),
              help="Build system or ecosystem the library is laid out for.")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory to write the library into.")
@click.option("--board", default=None, help="Board whose CPU flags (and, for cmake/make, board support) to use.")
@click.option("--name", default=None, help="C prefix and library name (default: from the model file name).")
@click.option("--force", is_flag=True, help="Replace a non-empty output directory.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def export_cmd(model: str, fmt: str, out_dir: Path, board: str | None, name: str | None, force: bool,
               as_json: bool) -> None:
    """Export MODEL (a .tflite or kws/ic/vww/ad/hello_world) as a library with an example program."""
    from tinykit.export import export_model

    res = export_model(resolve_model(model), fmt, out_dir, board, name=name, force=force)
    if as_json:
        click.echo(json.dumps({"dir": str(res.dir), "format": res.format, "name": res.name, "board": res.board,
                               "files": res.files}))
        return
    where = f" for {res.board}" if res.board else ""
    click.echo(f"wrote the {fmt} library '{res.name}'{where}: {len(res.files)} files in {res.dir} (see docs/export.md)")
