"""Host verification: the generated C, compiled with the host gcc, against the tflite-micro runtime.

``verify_host`` generates the library into a temporary directory, compiles it into a shared
library (``-std=c99 -Wall -Wextra -Werror -O2 -shared -fPIC``; builds are cached by the hash of
their sources and flags, so a model is compiled once per machine until its C changes), runs it via
ctypes on random inputs and compares every output byte with :mod:`tinykit.oracle`.

A stateful model (LSTM/SVDF variable tensors) is compared as a sequence: the inputs one after the
other without a reset, then ``NAME_reset()``, then the same inputs again; every step must match
(:func:`tinykit.oracle.sequence_steps`).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from tinykit import oracle
from tinykit.errors import BuildError, ToolMissingError
from tinykit.files import atomic_path

HOST_CC = os.environ.get("TINYKIT_HOST_CC", "gcc")
HOST_CFLAGS = ("-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-shared", "-fPIC")
COMPILE_TIMEOUT_S = 300
CACHE_DIR = Path(tempfile.gettempdir()) / "tinykit-host-builds"


@dataclass
class VerifyResult:
    """The comparison of one model's generated C with the reference runtime."""

    model: str
    inputs: int
    mismatched_bytes: int
    max_abs_diff: float
    mismatched_inputs: int
    arena_bytes: int
    weight_bytes: int
    dsp_path: bool
    seconds: float
    stateful: bool = False
    steps: int = 0  # invocations compared (2 x inputs for a stateful model)

    def to_dict(self) -> dict:
        return asdict(self)


def _source_hash(lib_dir: Path, flags: tuple[str, ...]) -> str:
    h = hashlib.sha256(" ".join((HOST_CC, *flags)).encode())
    for path in sorted(lib_dir.iterdir()):
        if path.suffix in (".c", ".h"):
            h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:24]


def build_host_library(lib_dir: str | os.PathLike, name: str = "model", defines: tuple[str, ...] = ()) -> Path:
    """Compile a generated library into a cached ``.so``; returns its path."""
    lib_dir = Path(lib_dir)
    flags = (*HOST_CFLAGS, *(f"-D{d}" for d in defines))
    if shutil.which(HOST_CC) is None:
        raise ToolMissingError(f"host compiler {HOST_CC} not found", hint="install gcc (apt-get install gcc)")
    target = CACHE_DIR / _source_hash(lib_dir, flags) / f"lib{name}.so"
    if target.is_file():
        return target
    sources = sorted(str(p) for p in lib_dir.glob("*.c"))
    with atomic_path(target, suffix=".so") as tmp:
        cmd = [HOST_CC, *flags, f"-I{lib_dir}", *sources, "-o", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
        if proc.returncode != 0:
            first = (proc.stderr.strip().splitlines() or ["(no output)"])[0]
            raise BuildError(f"host compile of the generated C failed: {first}",
                             hint=f"full command: {' '.join(cmd)}")
    return target


class HostModel:
    """A compiled generated library, driven through its C API with ctypes."""

    def __init__(self, so_path: Path, name: str, input_sizes: list[int], output_sizes: list[int]) -> None:
        self._lib = ctypes.CDLL(str(so_path))
        self.name = name
        for fn in ("input", "output"):
            getattr(self._lib, f"{name}_{fn}").restype = ctypes.c_void_p
            getattr(self._lib, f"{name}_{fn}").argtypes = [ctypes.c_size_t]
        self.input_sizes, self.output_sizes = input_sizes, output_sizes
        # init also resets the state: a .so loaded twice in one process is one library
        if getattr(self._lib, f"{name}_init")() != 0:
            raise BuildError("generated model_init returned an error")

    def reset(self) -> None:
        """State back to its initial value (NAME_reset)."""
        status = getattr(self._lib, f"{self.name}_reset")()
        if status != 0:
            raise BuildError(f"generated {self.name}_reset returned status {status}")

    def run_steps(self, steps: list[oracle.Step]) -> list[list[bytes]]:
        """The outputs of each input step of ``steps`` (oracle.RESET steps reset the state)."""
        results = []
        for step in steps:
            if step is oracle.RESET:
                self.reset()
            else:
                results.append(self.run(_split(step, self.input_sizes)))
        return results

    def run(self, inputs: list[bytes]) -> list[bytes]:
        """Copy the inputs into the arena, invoke once, return each output's raw bytes."""
        for i, data in enumerate(inputs):
            ctypes.memmove(getattr(self._lib, f"{self.name}_input")(i), data, len(data))
        status = getattr(self._lib, f"{self.name}_invoke")()
        if status != 0:
            raise BuildError(f"generated {self.name}_invoke returned status {status}")
        out_fn = getattr(self._lib, f"{self.name}_output")
        return [ctypes.string_at(out_fn(i), size) for i, size in enumerate(self.output_sizes)]


def _split(blob: bytes, sizes: list[int]) -> list[bytes]:
    parts, offset = [], 0
    for size in sizes:
        parts.append(blob[offset:offset + size])
        offset += size
    return parts


def compare_outputs(ours: list[bytes], ref: list[bytes], dtypes: list[np.dtype]) -> tuple[int, float]:
    """(mismatched bytes, max absolute difference of the decoded values)."""
    mismatched, max_diff = 0, 0.0
    for a, b, dt in zip(ours, ref, dtypes, strict=True):
        mismatched += sum(x != y for x, y in zip(a, b, strict=True)) + abs(len(a) - len(b))
        va, vb = np.frombuffer(a, dt).astype(np.float64), np.frombuffer(b, dt).astype(np.float64)
        if va.size and va.size == vb.size:
            max_diff = max(max_diff, float(np.max(np.abs(va - vb))))
    return mismatched, max_diff


def load_host_model(model_path: str | os.PathLike, dsp_emulate: bool = False, work_dir: Path | None = None,
                    defines: tuple[str, ...] = ()) -> tuple[HostModel, object]:
    """Generate + compile (cached) + load; returns the model and the GeneratedLibrary.

    ``dsp_emulate`` builds the kernels' DSP path with portable stand-ins (TK_DSP_EMULATE);
    ``defines`` adds other preprocessor symbols (e.g. TK_NO_FAST_REQUANT).
    """
    from tinykit.codegen import generate

    with tempfile.TemporaryDirectory(prefix="tinykit-verify-", dir=work_dir) as tmp:
        lib = generate(model_path, Path(tmp) / "lib", name="model")
        so = build_host_library(lib.dir, "model", (*(("TK_DSP_EMULATE",) if dsp_emulate else ()), *defines))
    sizes_in = [s.nbytes for s in oracle.input_specs(model_path)]
    sizes_out = [s.nbytes for s in oracle.output_specs(model_path)]
    return HostModel(so, "model", sizes_in, sizes_out), lib


def verify_host(model_path: str | os.PathLike, n_inputs: int = 100, seed: int = oracle.DEFAULT_SEED,
                dsp_emulate: bool = False) -> VerifyResult:
    """Run ``n_inputs`` random inputs through the generated C and the reference; count differences."""
    start = time.monotonic()
    host, lib = load_host_model(model_path, dsp_emulate)
    stateful = oracle.is_stateful(model_path)
    steps = oracle.sequence_steps(oracle.random_inputs(model_path, n_inputs, seed), stateful)
    refs = oracle.run_steps(model_path, steps)
    dtypes = [s.dtype for s in oracle.output_specs(model_path)]
    mismatched = bad_inputs = 0
    max_diff = 0.0
    for ours, ref in zip(host.run_steps(steps), refs, strict=True):
        m, d = compare_outputs(ours, ref, dtypes)
        mismatched += m
        bad_inputs += m > 0
        max_diff = max(max_diff, d)
    return VerifyResult(str(model_path), n_inputs, int(mismatched), max_diff, int(bad_inputs), lib.arena_bytes,
                        lib.weight_bytes, dsp_emulate, round(time.monotonic() - start, 3), stateful, len(refs))
