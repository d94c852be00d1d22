"""``generate``: .tflite -> a self-contained C99 library directory, written atomically.

Reads the model, plans the arena, lowers every op (``context.build_context``), renders the three
model templates, copies only the kernels the model needs, and writes ``manifest.json``. Files are
written to a temporary directory next to the destination and moved into place only when every
step succeeded, so a failure leaves the destination untouched.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from tinykit import __version__
from tinykit.codegen.context import ALWAYS_HEADERS, ModelContext, build_context, validate_name
from tinykit.errors import BoardFitError, CodegenError
from tinykit.files import check_output_dir, current_umask
from tinykit.render import environment
from tinykit.resources import firmware_dir

MANIFEST = "manifest.json"


@dataclass
class GeneratedLibrary:
    """What ``generate`` wrote: the directory is both the source and the include directory."""

    dir: Path
    name: str
    sources: list[Path]
    include_dir: Path
    arena_bytes: int
    weight_bytes: int
    manifest: dict = field(default_factory=dict)


def _env() -> jinja2.Environment:
    return environment("model")


def render(ctx: ModelContext) -> dict[str, str]:
    """File name -> text of the three generated model files."""
    env = _env()
    return {
        f"{ctx.name}.h": env.get_template("model.h.j2").render(ctx=ctx),
        f"{ctx.name}.c": env.get_template("model.c.j2").render(ctx=ctx),
        f"{ctx.name}_weights.c": env.get_template("model_weights.c.j2").render(ctx=ctx),
    }


def kernel_files(sources: list[str]) -> list[Path]:
    """Kernel .c files the model needs, their headers, and the shared headers."""
    kernel_dir = firmware_dir("kernels")
    include_dir = kernel_dir / "include"
    files = [include_dir / h for h in sorted(os.listdir(include_dir)) if h.endswith(".h")]
    for src in sources:
        c_file = kernel_dir / src
        files += [c_file, c_file.with_suffix(".h")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing or not all((include_dir / h).is_file() for h in ALWAYS_HEADERS):
        raise CodegenError(f"kernel sources missing: {', '.join(missing) or ', '.join(ALWAYS_HEADERS)}")
    return files


def manifest(ctx: ModelContext, files: list[str], model_path: Path) -> dict:
    counts: dict[str, int] = {}
    for op in ctx.ops:
        counts[op] = counts.get(op, 0) + 1
    return {
        "tinykit_version": __version__,
        "name": ctx.name,
        "model": model_path.name,
        "model_sha256": ctx.sha256,
        "ops": ctx.ops,
        "op_counts": counts,
        "arena_bytes": ctx.arena_bytes,
        "state_bytes": ctx.state_bytes,
        "stateful": bool(ctx.state),
        "weight_bytes": ctx.weight_bytes,
        "inputs": [_io_entry(io) for io in ctx.inputs],
        "outputs": [_io_entry(io) for io in ctx.outputs],
        "files": sorted(files),
    }


def _io_entry(io) -> dict:
    return {"bytes": io.nbytes, "shape": io.shape, "type": io.c_type, "dtype": io.dtype,
            "elements": io.elements, "zero_point": io.zero_point}


def _move_into_place(tmp: Path, out_dir: Path) -> None:
    """Atomic rename for a new directory; per-file replace into an existing one (--force)."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir / MANIFEST
    if old.is_file():  # drop files a previous generation wrote that this one does not
        try:
            stale = set(json.loads(old.read_text()).get("files", []))
        except (ValueError, OSError):
            stale = set()
        for name in stale - {p.name for p in tmp.iterdir()}:
            (out_dir / Path(name).name).unlink(missing_ok=True)
    for path in tmp.iterdir():
        os.replace(path, out_dir / path.name)
    tmp.rmdir()


#: one array of a 32-bit target (and the int32 offsets of the kernels) cannot exceed this
ADDRESS_LIMIT = (1 << 31) - 1
OVERSIZE_HINT = "shrink it (`tinykit prune`, `tinykit fit`), or write it anyway with `tinykit generate --force`"


def check_size(arena_bytes: int, weight_bytes: int, allow_oversize: bool = False) -> None:
    """Refuse a library no board on the search path could hold (RAM for the arena, flash for the
    weights, with each board's stack and runtime reserves), unless ``allow_oversize``; refuse one
    beyond 32-bit sizes in any case."""
    from tinykit.targets.boards import estimate_fit, list_boards

    for what, size in (("arena", arena_bytes), ("weights", weight_bytes)):
        if size > ADDRESS_LIMIT:
            raise CodegenError(f"the model's {what} would take {size:,} bytes, beyond a 32-bit target "
                               f"({ADDRESS_LIMIT:,} bytes at most)")
    if allow_oversize:
        return
    boards = list_boards()
    fits = {b.id: estimate_fit(b, arena_bytes, weight_bytes) for b in boards}
    for what, size, needed, available in (
            ("an arena", arena_bytes, "ram_needed", "ram_available"),
            ("weights", weight_bytes, "flash_needed", "flash_available")):
        if not any(getattr(f, needed) <= getattr(f, available) for f in fits.values()):
            largest = max(fits, key=lambda board: getattr(fits[board], available))
            memory = "RAM" if needed == "ram_needed" else "flash"
            raise BoardFitError(
                f"the model needs {what} of {size:,} bytes; no supported board has the {memory} for it (largest: "
                f"{largest}, {getattr(fits[largest], available):,} bytes of {memory}, "
                f"{getattr(fits[largest], needed):,} needed)", hint=OVERSIZE_HINT)


def generate(model_path: str | os.PathLike, out_dir: str | os.PathLike, name: str = "model",
             force: bool = False, allow_oversize: bool = False) -> GeneratedLibrary:
    """Generate the C library of ``model_path`` into ``out_dir`` (see the module docstring).
    ``force`` overwrites a non-empty ``out_dir``; ``allow_oversize`` writes a library that no
    supported board could hold (see :func:`check_size`)."""
    from tinykit.ir import read_model
    from tinykit.ir.support import require_supported
    from tinykit.plan import plan_memory

    model_path, out_dir = Path(model_path), Path(out_dir)
    validate_name(name)
    check_output_dir(out_dir, force)
    graph = require_supported(read_model(model_path))
    ctx = build_context(graph, plan_memory(graph), name)
    check_size(ctx.arena_bytes, ctx.weight_bytes, allow_oversize)
    texts = render(ctx)
    kernels = kernel_files(ctx.sources)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes it 0700; the library is an ordinary directory
        for fname, text in texts.items():
            (tmp / fname).write_text(text)
        for src in kernels:
            shutil.copyfile(src, tmp / src.name)
        files = [*texts, *(k.name for k in kernels), MANIFEST]
        info = manifest(ctx, files, model_path)
        (tmp / MANIFEST).write_text(json.dumps(info, indent=2) + "\n")
        _move_into_place(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    sources = [out_dir / f for f in sorted(files) if f.endswith(".c")]
    return GeneratedLibrary(out_dir, name, sources, out_dir, ctx.arena_bytes, ctx.weight_bytes, info)
