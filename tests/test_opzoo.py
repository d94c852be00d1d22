"""The op zoo, bit-exact: every zoo model's generated C (host gcc) against the tflite-micro runtime.

Each case is converted to int8 once (cached, see tests/opzoo.py), checked to really contain the
ops and options it is meant to cover, generated, compiled (cached by source hash) and run on
random inputs (plus all 256 byte values for the single-input activation cases). Zero mismatched
bytes allowed.
"""

from __future__ import annotations

import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import opzoo
import pytest

from tinykit import oracle

pytestmark = pytest.mark.host

KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
MY_KERNELS = ("tk_lut.c", "tk_quantize.c", "tk_pool.c", "tk_binary.c", "tk_softmax.c",
              "tk_pad.c", "tk_concat.c")

# (case, opcode, option, expected value): the converter really produced the option under test.
OPTION_CHECKS = (
    ("conv3x3_same_relu", "CONV_2D", "fused_activation_function", "RELU"),
    ("conv5x5_same_s2_relu6", "CONV_2D", "fused_activation_function", "RELU6"),
    ("conv5x5_same_s2_relu6", "CONV_2D", "padding", "SAME"),
    ("conv3x3_valid_s2_pt", "CONV_2D", "padding", "VALID"),
    ("conv3x3_dil2_same", "CONV_2D", "dilation_h_factor", 2),
    ("conv2x3_dil23_valid_pt", "CONV_2D", "dilation_w_factor", 3),
    ("conv1x5_s12_same", "CONV_2D", "stride_w", 2),
    ("dw3x3_valid_s2_mult2_pt", "DEPTHWISE_CONV_2D", "stride_h", 2),
    ("dw5x5_dil2_relu", "DEPTHWISE_CONV_2D", "dilation_w_factor", 2),
    ("fc_keep_num_dims", "FULLY_CONNECTED", "keep_num_dims", True),
    ("fc_pt_relu6", "FULLY_CONNECTED", "fused_activation_function", "RELU6"),
    ("avgpool_relu", "AVERAGE_POOL_2D", "fused_activation_function", "RELU"),
    ("avgpool3_s2_same_odd", "AVERAGE_POOL_2D", "padding", "SAME"),
    ("add_bcast_hw", "ADD", "fused_activation_function", "RELU"),
    ("mean_hw_keepdims", "MEAN", "keep_dims", True),
    ("mean_hw", "MEAN", "keep_dims", False),
)


@pytest.mark.parametrize("name", [c.name for c in opzoo.CASES])
def test_opzoo_bit_exact(name: str) -> None:
    opzoo.check_bit_exact(opzoo.CASES_BY_NAME[name])


@pytest.mark.slow
@pytest.mark.parametrize("name", [c.name for c in opzoo.SWEEP_CASES])
def test_opzoo_sweep_bit_exact(name: str) -> None:
    """Randomized shapes and options (seeded): pools, ADD/MUL broadcasts, softmax, pad, concat, mean, convs."""
    opzoo.check_bit_exact(opzoo.CASES_BY_NAME[name])


def test_opzoo_covers_every_issue_op() -> None:
    seen = set()
    for case in opzoo.CASES:
        seen |= {op.opcode for op in opzoo.graph_of(case).operators}
    assert set(opzoo.ISSUE_OPS) <= seen, f"missing from the zoo: {sorted(set(opzoo.ISSUE_OPS) - seen)}"


@pytest.mark.parametrize(("name", "opcode", "option", "value"), OPTION_CHECKS)
def test_opzoo_options_present(name: str, opcode: str, option: str, value: object) -> None:
    graph = opzoo.graph_of(opzoo.CASES_BY_NAME[name])
    found = [op.options.get(option) for op in graph.operators if op.opcode == opcode]
    assert value in found, f"{name}: {opcode}.{option} values {found}, expected {value!r}"


@pytest.mark.parametrize("name", [c.name for c in opzoo.CASES if c.build in (opzoo.conv, opzoo.depthwise,
                                                                             opzoo.dense)])
def test_opzoo_weight_quantization_granularity(name: str) -> None:
    """per_channel=False really gives one weight scale; per-channel conv/dw weights have several."""
    case = opzoo.CASES_BY_NAME[name]
    graph = opzoo.graph_of(case)
    weighted = [op for op in graph.operators if op.opcode in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")]
    assert weighted
    for op in weighted:
        scales = graph.tensors[op.inputs[1]].quantization.scale
        if not case.per_channel:
            assert len(scales) == 1
        elif op.opcode != "FULLY_CONNECTED":
            assert len(scales) > 1


def test_opzoo_softmax_beta_is_not_one() -> None:
    graph = opzoo.graph_of(opzoo.CASES_BY_NAME["softmax_beta"])
    betas = [op.options["beta"] for op in graph.operators if op.opcode == "SOFTMAX"]
    assert betas and all(abs(b - 0.37) < 1e-6 for b in betas)


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_kernels_compile_for_arm(cpu: str, tmp_path: Path) -> None:
    """Warning-free under arm-none-eabi-gcc from the smallest core to Helium."""
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", f"-mcpu={cpu}",
             f"-I{KERNEL_DIR / 'include'}", f"-I{KERNEL_DIR}"]
    for src in MY_KERNELS:
        proc = subprocess.run([cc, *flags, "-c", str(KERNEL_DIR / src), "-o", str(tmp_path / "k.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src}: {proc.stderr}"


def _edited(case_name: str, edit, tmp_path: Path) -> Path:
    from codegen_helpers import edit_tflite

    return edit_tflite(opzoo.convert(opzoo.CASES_BY_NAME[case_name]), tmp_path / "edited.tflite", edit)


def _set_output_quant(opcode_name: str, zero_point: int):
    def edit(model) -> None:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        code = getattr(schema.BuiltinOperator, opcode_name)
        sub = model.subgraphs[0]
        for op in sub.operators:
            if model.operatorCodes[op.opcodeIndex].builtinCode == code:
                sub.tensors[op.outputs[0]].quantization.zeroPoint = [zero_point]

    return edit


@pytest.mark.parametrize(("case_name", "opcode", "option"), [
    ("softmax_2d", "SOFTMAX", "output quantization"),
    ("act_logistic", "LOGISTIC", "output zero point"),
])
def test_unsupported_output_quantization_is_one_line_error(case_name, opcode, option, tmp_path: Path) -> None:
    from tinykit.codegen import generate
    from tinykit.errors import UnsupportedOpError

    model = _edited(case_name, _set_output_quant(opcode, 5), tmp_path)
    out = tmp_path / "lib"
    with pytest.raises(UnsupportedOpError) as err:
        generate(model, out)
    message = str(err.value)
    assert opcode in message and option in message and "op " in message and "\n" not in message
    assert not out.exists()


# ---- the lookup tables of the elementwise ops against TFLM over many quantizations ------------

LUT_OPS = {  # zoo case -> how the output quantization may vary (None: fixed by TFLite)
    "act_logistic": None,
    "act_tanh": None,
    "act_relu": "free",
    "act_relu6": None,
    "act_leaky_relu": "free",
    "act_leaky_relu_neg": "free",
    "act_hard_swish": "free",
    "requantize_int8": "free",
}


def _requantized(data: bytes, in_q: tuple[float, int], out_q: tuple[float, int] | None) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    sub = model.subgraphs[0]
    op = sub.operators[0]
    sub.tensors[op.inputs[0]].quantization.scale = [in_q[0]]
    sub.tensors[op.inputs[0]].quantization.zeroPoint = [in_q[1]]
    if out_q is not None:
        sub.tensors[op.outputs[0]].quantization.scale = [out_q[0]]
        sub.tensors[op.outputs[0]].quantization.zeroPoint = [out_q[1]]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


class _Ctx:
    def symbol(self, op, suffix: str) -> str:
        return f"m_op{op.index}_{suffix}"


@pytest.mark.parametrize("name", sorted(LUT_OPS))
def test_lut_tables_match_tflm_over_many_quantizations(name: str, tmp_path: Path) -> None:
    """All 256 inputs x 40 random input/output quantizations: the generated table equals TFLM."""
    _check_lut_tables(name, tmp_path, 40)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(LUT_OPS))
def test_lut_tables_match_tflm_sweep(name: str, tmp_path: Path) -> None:
    _check_lut_tables(name, tmp_path, 400, seed_offset=1)


def _check_lut_tables(name: str, tmp_path: Path, trials: int, seed_offset: int = 0) -> None:
    from tflite_micro.python.tflite_micro import runtime

    from tinykit.codegen.lowering import get_lowering
    from tinykit.errors import UnsupportedOpError
    from tinykit.ir import read_model

    base = opzoo.convert(opzoo.CASES_BY_NAME[name]).read_bytes()
    rng = np.random.default_rng(zlib.crc32(name.encode()) + seed_offset)
    x = np.array([u if u < 128 else u - 256 for u in range(256)], dtype=np.int8).reshape(1, 256)
    for trial in range(trials):
        in_q = (float(np.float32(10 ** rng.uniform(-3.5, 0.5))), int(rng.integers(-128, 128)))
        out_q = None
        if LUT_OPS[name] == "free":
            out_q = (float(np.float32(10 ** rng.uniform(-3.5, 0.5))), int(rng.integers(-128, 128)))
        data = _requantized(base, in_q, out_q)
        path = tmp_path / f"{trial}.tflite"
        path.write_bytes(data)
        graph = read_model(path)
        op = graph.operators[0]
        try:
            interp = runtime.Interpreter.from_bytes(data)
        except RuntimeError:  # TFLM's Prepare rejects these scales: so must tinykit
            with pytest.raises(UnsupportedOpError):
                get_lowering(op.opcode)(op, graph, _Ctx())
            continue
        interp.set_input(x, 0)
        interp.invoke()
        ref = np.asarray(interp.get_output(0)).reshape(-1)
        table = get_lowering(op.opcode)(op, graph, _Ctx()).arrays[0].values
        bad = np.nonzero(table != ref)[0]
        assert bad.size == 0, (f"{name} in {in_q} out {out_q}: {bad.size} inputs differ, e.g. byte {bad[0]}: "
                               f"ours {table[bad[0]]} tflm {ref[bad[0]]}")


def _set_softmax(in_q: tuple[float, int], beta: float):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[0]
        sub.tensors[op.inputs[0]].quantization.scale = [in_q[0]]
        sub.tensors[op.inputs[0]].quantization.zeroPoint = [in_q[1]]
        op.builtinOptions.beta = beta

    return edit


@pytest.mark.parametrize("trial", range(8))
def test_softmax_over_input_scales_and_betas(trial: int, tmp_path: Path) -> None:
    """SOFTMAX straight on the input, random input scale and beta: C output equals TFLM's."""
    from tinykit.verify import load_host_model

    rng = np.random.default_rng(1000 + trial)
    in_q = (float(np.float32(10 ** rng.uniform(-3, 0.7))), int(rng.integers(-128, 128)))
    beta = float(np.float32(10 ** rng.uniform(-1, 1)))
    model = _edited("softmax_wide_input", _set_softmax(in_q, beta), tmp_path)
    host, _ = load_host_model(model)
    blobs = oracle.random_inputs(model, 8, seed=trial)
    blobs.append(bytes([0x80] * 32 + [0x7F]))  # one hot at the max, the rest at the minimum
    for blob, ref in zip(blobs, oracle.reference_outputs(model, blobs), strict=True):
        assert host.run([blob]) == ref, f"input scale {in_q} beta {beta}"


@pytest.mark.parametrize("trial", range(6))
@pytest.mark.parametrize("case_name", ["add_all_pairs", "mul_all_pairs"])
def test_binary_all_byte_pairs_over_quantizations(case_name: str, trial: int, tmp_path: Path) -> None:
    """ADD/MUL on all 65536 input byte pairs, random scales, zero points and fused activation."""
    _check_all_pairs(case_name, trial, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("trial", range(6, 46))
@pytest.mark.parametrize("case_name", ["add_all_pairs", "mul_all_pairs"])
def test_binary_all_byte_pairs_sweep(case_name: str, trial: int, tmp_path: Path) -> None:
    _check_all_pairs(case_name, trial, tmp_path)


def _check_all_pairs(case_name: str, trial: int, tmp_path: Path) -> None:
    rng = np.random.default_rng(2000 + trial + (100 if case_name.startswith("mul") else 0))
    q = [(float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))) for _ in range(3)]
    activation = int(rng.integers(0, 4))  # NONE, RELU, RELU_N1_TO_1, RELU6
    edit = opzoo.requantize_first_op(q, {"fusedActivationFunction": activation})
    opzoo.check_requantized(opzoo.CASES_BY_NAME[case_name], edit, tmp_path / "m.tflite", opzoo.exhaustive_inputs)


def _requantize_single(in_q: tuple[float, int], out_q: tuple[float, int]):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[0]
        for index, (scale, zp) in ((op.inputs[0], in_q), (op.outputs[0], out_q)):
            sub.tensors[index].quantization.scale = [scale]
            sub.tensors[index].quantization.zeroPoint = [zp]

    return edit


@pytest.mark.parametrize("trial", range(8))
@pytest.mark.parametrize("case_name", ["mean_hw_input", "mean_same_quant_keepdims"])
def test_mean_over_quantizations(case_name: str, trial: int, tmp_path: Path) -> None:
    """MEAN with random input/output scales and zero points (the folded 1/N multiplier path)."""
    from tinykit.verify import load_host_model

    rng = np.random.default_rng(3000 + trial)
    in_q, out_q = [(float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128))) for _ in range(2)]
    path = opzoo.convert(opzoo.CASES_BY_NAME[case_name])
    if opzoo.read_path(path).operators[0].opcode != "MEAN":  # the keep-dims case starts with a CONV_2D
        edit = _requantize_mean_only(in_q, out_q)
    else:
        edit = _requantize_single(in_q, out_q)
    model = _edited(case_name, edit, tmp_path)
    host, _ = load_host_model(model)
    blobs = oracle.random_inputs(model, 6, seed=trial)
    for blob, ref in zip(blobs, oracle.reference_outputs(model, blobs), strict=True):
        assert host.run([blob]) == ref, f"{in_q} -> {out_q}"


def _requantize_mean_only(in_q: tuple[float, int], out_q: tuple[float, int]):
    def edit(model) -> None:
        from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

        sub = model.subgraphs[0]
        for op in sub.operators:
            if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.MEAN:
                for index, (scale, zp) in ((op.inputs[0], in_q), (op.outputs[0], out_q)):
                    sub.tensors[index].quantization.scale = [scale]
                    sub.tensors[index].quantization.zeroPoint = [zp]

    return edit


QEMU_CASES = ("float_io_softmax", "leaky_concat_pad", "mobilenet_v3_block", "batch_two", "two_outputs",
              "pad_channels", "mul_bcast_channel", "mean_same_quant", "act_hard_swish", "requantize_int8")


@pytest.mark.qemu
@pytest.mark.parametrize("name", QEMU_CASES)
def test_opzoo_on_emulated_cortex_m4(name: str, tmp_path: Path) -> None:
    """The same zoo models built for the qemu-m4 board (arm-none-eabi-gcc, DSP path): identical bytes."""
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    from tinykit.run import run

    result = run(opzoo.convert(opzoo.CASES_BY_NAME[name]), "qemu-m4", tmp_path, num_inputs=5, runs=1)
    assert result["validation"]["checked"] and result["validation"]["compared_bytes"] > 0
    assert result["mismatched_bytes"] == 0, result["validation"]


def test_cli_generate_rejects_unsupported_softmax_output_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tinykit.cli import main

    model = _edited("softmax_2d", _set_output_quant("SOFTMAX", 5), tmp_path)
    out = tmp_path / "lib"
    result = CliRunner().invoke(main, ["generate", str(model), "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[0].startswith("error: ") and "SOFTMAX" in lines[0] and "output quantization" in lines[0]
    assert not any(line.startswith("Traceback") for line in lines)
    assert not out.exists()


def test_cli_verify_host_on_a_zoo_model_reports_zero_mismatches() -> None:
    import json

    from click.testing import CliRunner

    from tinykit.cli import main

    model = opzoo.convert(opzoo.CASES_BY_NAME["leaky_concat_pad"])
    result = CliRunner().invoke(main, ["verify", str(model), "--host", "--inputs", "20", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["inputs"] == 20 and data["mismatched_bytes"] == 0 and data["max_abs_diff"] == 0
