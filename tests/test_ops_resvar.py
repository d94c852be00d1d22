"""Resource variables (tf.Variable state): VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE.

Models are converted by TensorFlow from tf.Modules that update their variables on every call
(tests/resvar_models.py), then compared with the tflite-micro runtime over sequences of invocations
(inputs, reset, inputs again): on the host and once on qemu-m4 firmware with `tk-reset`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from tests.recurrent_models import device_sequence_mismatches
from tests.resvar_models import edited, stream_model
from tinykit import oracle
from tinykit.cli import main
from tinykit.ir import read_model
from tinykit.verify import load_host_model

pytestmark = pytest.mark.host


@pytest.fixture(scope="module")
def window() -> Path:
    return stream_model()


@pytest.fixture(scope="module")
def two_vars() -> Path:
    return stream_model(decay=True)


@pytest.fixture(scope="module")
def two_vars_16x8() -> Path:
    """16x8: int16 activations and variables (zero point 0: a reset fills zero bytes)."""
    return stream_model(decay=True, int16=True)


def _raw(path: Path):
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema.ModelT.InitFromPackedBuf(bytearray(path.read_bytes()), 0)


def _opcodes(model, subgraph: int) -> list[str]:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [names[max(model.operatorCodes[op.opcodeIndex].builtinCode,
                      model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode)]
            for op in model.subgraphs[subgraph].operators]


def test_converter_output_is_lowered_to_state(two_vars: Path) -> None:
    raw = _raw(two_vars)
    assert len(raw.subgraphs) == 2
    main_ops = _opcodes(raw, 0)
    assert main_ops[0] == "CALL_ONCE" and {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE"} <= set(main_ops)
    assert set(_opcodes(raw, 1)) == {"VAR_HANDLE", "ASSIGN_VARIABLE"}
    graph = read_model(two_vars)
    assert {op.opcode for op in graph.operators} & {"VAR_HANDLE", "CALL_ONCE"} == set()
    assert [op.opcode for op in graph.operators].count("ASSIGN_VARIABLE") == 2
    assert all(op.supported for op in graph.operators)
    assert [r.kind for r in graph.folded] == ["resource"] * 3
    state = {t.name: t for t in graph.variable_tensors}
    assert sorted(state) == ["Variable", "Variable_1"]
    init = raw.subgraphs[1]
    constants = {}  # the init subgraph's assigned constants, by variable name
    for op in init.operators:
        if op.inputs is not None and len(op.inputs) == 2:
            handle = next(o for o in init.operators if o.outputs is not None and list(o.outputs) == [op.inputs[0]])
            buffer = raw.buffers[init.tensors[op.inputs[1]].buffer].data
            constants[handle.builtinOptions.sharedName.decode()] = np.asarray(buffer, np.uint8).view(np.int8)
    for name, tensor in state.items():
        assert tensor.dtype == "int8" and tensor.nbytes == constants[name].size
        assert np.array_equal(tensor.initial.reshape(-1), constants[name])
        assert tensor.reset_byte == tensor.zero_point & 0xFF and tensor.zero_point != 0


def test_reset_restores_default_bytes_not_init_values(two_vars: Path) -> None:
    """TFLite Micro's Reset() refills variables with their default byte and never reruns CALL_ONCE:
    the same input after a reset gives another output than on the first invoke (the model is built
    so that the two differ, which the sequence comparisons below then check byte for byte)."""
    x = oracle.random_inputs(two_vars, 1, seed=5)[0]
    first, after_reset, again = oracle.run_steps(two_vars, [x, oracle.RESET, x, oracle.RESET, x])
    assert first != after_reset and after_reset == again


@pytest.mark.parametrize("model", ["window", "two_vars", "two_vars_16x8"])
def test_bit_exact_over_sequences(model: str, request) -> None:
    path = request.getfixturevalue(model)
    assert oracle.is_stateful(path)
    host, _ = load_host_model(path)
    steps = oracle.sequence_steps(oracle.random_inputs(path, 24, seed=2), True)
    steps = [*steps, oracle.RESET, *steps[:3]]
    ours, refs = host.run_steps(steps), oracle.run_steps(path, steps)
    assert len(ours) == len(refs) == 51
    assert [k for k, (a, b) in enumerate(zip(ours, refs, strict=True)) if a != b] == []


def test_generated_library_initialises_and_resets(two_vars: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["generate", str(two_vars), "-o", str(tmp_path / "lib"), "--name", "st"])
    assert res.exit_code == 0, res.output
    source = (tmp_path / "lib" / "st.c").read_text()
    init = source[source.index("tk_status st_init(void)"):source.index("tk_status st_invoke(void)")]
    assert init.count("st_init") == 3 and "(void)st_reset();" in init  # two variables copied in after the reset
    reset = source[source.index("tk_status st_reset(void)"):source.index("tk_status st_init(void)")]
    assert "_init" not in reset and "tk_reshape_s8" in source


def test_verify_cli_compares_a_sequence(window: Path) -> None:
    res = CliRunner().invoke(main, ["verify", str(window), "--host"])
    assert res.exit_code == 0, res.output
    assert "stateful sequence" in res.output and "0 mismatched bytes" in res.output


@pytest.mark.qemu
@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="qemu-system-arm not installed")
def test_two_variables_on_qemu_m4_with_tk_reset(two_vars: Path, tmp_path: Path) -> None:
    assert device_sequence_mismatches(two_vars, "qemu-m4", tmp_path / "fw") == 0


# -- malformed and refused models: one error line, exit 2 ------------------------------------------


def _no_assignments(model) -> None:
    """Every ASSIGN_VARIABLE gone: the READ_VARIABLEs read resources nobody ever assigns."""
    for sub in model.subgraphs:
        sub.operators = [op for op in sub.operators if op.inputs is None or len(op.inputs) != 2
                         or (op.outputs is not None and len(op.outputs))]


def _assign_wrong_size(model) -> None:
    """The window's ASSIGN_VARIABLE copies the 8-byte slice instead of the 12-byte window."""
    sub = model.subgraphs[0]
    for op in sub.operators:
        if op.inputs is not None and len(op.inputs) == 2 and (op.outputs is None or not len(op.outputs)):
            op.inputs[1] = 8  # strided_slice (int8[1x8]); its first assignment in the file fixes 8 bytes


def _read_wrong_size(model) -> None:
    model.subgraphs[0].tensors[7].shape = [1, 8]  # ReadVariableOp of the 12-byte window


def _no_call_once(model) -> None:
    model.subgraphs[0].operators = model.subgraphs[0].operators[1:]


def _call_missing_subgraph(model) -> None:
    model.subgraphs[0].operators[0].builtinOptions.initSubgraphIndex = 5


@pytest.mark.parametrize(("edit", "needle"), [
    (_no_assignments, "which no ASSIGN_VARIABLE ever assigns"),
    (_assign_wrong_size, "assigns 12 bytes to resource variable 'Variable', whose first assignment fixed 8 bytes"),
    (_read_wrong_size, "(READ_VARIABLE) reads 8 bytes from resource variable 'Variable', which holds 12"),
    (_no_call_once, "model has 2 subgraphs; tinykit supports exactly one, plus the init subgraphs of CALL_ONCE"),
    (_call_missing_subgraph, "(CALL_ONCE) runs subgraph 5, which does not exist"),
])
def test_malformed_resource_models_give_one_line(window: Path, edit, needle: str, tmp_path: Path) -> None:
    path = edited(window, f"resvar_{edit.__name__}", edit)
    for args in (["inspect", str(path)], ["generate", str(path), "-o", str(tmp_path / "lib")]):
        res = CliRunner().invoke(main, args)
        assert res.exit_code == 2, res.output
        lines = res.stderr.strip().splitlines()
        assert lines[0].startswith("error: ") and needle in lines[0], res.stderr
        assert len(lines) <= 2 and "Traceback" not in res.output


def test_float_variables_are_refused_with_the_converter_flag() -> None:
    res = CliRunner().invoke(main, ["inspect", str(stream_model(quantize_variables=False))])
    assert res.exit_code == 2, res.output
    first, hint = res.stderr.strip().splitlines()
    assert "resource variable 'Variable' (tf.Variable state) is float32" in first
    assert "_experimental_variable_quantization" in hint


def test_inspect_names_the_lowered_resource_ops(two_vars: Path) -> None:
    res = CliRunner().invoke(main, ["inspect", str(two_vars)])
    assert res.exit_code == 0, res.output
    assert "resource op 0 CALL_ONCE: its init subgraph's values are set by NAME_init()" in res.output
    assert "resource op 1 VAR_HANDLE -> state tensor 8 'Variable_1' int8[1x12]" in res.output
    assert "state 32 B in 2 variable tensors" in res.output


def test_16x8_variables_are_int16_state(two_vars_16x8: Path) -> None:
    graph = read_model(two_vars_16x8)
    state = graph.variable_tensors
    assert [t.dtype for t in state] == ["int16", "int16"] and all(t.reset_byte == 0 for t in state)
    assert all(t.initial is not None and t.initial.dtype == np.int16 and t.initial.any() for t in state)
