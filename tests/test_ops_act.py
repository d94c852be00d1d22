"""Activation-family ops bit-exact against the tflite-micro runtime on the host: the int16 (16x8)
activations, ABS, RSQRT, ELU, SOFTMAX (int8/int16 outputs, int16 inputs), LOG_SOFTMAX,
L2_NORMALIZATION. (QUANTIZE, DEQUANTIZE, CAST, ZEROS_LIKE, FILL: tests/test_ops_act_convert.py.)

Zoo models are converted from Keras with real TensorFlow (int8 and 16x8) and checked to contain
the intended ops. Quantization sweeps turn one converted op into many differently quantized copies
side by side in one model (``act_helpers.replicate_op``: one compile, one reference run per
sweep), fed every int8/int16 value; ops the converter never quantizes (ELU) or whose other
input/output types it never emits are made by editing a converted op (``swap_opcode``).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import opzoo
import pytest
from act_helpers import Variant, check_against_oracle, edited, exhaustive_blobs, replicate_op, swap_opcode

from tinykit import oracle

pytestmark = pytest.mark.host

N16 = 4096  # elements per int16 input: 16 blobs carry every int16 value


# ---- models ---------------------------------------------------------------------------------


def acts16(shape):
    """The stream's int16 ops straight on the model input, one output each (softmax over rows)."""
    import tensorflow as tf

    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    outs = [k.layers.Activation("sigmoid")(inp), k.layers.Activation("tanh")(inp), k.layers.ReLU()(inp),
            k.layers.ReLU(6.0)(inp), k.layers.LeakyReLU(0.15)(inp), k.layers.LeakyReLU(-0.4)(inp),
            k.layers.Softmax()(inp), k.layers.Lambda(tf.abs)(inp)]
    return k.Model(inp, outs)


def acts8(shape):
    """The stream's new int8 ops on the model input (RSQRT behind RELU + 0.5: positive inputs)."""
    import tensorflow as tf

    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    outs = [k.layers.Lambda(tf.abs)(inp), k.layers.Lambda(tf.nn.log_softmax)(inp),
            k.layers.Lambda(lambda v: tf.math.l2_normalize(v, axis=-1))(inp),
            k.layers.Lambda(lambda v: tf.math.rsqrt(tf.nn.relu(v) + 0.5))(inp)]
    return k.Model(inp, outs)


ACT16_OPS = ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "SOFTMAX", "ABS")
ACT8_OPS = ("ABS", "LOG_SOFTMAX", "L2_NORMALIZATION", "RSQRT")

CASES = [
    opzoo.Case("act16_all", acts16, dict(shape=(64, 64)), ACT16_OPS, activations="int16", rep_range=(-4, 4)),
    opzoo.Case("act8_all", acts8, dict(shape=(8, 32)), ACT8_OPS, rep_range=(-3, 3)),
    opzoo.Case("act16_small", acts16, dict(shape=(4, 16)), ACT16_OPS, activations="int16", rep_range=(-4, 4)),
]
CASES_BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_act_zoo_bit_exact(name: str) -> None:
    opzoo.check_bit_exact(CASES_BY_NAME[name])


def test_act16_zoo_on_every_int16_value() -> None:
    check_against_oracle(opzoo.convert(CASES_BY_NAME["act16_all"]), exhaustive_blobs(["int16"], N16))


def test_act_zoo_types_and_options() -> None:
    """The converter really produced int16 tensors for every 16x8 op, and both alpha signs."""
    graph = opzoo.graph_of(CASES_BY_NAME["act16_all"])
    assert {(op.opcode, graph.tensors[op.inputs[0]].dtype) for op in graph.operators} == \
        {(code, "int16") for code in ACT16_OPS}
    alphas = sorted(round(op.options["alpha"], 3) for op in graph.operators if op.opcode == "LEAKY_RELU")
    assert alphas == [-0.4, 0.15]
    graph8 = opzoo.graph_of(CASES_BY_NAME["act8_all"])
    assert all(graph8.tensors[op.outputs[0]].dtype == "int8" for op in graph8.operators)


# ---- quantization sweeps: K copies of one op in one model -----------------------------------


def _q(rng, lo: float, hi: float, zero_point: tuple[int, int] | None = None) -> tuple[float, int]:
    scale = float(np.float32(10 ** rng.uniform(lo, hi)))
    return scale, int(rng.integers(*zero_point)) if zero_point else 0


def _options(**fields):
    def edit(options) -> None:
        for name, value in fields.items():
            setattr(options, name, value)

    return edit


def _variants16(opcode: str, rng, k: int) -> list[Variant]:
    """int16 quantizations TFLM accepts for ``opcode``: LOGISTIC/TANH with power-of-two and other
    input scales, LEAKY_RELU with zero points and both alpha signs, the rest with zero points 0."""
    out = []
    for i in range(k):
        if opcode in ("LOGISTIC", "TANH"):
            in_q = (2.0 ** -int(rng.integers(10, 14)), 0) if i % 3 == 0 else _q(rng, -4.5, -1.5)
            out.append(Variant(in_q, (2.0 ** -15, 0), label=f"in {in_q}"))
        elif opcode == "LEAKY_RELU":
            in_q, out_q, alpha = _q(rng, -4.5, -1.5, (-300, 300)), _q(rng, -4.5, -1.5, (-300, 300)), \
                float(rng.uniform(-1.5, 1.5))
            if i == 0:  # exact ties of the negated alpha product (TFLM negates after rounding)
                in_q, out_q, alpha = (1e-3, 0), (1e-3, 0), -0.375
            out.append(Variant(in_q, out_q, options=_options(alpha=float(np.float32(alpha))),
                               label=f"{in_q} -> {out_q} alpha {alpha:.3f}"))
        elif opcode == "ABS" and i == 0:
            out.append(Variant((1e-3, 0), (1e-3, 0), label="same scales"))
        else:  # RELU, RELU6, ABS, RSQRT: zero points 0
            in_q, out_q = _q(rng, -4.5, -1.5), _q(rng, -4.5, -1.5)
            out.append(Variant(in_q, out_q, label=f"{in_q} -> {out_q}"))
    return out


def _sweep16(opcode: str, tmp_path: Path, k: int, seed: int) -> None:
    rng = np.random.default_rng(zlib.crc32(opcode.encode()) + seed)
    variants = _variants16(opcode, rng, k)
    base = opzoo.convert(CASES_BY_NAME["act16_all"])
    blobs = exhaustive_blobs(["int16"] * k, N16)
    if opcode == "RSQRT":  # RELU turned into RSQRT: TFLM fails the invoke below zero, see below
        edits = [replicate_op("RELU", variants, shape=(N16,)), swap_opcode("RELU", "RSQRT")]
        blobs = [np.abs(np.frombuffer(b, np.int16).astype(np.int32)).clip(0, 32767).astype(np.int16).tobytes()
                 for b in blobs]
    else:
        edits = [replicate_op(opcode, variants, shape=(N16,))]
    model = edited(base, tmp_path / f"{opcode}.tflite", *edits)
    check_against_oracle(model, blobs, [v.label for v in variants])


SWEEP16_OPS = ("LOGISTIC", "TANH", "RELU", "RELU6", "LEAKY_RELU", "ABS", "RSQRT")


@pytest.mark.parametrize("opcode", SWEEP16_OPS)
def test_act16_quantization_sweep(opcode: str, tmp_path: Path) -> None:
    """Eight quantizations (and alphas) per int16 op, every int16 input value, one compile."""
    _sweep16(opcode, tmp_path, 8, 0)


@pytest.mark.slow
@pytest.mark.parametrize("opcode", SWEEP16_OPS)
def test_act16_quantization_sweep_more(opcode: str, tmp_path: Path) -> None:
    """160 more quantizations per op (four models of 40)."""
    for seed in range(1, 5):
        _sweep16(opcode, tmp_path, 40, seed)


def _variants8(opcode: str, rng, k: int) -> list[Variant]:
    out = []
    for i in range(k):
        in_q, out_q = _q(rng, -3.0, 0.3, (-128, 128)), _q(rng, -3.0, 0.3, (-128, 128))
        if opcode == "ABS" and i == 0:
            out_q = in_q  # no rescale path
        out.append(Variant(in_q, out_q, "int8", "int8", label=f"{in_q} -> {out_q}"))
    return out


TABLE8_OPS = ("ABS", "ELU", "RSQRT")


@pytest.mark.parametrize("opcode", TABLE8_OPS)
def test_act8_table_ops_every_byte(opcode: str, tmp_path: Path) -> None:
    """int8 table ops: every byte under 24 random quantizations (RSQRT: bytes at or above the zero
    point; below it TFLM fails the invoke, and so does tinykit, see the next test)."""
    _table8_sweep(opcode, 24, 0, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("opcode", TABLE8_OPS)
def test_act8_table_ops_every_byte_sweep(opcode: str, tmp_path: Path) -> None:
    _table8_sweep(opcode, 240, 1, tmp_path)


def _table8_sweep(opcode: str, k: int, seed: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(zlib.crc32(opcode.encode()) + seed)
    variants = _variants8(opcode, rng, k)
    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / f"{opcode}.tflite", replicate_op("RELU", variants), swap_opcode("RELU", opcode))
    blobs = exhaustive_blobs(["int8"] * k, 256)
    if opcode == "RSQRT":
        rows = [np.maximum(np.frombuffer(b, np.int8).reshape(k, 256), np.array([[v.in_q[1]] for v in variants]))
                for b in blobs]
        blobs = [r.astype(np.int8).tobytes() for r in rows]
    check_against_oracle(model, blobs, [v.label for v in variants])


def test_rsqrt_negative_input_fails_like_tflm(tmp_path: Path) -> None:
    from tinykit.errors import BuildError
    from tinykit.verify import load_host_model

    base = opzoo.convert(opzoo.CASES_BY_NAME["act_relu"])
    model = edited(base, tmp_path / "rsqrt.tflite", replicate_op("RELU", [Variant((0.02, 0), (0.01, -100))]),
                   swap_opcode("RELU", "RSQRT"))
    blob = bytes([5] * 255 + [0xFF])  # one -1: below the zero point
    with pytest.raises(Exception, match=r"[Ii]nvo"):
        oracle.reference_outputs(model, [blob])
    host, _ = load_host_model(model)
    with pytest.raises(BuildError, match="status"):
        host.run([blob])
    assert host.run([bytes([5] * 256)]) == oracle.reference_outputs(model, [bytes([5] * 256)])[0]


# ---- row ops: SOFTMAX (int8 -> int16, int16), LOG_SOFTMAX, L2_NORMALIZATION --------------------


def _row_blobs(model: Path, dtype: str, k: int, rows: int, depth: int, seed: int) -> list[bytes]:
    """Random rows plus structured ones: all equal, one hot, extremes, a ramp."""
    info = np.iinfo(dtype)
    blobs = oracle.random_inputs(model, 6, seed=seed)
    ramp = np.linspace(info.min, info.max, depth).astype(dtype)
    structured = [np.zeros(depth, dtype), np.full(depth, info.min, dtype), np.full(depth, info.max, dtype), ramp,
                  np.where(np.arange(depth) == depth // 2, info.max, info.min).astype(dtype)]
    block = np.resize(np.stack(structured), (rows, depth)).astype(dtype)
    blobs.append(b"".join(block.tobytes() for _ in range(k)))
    return blobs


def _row_sweep(opcode: str, tmp_path: Path, k: int, seed: int, rows: int = 8, depth: int = 33) -> None:
    rng = np.random.default_rng(zlib.crc32(opcode.encode()) + seed)
    if opcode == "SOFTMAX16":  # int16 in, int16 out (scale 1/32768), random input scale and beta
        base, src, dtype = opzoo.convert(CASES_BY_NAME["act16_all"]), "SOFTMAX", "int16"
        variants = [Variant(_q(rng, -4.5, -1.0), (1 / 32768, 0),
                            options=_options(beta=float(np.float32(10 ** rng.uniform(-1, 1))))) for _ in range(k)]
        edits = [replicate_op("SOFTMAX", variants, shape=(rows, depth))]
    elif opcode == "SOFTMAX8_16":  # int8 in, int16 out (scale 1/65536, zero point -32768)
        base, src, dtype = opzoo.convert(opzoo.CASES_BY_NAME["softmax_wide_input"]), "SOFTMAX", "int8"
        variants = [Variant(_q(rng, -3, 0.7, (-128, 128)), (1 / 65536, -32768), out_type="int16",
                            options=_options(beta=float(np.float32(10 ** rng.uniform(-1, 1))))) for _ in range(k)]
        edits = [replicate_op("SOFTMAX", variants, shape=(rows, depth))]
    else:  # LOG_SOFTMAX (output 16/256, 127) and L2_NORMALIZATION from the int8 zoo model
        base, src, dtype = opzoo.convert(CASES_BY_NAME["act8_all"]), opcode, "int8"
        out_q = (16 / 256, 127) if opcode == "LOG_SOFTMAX" else (1 / 128, 0)
        variants = [Variant(_q(rng, -3, 0.5, (-128, 128)), out_q) for _ in range(k)]
        edits = [replicate_op(opcode, variants, shape=(rows, depth))]
    for v in variants:
        v.label = f"{opcode} in {v.in_q}"
    model = edited(base, tmp_path / f"{opcode}.tflite", *edits)
    assert {op.opcode for op in opzoo.read_path(model).operators} == {src}
    check_against_oracle(model, _row_blobs(model, dtype, k, rows, depth, seed), [v.label for v in variants])


ROW_OPS = ("SOFTMAX16", "SOFTMAX8_16", "LOG_SOFTMAX", "L2_NORMALIZATION")


@pytest.mark.parametrize("opcode", ROW_OPS)
def test_row_ops_over_quantizations(opcode: str, tmp_path: Path) -> None:
    """Twelve input scales (and betas) per row op, random and structured rows."""
    _row_sweep(opcode, tmp_path, 12, 0)


@pytest.mark.slow
@pytest.mark.parametrize("opcode", ROW_OPS)
def test_row_ops_over_quantizations_sweep(opcode: str, tmp_path: Path) -> None:
    """Seeded random row shapes (1 to 300 wide), 40 quantizations each."""
    rng = np.random.default_rng(zlib.crc32(opcode.encode()))
    for seed in range(1, 7):
        rows, depth = int(rng.integers(1, 12)), int(rng.choice([1, 2, 3, 7, 16, 64, 255, 300]))
        _row_sweep(opcode, tmp_path, 40, seed, rows, depth)


# ---- refusals ---------------------------------------------------------------------------------

REFUSALS = [
    # (base case, edits, opcode, fragment of the one-line reason)
    ("act16_all", [replicate_op("LOGISTIC", [Variant((1e-3, 0), (1e-3, 0))])], "LOGISTIC", "2^-15"),
    ("act16_all", [replicate_op("TANH", [Variant((1e-3, 5), (2 ** -15, 0))])], "TANH", "zero points"),
    ("act16_all", [replicate_op("RELU", [Variant((1e-3, 3), (1e-3, 0))])], "RELU", "zero points"),
    ("act16_all", [replicate_op("SOFTMAX", [Variant((1e-3, 0), (1 / 256, 0))])], "SOFTMAX", "output quantization"),
    ("act16_all", [replicate_op("ABS", [Variant((1e-3, 2), (1e-3, 0))])], "ABS", "zero points"),
    ("act8_all", [replicate_op("LOG_SOFTMAX", [Variant((0.1, 0), (0.1, 127))])], "LOG_SOFTMAX", "16/256"),
    ("act16_all", [replicate_op("RELU", [Variant((1e-3, 0), (1e-3, 0))]), swap_opcode("RELU", "HARD_SWISH")],
     "HARD_SWISH", "int16"),
    ("act16_all", [replicate_op("RELU", [Variant((1e-3, 0), (1e-3, 0))]), swap_opcode("RELU", "ELU")], "ELU", "int16"),
]


@pytest.mark.parametrize(("base", "edits", "opcode", "fragment"), REFUSALS,
                         ids=[f"{r[2]}-{r[3]}" for r in REFUSALS])
def test_tflm_refusals_are_one_line_errors(base, edits, opcode, fragment, tmp_path: Path) -> None:
    """What TFLM's Prepare (or Eval) refuses, tinykit refuses: one line naming op, index and reason."""
    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = edited(opzoo.convert(CASES_BY_NAME[base]), tmp_path / "bad.tflite", *edits)
    with pytest.raises(Exception):  # noqa: B017 - the runtime raises RuntimeError or its own errors
        oracle.reference_outputs(model, oracle.random_inputs(model, 1))
    with pytest.raises(UnsupportedOpError) as err:
        generate(model, tmp_path / "lib")
    message = str(err.value)
    assert opcode in message and "op 0" in message and fragment in message and "\n" not in message, message


def test_mixed_types_are_refused(tmp_path: Path) -> None:
    """RELU int16 -> int8: TFLM's Prepare does not check it (its Eval writes int16 into the int8
    buffer); tinykit refuses it."""
    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = edited(opzoo.convert(CASES_BY_NAME["act16_all"]), tmp_path / "bad.tflite",
                   replicate_op("RELU", [Variant((1e-3, 0), (1e-3, 0), "int16", "int8")]))
    with pytest.raises(UnsupportedOpError, match=r"op 0.*RELU.*int16 input with int8 output"):
        generate(model, tmp_path / "lib")


def test_cli_inspect_names_the_refused_op(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tinykit.cli import main

    model = edited(opzoo.convert(CASES_BY_NAME["act16_all"]), tmp_path / "bad.tflite",
                   replicate_op("LOGISTIC", [Variant((1e-3, 0), (1e-3, 0))]))
    result = CliRunner().invoke(main, ["inspect", str(model)])
    assert result.exit_code == 2, result.output
    assert "LOGISTIC" in result.output and "2^-15" in result.output and "Traceback" not in result.output


# ---- on emulated boards -----------------------------------------------------------------------


def _run_on(model: Path, board: str, tmp_path: Path) -> None:
    import shutil

    from tinykit.run import run

    assert shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc"), "part of the set-up"
    result = run(model, board, tmp_path, num_inputs=3, runs=1)
    assert result["validation"]["checked"] and result["validation"]["compared_bytes"] > 0
    assert result["mismatched_bytes"] == 0, result["validation"]


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
@pytest.mark.parametrize("name", ["act16_small", "act8_all"])
def test_act_zoo_on_emulated_boards(name: str, board: str, tmp_path: Path) -> None:
    """The zoo models as firmware on qemu-m4 (Thumb-2/DSP build) and qemu-m0 (plain C): same bytes."""
    _run_on(opzoo.convert(CASES_BY_NAME[name]), board, tmp_path)


# ---- coverage and kernels ---------------------------------------------------------------------


def test_act_zoo_covers_the_stream_ops() -> None:
    seen8, seen16 = set(), set()
    for case in CASES:
        graph = opzoo.graph_of(case)
        for op in graph.operators:
            (seen16 if graph.tensors[op.inputs[0]].dtype == "int16" else seen8).add(op.opcode)
    assert set(ACT16_OPS) <= seen16 and set(ACT8_OPS) <= seen8


KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
ACT_KERNELS = ("tk_act16.c", "tk_quantize.c", "tk_lut.c", "tk_softmax.c", "tk_unary.c", "tk_cast.c")


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
