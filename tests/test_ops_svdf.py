"""SVDF: int8 with int16 state (and int8 state), bit-exact with the tflite-micro runtime as sequences.

No converter emits SVDF, so the models are TFLite Micro's keyword models (cut after their SVDF
layers, so the softmax cannot hide a difference) and one-op SVDF models written with the schema
(tests/recurrent_models.py) covering rank, batch, memory and state types. Every check runs the
inputs as a sequence, resets, and runs them again (tinykit.oracle.sequence_steps).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from recurrent_models import (
    KERNEL_TARGETS,
    SvdfSpec,
    cut,
    device_sequence_mismatches,
    kernel_compile_errors,
    svdf_model,
)

from tinykit import oracle
from tinykit.cli import main
from tinykit.ir import read_model
from tinykit.verify import verify_host

pytestmark = pytest.mark.host

CORPUS = Path(__file__).resolve().parent / "corpus"

SPECS = [
    SvdfSpec("rank1"),
    SvdfSpec("rank2_batch2", batch=2, rank=2, memory=4, input_size=17, units=5),
    SvdfSpec("odd_memory_rank3", rank=3, memory=7, units=3, input_size=9, input_zero_point=11),
    SvdfSpec("state8", state="int8", rank=2, memory=6, units=4),
    SvdfSpec("state8_batch3_memory1", state="int8", batch=3, memory=1, units=7, input_size=5),
]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@pytest.mark.parametrize("dsp", [False, True], ids=["plain", "dsp"])
def test_svdf_bit_exact_as_a_sequence(spec: SvdfSpec, dsp: bool) -> None:
    path = svdf_model(spec)
    result = verify_host(path, n_inputs=12, dsp_emulate=dsp)
    assert result.stateful and result.steps == 24
    assert result.mismatched_bytes == 0, result


def test_svdf_outputs_depend_on_the_state() -> None:
    """The test models are sensitive: the same input gives other outputs as the state fills."""
    path = svdf_model(SPECS[0])
    (x,) = oracle.random_inputs(path, 1)
    outs = [o[0] for o in oracle.run_steps(path, [x, x, x])]
    assert len(set(outs)) == 3


def test_fused_activation_and_state_buffer_are_ignored_as_in_tflm() -> None:
    """TFLM's integer SVDF applies no fused activation, and resets the state to zero (int16) or its
    zero point (int8) whatever buffer the variable tensor carries."""
    for spec in (SPECS[0], SPECS[3]):
        path = svdf_model(spec, fused_activation=1, state_buffer=True)  # RELU
        graph = read_model(path)
        assert graph.operators[0].options["fused_activation_function"] == "RELU"
        assert verify_host(path, n_inputs=8).mismatched_bytes == 0


@pytest.mark.parametrize("model", ["keyword_scrambled", "keyword_scrambled_8bit"])
def test_corpus_svdf_layers_bit_exact(model: str) -> None:
    """The keyword models' seven SVDF layers (int16 and int8 state) and their FULLY_CONNECTEDs,
    with every SVDF output compared (their int16 input QUANTIZE and softmax are cut off)."""
    path = corpus_svdf_layers(model)
    assert [op.opcode for op in read_model(path).operators].count("SVDF") == 7
    for dsp in (False, True):
        assert verify_host(path, n_inputs=10, dsp_emulate=dsp).mismatched_bytes == 0


# -- refusals: one line naming the op and the reason, exit 2 ------------------------------------------
def _edit_svdf(**changes):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[0]
        if "no_bias" in changes:
            op.inputs = [op.inputs[0], op.inputs[1], op.inputs[2], -1, op.inputs[4]]
        if "not_variable" in changes:
            sub.tensors[op.inputs[4]].isVariable = False
        if "rank" in changes:
            op.builtinOptions.rank = changes["rank"]
        if "time8" in changes:  # int16 state read with int8 time weights
            sub.tensors[op.inputs[2]].type = 9
            model.buffers[sub.tensors[op.inputs[2]].buffer].data = \
                model.buffers[sub.tensors[op.inputs[2]].buffer].data[::2]

    return edit


@pytest.mark.parametrize(("change", "needle"), [
    ({"no_bias": True}, "no bias"),
    ({"not_variable": True}, "is not a variable tensor"),
    ({"rank": 4}, "rank 4 does not divide the 6 filters"),
    ({"time8": True}, "int16 state with int8 time weights"),
])
def test_unsupported_svdf_variants_give_one_line(tmp_path, change: dict, needle: str) -> None:
    path = cut(svdf_model(SPECS[0]), f"svdf_bad_{next(iter(change))}", edit=_edit_svdf(**change))
    res = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "lib")])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "SVDF" in errors[0] and "op 0" in errors[0] and needle in errors[0], res.output
    assert "Traceback" not in res.output


# -- on emulated boards: the DSP path (qemu-m4) and plain C (qemu-m0), tk-reset replaying a sequence --
def corpus_svdf_layers(model: str) -> Path:
    """The keyword model's SVDF and FULLY_CONNECTED layers, every SVDF output a graph output."""
    return cut(CORPUS / f"{model}.tflite", f"{model}_svdf_layers", ops=(1, 13), inputs=[0],
               outputs=[50, 5, 13, 21, 29, 37, 42, 47])


BOARD_MODELS = {
    "rank2_batch2": lambda: svdf_model(SPECS[1]),
    "state8": lambda: svdf_model(SPECS[3]),
    "keyword_scrambled": lambda: corpus_svdf_layers("keyword_scrambled"),
}


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
@pytest.mark.parametrize(("board", "model"), [("qemu-m4", "rank2_batch2"), ("qemu-m0", "state8"),
                                              ("qemu-m0", "keyword_scrambled")])
def test_svdf_on_emulated_boards(board: str, model: str, tmp_path) -> None:
    assert device_sequence_mismatches(BOARD_MODELS[model](), board, tmp_path / "fw") == 0


@pytest.mark.parametrize("flags", KERNEL_TARGETS, ids=lambda f: " ".join(f))
def test_svdf_kernel_compiles_warning_free(flags: list[str], tmp_path: Path) -> None:
    if shutil.which(flags[0]) is None:
        pytest.skip(f"{flags[0]} not installed")
    assert kernel_compile_errors("tk_svdf.c", flags, tmp_path) is None
