"""`tinykit generate` and `tinykit verify`: C generation and its host check against the reference."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tinykit.cli import main
from tinykit.errors import TinykitError
from tinykit.models import resolve_model


@main.command()
@click.argument("model")
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help="Directory to write the C library into.")
@click.option("--name", default="model", show_default=True, help="C prefix of the library (a C identifier).")
@click.option("--force", is_flag=True,
              help="Overwrite a non-empty output directory; write a library no supported board could hold.")
def generate(model: str, out_dir: Path, name: str, force: bool) -> None:
    """Generate a bit-exact C99 library (NAME.h, NAME.c, NAME_weights.c, kernels) from MODEL (file or bundled name)."""
    from tinykit.codegen import generate as generate_library

    lib = generate_library(resolve_model(model), out_dir, name=name, force=force, allow_oversize=force)
    click.echo(f"wrote {len(lib.manifest.get('files', []))} files to {lib.dir} "
               f"(arena {lib.arena_bytes} B, weights {lib.weight_bytes} B)")


@main.command()
@click.argument("model")
@click.option("--host", "host", is_flag=True, help="Compile the generated C with the host gcc (required).")
@click.option("--inputs", "n_inputs", default=100, show_default=True, type=click.IntRange(1, 100000),
              help="Number of random inputs.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the random inputs.")
@click.option("--dsp-emulate", is_flag=True, help="Build the DSP (SMLAD) code path with portable stand-ins.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify(model: str, host: bool, n_inputs: int, seed: int, dsp_emulate: bool, as_json: bool) -> None:
    """Compare the generated C with the tflite-micro reference runtime, byte for byte."""
    from tinykit.verify import verify_host

    if not host:
        raise TinykitError("verify needs --host (only host verification exists)", hint="tinykit verify MODEL --host")
    res = verify_host(resolve_model(model), n_inputs, seed=seed, dsp_emulate=dsp_emulate)
    summary = {"inputs": res.inputs, "mismatched_bytes": res.mismatched_bytes, "max_abs_diff": res.max_abs_diff}
    if as_json:
        click.echo(json.dumps({**summary, **res.to_dict()}))
    else:
        verdict = "bit-exact" if res.mismatched_bytes == 0 else "MISMATCH"
        how = f" as a stateful sequence ({res.steps} steps: inputs, reset, inputs again)" if res.stateful else ""
        click.echo(f"{verdict}: {res.inputs} inputs{how}, {res.mismatched_bytes} mismatched bytes, "
                   f"max abs diff {res.max_abs_diff:g} ({res.seconds:.1f} s)")
    if res.mismatched_bytes:
        raise SystemExit(1)
