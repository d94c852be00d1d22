"""The DSP weight streams (tinykit/codegen/dsp_weights.py) and the requantization they carry.

tk_requant_mm (tk_fixedpoint.h) replaces TFLite's MultiplyByQuantizedMultiplier on layers where
mm_requant proved it exact; the C function is checked here against the Python transcription of
TFLite on the accumulator bounds and random values of proved constants. The layers whose
constants cannot be proved keep a stream without requantization words: that fallback (plain
accumulators requantized from the multiplier arrays) is forced here and must stay bit-exact.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from codegen_helpers import CONV_MODELS, conv_stack, int8_tflite

from tinykit.codegen import dsp_weights
from tinykit.codegen.dsp_weights import channel_rq, conv_stream, depthwise_stream, mm_requant, tflite_requant
from tinykit.codegen.ops_fixedpoint import mbqm
from tinykit.codegen.quant import quantize_multiplier

pytestmark = pytest.mark.host
KERNELS = Path(__file__).resolve().parents[1] / "firmware" / "kernels"

CHECK_MAIN = """#include <stdio.h>
#include "tk_fixedpoint.h"
int main(void)
{
    long v[5];
    while (scanf("%ld %ld %ld %ld %ld", &v[0], &v[1], &v[2], &v[3], &v[4]) == 5) {
        printf("%ld\\n", (long)tk_requant_mm((int32_t)(2 * v[0]), (int32_t)v[1], (int32_t)v[2], (int32_t)v[3]));
    }
    return 0;
}
"""


def _proved_cases(n: int) -> list[tuple[int, int, int, int, int]]:
    """(acc, m, H, r, expected) for random proved constants, at the accumulator bounds and inside."""
    rng = random.Random(12)
    cases = []
    while len(cases) < n:
        m, shift = quantize_multiplier(10 ** rng.uniform(-6, -0.4))
        offset, bound = rng.randint(-128, 127), rng.choice([1, 200, 70_000, 3_000_000, (1 << 30) - 1])
        proof = mm_requant(bound, m, shift, offset)
        if proof is None:
            continue
        for acc in (-bound, bound, 0, -1, 1, rng.randint(-bound, bound), rng.randint(-bound, bound)):
            cases.append((acc, m, *proof, mbqm(acc, m, shift) + offset))
    return cases


def test_requant_mm_equals_tflite_where_proved(tmp_path):
    src, exe = tmp_path / "check.c", tmp_path / "check"
    src.write_text(CHECK_MAIN)
    proc = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{KERNELS / 'include'}",
                           str(src), "-o", str(exe)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    cases = _proved_cases(20_000)
    run = subprocess.run([str(exe)], input="".join(f"{a} {m} {h} {r} 0\n" for a, m, h, r, _ in cases),
                         capture_output=True, text=True, timeout=60)
    got = [int(x) for x in run.stdout.split()]
    bad = [c for c, g in zip(cases, got, strict=True) if g != c[4]]
    assert len(got) == len(cases) and not bad, bad[:5]


def test_mm_requant_refuses_what_it_cannot_prove():
    m, shift = quantize_multiplier(0.01)
    assert mm_requant(1000, m, shift, 3) is not None
    assert mm_requant(1 << 30, m, shift, 3) is None  # 2 * acc overflows int32
    assert mm_requant(1000, *quantize_multiplier(0.75), 0) is None  # shift 0: no rounding shift left
    assert mm_requant(1000, *quantize_multiplier(3.0), 0) is None  # a left shift


def test_constant_channels_fold_and_unproved_layers_keep_raw_streams():
    w = np.array([[0, 0, 0, 0], [1, -2, 3, 4]], np.int8)
    m, shift = quantize_multiplier(0.001)
    bias = np.array([1 << 29, 100])
    b, w2, rq = channel_rq(bias, w, [m, m], [shift, shift], -5, -128, 127)
    assert rq is not None and b[0] == 0 and not w2[0].any() and tuple(rq[0]) == (0, 2 * 127, 1)
    assert tflite_requant(1 << 29, m, shift, -5, -128, 127) == 127
    big_m, big_shift = quantize_multiplier(0.9)  # shift 0: never proved
    stream, proved = conv_stream(w.reshape(2, 1, 2, 2), bias, [m, big_m], [shift, big_shift], -5, -128, 127)
    assert not proved and stream.tolist()[:4] == [1 << 29, 1 << 29, 100, 100]
    assert stream.size == 4 + 4  # biases + one group of 4 values for two channels, no {m, H, r}


def test_depthwise_stream_orders_taps_along_lines():
    w = np.arange(9, dtype=np.int8).reshape(1, 3, 3, 1)  # w[fy][fx] = 3 fy + fx
    m, shift = quantize_multiplier(0.001)
    for vertical, first_line in ((False, (0, 1, 2)), (True, (0, 3, 6))):
        s, proved = depthwise_stream(w, np.array([7]), [m], [shift], 0, -128, 127, vertical)
        assert proved and s[0] == 14  # doubled bias
        a, d = int(s[4]), int(s[5])
        taps = (a & 0xFFFF, a >> 16, d >> 16)
        assert tuple(2 * t for t in first_line) == taps and d & 0xFFFF == taps[1]


@pytest.mark.parametrize("name", ["conv_same_stride2_relu", "depthwise_multipliers", "depthwise_per_tensor"])
def test_unproved_streams_bit_exact(name, monkeypatch, tmp_path):
    """With no constants proved, every DSP layer takes the raw-accumulator path (host, TK_DSP_EMULATE)."""
    from tinykit import oracle
    from tinykit.codegen import generate
    from tinykit.verify import compare_outputs, load_host_model

    shape, layers, per_channel = CONV_MODELS[name]
    path = int8_tflite(conv_stack(shape, layers), shape, name, per_channel=per_channel)
    monkeypatch.setattr(dsp_weights, "mm_requant", lambda *args: None)
    source = (generate(path, tmp_path / "lib", name="model").dir / "model.c").read_text()
    assert ".stream_rq = 0," in source and ".stream_rq = 1," not in source
    host, _ = load_host_model(path, dsp_emulate=True)
    blobs = oracle.random_inputs(path, 20, seed=3)
    dtypes = [s.dtype for s in oracle.output_specs(path)]
    bad = sum(compare_outputs(host.run([b]), ref, dtypes)[0]
              for b, ref in zip(blobs, oracle.reference_outputs(path, blobs), strict=True))
    assert bad == 0


def test_depthwise_plane_scratch_fits_every_kernel():
    """A 3x3 plane layer's scratch is the larger of the plane (the plane kernel) and the kh padded
    rows (the Helium kernel reads the same library), and its output is not planned over its input."""
    from tinykit.ir import read_model
    from tinykit.ir.ops.conv import depthwise_plane, depthwise_scratch
    from tinykit.models import reference_model
    from tinykit.plan import plan_memory

    graph = read_model(reference_model("kws"))
    plan = plan_memory(graph)
    for op in (o for o in graph.operators if o.opcode == "DEPTHWISE_CONV_2D"):
        _, oh, ow, c = graph.tensors[op.outputs[0]].shape
        _, pu, pv = depthwise_plane(3, 3, 1, 1, 1, 1, 1, oh, ow)
        assert plan.scratch_bytes[op.index] == depthwise_scratch(3, 3, c, oh, ow, op.options) == \
            max(2 * pu * pv, 3 * (ow + 2) * c)
        assert plan.offsets[op.outputs[0]] != plan.offsets[op.inputs[0]]
