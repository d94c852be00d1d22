"""TFLite Micro's int16 activation arithmetic: Prepare-time parameters and tables, in Python.

TFLM runs int16 LOGISTIC and TANH (and the gates of the 16x8 LSTM) by linear interpolation in one
256-entry table of ``sigmoid(i / 24)`` in Q0.16, and int16 SOFTMAX with two 513-entry tables
filled by ``LUTPopulate<int16_t>`` (float32 samples corrected by half the midpoint error). This
module computes what Prepare computes: the input multiplier and shift of LOGISTIC/TANH and the
SOFTMAX tables, with float32 where TFLM holds floats and the host C library's ``expf`` (the one
the runtime calls). The C side interpolates at run time (``tk_sigmoid16.h``).

The sigmoid table is hand-tuned upstream (its entries are not the rounding of any one formula),
so it is read from the pinned runtime instead: ``sigmoid_table_u16`` runs TFLM's own int16 TANH
on inputs that land exactly on the table's knots, where its output is ``entry - 32768``. The
table then is the oracle's by construction, not a copy of its source.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import itertools
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from tinykit.codegen.quant import INT16_MAX, INT16_MIN, tflite_round
from tinykit.errors import CodegenError

_F = np.float32


@lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL:
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "logf"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lib


def expf(x: float) -> np.float32:
    """``std::exp(float)`` as the runtime computes it (the C library's expf, not numpy's)."""
    return _F(_libm().expf(float(_F(x))))


def logf(x: float) -> np.float32:
    return _F(_libm().logf(float(_F(x))))


def checked_log2(x: float) -> tuple[int, bool]:
    """``CheckedLog2``: the rounded float32 log2 of ``x`` and whether ``x`` is a power of two."""
    x_log2 = _F(logf(x) * _F(_F(1.0) / logf(2.0)))
    rounded = _F(tflite_round(float(x_log2)))
    return int(rounded), abs(float(_F(x_log2 - rounded))) < float(_F(1e-3))


# ---- LOGISTIC / TANH (int16) ------------------------------------------------------------------


def sigmoid16_params(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                     pot_shifts: tuple[int, ...]) -> tuple[int, int]:
    """(input_multiplier, input_left_shift) as the int16 branch of LogisticPrepare (``pot_shifts``
    (0,)) or TanhPrepare ((0, 1)) makes them, already resolved to the form Eval uses: a
    power-of-two scale becomes multiplier ``3 << shift`` with shift 0. ValueError names what TFLM
    refuses (non-zero zero points, an output scale other than 2^-15)."""
    if input_zero_point != 0 or output_zero_point != 0:
        raise ValueError("zero points must be 0")
    log2_in, pot = checked_log2(input_scale)
    shift = (15 - 3) + log2_in
    if pot and shift in pot_shifts:
        multiplier, shift = 3 << shift, 0
    else:
        real = float(_F(input_scale)) * 4096.0 * 3.0
        shift = 0
        while real <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            real *= 2.0
        multiplier = int(real)
    if multiplier > INT16_MAX:
        raise ValueError(f"input scale {input_scale:g} is too large (multiplier {multiplier} > 32767)")
    log2_out, pot_out = checked_log2(output_scale)
    if not pot_out or log2_out != -15:
        raise ValueError(f"output scale {output_scale:g} must be 2^-15")
    return multiplier, shift


def _single_op_model(opcode: str, n: int, in_q: tuple[float, int], out_q: tuple[float, int]) -> bytes:
    """A one-op int16 -> int16 flatbuffer (input and output of ``n`` elements)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    def tensor(name: str, buffer: int, q: tuple[float, int]):
        t = schema.TensorT()
        t.name, t.shape, t.type, t.buffer = name, [n], schema.TensorType.INT16, buffer
        t.quantization = schema.QuantizationParametersT()
        t.quantization.scale, t.quantization.zeroPoint = [q[0]], [q[1]]
        return t

    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = getattr(schema.BuiltinOperator, opcode)
    code.version = 1
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    sub = schema.SubGraphT()
    sub.tensors, sub.inputs, sub.outputs, sub.operators = [tensor("x", 1, in_q), tensor("y", 2, out_q)], [0], [1], [op]
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [sub]
    model.buffers = [schema.BufferT() for _ in range(3)]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@lru_cache(maxsize=1)
def sigmoid_table_u16() -> np.ndarray:
    """TFLM's 256-entry Q0.16 ``sigmoid(i / 24)`` table, read from the pinned runtime's int16 TANH.

    With input scale float32(1/6144) TanhPrepare gives multiplier 16384 and shift 13, so Eval's
    rescaled input is exactly 2x. For x = 128 k the interpolation fraction is 0 and the output is
    ``table[k] - 32768`` (k = 0..254); at x = 128 * 254 + 127 the fraction is 254/256 and the
    output adds ``floor((254 d + 128) / 256)``, which is d for the small step d to entry 255.
    """
    from tflite_micro.python.tflite_micro import runtime

    x = np.array([128 * k for k in range(255)] + [128 * 254 + 127], dtype=np.int16)
    model = _single_op_model("TANH", x.size, (float(_F(1.0 / 6144.0)), 0), (1.0 / 32768.0, 0))
    interp = runtime.Interpreter.from_bytes(model)
    interp.set_input(x.reshape(-1), 0)
    interp.invoke()
    out = np.asarray(interp.get_output(0), dtype=np.int64).reshape(-1)
    table = [int(v) + 32768 for v in out[:255]]
    step = int(out[255]) + 32768 - table[254]
    if not 0 <= step <= 64:
        raise CodegenError(f"internal: unexpected sigmoid table step {step} from the runtime")
    table.append(table[254] + step)
    if table[0] != 32768 or any(b < a for a, b in itertools.pairwise(table)):
        raise CodegenError("internal: the runtime's int16 sigmoid table is not monotonic from 0.5")
    return np.array(table, dtype=np.uint16)


# ---- SOFTMAX (int16) --------------------------------------------------------------------------

LUT16_SIZE = 513


def lut_populate_int16(fn: Callable[[np.float32], np.float32], input_scale: float, input_zero_point: int,
                       output_scale: float, output_zero_point: int) -> np.ndarray:
    """``LUTPopulate<int16_t>`` (float version): 512 samples of ``fn`` over the int16 input range,
    each corrected by half the error of linear interpolation at the segment's midpoint, plus the
    end point; every operation in float32, in TFLM's order."""
    in_s, out_s = _F(input_scale), _F(output_scale)
    input_min = _F(in_s * _F(INT16_MIN - input_zero_point))
    input_max = _F(in_s * _F(INT16_MAX - input_zero_point))
    output_min = _F(out_s * _F(INT16_MIN - output_zero_point))
    output_max = _F(out_s * _F(INT16_MAX - output_zero_point))
    steps = LUT16_SIZE - 1
    step = _F(_F(input_max - input_min) / _F(steps))
    half_step = _F(step / _F(2))
    scaling_inv = _F(_F(65536) / _F(output_max - output_min))

    def rnd(v: np.float32) -> np.float32:
        return _F(tflite_round(float(v)))

    table = []
    for i in range(steps):
        at = _F(input_min + _F(_F(i) * step))
        val, val_mid = fn(at), fn(_F(at + half_step))
        val_next = fn(_F(input_min + _F(_F(i + 1) * step)))
        sample = rnd(_F(val * scaling_inv))
        interp = rnd(_F(_F(_F(val_next * scaling_inv) + sample) / _F(2)))
        mid = rnd(_F(val_mid * scaling_inv))
        bias = rnd(_F(_F(interp - mid) / _F(2)))
        table.append(min(max(float(_F(sample - bias)), INT16_MIN), INT16_MAX))
    table.append(min(max(float(rnd(_F(fn(input_max) * scaling_inv))), INT16_MIN), INT16_MAX))
    return np.array([int(v) for v in table], dtype=np.int16)


@lru_cache(maxsize=1)
def softmax16_tables() -> tuple[np.ndarray, np.ndarray]:
    """SoftmaxPrepare's int16 tables: exp on [-10, 0] and 1 / (1 + x) on [0, 1] (constants)."""
    span = _F(INT16_MAX - INT16_MIN)
    exp_lut = lut_populate_int16(expf, float(_F(_F(10.0) / span)), INT16_MAX, float(_F(_F(2.0) / span)), 0)

    def recip(v: np.float32) -> np.float32:
        return _F(_F(1.0) / _F(_F(1.0) + v))

    recip_lut = lut_populate_int16(recip, float(_F(_F(1.0) / span)), INT16_MIN, float(_F(_F(2.0) / span)), 0)
    return exp_lut, recip_lut

