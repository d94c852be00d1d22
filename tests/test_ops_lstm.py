"""UNIDIRECTIONAL_SEQUENCE_LSTM int8 and 16x8, bit-exact with the tflite-micro runtime as sequences.

The int8 models are a Keras model converted with TensorFlow (two stacked LSTMs, batch 2, the second
time-major, 7 and 6 cells, 9 inputs) and TFLite Micro's micro_speech_lstm. TF 2.21's converter
refuses 16x8 LSTM ("Quantization to 16x8-bit not yet supported") and crashes on a sigmoid cell
activation (which the schema cannot express anyway), so the 16x8 models are the int8 conversions
edited to 16x8 (recurrent_models.lstm_to_16x8), and options Keras cannot set (cell clip) are
flatbuffer edits too. Every check runs the inputs as a sequence, resets and runs them again; the
LSTM outputs themselves are graph outputs (micro_speech's final softmax saturates).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from opzoo import Case, check_bit_exact, convert
from recurrent_models import (
    KERNEL_DIR,
    KERNEL_TARGETS,
    cut,
    device_sequence_mismatches,
    kernel_compile_errors,
    lstm_options,
    lstm_to_16x8,
)

from tinykit import oracle
from tinykit.cli import main
from tinykit.ir import read_model
from tinykit.ir.ops import op_handler
from tinykit.verify import load_host_model, verify_host

pytestmark = pytest.mark.host

CORPUS = Path(__file__).resolve().parent / "corpus"
LSTM = "UNIDIRECTIONAL_SEQUENCE_LSTM"


def stacked_lstm(shape, batch=1):
    """Two LSTMs returning sequences; the second reads its input as [time][batch][features]."""
    import tf_keras as k

    inp = k.Input(shape, batch_size=batch)
    x = k.layers.LSTM(7, return_sequences=True, unroll=False)(inp)
    y = k.layers.LSTM(6, return_sequences=True, unroll=False, time_major=True)(x)
    return k.Model(inp, [x, y])


STACKED = Case("lstm_stacked", stacked_lstm, dict(shape=(5, 9), batch=2), (LSTM,))


def keras_classifiers(shape):
    """LSTMs as people write them: a last-step classifier (the converter slices the sequence with
    STRIDED_SLICE) and a bidirectional layer (two LSTMs, REVERSE_V2, CONCATENATION)."""
    import tf_keras as k

    inp = k.Input(shape, batch_size=1)
    last = k.layers.Dense(4)(k.layers.LSTM(12)(inp))
    both = k.layers.Bidirectional(k.layers.LSTM(6, return_sequences=True))(inp)
    both = k.layers.Dense(3)(k.layers.Flatten()(both))
    return k.Model(inp, [k.layers.Softmax()(last), both])


CLASSIFIERS = Case("lstm_classifiers", keras_classifiers, dict(shape=(7, 5)),
                   (LSTM, "STRIDED_SLICE", "REVERSE_V2", "CONCATENATION", "SOFTMAX"))


def keras_model() -> Path:
    return convert(STACKED)


def micro_speech_cut() -> Path:
    """micro_speech_lstm with the LSTM's output (49 steps x 80 cells) as a second graph output."""
    return cut(CORPUS / "micro_speech_lstm.tflite", "micro_speech_lstm_cut", outputs=[26, 23])


VARIANTS = {
    "int8": lambda: keras_model(),
    "int8_cell_clip": lambda: cut(keras_model(), "lstm_stacked_clip", edit=lstm_options(cellClip=0.05)),
    "int8_no_clip": lambda: cut(keras_model(), "lstm_stacked_noclip", edit=lstm_options(cellClip=0.0)),
    "16x8": lambda: cut(keras_model(), "lstm_stacked_16x8", edit=lstm_to_16x8),
    "16x8_cell_clip": lambda: cut(cut(keras_model(), "lstm_stacked_clip", edit=lstm_options(cellClip=0.05)),
                                  "lstm_stacked_clip_16x8", edit=lstm_to_16x8),
    "micro_speech": micro_speech_cut,
    "micro_speech_16x8": lambda: cut(micro_speech_cut(), "micro_speech_lstm_16x8", ops=(0, 1), outputs=[23],
                                     edit=lstm_to_16x8),
}


def test_keras_stacked_lstm_converts_with_its_options() -> None:
    graph = read_model(keras_model())
    lstms = [op for op in graph.operators if op.opcode == LSTM]
    assert [op.options["time_major"] for op in lstms] == [False, True]
    assert [graph.tensors[op.inputs[0]].shape for op in lstms] == [(2, 5, 9), (2, 5, 7)]
    assert all(op.options["fused_activation_function"] == "TANH" for op in lstms)
    graph16 = read_model(VARIANTS["16x8"]())
    op16 = next(op for op in graph16.operators if op.opcode == LSTM)
    assert [graph16.tensors[op16.inputs[i]].dtype for i in (0, 2, 12, 18, 19)] == \
        ["int16", "int8", "int64", "int16", "int16"]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dsp", [False, True], ids=["plain", "dsp"])
def test_lstm_bit_exact_as_a_sequence(variant: str, dsp: bool) -> None:
    result = verify_host(VARIANTS[variant](), n_inputs=6, dsp_emulate=dsp)
    assert result.stateful and result.steps == 12
    assert result.mismatched_bytes == 0, result


@pytest.mark.slow
def test_keras_classifiers_bit_exact() -> None:
    check_bit_exact(CLASSIFIERS)
    lstms = [op for op in read_model(convert(CLASSIFIERS)).operators if op.opcode == LSTM]
    assert len(lstms) == 3


def test_16x8_int64_accumulator_path() -> None:
    """Small 16x8 layers are proved to fit int32 sums; the int64 path is forced here."""
    for variant in ("16x8_cell_clip", "micro_speech_16x8"):
        path = VARIANTS[variant]()
        host, _ = load_host_model(path, defines=("TK_NO_FAST_REQUANT",))
        steps = oracle.sequence_steps(oracle.random_inputs(path, 4, seed=9), True)
        assert host.run_steps(steps) == oracle.run_steps(path, steps)


def test_lstm_outputs_depend_on_the_state() -> None:
    path = VARIANTS["micro_speech"]()
    (x,) = oracle.random_inputs(path, 1)
    first, second = (o[1] for o in oracle.run_steps(path, [x, x]))
    assert first != second


def test_corpus_micro_speech_lstm_bit_exact() -> None:
    path = CORPUS / "micro_speech_lstm.tflite"
    assert verify_host(path, n_inputs=8).mismatched_bytes == 0


def test_scratch_formula_equals_the_c_buffer_size(tmp_path: Path) -> None:
    """tk_lstm_s8/s16_buffer_size() == the handler's scratch_bytes, for every LSTM of the models."""
    lines, expected = [], []
    for variant in ("int8", "16x8", "micro_speech", "micro_speech_16x8"):
        graph = read_model(VARIANTS[variant]())
        for op in graph.operators:
            if op.opcode != LSTM:
                continue
            inp, hidden = graph.tensors[op.inputs[0]], graph.tensors[op.inputs[18]]
            kind = "s16" if inp.dtype == "int16" else "s8"
            lines.append(f'printf("%lu\\n", (unsigned long)tk_lstm_{kind}_buffer_size({inp.shape[2]}, '
                         f"{hidden.shape[1]}));")
            expected.append(op_handler(LSTM).scratch_bytes(op, graph))
    src = tmp_path / "sizes.c"
    src.write_text('#include <stdio.h>\n#include "tk_lstm.h"\nint main(void) {\n' + "\n".join(lines) +
                   "\nreturn 0;\n}\n")
    exe = tmp_path / "sizes"
    cmd = ["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", f"-I{KERNEL_DIR}", f"-I{KERNEL_DIR / 'include'}",
           str(src), str(KERNEL_DIR / "tk_lstm.c"), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    got = [int(v) for v in subprocess.run([str(exe)], capture_output=True, text=True).stdout.split()]
    assert got == expected and len(set(got)) >= 3


@pytest.mark.parametrize("flags", KERNEL_TARGETS, ids=lambda f: " ".join(f))
def test_lstm_kernel_compiles_warning_free(flags: list[str], tmp_path: Path) -> None:
    if shutil.which(flags[0]) is None:
        pytest.skip(f"{flags[0]} not installed")
    assert kernel_compile_errors("tk_lstm.c", flags, tmp_path) is None


# -- refusals: one line naming the op and the reason, exit 2 ------------------------------------------
def _edit_lstm(change: str):
    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[0]
        if change == "peephole":
            op.inputs[9] = op.inputs[12]
        elif change == "projection":
            op.inputs[16] = op.inputs[6]
        elif change == "layer_norm":
            op.inputs[20] = op.inputs[12]
        elif change == "cifg":
            op.inputs[1] = op.inputs[5] = op.inputs[12] = -1
        elif change == "twenty_inputs":
            op.inputs = op.inputs[:20]
        elif change == "relu_cell":
            op.builtinOptions.fusedActivationFunction = 1
        elif change == "per_channel":
            q = sub.tensors[op.inputs[2]].quantization
            q.scale, q.zeroPoint, q.quantizedDimension = list(q.scale) * 80, [0] * 80, 0
        elif change == "state_not_variable":
            sub.tensors[op.inputs[19]].isVariable = False

    return edit


@pytest.mark.parametrize(("change", "needle"), [
    ("peephole", "an LSTM with peephole"),
    ("projection", "an LSTM with projection"),
    ("layer_norm", "an LSTM with layer norm"),
    ("cifg", "weights (input 1) is absent"),
    ("twenty_inputs", "20 inputs (TFLite Micro's LSTM takes all 24)"),
    ("relu_cell", "cell gate activation RELU"),
    ("per_channel", "per-channel weights (input 2)"),
    ("state_not_variable", "is not a variable tensor"),
])
def test_unsupported_lstm_variants_give_one_line(tmp_path: Path, change: str, needle: str) -> None:
    path = cut(CORPUS / "micro_speech_lstm.tflite", f"lstm_bad_{change}", ops=(0, 1), outputs=[23],
               edit=_edit_lstm(change))
    res = CliRunner().invoke(main, ["generate", str(path), "-o", str(tmp_path / "lib")])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and LSTM in errors[0] and "op 0" in errors[0] and needle in errors[0], res.output
    assert "Traceback" not in res.output


# -- on emulated boards: the DSP path (qemu-m4) and plain C (qemu-m0), tk-reset replaying a sequence --
@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m0"])
@pytest.mark.parametrize("variant", ["int8", "16x8"])
def test_lstm_on_emulated_boards(board: str, variant: str, tmp_path: Path) -> None:
    assert device_sequence_mismatches(VARIANTS[variant](), board, tmp_path / "fw", n=3) == 0
