"""Option helpers every command shares: --force, options that do not apply, --port on an emulator.

A command checks its output and its option combination before it starts work, so a mistake costs
one error line, not minutes of training followed by a traceback.
"""

from __future__ import annotations

import click
from click.core import ParameterSource

from tinykit.errors import TinykitError

force_option = click.option("--force", is_flag=True, help="Overwrite an existing output.")


def given(ctx: click.Context, name: str) -> bool:
    """Whether the user set option ``name`` (rather than its default)."""
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _flag(ctx: click.Context, name: str) -> str:
    param = next((p for p in ctx.command.params if p.name == name), None)
    return max(param.opts, key=len) if param is not None else f"--{name.replace('_', '-')}"


def warn_ignored(ctx: click.Context, names: tuple[str, ...], why: str) -> None:
    """One warning line per option the user set that this invocation does not use."""
    for name in names:
        if given(ctx, name):
            click.echo(f"warning: {_flag(ctx, name)} is ignored: {why}", err=True)


def refuse_port_on_emulator(board, port: str | None) -> None:
    """--port names a real board's serial port; tinykit starts QEMU and its serial link itself."""
    if port is not None and board.emulated:
        raise TinykitError(f"--port is for real boards; {board.id} is emulated (tinykit starts QEMU and connects "
                           "to it)", hint="leave out --port, or give a real board with --board")
