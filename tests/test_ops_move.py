"""The data-movement ops, bit-exact against the tflite-micro runtime.

Three sources of models: Keras models converted by TensorFlow in int8 and 16x8 (several ops per
model, one output each: tests/move_models.py), flatbuffer edits of those (int32 tensors, EXPAND_DIMS
and SQUEEZE, STRIDED_SLICE flags TFLite Micro ignores), and one-op models built directly with the
schema for seeded random shapes and options (no converter involved, so hundreds are cheap).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import move_models as mm
import move_random
import numpy as np
import opzoo
import pytest
from opzoo import Case

from tinykit import oracle

pytestmark = pytest.mark.host

KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
MOVE_KERNELS = ("tk_move.c", "tk_pad.c", "tk_concat.c", "tk_reshape.c")

CASES = [
    Case("move_slices_i8", mm.slices, dict(shape=(6, 5, 4)), ("STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "UNPACK")),
    Case("move_slices_i16", mm.slices, dict(shape=(6, 5, 4)), ("STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "UNPACK"),
         activations="int16"),
    Case("move_layout_i8", mm.layout, dict(shape=(4, 6, 3)),
         ("TRANSPOSE", "REVERSE_V2", "BROADCAST_TO", "CONCATENATION", "PACK", "PAD", "PADV2", "RESHAPE")),
    Case("move_layout_i16", mm.layout, dict(shape=(4, 6, 3)),
         ("TRANSPOSE", "REVERSE_V2", "BROADCAST_TO", "CONCATENATION", "PACK", "PAD", "PADV2", "RESHAPE"),
         activations="int16", edit=mm.padv2_value_int16),
    Case("move_int8_only", mm.int8_only, dict(shape=(4, 6, 8)), ("SPACE_TO_DEPTH", "DEPTH_TO_SPACE", "MIRROR_PAD")),
    Case("move_index_spatial_i8", mm.index_spatial, dict(shape=(4, 6, 3)),
         ("GATHER", "GATHER_ND", "SPACE_TO_BATCH_ND", "BATCH_TO_SPACE_ND")),
    Case("move_resize_i8", mm.resize, dict(shape=(3, 4, 2)), ("RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR")),
    Case("move_resize_i16", mm.resize, dict(shape=(3, 4, 2), count=3), ("RESIZE_NEAREST_NEIGHBOR",),
         activations="int16"),
    Case("move_pytorch_nchw", mm.pytorch_style, dict(shape=(3, 12, 10)), ("TRANSPOSE", "CONV_2D", "DEPTHWISE_CONV_2D")),
]
BY_NAME = {c.name: c for c in CASES}

# (case, opcode, option, value): the converter really produced the option under test
OPTION_CHECKS = (
    ("move_slices_i8", "STRIDED_SLICE", "shrink_axis_mask", 8),
    ("move_slices_i16", "STRIDED_SLICE", "shrink_axis_mask", 8),
    ("move_int8_only", "MIRROR_PAD", "mode", 0),
    ("move_int8_only", "MIRROR_PAD", "mode", 1),
    ("move_slices_i8", "UNPACK", "num", 4),
    ("move_layout_i8", "PACK", "axis", 2),
    ("move_layout_i16", "CONCATENATION", "axis", 3),
    ("move_index_spatial_i8", "GATHER", "batch_dims", 1),
    ("move_resize_i8", "RESIZE_NEAREST_NEIGHBOR", "half_pixel_centers", True),
    ("move_resize_i8", "RESIZE_NEAREST_NEIGHBOR", "align_corners", True),
    ("move_resize_i8", "RESIZE_BILINEAR", "half_pixel_centers", True),
    ("move_resize_i8", "RESIZE_BILINEAR", "align_corners", True),
    ("move_resize_i16", "RESIZE_NEAREST_NEIGHBOR", "align_corners", True),
)

# Every op of this stream, with the activation types TFLite Micro runs it on (what the tests cover).
OWN_OPS = {
    "STRIDED_SLICE": ("int8", "int16", "int32"), "SLICE": ("int8", "int16", "int32"),
    "SPLIT": ("int8", "int16", "int32"), "SPLIT_V": ("int8", "int16", "int32"), "UNPACK": ("int8", "int16", "int32"),
    "TRANSPOSE": ("int8", "int16"), "REVERSE_V2": ("int8", "int16", "int32"),
    "BROADCAST_TO": ("int8", "int16", "int32"), "CONCATENATION": ("int8", "int16", "int32"),
    "PACK": ("int8", "int16", "int32"), "PAD": ("int8", "int16", "int32"), "PADV2": ("int8", "int16", "int32"),
    "RESHAPE": ("int8", "int16", "int32"), "EXPAND_DIMS": ("int8", "int16"),
    "SQUEEZE": ("int8", "int16", "int32"),
    "SPACE_TO_DEPTH": ("int8",), "DEPTH_TO_SPACE": ("int8",), "MIRROR_PAD": ("int8",),
    "GATHER": ("int8",), "GATHER_ND": ("int8",), "EMBEDDING_LOOKUP": ("int8",),
    "DYNAMIC_UPDATE_SLICE": ("int8", "int16", "int32"), "RESIZE_NEAREST_NEIGHBOR": ("int8", "int16"),
    "RESIZE_BILINEAR": ("int8",), "SPACE_TO_BATCH_ND": ("int8",), "BATCH_TO_SPACE_ND": ("int8",),
}


@pytest.mark.parametrize("name", [c.name for c in CASES])
def test_move_zoo_bit_exact(name: str) -> None:
    opzoo.check_bit_exact(BY_NAME[name])


@pytest.mark.parametrize(("name", "opcode", "option", "value"), OPTION_CHECKS)
def test_move_zoo_options_present(name: str, opcode: str, option: str, value: object) -> None:
    graph = opzoo.graph_of(BY_NAME[name])
    found = [op.options.get(option) for op in graph.operators if op.opcode == opcode]
    assert value in found, f"{name}: {opcode}.{option} values {found}, expected {value!r}"


def test_move_zoo_strided_slice_negative_strides_and_bounds() -> None:
    graph = opzoo.graph_of(BY_NAME["move_slices_i8"])
    strides = [graph.tensors[op.inputs[3]].data.tolist() for op in graph.operators if op.opcode == "STRIDED_SLICE"]
    begins = [graph.tensors[op.inputs[1]].data.tolist() for op in graph.operators if op.opcode == "STRIDED_SLICE"]
    assert any(min(s) < 0 for s in strides) and any(min(b) < 0 for b in begins)


# ---------------------------------------------------------------------------------- edited models


def _check_path(path: Path, n: int = 4, seed: int = 0) -> None:
    """Generated C vs the runtime on ``n`` random inputs, every output byte."""
    from tinykit.verify import load_host_model

    host, _ = load_host_model(path)
    blobs = oracle.random_inputs(path, n, seed=seed)
    for k, (blob, ref) in enumerate(zip(blobs, oracle.reference_outputs(path, blobs), strict=True)):
        parts, offset = [], 0
        for size in host.input_sizes:
            parts.append(blob[offset:offset + size])
            offset += size
        ours = host.run(parts)
        bad = [i for i, (a, b) in enumerate(zip(ours, ref, strict=True)) if a != b]
        assert not bad, f"{path.name}: input {k}: outputs {bad} differ"


def _edited(case_name: str, edit, tmp_path: Path) -> Path:
    from codegen_helpers import edit_tflite

    return edit_tflite(opzoo.convert(BY_NAME[case_name]), tmp_path / f"{case_name}-edited.tflite", edit)


EDITS = {
    "slices_int32": ("move_slices_i8", mm.to_int32),
    "slices_ellipsis_new_axis_offset": ("move_slices_i8", mm.strided_slice_flags(ellipsis=2, new_axis=4, offset=True)),
    "layout_i16_expand_squeeze": ("move_layout_i16", mm.reshapes_to_expand_squeeze),
    "layout_i8_expand_squeeze": ("move_layout_i8", mm.reshapes_to_expand_squeeze),
}


@pytest.mark.parametrize("variant", sorted(EDITS))
def test_move_edited_bit_exact(variant: str, tmp_path: Path) -> None:
    case_name, edit = EDITS[variant]
    path = _edited(case_name, edit, tmp_path)
    _check_path(path)


def test_expand_dims_and_squeeze_alias_their_input(tmp_path: Path) -> None:
    from tinykit.ir import read_model
    from tinykit.plan import plan_memory

    graph = read_model(_edited("move_layout_i16", mm.reshapes_to_expand_squeeze, tmp_path))
    aliases = [op for op in graph.operators if op.opcode in ("EXPAND_DIMS", "SQUEEZE")]
    assert {op.opcode for op in aliases} == {"EXPAND_DIMS", "SQUEEZE"}
    plan = plan_memory(graph)
    for op in aliases:
        assert plan.offsets[op.inputs[0]] == plan.offsets[op.outputs[0]], op.opcode


def test_layout_int32_transpose_is_refused_like_tflm(tmp_path: Path) -> None:
    """TFLM has no int32 TRANSPOSE: the runtime refuses the model, tinykit names the op in one line."""
    from tinykit.codegen import generate
    from tinykit.errors import ModelFormatError, UnsupportedOpError

    path = _edited("move_layout_i8", mm.to_int32, tmp_path)
    with pytest.raises(ModelFormatError):
        oracle.reference_outputs(path, [bytes(4 * 72)])
    with pytest.raises(UnsupportedOpError) as err:
        generate(path, tmp_path / "lib")
    assert "TRANSPOSE" in str(err.value) and "int32" in str(err.value) and "\n" not in str(err.value)


# ---------------------------------------------------------------------------------- folding


def _direct_ops(graph):
    """Ops reading only the graph input (besides constants) and writing graph outputs."""
    for op in graph.operators:
        data = [t for t in graph.op_inputs(op) if t is not None and not t.is_constant]
        if data and all(t.index in graph.inputs for t in data) and all(i in graph.outputs for i in op.outputs):
            yield op


@pytest.mark.parametrize("name", ["move_slices_i8", "move_layout_i8", "move_int8_only", "move_index_spatial_i8",
                                  "move_resize_i8"])
def test_move_fold_equals_runtime(name: str) -> None:
    """Each handler's numpy ``fold`` computes what TFLM computes (so constant folding is exact)."""
    from tinykit.ir.ops import op_handler

    path = opzoo.convert(BY_NAME[name])
    graph = opzoo.graph_of(BY_NAME[name])
    blob = oracle.random_inputs(path, 1, seed=7)[0]
    refs = dict(zip(graph.outputs, oracle.reference_outputs(path, [blob])[0], strict=True))
    x = np.frombuffer(blob, np.int8).reshape(graph.tensors[graph.inputs[0]].shape)
    checked = set()
    for op in _direct_ops(graph):
        if op.opcode == "SPACE_TO_BATCH_ND":
            continue  # TFLM's padding bytes are stale memory: checked in _check_space_to_batch
        inputs = [x if i in graph.inputs else (graph.tensors[i].data if i >= 0 else None) for i in op.inputs]
        for i, value in zip(op.outputs, op_handler(op.opcode).fold(op, graph, inputs), strict=True):
            assert value.tobytes() == refs[i], f"{op.opcode} (op {op.index}) fold differs from TFLM"
        checked.add(op.opcode)
    assert len(checked) >= 2


# ---------------------------------------------------------------------------------- random one-op models


def _check_random(kind: str, seed: int, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}{seed}.tflite"
    path.write_bytes(move_random.build(kind, seed))
    if kind == "space_to_batch":
        _check_space_to_batch(path, seed)
    else:
        _check_path(path, n=2, seed=seed)


def _check_space_to_batch(path: Path, seed: int) -> None:
    """TFLM fills SPACE_TO_BATCH_ND's padding from a field its Prepare never sets (0 in a fresh arena,
    stale bytes in a reused one), so padding cells must be 0 in tinykit and are not compared."""
    from tinykit.ir import read_model
    from tinykit.ir.ops import op_handler
    from tinykit.verify import load_host_model

    graph = read_model(path)
    op = graph.operators[0]
    ones = np.ones(graph.tensors[op.inputs[0]].shape, np.int8)
    real = op_handler(op.opcode).fold(op, graph, [ones, None, None])[0].reshape(-1) != 0
    host, _ = load_host_model(path)
    blobs = oracle.random_inputs(path, 2, seed=seed)
    for blob, ref in zip(blobs, oracle.reference_outputs(path, blobs), strict=True):
        ours = np.frombuffer(host.run([blob])[0], np.int8)
        assert (ours[real] == np.frombuffer(ref[0], np.int8)[real]).all(), path.name
        assert not ours[~real].any(), f"{path.name}: padding is not 0"
        x = np.frombuffer(blob, np.int8).reshape(ones.shape)
        assert op_handler(op.opcode).fold(op, graph, [x, None, None])[0].tobytes() == ours.tobytes(), "fold"


@pytest.mark.parametrize("seed", move_random.SEEDS)
@pytest.mark.parametrize("kind", sorted(move_random.KINDS))
def test_move_random_one_op(kind: str, seed: int, tmp_path: Path) -> None:
    """Seeded random shapes and options, one op per model, each element type in turn."""
    _check_random(kind, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3, 9))
@pytest.mark.parametrize("kind", sorted(move_random.KINDS))
def test_move_random_one_op_sweep(kind: str, seed: int, tmp_path: Path) -> None:
    _check_random(kind, seed, tmp_path)


# ---------------------------------------------------------------------------------- coverage, kernels


def test_move_cases_cover_every_own_op_and_type(tmp_path: Path) -> None:
    """Each op of this stream runs in some test model with each type TFLM has for it."""
    from tinykit.ir import read_model

    seen: set[tuple[str, str]] = set()
    graphs = [opzoo.graph_of(c) for c in CASES]
    graphs += [read_model(_edited(c, e, tmp_path)) for c, e in EDITS.values()]
    for graph in graphs:
        for op in graph.operators:
            seen.add((op.opcode, graph.tensors[op.outputs[0]].dtype))
    for kind in move_random.KINDS:
        for seed in move_random.SEEDS:
            path = tmp_path / f"{kind}{seed}.tflite"
            path.write_bytes(move_random.build(kind, seed))
            graph = read_model(path)
            seen |= {(op.opcode, graph.tensors[op.outputs[0]].dtype) for op in graph.operators}
    missing = sorted((op, t) for op, types in OWN_OPS.items() for t in types if (op, t) not in seen)
    assert not missing, f"not covered: {missing}"


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_move_kernels_compile_for_arm(cpu: str, tmp_path: Path) -> None:
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    flags = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", "-mthumb", f"-mcpu={cpu}",
             f"-I{KERNEL_DIR / 'include'}", f"-I{KERNEL_DIR}"]
    for src in MOVE_KERNELS:
        proc = subprocess.run([cc, *flags, "-c", str(KERNEL_DIR / src), "-o", str(tmp_path / "k.o")],
                              capture_output=True, text=True)
        assert proc.returncode == 0, f"{src}: {proc.stderr}"


# ---------------------------------------------------------------------------------- run-time indices

# kind -> (builder, position of the indices among the model inputs)
INDEX_KINDS = {"gather": (move_random.gather, 1), "gather_nd": (move_random.gather_nd, 1),
               "embedding_lookup": (move_random.embedding_lookup, 0),
               "dynamic_update_slice": (move_random.dynamic_update_slice, 2)}


def _index_inputs(path: Path, position: int, values: np.ndarray, seed: int) -> list[bytes]:
    """Random bytes for every model input but the indices, which get ``values``."""
    from tinykit.ir import read_model

    rng = np.random.default_rng(seed)
    parts = []
    for k, t in enumerate(read_model(path).input_tensors):
        if k == position:
            parts.append(np.asarray(values, np.int32).tobytes())
        else:
            info = np.iinfo(t.dtype)
            parts.append(rng.integers(info.min, info.max, t.num_elements, endpoint=True).astype(t.dtype).tobytes())
    return parts


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("kind", sorted(INDEX_KINDS))
def test_move_runtime_indices(kind: str, seed: int, tmp_path: Path) -> None:
    """Indices as a model input (what the kernels read at run time), in range: identical bytes."""
    from tinykit.verify import load_host_model

    build, position = INDEX_KINDS[kind]
    data, values = build(np.random.default_rng(seed), "int8", runtime=True)
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(data)
    host, _ = load_host_model(path)
    for trial in range(3):
        parts = _index_inputs(path, position, values, seed * 10 + trial)
        assert host.run(parts) == oracle.reference_outputs(path, [b"".join(parts)])[0], f"{kind} trial {trial}"


@pytest.mark.parametrize("kind", ["gather_nd", "embedding_lookup"])
def test_move_runtime_index_out_of_range_fails_like_tflm(kind: str, tmp_path: Path) -> None:
    """TFLM fails the invocation on an out-of-range GATHER_ND/EMBEDDING_LOOKUP index; so does tinykit."""
    from tinykit.errors import BuildError
    from tinykit.verify import load_host_model

    build, position = INDEX_KINDS[kind]
    data, values = build(np.random.default_rng(5), "int8", runtime=True)
    path = tmp_path / f"{kind}.tflite"
    path.write_bytes(data)
    bad = np.asarray(values).copy()
    bad.reshape(-1)[-1] = 1000
    parts = _index_inputs(path, position, bad, 1)
    host, _ = load_host_model(path)
    with pytest.raises(BuildError, match="status"):
        host.run(parts)
    with pytest.raises(Exception):  # noqa: B017 (the runtime raises a plain RuntimeError)
        oracle.reference_outputs(path, [b"".join(parts)])


# ---------------------------------------------------------------------------------- whole models


def test_pytorch_style_model_starts_with_transpose() -> None:
    """The NCHW model (bit-exact in test_move_zoo_bit_exact) really begins and ends with TRANSPOSE."""
    ops = [op.opcode for op in opzoo.graph_of(BY_NAME["move_pytorch_nchw"]).operators]
    assert ops[0] == "TRANSPOSE" and ops[-1] == "TRANSPOSE", ops


@pytest.mark.slow
def test_keras_mobilenet_dynamic_batch_end_to_end() -> None:
    """Keras' MobileNet v1 as converted with a dynamic batch: SHAPE -> STRIDED_SLICE -> PACK feed its
    RESHAPEs; tinykit folds them and the whole network runs bit-exact on the host."""
    from codegen_helpers import int8_tflite

    from tinykit.ir import read_model
    from tinykit.verify import verify_host

    path = int8_tflite(mm.keras_mobilenet, (32, 32, 3), "move-keras-mobilenet-v1-a025-r")
    raw = {op.opcode for op in read_model(path, fold=False).operators}
    assert {"SHAPE", "STRIDED_SLICE", "PACK", "RESHAPE"} <= raw
    result = verify_host(path, n_inputs=6)
    assert result.mismatched_bytes == 0


# ---------------------------------------------------------------------------------- emulated boards

QEMU_ZOO = (("move_pytorch_nchw", "qemu-m4"), ("move_slices_i16", "qemu-m4"), ("move_layout_i8", "qemu-m4"),
            ("move_index_spatial_i8", "qemu-m4"),
            ("move_resize_i8", "qemu-m4"), ("move_layout_i16", "qemu-m0"), ("move_int8_only", "qemu-m0"))
QEMU_RANDOM = (("dynamic_update_slice", 1, "qemu-m0"),)


def _run_on(path: Path, board: str, tmp_path: Path) -> None:
    if not (shutil.which("qemu-system-arm") and shutil.which("arm-none-eabi-gcc")):
        pytest.skip("needs qemu-system-arm and arm-none-eabi-gcc")
    from tinykit.run import run

    result = run(path, board, tmp_path / "run", num_inputs=3, runs=1)
    assert result["validation"]["checked"] and result["validation"]["compared_bytes"] > 0
    assert result["mismatched_bytes"] == 0, result["validation"]


@pytest.mark.qemu
@pytest.mark.parametrize(("name", "board"), QEMU_ZOO)
def test_move_zoo_on_emulated_boards(name: str, board: str, tmp_path: Path) -> None:
    """Firmware for qemu-m4 (Cortex-M4) and qemu-m0 (Cortex-M0, plain C): identical bytes over serial."""
    _run_on(opzoo.convert(BY_NAME[name]), board, tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize(("kind", "seed", "board"), QEMU_RANDOM)
def test_move_random_on_emulated_boards(kind: str, seed: int, board: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}{seed}.tflite"
    path.write_bytes(move_random.build(kind, seed))
    _run_on(path, board, tmp_path)
