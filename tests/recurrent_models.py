"""Models for the recurrent-op tests: flatbuffer edits of converted models and SVDF models.

No converter emits SVDF from Keras or TensorFlow (TFLite Micro's SVDF keyword models come from
a custom training graph), so SVDF test models are written with the schema's object API: random
weights, quantized the way the converter quantizes (symmetric int8 weights, int16 state and time
weights with zero point 0, int32 bias at state x time scale), scales chosen from a float run so
that outputs span their range. Files are cached by content under /tmp like the op zoo's.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinykit.files import write_atomic

CACHE_DIR = Path(os.environ.get("TINYKIT_OPZOO_CACHE", "/tmp/tinykit-opzoo"))


def device_sequence_mismatches(path: Path, board_id: str, build_dir: Path, n: int = 4) -> int:
    """Firmware for ``board_id`` built from the model, run over serial: the number of steps whose
    outputs differ from the runtime's, for the inputs as a sequence, `tk-reset`, the sequence again."""
    from tinykit import oracle
    from tinykit.device import DeviceClient
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher
    from tinykit.measure import run_sequence
    from tinykit.targets.boards import load_board

    board = load_board(board_id)
    build = build_firmware(path, board, build_dir)
    steps = oracle.sequence_steps(oracle.random_inputs(path, n, seed=3), True)
    with get_flasher(board).flash(build.dir) as link, DeviceClient(link.url, stateful=True) as dev:
        dev.wait_ready()
        ours = run_sequence(dev, steps)["outputs"]
    return sum(a != b for a, b in zip(ours, oracle.run_steps(path, steps), strict=True))


KERNEL_DIR = Path(__file__).resolve().parents[1] / "firmware" / "kernels"
# Compilers and cores every kernel must build warning-free for (host, host DSP model, ARMv6-M to MVE).
KERNEL_TARGETS = [["gcc"], ["gcc", "-DTK_DSP_EMULATE"], ["arm-none-eabi-gcc", "-mcpu=cortex-m0plus"],
                  ["arm-none-eabi-gcc", "-mcpu=cortex-m4"], ["arm-none-eabi-gcc", "-mcpu=cortex-m33"],
                  ["arm-none-eabi-gcc", "-mcpu=cortex-m55"]]


def kernel_compile_errors(source: str, flags: list[str], out_dir: Path) -> str | None:
    """Compile firmware/kernels/``source`` with -Wall -Wextra -Werror: None, or the compiler's errors
    (None too when that compiler is not installed: the caller skips)."""
    import shutil
    import subprocess

    thumb = ["-mthumb"] if flags[0].startswith("arm") else []
    cmd = [*flags, *thumb, "-std=c99", "-Wall", "-Wextra", "-Werror", "-O2", f"-I{KERNEL_DIR / 'include'}",
           f"-I{KERNEL_DIR}", "-c", str(KERNEL_DIR / source), "-o", str(out_dir / "k.o")]
    if shutil.which(flags[0]) is None:
        return None
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.stderr or "failed" if proc.returncode else None


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def _pack(model) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _write_cached(name: str, data: bytes) -> Path:
    path = CACHE_DIR / f"{name}-{hashlib.sha256(data).hexdigest()[:16]}.tflite"
    if not path.is_file():
        write_atomic(path, data)
    return path


def cut(src: Path, name: str, ops: tuple[int, int] | None = None, inputs: list[int] | None = None,
        outputs: list[int] | None = None, edit=None) -> Path:
    """A copy of ``src`` keeping operators ``ops[0]:ops[1]`` with new graph inputs/outputs, so an
    inner tensor (a recurrent op's output, which a final softmax would hide) is compared too."""
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(bytearray(Path(src).read_bytes()), 0)
    sub = model.subgraphs[0]
    if ops is not None:
        sub.operators = sub.operators[ops[0]:ops[1]]
    if inputs is not None:
        sub.inputs = inputs
    if outputs is not None:
        sub.outputs = outputs
    if edit is not None:
        edit(model)
    return _write_cached(name, _pack(model))


# ---------------------------------------------------------------------------------------------- SVDF


@dataclass(frozen=True)
class SvdfSpec:
    """One SVDF model: int8 input/output, int8 feature weights, int16 (or int8) time weights/state."""

    name: str
    batch: int = 1
    input_size: int = 12
    units: int = 6
    rank: int = 1
    memory: int = 5
    state: str = "int16"
    input_zero_point: int = -3
    seed: int = 0


def _tensor(schema, name: str, shape, dtype: int, scale: float, zp: int, buffer: int, variable: bool = False):
    t = schema.TensorT()
    t.name, t.shape, t.type, t.buffer, t.isVariable = name.encode(), list(shape), dtype, buffer, variable
    q = schema.QuantizationParametersT()
    q.scale, q.zeroPoint = [float(np.float32(scale))], [int(zp)]
    t.quantization = q
    return t


def _buffer(schema, values: np.ndarray | None):
    b = schema.BufferT()
    b.data = None if values is None else list(np.ascontiguousarray(values).view(np.uint8).reshape(-1))
    return b


def _svdf_quantities(spec: SvdfSpec) -> dict:
    """Float weights, their quantized values and every scale, from a float run on random inputs."""
    rng = np.random.default_rng(spec.seed)
    filters = spec.units * spec.rank
    wide = spec.state == "int16"
    wf = rng.normal(0, 1 / np.sqrt(spec.input_size), (filters, spec.input_size))
    wt = rng.normal(0, 1 / np.sqrt(spec.memory), (filters, spec.memory))
    in_scale = 1 / 64
    x = in_scale * rng.integers(-128, 128, (256, spec.input_size))
    feature = np.abs(x @ wf.T).max()
    qmax = 32767 if wide else 127
    state_scale = 1.3 * feature / qmax
    state_zp = 0 if wide else int(rng.integers(-20, 21))
    out_scale = 0.4 * feature * np.abs(wt).sum(axis=1).max() * np.sqrt(spec.rank) / 127
    wf_scale, wt_scale = np.abs(wf).max() / 127, np.abs(wt).max() / qmax
    bias_scale = float(np.float32(np.float32(state_scale) * np.float32(wt_scale)))
    bias = rng.normal(0, 0.3 * out_scale * 127, spec.units) / bias_scale
    return {
        "wf": np.round(wf / wf_scale).astype(np.int8), "wt": np.round(wt / wt_scale).astype(np.int16 if wide
                                                                                              else np.int8),
        "bias": np.round(bias).astype(np.int32), "scales": (in_scale, wf_scale, wt_scale, bias_scale, state_scale,
                                                            out_scale), "state_zp": state_zp,
        "out_zp": int(rng.integers(-10, 11)),
    }


def svdf_model(spec: SvdfSpec, *, fused_activation: int = 0, state_buffer: bool = False) -> Path:
    """A one-op SVDF model (cached). ``state_buffer`` gives the variable state tensor a non-zero
    buffer, which TFLite Micro ignores (it resets the state to zero / its zero point)."""
    schema = _schema()
    t = schema.TensorType
    q = _svdf_quantities(spec)
    in_s, wf_s, wt_s, b_s, st_s, out_s = q["scales"]
    filters = spec.units * spec.rank
    state_type = t.INT16 if spec.state == "int16" else t.INT8
    state_values = np.full(spec.batch * filters * spec.memory, 7, np.int16 if spec.state == "int16" else np.int8)
    buffers = [None, None, q["wf"], q["wt"], q["bias"], state_values if state_buffer else None, None]
    tensors = [
        _tensor(schema, "input", (spec.batch, spec.input_size), t.INT8, in_s, spec.input_zero_point, 1),
        _tensor(schema, "weights_feature", (filters, spec.input_size), t.INT8, wf_s, 0, 2),
        _tensor(schema, "weights_time", (filters, spec.memory), state_type, wt_s, 0, 3),
        _tensor(schema, "bias", (spec.units,), t.INT32, b_s, 0, 4),
        _tensor(schema, "state", (spec.batch, filters * spec.memory), state_type, st_s, q["state_zp"], 5, True),
        _tensor(schema, "output", (spec.batch, spec.units), t.INT8, out_s, q["out_zp"], 6),
    ]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0, 1, 2, 3, 4], [5]
    op.builtinOptionsType = schema.BuiltinOptions.SVDFOptions
    op.builtinOptions = schema.SVDFOptionsT()
    op.builtinOptions.rank, op.builtinOptions.fusedActivationFunction = spec.rank, fused_activation
    return _write_cached(f"svdf_{spec.name}", _pack(_one_op_model(schema, schema.BuiltinOperator.SVDF, tensors,
                                                                  buffers, op, [0], [5])))


def _one_op_model(schema, opcode: int, tensors, buffers, op, inputs, outputs):
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = opcode, min(opcode, 127), 1
    sub = schema.SubGraphT()
    sub.tensors, sub.operators, sub.inputs, sub.outputs, sub.name = tensors, [op], inputs, outputs, b"main"
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [sub]
    model.buffers = [_buffer(schema, v) for v in buffers]
    model.description = b"tinykit test model"
    return model


# ---------------------------------------------------------------------------------------------- LSTM

LSTM_STATE_INPUTS = (18, 19)  # hidden state, cell state


def _lstm_ops(model):
    schema = _schema()
    for op in model.subgraphs[0].operators:
        code = model.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.UNIDIRECTIONAL_SEQUENCE_LSTM:
            yield op


def lstm_options(**changes):
    """Flatbuffer edit: set UnidirectionalSequenceLSTMOptions fields (e.g. timeMajor, cellClip) on
    every LSTM (Keras cannot set a cell clip; time-major input is the same tensor read as
    [time][batch][input])."""

    def edit(model) -> None:
        for op in _lstm_ops(model):
            for key, value in changes.items():
                setattr(op.builtinOptions, key, value)

    return edit


def _to_int16(tensor) -> float:
    """Retype an int8 activation tensor as int16 covering the same real range (zero point 0);
    returns the new scale."""
    schema = _schema()
    q = tensor.quantization
    scale, zp = float(q.scale[0]), int(q.zeroPoint[0])
    new = float(np.float32(scale * max(128 + zp, 127 - zp) / 32767))
    q.scale, q.zeroPoint = [new], [0]
    tensor.type = schema.TensorType.INT16
    return new


def lstm_to_16x8(model) -> None:
    """Flatbuffer edit: the int8 LSTMs of a converted model become 16x8 LSTMs (int16 input, hidden
    state and output with zero point 0, int8 weights, int64 biases rescaled to input scale x weight
    scale). TF 2.21's converter refuses 16x8 LSTM ("Quantization to 16x8-bit not yet supported"),
    so the 16x8 test models are the Keras int8 conversions edited this way; every other int8
    activation of the model is retyped as int16 too (model I/O included)."""
    schema = _schema()
    sub = model.subgraphs[0]
    old = {i: (float(t.quantization.scale[0]), int(t.quantization.zeroPoint[0])) for i, t in enumerate(sub.tensors)
           if t.type == schema.TensorType.INT8 and t.quantization is not None and t.quantization.scale is not None
           and not _is_constant(model, t)}
    new = {i: _to_int16(sub.tensors[i]) for i in old}
    done: set[int] = set()  # the converter shares one buffer between equal biases
    for op in _lstm_ops(model):
        in_old, in_new = old[op.inputs[0]][0], new[op.inputs[0]]
        for position in (12, 13, 14, 15):
            bias = sub.tensors[op.inputs[position]]
            bias.type = schema.TensorType.INT64
            bias.quantization.scale = [float(np.float32(bias.quantization.scale[0] * in_new / in_old))]
            if bias.buffer in done:
                continue
            done.add(bias.buffer)
            values = np.frombuffer(bytes(model.buffers[bias.buffer].data), np.int32).astype(np.float64)
            rescaled = np.round(values * in_old / in_new).astype(np.int64)
            model.buffers[bias.buffer].data = list(rescaled.view(np.uint8))


def _is_constant(model, tensor) -> bool:
    data = model.buffers[tensor.buffer].data if 0 < tensor.buffer < len(model.buffers) else None
    return data is not None and len(data) > 0 and not tensor.isVariable
