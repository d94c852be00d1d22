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

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130

# Modules in this package that add commands to `main`; one per pipeline stage.
COMMAND_MODULES = (
    "inspect_cmd",
    "board_cmd",
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
    """Maps every :class:`TinykitError` to one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context):  # type: ignore[override]
        try:
            return super().invoke(ctx)
        except TinykitError as err:
            click.echo(f"error: {err.message}", err=True)
            if err.hint:
                click.echo(f"hint: {err.hint}", err=True)
            sys.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)


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
