"""Helpers for the activation-family tests (tests/test_ops_act.py): flatbuffer edits that turn one
converted op into many differently quantized copies, and exhaustive int8/int16 inputs.

A quantization sweep must compile the generated C once per model; putting K copies of the op
under test side by side in one model (each with its own input and output tensor, quantization
and options) checks K quantizations with one compile and one reference run.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NP_TYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "float32": np.float32}


@dataclass
class Variant:
    """One copy of the op: its input/output quantization ``(scale, zero_point)``, optional new
    element types (a new type without a quantization drops it), and an edit of its options."""

    in_q: tuple[float, int] | None = None
    out_q: tuple[float, int] | None = None
    in_type: str | None = None
    out_type: str | None = None
    options: Callable[[object], None] | None = None
    label: str = field(default="")


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _set_tensor(tensor, q: tuple[float, int] | None, dtype: str | None) -> None:
    schema = _schema()
    if dtype is not None:
        tensor.type = getattr(schema.TensorType, dtype.upper())
        if q is None:  # a new type without a quantization: plain numbers
            tensor.quantization = None
    if q is not None:
        if tensor.quantization is None:
            tensor.quantization = schema.QuantizationParametersT()
        tensor.quantization.scale, tensor.quantization.zeroPoint = [float(np.float32(q[0]))], [int(q[1])]


def replicate_op(opcode: str, variants: Sequence[Variant], shape: Sequence[int] | None = None):
    """Flatbuffer edit: keep the first ``opcode`` op, replicated once per variant, each copy with
    its own input and output tensors (copies of the original ones, edited as the variant says);
    the model's inputs and outputs become those tensors, in variant order."""

    def edit(model) -> None:
        schema = _schema()
        sub = model.subgraphs[0]
        code = getattr(schema.BuiltinOperator, opcode)
        base = next(op for op in sub.operators
                    if max(model.operatorCodes[op.opcodeIndex].builtinCode,
                           model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == code)
        ops, inputs, outputs = [], [], []
        for k, variant in enumerate(variants):
            op = copy.deepcopy(base)
            new_in = copy.deepcopy(sub.tensors[base.inputs[0]])
            new_out = copy.deepcopy(sub.tensors[base.outputs[0]])
            new_in.name, new_out.name = f"x{k}".encode(), f"y{k}".encode()
            for tensor, q, dtype in ((new_in, variant.in_q, variant.in_type),
                                     (new_out, variant.out_q, variant.out_type)):
                _set_tensor(tensor, q, dtype)
                tensor.buffer = 0
                if shape is not None:
                    tensor.shape = list(shape)
                    tensor.shapeSignature = None
            sub.tensors += [new_in, new_out]
            op.inputs = [len(sub.tensors) - 2, *list(op.inputs)[1:]]
            op.outputs = [len(sub.tensors) - 1]
            if variant.options is not None:
                variant.options(op.builtinOptions)
            ops.append(op)
            inputs.append(op.inputs[0])
            outputs.append(op.outputs[0])
        sub.operators, sub.inputs, sub.outputs = ops, inputs, outputs

    return edit


def exhaustive_blobs(dtypes: Sequence[str], n: int) -> list[bytes]:
    """Blobs feeding every value of each integer input type (inputs of ``n`` elements each)."""
    per_input = []
    for dtype in dtypes:
        info = np.iinfo(NP_TYPES[dtype])
        values = np.arange(info.min, min(info.max, info.min + (1 << 16) - 1) + 1, dtype=np.int64)
        count = (values.size + n - 1) // n
        per_input.append(np.resize(values, count * n).astype(NP_TYPES[dtype]).reshape(count, n))
    rows = max(p.shape[0] for p in per_input)
    return [b"".join(p[r % p.shape[0]].tobytes() for p in per_input) for r in range(rows)]


def check_against_oracle(model: Path, blobs: list[bytes], labels: Sequence[str] = ()) -> None:
    """Generate + compile (cached) + run each blob; every output byte must equal the runtime's.
    A difference names the output by its variant's label."""
    from tinykit import oracle
    from tinykit.verify import load_host_model

    host, _ = load_host_model(model)
    for k, (ours, ref) in enumerate(zip(host.run_steps(blobs), oracle.run_steps(model, blobs), strict=True)):
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            if a != b:
                diff = np.nonzero(np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8))[0]
                what = labels[i] if i < len(labels) else f"output {i}"
                raise AssertionError(f"{model.name}: input {k}, {what}: {diff.size} bytes differ, "
                                     f"first at byte {diff[0]}")


def swap_opcode(src: str, dst: str, options_type: str | None = None, options: object | None = None):
    """Flatbuffer edit: every ``src`` op becomes a ``dst`` op (same tensors), with the given
    builtin options table (schema name, e.g. ``"SoftmaxOptions"``) or none."""

    def edit(model) -> None:
        schema = _schema()
        src_code, dst_code = getattr(schema.BuiltinOperator, src), getattr(schema.BuiltinOperator, dst)
        indices = set()
        for i, code in enumerate(model.operatorCodes):
            if max(code.builtinCode, code.deprecatedBuiltinCode) == src_code:
                code.builtinCode, code.deprecatedBuiltinCode = dst_code, min(dst_code, 127)
                indices.add(i)
        for op in model.subgraphs[0].operators:
            if op.opcodeIndex in indices:
                op.builtinOptionsType = getattr(schema.BuiltinOptions, options_type) if options_type else 0
                op.builtinOptions = copy.deepcopy(options)

    return edit


def edited(src: Path, dst: Path, *edits) -> Path:
    """``src`` with each edit applied in turn, written to ``dst``."""
    from codegen_helpers import edit_tflite

    for edit in edits:
        src = edit_tflite(src, dst, edit)
    return dst
