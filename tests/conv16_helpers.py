"""Helpers shared by the conv16 stream's tests (16x8 weighted ops, TRANSPOSE_CONV, BATCH_MATMUL):
the kernel builds every case runs in, flatbuffer edits of bias types, the emulated-board run and
the cross-compile check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

# (TK_DSP_EMULATE, defines): plain C, the DSP path with portable SMLAD/SXTB16, and the DSP path with
# the general int64 accumulation forced
BUILDS = ((False, ()), (True, ()), (True, ("TK_NO_FAST_REQUANT",)))
BUILD_IDS = ("plain", "dsp", "dsp-int64")
KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"


def tensor_type(name: str) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return getattr(schema.TensorType, name)


def retype_constant(model, index: int, type_name: str, np_from, np_to) -> None:
    """Give constant tensor ``index`` another element type, converting its values."""
    tensor = model.subgraphs[0].tensors[index]
    buf = model.buffers[tensor.buffer]
    values = np.frombuffer(bytes(bytearray(buf.data)), np_from)
    info = np.iinfo(np_to)
    tensor.type = tensor_type(type_name)
    buf.data = np.frombuffer(np.clip(values, info.min, info.max).astype(np_to).tobytes(), np.uint8).copy()


def bias_position(op) -> int:
    """Where a weighted op keeps its bias: input 3 for TRANSPOSE_CONV (4 inputs), else input 2."""
    return 3 if len(op.inputs) == 4 else 2


def retype_biases(model, from_name: str, to_name: str, np_from, np_to) -> None:
    """Every bias of type ``from_name`` becomes ``to_name``."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        pos = bias_position(op)
        if len(op.inputs) > pos and op.inputs[pos] >= 0 and sub.tensors[op.inputs[pos]].type == tensor_type(from_name):
            retype_constant(model, op.inputs[pos], to_name, np_from, np_to)


def run_on_board(model: Path, board: str, tmp_path: Path) -> None:
    """Build the model's firmware for an emulated board, run 4 inputs over serial, no byte may differ."""
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    from tinykit.run import run

    result = run(model, board, tmp_path, num_inputs=4, runs=1)
    assert result["validation"]["checked"] and result["validation"]["compared_bytes"] > 0
    assert result["mismatched_bytes"] == 0, result["validation"]


def compile_for_arm(cpu: str, sources: tuple[str, ...], tmp_path: Path) -> None:
    """Each kernel compiles warning-free for ``cpu`` with arm-none-eabi-gcc."""
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", f"-mcpu={cpu}",
             f"-I{KERNEL_DIR / 'include'}", f"-I{KERNEL_DIR}"]
    for src in sources:
        proc = subprocess.run([cc, *flags, "-c", str(KERNEL_DIR / src), "-o", str(tmp_path / "k.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src}: {proc.stderr}"
