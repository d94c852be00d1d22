"""Reads a ``.tflite`` flatbuffer into a :class:`~tinykit.ir.graph.Graph`.

Parsing is done by the schema bindings the ``tflite-micro`` package ships (the same schema the
oracle interpreter is built from); this module only checks what those bindings cannot (identifier,
bounds, one subgraph plus CALL_ONCE's init subgraphs, int8-ness) and turns their objects into tinykit's immutable graph.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import struct
from pathlib import Path
from typing import Any

import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinykit.errors import ModelFormatError, QuantizationError
from tinykit.ir.fold import fold_constants
from tinykit.ir.graph import RESOURCE, Graph, Operator, Quantization, Tensor
from tinykit.ir.ops import analyse_operator
from tinykit.ir.resources import Subgraph, init_subgraphs, lower_resources
from tinykit.ir.support import judge_unsupported
from tinykit.ir.validate import buffer_bytes, check_layout, tensor_label, validate_graph

TFLITE_IDENTIFIER = b"TFL3"
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
QUANTIZE_HINT = "quantize it with `tinykit quantize MODEL --data DATASET -o model.tflite`"

_TENSOR_TYPES = {v: k.lower() for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_OPCODES = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_TABLES = {v: k for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
OPTION_ENUMS = {
    "padding": {v: k for k, v in vars(schema.Padding).items() if not k.startswith("_")},
    "fused_activation_function": {
        v: k for k, v in vars(schema.ActivationFunctionType).items() if not k.startswith("_")
    },
    "weights_format": {
        v: k for k, v in vars(schema.FullyConnectedOptionsWeightsFormat).items() if not k.startswith("_")
    },
}
_NUMPY_DTYPES = {
    "float32": np.float32, "float16": np.float16, "float64": np.float64, "int32": np.int32, "uint8": np.uint8,
    "int64": np.int64, "int16": np.int16, "int8": np.int8, "bool": np.bool_, "uint16": np.uint16,
    "uint32": np.uint32, "uint64": np.uint64, "complex64": np.complex64, "complex128": np.complex128,
}


def is_keras_model(path: Path) -> bool:
    """Keras files and SavedModel directories go to the quantizer, not the reader."""
    return path.suffix.lower() in KERAS_SUFFIXES or (path.is_dir() and (path / "saved_model.pb").exists())


def read_model(path: str | Path, *, require_int8: bool = True, fold: bool = True) -> Graph:
    """Read and analyse a ``.tflite`` file; raise a :class:`TinykitError` for anything unusable.

    ``fold=False`` keeps every op of the file (no constant folding, no dead-op removal)."""
    path = Path(path)
    if not path.exists():
        raise ModelFormatError(f"{path}: no such file")
    if is_keras_model(path):
        raise QuantizationError(
            f"{path} is a Keras model: it needs full-integer quantization before it can be read",
            hint="quantize it first: `tinykit quantize MODEL --data DATASET -o model.tflite`",
        )
    if path.is_dir():
        raise ModelFormatError(f"{path} is a directory, not a .tflite model")
    return parse_model(path.read_bytes(), source=str(path), require_int8=require_int8, fold=fold)


def parse_model(buf: bytes, *, source: str = "<bytes>", require_int8: bool = True, fold: bool = True) -> Graph:
    """Parse flatbuffer bytes; ``source`` names the model in error messages."""
    _check_flatbuffer(buf, source)
    try:
        model = schema.ModelT.InitFromPackedBuf(bytearray(buf), 0)
    except Exception as err:  # the bindings raise whatever a bad offset provokes
        detail = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
        raise ModelFormatError(
            f"{source}: truncated or corrupt TFLite model ({len(buf)} bytes; parsing failed: {detail})"
        ) from None
    subgraphs = model.subgraphs or []
    if not subgraphs:
        raise ModelFormatError(f"{source}: model has 0 subgraphs; tinykit supports exactly one")
    graph = _build_graph(model, subgraphs, buf, source, fold)
    if require_int8:
        check_int8(graph, source)
    return graph


def _check_flatbuffer(buf: bytes, source: str) -> None:
    if len(buf) < 8:
        raise ModelFormatError(f"{source}: not a flatbuffer ({len(buf)} bytes)")
    (root,) = struct.unpack_from("<I", buf, 0)
    looks_like_flatbuffer = root % 4 == 0 and 8 <= root <= len(buf) - 4
    if buf[4:8] == TFLITE_IDENTIFIER:
        if not looks_like_flatbuffer:
            raise ModelFormatError(f"{source}: truncated or corrupt TFLite model (bad root offset)")
        return
    if looks_like_flatbuffer and _vtable_in_bounds(buf, root):
        ident = buf[4:8].decode("latin-1")
        raise ModelFormatError(
            f"{source}: a flatbuffer but not a TFLite model (file identifier {ident!r}, expected 'TFL3')"
        )
    raise ModelFormatError(f"{source}: not a flatbuffer (not a .tflite model)")


def _vtable_in_bounds(buf: bytes, root: int) -> bool:
    (soffset,) = struct.unpack_from("<i", buf, root)
    vtable = root - soffset
    if not 0 <= vtable <= len(buf) - 4:
        return False
    vt_size, obj_size = struct.unpack_from("<HH", buf, vtable)
    return vt_size >= 4 and vt_size % 2 == 0 and vtable + vt_size <= len(buf) and obj_size >= 4


def _subgraph(model: Any, subgraph: Any, buf: bytes, source: str) -> Subgraph:
    buffers = model.buffers or []
    tensors = tuple(
        _tensor(i, t, buffers, buf, source) for i, t in enumerate(subgraph.tensors or [])
    )
    raw_ops = []
    for index, op in enumerate(subgraph.operators or []):
        codes = model.operatorCodes or []
        if not 0 <= op.opcodeIndex < len(codes):
            raise ModelFormatError(f"{source}: operator {index} has an invalid opcode index")
        raw_ops.append(_operator(index, op, codes[op.opcodeIndex], len(tensors), source))
    return Subgraph(tensors, tuple(raw_ops))


def _build_graph(model: Any, subgraphs: list, buf: bytes, source: str, fold: bool = True) -> Graph:
    """Tensors and ops of the file (resource variables lowered to state tensors), each op's contract
    checked, constants folded (unless ``fold`` is False), then every op analysed by its handler and,
    where refused, judged by TFLite Micro."""
    main = _subgraph(model, subgraphs[0], buf, source)
    inits = init_subgraphs(main, len(subgraphs), source) if len(subgraphs) > 1 else []
    main, resource_ops = lower_resources(main, [(i, _subgraph(model, subgraphs[i], buf, source)) for i in inits],
                                         source)
    graph = Graph(
        tensors=main.tensors,
        operators=main.operators,
        inputs=_indices(subgraphs[0].inputs, len(main.tensors), source, "graph input"),
        outputs=_indices(subgraphs[0].outputs, len(main.tensors), source, "graph output"),
        sha256=hashlib.sha256(buf).hexdigest(),
        description=_text(model.description),
        path=source,
        folded=tuple(resource_ops),
    )
    validate_graph(graph)
    if fold:
        graph = fold_constants(graph)
    graph = dataclasses.replace(graph, operators=tuple(analyse_operator(op, graph) for op in graph.operators))
    return judge_unsupported(graph)


def _indices(values: Any, count: int, source: str, what: str) -> tuple[int, ...]:
    result = tuple(int(v) for v in (values if values is not None else []))
    for v in result:
        if not -1 <= v < count:
            raise ModelFormatError(f"{source}: {what} refers to tensor {v}, which does not exist")
    return result


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _tensor(index: int, t: Any, buffers: list, buf: bytes, source: str) -> Tensor:
    dtype = _TENSOR_TYPES.get(t.type, f"type{t.type}")
    # TFLite Micro allocates by `shape` (a dynamic batch is 1 there) and never reads
    # `shape_signature`; a -1 left in `shape` itself is a truly dynamic tensor, which the op
    # handlers reject by name.
    shape = tuple(int(d) for d in (t.shape if t.shape is not None else []))
    where = f"{source}: {tensor_label(index, _text(t.name))}"
    if dtype == RESOURCE and not shape:
        return Tensor(index=index, name=_text(t.name), shape=(), dtype=dtype)  # lowered by resources.py
    check_layout(where, dtype, shape)
    data = None
    # A variable (state) tensor is never a constant: TFLite Micro ignores its buffer and starts it
    # at its reset value (MicroInterpreterGraph::ResetTensorData).
    if 0 < t.buffer < len(buffers) and not t.isVariable:
        data = _buffer_data(buffers[t.buffer], buf, dtype, shape, where)
    elif t.buffer >= len(buffers) and t.buffer != 0:
        raise ModelFormatError(f"{source}: tensor {index} refers to buffer {t.buffer}, which does not exist")
    return Tensor(
        index=index,
        name=_text(t.name),
        shape=shape,
        dtype=dtype,
        quantization=_quantization(t.quantization),
        data=data,
        is_variable=bool(t.isVariable),
    )


def _buffer_data(b: Any, buf: bytes, dtype: str, shape: tuple[int, ...], where: str) -> np.ndarray | None:
    if b.offset > 1:  # large models keep their buffers after the flatbuffer
        if b.offset + b.size > len(buf):
            raise ModelFormatError(f"{where}: buffer lies beyond the end of the file (truncated?)")
        raw = np.frombuffer(buf, dtype=np.uint8, count=b.size, offset=b.offset)
    elif b.data is not None and len(b.data) > 0:
        raw = np.asarray(b.data, dtype=np.uint8)
    else:
        return None
    expected = buffer_bytes(dtype, shape)
    if any(d < 0 for d in shape) or raw.size != expected:
        raise ModelFormatError(f"{where}: holds {raw.size} bytes but its shape {list(shape)} needs {expected}")
    np_dtype = _NUMPY_DTYPES.get(dtype)
    if np_dtype is None:
        return raw.copy()  # int4, bfloat16 and friends: handlers reject them by dtype
    array = raw.view(np_dtype).reshape(shape).copy()
    array.flags.writeable = False
    return array


def _quantization(q: Any) -> Quantization | None:
    """The tensor's affine quantization; an absent or empty zero-point list means zeros."""
    if q is None or q.scale is None or len(q.scale) == 0:
        return None
    zero_points = tuple(int(z) for z in q.zeroPoint) if q.zeroPoint is not None else ()
    zero_points = zero_points or (0,) * len(q.scale)
    return Quantization(
        scale=tuple(float(s) for s in q.scale), zero_point=zero_points, axis=int(q.quantizedDimension)
    )


def _operator(index: int, op: Any, opcode: Any, num_tensors: int, source: str) -> Operator:
    code = max(int(opcode.builtinCode), int(opcode.deprecatedBuiltinCode))
    name = _OPCODES.get(code, f"BUILTIN_{code}")
    if name == "CUSTOM":
        name = f"CUSTOM:{_text(opcode.customCode)}"
    return Operator(
        index=index,
        opcode=name,
        options=decode_options(op.builtinOptions),
        inputs=_indices(op.inputs, num_tensors, source, f"operator {index} ({name}) input"),
        outputs=_indices(op.outputs, num_tensors, source, f"operator {index} ({name}) output"),
        options_type=_option_table_name(op.builtinOptionsType, op.builtinOptions),
        intermediates=_indices(op.intermediates, num_tensors, source, f"operator {index} ({name}) intermediate"),
    )


def _option_table_name(type_code: int, options: Any) -> str:
    """Name of the options table, or "" when the op has none (type NONE or no table)."""
    if options is None:
        return ""
    name = _OPTION_TABLES.get(int(type_code), f"BuiltinOptions{int(type_code)}")
    return "" if name == "NONE" else name


def snake_case(name: str) -> str:
    """Schema attribute name (``fusedActivationFunction``) -> options key (``fused_activation_function``)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def decode_options(options: Any) -> dict[str, Any]:
    """Builtin options object -> dict with snake_case keys and enum values as their names."""
    if options is None:
        return {}
    decoded: dict[str, Any] = {}
    for key, value in vars(options).items():
        snake = snake_case(key)
        if snake in OPTION_ENUMS:
            value = OPTION_ENUMS[snake].get(value, f"UNKNOWN_{value}")
        elif isinstance(value, np.ndarray | list):
            value = tuple(int(v) for v in value)
        elif isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        decoded[snake] = value
    return decoded


# Ops whose float32 tensors involve no float arithmetic tinykit would have to match (a type
# conversion, raw zeros, a repeated value): a quantized model may carry them at its edges.
FLOAT_EXACT_OPS = frozenset({"CAST", "ZEROS_LIKE", "FILL"})


def check_int8(graph: Graph, source: str) -> None:
    """Refuse float, hybrid and uint8 models with a hint on how to quantize them."""
    activation_types = set()
    for op in graph.operators:
        io = [graph.tensors[i] for i in (*op.inputs, *op.outputs) if i >= 0]
        for t in io:
            if t.is_constant:
                continue
            if op.opcode == "QUANTIZE" and t.index in op.inputs:
                continue  # float -> int8 at the graph input is the quantized path
            if op.opcode == "DEQUANTIZE" and t.index in op.outputs:
                continue
            if op.opcode in FLOAT_EXACT_OPS:
                continue
            activation_types.add(t.dtype)
    float_state = [t for t in graph.variable_tensors if t.dtype in ("float32", "float16")]
    if float_state:
        raise QuantizationError(
            f"{source}: resource variable {float_state[0].name!r} (tf.Variable state) is {float_state[0].dtype}; "
            "tinykit needs int8 state",
            hint="convert with converter._experimental_variable_quantization = True (and "
                 "experimental_enable_resource_variables) so the variables are quantized too")
    weights_int8 = any(t.dtype == "int8" for t in graph.weight_tensors())
    if "float32" in activation_types or "float16" in activation_types:
        kind = "hybrid (dynamic-range quantized)" if weights_int8 else "float"
        raise QuantizationError(f"{source}: {kind} model; tinykit needs a full-integer (int8) model",
                                hint=QUANTIZE_HINT)
    if "uint8" in activation_types:
        raise QuantizationError(f"{source}: uint8 (legacy) quantized model; tinykit needs int8",
                                hint=QUANTIZE_HINT)
