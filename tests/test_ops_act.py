"""Activation-family ops (int16/16x8 activations, softmax, quantize/dequantize/cast, unary int8
ops) bit-exact against the tflite-micro runtime on the host.

Zoo models are converted from Keras with real TensorFlow (int8 and 16x8), then checked to contain
the intended ops. Quantization sweeps edit a converted op into many differently quantized copies
side by side in one model (``act_helpers.replicate_op``), fed every int8/int16 value.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import opzoo
import pytest
from act_helpers import Variant, check_against_oracle, exhaustive_blobs, replicate_op
from codegen_helpers import edit_tflite

pytestmark = pytest.mark.host

INT16_SWEEP_N = 4096  # elements per input: 16 blobs carry every int16 value


# ---- models ---------------------------------------------------------------------------------


def acts16(shape):
    """Every int16 activation of the stream straight on the model input, one output each."""
    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    outs = [k.layers.Activation("sigmoid")(inp), k.layers.Activation("tanh")(inp), k.layers.ReLU()(inp),
            k.layers.ReLU(6.0)(inp), k.layers.LeakyReLU(0.15)(inp), k.layers.LeakyReLU(-0.4)(inp)]
    return k.Model(inp, outs)


def leaky_float_io(shape):
    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    return k.Model(inp, k.layers.LeakyReLU(0.3)(inp))


ACT16_OPS = ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU")

CASES = [
    opzoo.Case("act16_all", acts16, dict(shape=(INT16_SWEEP_N,)), ACT16_OPS, activations="int16", rep_range=(-4, 4)),
    opzoo.Case("act16_float_io", leaky_float_io, dict(shape=(300,)), ("QUANTIZE", "LEAKY_RELU", "DEQUANTIZE"),
               activations="int16", float_io=True, rep_range=(-3, 3)),
]
CASES_BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_act_zoo_bit_exact(name: str) -> None:
    opzoo.check_bit_exact(CASES_BY_NAME[name])


def test_act16_zoo_on_every_int16_value() -> None:
    case = CASES_BY_NAME["act16_all"]
    path = opzoo.convert(case)
    check_against_oracle(path, exhaustive_blobs(["int16"], INT16_SWEEP_N))


def test_act16_float_io_types() -> None:
    graph = opzoo.graph_of(CASES_BY_NAME["act16_float_io"])
    pairs = {(op.opcode, graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
             for op in graph.operators}
    assert {("QUANTIZE", "float32", "int16"), ("DEQUANTIZE", "int16", "float32")} <= pairs


def test_act16_alphas_are_both_signs() -> None:
    graph = opzoo.graph_of(CASES_BY_NAME["act16_all"])
    alphas = sorted(round(op.options["alpha"], 3) for op in graph.operators if op.opcode == "LEAKY_RELU")
    assert alphas == [-0.4, 0.15]


# ---- int16 quantization sweeps: K copies of one op, every int16 value -------------------------


def _q16(rng, zero_point: bool = False) -> tuple[float, int]:
    return float(np.float32(10 ** rng.uniform(-4.5, -1.5))), int(rng.integers(-300, 300)) if zero_point else 0


def _alpha(value: float):
    def edit(options) -> None:
        options.alpha = float(np.float32(value))

    return edit


def _variants16(opcode: str, rng, k: int) -> list[Variant]:
    pow2 = 2.0 ** -15
    out = []
    for i in range(k):
        if opcode in ("LOGISTIC", "TANH"):
            # power-of-two input scales hit TFLM's special case; the rest its general multiplier
            in_q = (2.0 ** -int(rng.integers(10, 14)), 0) if i % 3 == 0 else _q16(rng)
            out.append(Variant(in_q, (pow2, 0), label=f"in {in_q}"))
        elif opcode == "LEAKY_RELU":
            in_q, out_q, alpha = _q16(rng, True), _q16(rng, True), float(rng.uniform(-1.5, 1.5))
            if i == 0:  # exact ties of the negated alpha product (TFLM negates after rounding)
                in_q, out_q, alpha = (1e-3, 0), (1e-3, 0), -0.375
            out.append(Variant(in_q, out_q, options=_alpha(alpha), label=f"{in_q} -> {out_q} alpha {alpha:.3f}"))
        else:  # RELU, RELU6: zero points 0 (TFLM requires it for RELU)
            in_q, out_q = _q16(rng), _q16(rng)
            out.append(Variant(in_q, out_q, label=f"{in_q} -> {out_q}"))
    return out


def _sweep16(opcode: str, tmp_path: Path, k: int, seed: int) -> None:
    rng = np.random.default_rng(zlib.crc32(opcode.encode()) + seed)
    variants = _variants16(opcode, rng, k)
    base = opzoo.convert(CASES_BY_NAME["act16_all"])
    model = edit_tflite(base, tmp_path / f"{opcode}.tflite", replicate_op(opcode, variants))
    check_against_oracle(model, exhaustive_blobs(["int16"] * k, INT16_SWEEP_N), [v.label for v in variants])


@pytest.mark.parametrize("opcode", ACT16_OPS)
def test_act16_quantization_sweep(opcode: str, tmp_path: Path) -> None:
    """Eight quantizations (and alphas) per op, every int16 input value, one compile."""
    _sweep16(opcode, tmp_path, 8, 0)


@pytest.mark.slow
@pytest.mark.parametrize("opcode", ACT16_OPS)
def test_act16_quantization_sweep_more(opcode: str, tmp_path: Path) -> None:
    _sweep16(opcode, tmp_path, 48, 1)


# ---- QUANTIZE between integer types ---------------------------------------------------------

QUANTIZE_INT_PAIRS = [("int8", "int16"), ("int8", "int32"), ("int16", "int8"), ("int16", "int16"),
                      ("int16", "int32"), ("int32", "int8"), ("int32", "int16"), ("int8", "int8")]


def _to_quantize(model) -> None:
    """Flatbuffer edit: every RELU becomes a QUANTIZE (same tensors, no options)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    for code in model.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.RELU:
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE


def _q_for(dtype: str, rng) -> tuple[float, int]:
    lo, hi = {"int8": (-128, 128), "int16": (-3000, 3000), "int32": (-(1 << 20), 1 << 20)}[dtype]
    exponent = {"int8": (-3, 0), "int16": (-5, -2), "int32": (-8, -5)}[dtype]
    return float(np.float32(10 ** rng.uniform(*exponent))), int(rng.integers(lo, hi))


def _quantize_sweep(tmp_path: Path, k: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    variants = []
    for i in range(k):
        a, b = QUANTIZE_INT_PAIRS[i % len(QUANTIZE_INT_PAIRS)]
        in_q, out_q = _q_for(a, rng), _q_for(b, rng)
        variants.append(Variant(in_q, out_q, a, b, label=f"{a} {in_q} -> {b} {out_q}"))
    base = opzoo.convert(CASES_BY_NAME["act16_all"])
    relu_only = edit_tflite(base, tmp_path / "relu.tflite", replicate_op("RELU", variants, shape=(1024,)))
    model = edit_tflite(relu_only, tmp_path / "quantize.tflite", _to_quantize)
    graph = opzoo.read_path(model)
    assert {(graph.tensors[op.inputs[0]].dtype, graph.tensors[op.outputs[0]].dtype)
            for op in graph.operators} == {(a, b) for a, b in QUANTIZE_INT_PAIRS[:k]}
    from tinykit import oracle

    blobs = exhaustive_blobs([v.in_type for v in variants], 1024)[:64]
    blobs += oracle.random_inputs(model, 8, seed=seed)
    check_against_oracle(model, blobs, [v.label for v in variants])


def test_quantize_between_integer_types(tmp_path: Path) -> None:
    """Every integer pair TFLM quantizes between, random scales and zero points, in one model."""
    _quantize_sweep(tmp_path, 2 * len(QUANTIZE_INT_PAIRS), 7)


@pytest.mark.slow
def test_quantize_between_integer_types_sweep(tmp_path: Path) -> None:
    _quantize_sweep(tmp_path, 12 * len(QUANTIZE_INT_PAIRS), 8)


# ---- kernels build for every core -----------------------------------------------------------

KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
ACT_KERNELS = ("tk_act16.c", "tk_quantize.c", "tk_lut.c")


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_act_kernels_compile_for_arm(cpu: str, tmp_path: Path) -> None:
    """Warning-free under arm-none-eabi-gcc, from the smallest core to Helium."""
    import shutil
    import subprocess

    cc = shutil.which("arm-none-eabi-gcc")
    assert cc is not None, "arm-none-eabi-gcc is part of the set-up (Makefile APT_PACKAGES)"
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", f"-mcpu={cpu}",
             f"-I{KERNEL_DIR / 'include'}", f"-I{KERNEL_DIR}"]
    for src in ACT_KERNELS:
        proc = subprocess.run([cc, *flags, "-c", str(KERNEL_DIR / src), "-o", str(tmp_path / "k.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src}: {proc.stderr}"
