"""BATCH_MATMUL int8 and int16, bit-exact vs tflite-micro.

tf.matmul between model inputs (or an input and a constant) converted by TensorFlow: adj_x /
adj_y, broadcast batch dimensions in either operand, ranks 2 to 5, an odd depth, a constant
operand; plus random operand and output quantizations by flatbuffer edit. Plain C and the
emulated DSP path (SMLAD / SMLALD).
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import opzoo
import pytest
from conv16_helpers import BUILD_IDS, BUILDS, compile_for_arm, run_on_board

from tinykit import oracle

pytestmark = pytest.mark.host


def matmul(shape_a, shape_b, adj_x=False, adj_y=False, const_b=False):
    """tf.matmul(a, b) of two named model inputs (names sort in argument order, which keeps the
    converter's calibration inputs in place), or of an input and a constant."""
    import tensorflow as tf
    import tf_keras as k

    a = k.Input(shape_a[1:], batch_size=shape_a[0], name="m0_lhs")
    if const_b:
        value = np.random.default_rng(1).uniform(-1, 1, shape_b).astype(np.float32)
        return k.Model(a, k.layers.Lambda(lambda t: tf.matmul(t, value, adjoint_a=adj_x, adjoint_b=adj_y))(a))
    b = k.Input(shape_b[1:], batch_size=shape_b[0], name="m1_rhs")
    out = k.layers.Lambda(lambda ts: tf.matmul(ts[0], ts[1], adjoint_a=adj_x, adjoint_b=adj_y))([a, b])
    return k.Model([a, b], out)


def _case(name, kwargs, activations) -> opzoo.Case:
    tag = "s8" if activations == "int8" else "s16"
    return opzoo.Case(f"mm_{name}_{tag}", matmul, kwargs, ("BATCH_MATMUL",), activations=activations)


SHAPES = {
    "bcast": dict(shape_a=(2, 3, 4, 5), shape_b=(1, 3, 5, 6)),
    "adj": dict(shape_a=(2, 5, 4), shape_b=(2, 6, 5), adj_x=True, adj_y=True),
    "const_odd_k": dict(shape_a=(1, 4, 7), shape_b=(3, 7, 2), const_b=True),
}
CASES = [_case(name, kw, a) for name, kw in SHAPES.items() for a in ("int8", "int16")]
CASES += [
    _case("rank5_adj_x", dict(shape_a=(1, 2, 1, 5, 3), shape_b=(2, 1, 2, 5, 4), adj_x=True), "int8"),
    _case("rank2_adj_x", dict(shape_a=(7, 3), shape_b=(7, 2), adj_x=True), "int16"),
    _case("rank3_adj_y", dict(shape_a=(2, 3, 7), shape_b=(2, 2, 7), adj_y=True), "int8"),
]
CASES_BY_NAME = {c.name: c for c in CASES}


@pytest.mark.parametrize("name", sorted(CASES_BY_NAME))
@pytest.mark.parametrize(("dsp", "defines"), BUILDS[:2], ids=BUILD_IDS[:2])
def test_batch_matmul_bit_exact(name: str, dsp: bool, defines: tuple[str, ...]) -> None:
    opzoo.check_bit_exact(CASES_BY_NAME[name], dsp_emulate=dsp, defines=defines)


@pytest.mark.parametrize(("name", "adj_x", "adj_y", "const", "dtype"), [
    ("mm_adj_s16", True, True, False, "int16"),
    ("mm_rank5_adj_x_s8", True, False, False, "int8"),
    ("mm_rank2_adj_x_s16", True, False, False, "int16"),
    ("mm_rank3_adj_y_s8", False, True, False, "int8"),
    ("mm_const_odd_k_s8", False, False, True, "int8"),
])
def test_batch_matmul_cases_have_the_options_under_test(name, adj_x, adj_y, const, dtype) -> None:
    graph = opzoo.graph_of(CASES_BY_NAME[name])
    ops = [op for op in graph.operators if op.opcode == "BATCH_MATMUL"]
    assert len(ops) == 1
    op = ops[0]
    assert bool(op.options["adj_x"]) == adj_x and bool(op.options["adj_y"]) == adj_y
    assert graph.tensors[op.inputs[1]].is_constant == const
    assert graph.tensors[op.inputs[0]].dtype == dtype


def _requantize(q: list[tuple[float, int]]):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[0]
        for index, (scale, zp) in zip([op.inputs[0], op.inputs[1], op.outputs[0]], q, strict=True):
            sub.tensors[index].quantization.scale = [scale]
            sub.tensors[index].quantization.zeroPoint = [zp]

    return edit


@pytest.mark.parametrize("trial", range(6))
@pytest.mark.parametrize("name", ["mm_bcast_s8", "mm_adj_s16"])
def test_batch_matmul_over_quantizations(name: str, trial: int, tmp_path: Path) -> None:
    """Random operand/output scales (and int8 zero points): the multiplier is TFLM's."""
    from codegen_helpers import edit_tflite

    from tinykit.verify import load_host_model

    rng = np.random.default_rng(zlib.crc32(name.encode()) + trial)
    s8 = name.endswith("s8")
    q = [(float(np.float32(10 ** rng.uniform(-4, -1))), int(rng.integers(-128, 128)) if s8 else 0) for _ in range(3)]
    model = edit_tflite(opzoo.convert(CASES_BY_NAME[name]), tmp_path / "q.tflite", _requantize(q))
    host, _ = load_host_model(model)
    blobs = oracle.random_inputs(model, 6, seed=trial)
    sizes = host.input_sizes
    for blob, ref in zip(blobs, oracle.reference_outputs(model, blobs), strict=True):
        assert host.run([blob[:sizes[0]], blob[sizes[0]:]]) == ref, q


def _distinguishing_quantization(rng) -> tuple[list[tuple[float, int]], int]:
    """Scales whose multiplier differs between a float32 and a double product of the operand
    scales, and an accumulator value whose requantized output differs between the two."""
    from tinykit.codegen.ops_fixedpoint import mbqm
    from tinykit.codegen.quant import f32, quantize_multiplier

    while True:
        sl, sr, so = (float(np.float32(10 ** rng.uniform(-3, -1))) for _ in range(3))
        single = quantize_multiplier(float(np.float32(f32(sl) * f32(sr))) / float(f32(so)))
        double = quantize_multiplier(float(f32(sl)) * float(f32(sr)) / float(f32(so)))
        if single == double:
            continue
        for acc in range(-60000, 60000, 7):
            a, b = mbqm(acc, *single), mbqm(acc, *double)
            if a != b and max(abs(a), abs(b)) <= 127:
                return [(sl, 0), (sr, 0), (so, 0)], acc


@pytest.mark.parametrize("trial", range(3))
def test_batch_matmul_multiplier_is_the_runtimes(trial: int, tmp_path: Path) -> None:
    """Inputs crafted so that one output's accumulator rounds differently under a float32 and a
    double product of the operand scales: tinykit must agree with the runtime on it."""
    from codegen_helpers import edit_tflite

    from tinykit.verify import load_host_model

    q, acc = _distinguishing_quantization(np.random.default_rng(100 + trial))
    model = edit_tflite(opzoo.convert(CASES_BY_NAME["mm_bcast_s8"]), tmp_path / "m.tflite", _requantize(q))
    lhs, rhs = np.zeros((2, 3, 4, 5), np.int8), np.zeros((1, 3, 5, 6), np.int8)
    high, low = divmod(acc + 63, 127)  # acc = 127 * high + (low - 63), |low - 63| <= 63
    lhs[0, 0, 0, :4] = _split(high)
    lhs[0, 0, 0, 4] = low - 63
    rhs[0, 0, :, 0] = (127, 127, 127, 127, 1)
    assert int(lhs[0, 0, 0].astype(int) @ rhs[0, 0, :, 0].astype(int)) == acc
    host, _ = load_host_model(model)
    blob = lhs.tobytes() + rhs.tobytes()
    assert host.run([lhs.tobytes(), rhs.tobytes()]) == oracle.reference_outputs(model, [blob])[0]


def _split(total: int) -> list[int]:
    """Four int8 values summing to ``total`` (|total| <= 508)."""
    parts = []
    for _ in range(4):
        v = max(-127, min(127, total))
        parts.append(v)
        total -= v
    assert total == 0
    return parts


def test_batch_matmul_refuses_int16_zero_points(tmp_path: Path) -> None:
    from codegen_helpers import edit_tflite

    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = edit_tflite(opzoo.convert(CASES_BY_NAME["mm_adj_s16"]), tmp_path / "zp.tflite",
                        _requantize([(1e-3, 0), (1e-3, 5), (1e-3, 0)]))
    with pytest.raises(UnsupportedOpError) as err:
        generate(model, tmp_path / "lib")
    assert "BATCH_MATMUL" in str(err.value) and "zero points" in str(err.value) and "\n" not in str(err.value)


def test_batch_matmul_scratch_matches_the_kernel_formula() -> None:
    from tinykit.ir.ops import op_handler

    for name, (m, n, k) in (("mm_bcast_s8", (4, 6, 5)), ("mm_rank5_adj_x_s8", (3, 4, 5))):
        graph = opzoo.graph_of(CASES_BY_NAME[name])
        op = graph.operators[0]
        assert op_handler("BATCH_MATMUL").scratch_bytes(op, graph) == (m + n) * ((k + 1) // 2 * 2) * 2


@pytest.mark.qemu
@pytest.mark.slow
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
@pytest.mark.parametrize("name", ["mm_bcast_s8", "mm_adj_s16"])
def test_batch_matmul_on_emulated_cores(name: str, board: str, tmp_path: Path) -> None:
    run_on_board(opzoo.convert(CASES_BY_NAME[name]), board, tmp_path)


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_batch_matmul_kernel_compiles_for_arm(cpu: str, tmp_path: Path) -> None:
    compile_for_arm(cpu, ("tk_batch_matmul.c",), tmp_path)
