"""The ``tinykit`` command line: a thin click layer over the library.

Each pipeline stage has its own module in this package that defines its commands on :data:`main`.
Commands parse options, call the library, print; errors become one ``error:`` line and exit 2.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from tinykit import __version__
from tinykit.errors import TinykitError

# TensorFlow prints pages of start-up noise; a command-line user wants none of it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

# `--help` text of every command that reads a data set (the formats tinykit.data.datasets accepts).
DATA_HELP = ("data set: an .npz with x of shape (N, *input shape) (float) and y of shape (N,) (integer "
             "class indices 0..C-1; no y for an autoencoder), at least 10 samples; or a folder of label "
             "subfolders holding .wav files (Speech Commands layout) or images")
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# Modules in this package that add commands to `main`; one per pipeline stage.
COMMAND_MODULES = (
    "inspect_cmd",
    "board_cmd",
    "doctor_cmd",
    "data_cmd",
    "train_cmd",
    "measure_cmd",
    "codegen_cmd",
    "export_cmd",
    "power_cmd",
    "compress_cmd",
    "stream_cmd",
    "lab_cmd",
    "hil_cmd",
)


class TinykitGroup(click.Group):
    """Maps every :class:`TinykitError`, and click's own usage errors, to one ``error:`` line (and a
    ``hint:`` line) on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TinykitError as err:
            _fail(err.message, err.hint)
        except click.UsageError as err:
            where = err.ctx.command_path if err.ctx is not None else "tinykit"
            _fail(err.format_message(), f"`{where} --help` lists its commands and options")
        except click.ClickException as err:
            _fail(err.format_message(), None)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


def _fail(message: str, hint: str | None) -> None:
    click.echo(f"error: {' '.join(message.split())}", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(EXIT_USER_ERROR)


@click.group(cls=TinykitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tinykit")
@click.option("--boards-dir", "boards_dirs", multiple=True, type=click.Path(path_type=Path), metavar="DIR",
              help="A folder of your own board files (*.yaml), searched before $TINYKIT_BOARDS_PATH "
                   "and the boards tinykit ships; may be repeated.")
def main(boards_dirs: tuple[Path, ...]) -> None:
    """tinykit: train, compress, generate C, build firmware and measure TinyML models."""
    from tinykit.targets.boards import set_boards_dirs

    set_boards_dirs(list(boards_dirs))


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__name__}.{_name}")
