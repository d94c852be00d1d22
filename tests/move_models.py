"""Zoo models and flatbuffer edits for the data-movement ops (tests/test_ops_move.py).

Several ops share one model, each op's result a model output of its own, so one conversion
covers many ops and options (conversion dominates the test time). Edits turn converted models
into what the converter never emits (int32 tensors, EXPAND_DIMS/SQUEEZE, STRIDED_SLICE masks
TFLite Micro ignores, runtime indices) so that those paths are checked against TFLite Micro too.
"""

from __future__ import annotations

import numpy as np


def _k():
    import tf_keras

    return tf_keras


def slices(shape):
    """STRIDED_SLICE (masks, shrink, negative strides and bounds), SLICE, SPLIT, SPLIT_V, UNPACK."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    outs = [
        lam(lambda t: t[:, 1:5:2, ::-1, 1])(inp),
        lam(lambda t: t[:, -2:, 1:-1:3])(inp),
        lam(lambda t: t[:, ::-2, -1:0:-2, 2:])(inp),
        lam(lambda t: tf.slice(t, [0, 1, 0, 1], [1, 3, -1, 2]))(inp),
        *lam(lambda t: tf.split(t, 2, axis=1))(inp),
        *lam(lambda t: tf.split(t, [1, 3, 1], axis=2))(inp),
        *lam(lambda t: tf.unstack(t, axis=3))(inp),
    ]
    return k.Model(inp, outs)


def layout(shape):
    """TRANSPOSE (4-D, 3-D), REVERSE_V2, BROADCAST_TO, CONCATENATION on every axis, PACK, PAD, PADV2."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    flipped = lam(lambda t: tf.reverse(t, [1, 2]))(inp)
    outs = [
        lam(lambda t: tf.transpose(t, [0, 3, 1, 2]))(inp),
        lam(lambda t: tf.transpose(t, [0, 2, 1, 3]))(inp),
        lam(lambda t: tf.transpose(tf.reshape(t, shape), [2, 0, 1]))(inp),
        lam(lambda t: tf.expand_dims(t, 3))(inp),
        flipped,
        lam(lambda t: tf.reverse(t, [3]))(inp),
        lam(lambda t: tf.broadcast_to(t[:, :1, :, :1], (1, 5, shape[1], 2)))(inp),
        *[k.layers.Concatenate(axis=a)([inp, flipped]) for a in (1, 2, 3)],
        lam(lambda ts: tf.stack(ts, axis=2))([inp, flipped, inp]),
        lam(lambda t: tf.pad(t, [[0, 0], [1, 0], [2, 1], [0, 2]]))(inp),
        lam(lambda t: tf.pad(t, [[0, 0], [0, 1], [1, 1], [0, 0]], constant_values=0.5))(inp),
    ]
    return k.Model(inp, outs)


def int8_only(shape):
    """Ops TFLite Micro runs on int8 only: SPACE_TO_DEPTH, DEPTH_TO_SPACE, MIRROR_PAD."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    outs = [
        lam(lambda t: tf.nn.space_to_depth(t, 2))(inp),
        lam(lambda t: tf.nn.depth_to_space(t, 2))(inp),
        lam(lambda t: tf.pad(t, [[0, 0], [1, 2], [0, 1], [0, 0]], mode="REFLECT"))(inp),
        lam(lambda t: tf.pad(t, [[0, 0], [2, 0], [3, 3], [1, 1]], mode="SYMMETRIC"))(inp),
    ]
    return k.Model(inp, outs)


def index_spatial(shape):
    """GATHER (axis, batch_dims), GATHER_ND, SPACE_TO_BATCH_ND, BATCH_TO_SPACE_ND (int8 in TFLM)."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    outs = [
        lam(lambda t: tf.gather(t, [2, 0, 1, 1], axis=2))(inp),
        lam(lambda t: tf.gather(t, [[2, 0, 1]], axis=2, batch_dims=1))(inp),
        lam(lambda t: tf.gather_nd(t, [[0, 1], [0, 3]]))(inp),
        # unpadded: TFLM fills padding with stale arena bytes (padded cases: move_random, masked)
        lam(lambda t: tf.space_to_batch_nd(t, [2, 2], [[0, 0], [0, 0]]))(inp),
        lam(lambda t: tf.compat.v1.batch_to_space_nd(tf.concat([t, t, t, t], 0), [2, 2], [[1, 0], [0, 1]]))(inp),
    ]
    return k.Model(inp, outs)


def resizes(inp) -> list:
    import tensorflow as tf

    k = _k()
    lam = k.layers.Lambda
    v1 = tf.compat.v1.image
    return [
        k.layers.UpSampling2D(2)(inp),
        lam(lambda t: v1.resize_nearest_neighbor(t, [5, 7], align_corners=True))(inp),
        lam(lambda t: v1.resize_nearest_neighbor(t, [7, 3]))(inp),
        k.layers.UpSampling2D(2, interpolation="bilinear")(inp),
        lam(lambda t: v1.resize_bilinear(t, [5, 7], align_corners=True))(inp),
        lam(lambda t: v1.resize_bilinear(t, [3, 5]))(inp),
    ]


def resize(shape, count: int = 6):
    """RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR with half_pixel_centers (UpSampling2D), align_corners
    and neither; ``count=3``: the nearest-neighbour ones only (16x8: TFLM has no int16 bilinear)."""
    k = _k()
    inp = k.Input(shape, batch_size=1)
    return k.Model(inp, resizes(inp)[:count])


def pytorch_style(shape):
    """What PyTorch exporters emit: an NCHW input transposed to NHWC first, the result transposed back."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Lambda(lambda t: tf.transpose(t, [0, 2, 3, 1]))(inp)
    x = k.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = k.layers.DepthwiseConv2D(3, padding="same")(x)
    x = k.layers.Conv2D(6, 1)(x)
    x = k.layers.Lambda(lambda t: tf.transpose(t, [0, 3, 1, 2]))(x)
    return k.Model(inp, x)


def keras_mobilenet():
    """Keras' MobileNet v1 (alpha 0.25, 32x32) with the default dynamic batch: its top's Reshapes
    convert to SHAPE -> STRIDED_SLICE -> PACK -> RESHAPE."""
    import opzoo

    k = _k()
    model = k.applications.MobileNet(input_shape=(32, 32, 3), alpha=0.25, weights=None, classes=5)
    opzoo._randomize(model, 0)  # fresh batch-norm statistics give logits so small TFLM's SOFTMAX aborts
    return model


# ---------------------------------------------------------------------------------- flatbuffer edits


def _schema():
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    return schema


def ops_of(model, name: str) -> list:
    schema = _schema()
    code = getattr(schema.BuiltinOperator, name)
    return [op for op in model.subgraphs[0].operators
            if max(model.operatorCodes[op.opcodeIndex].builtinCode,
                   model.operatorCodes[op.opcodeIndex].deprecatedBuiltinCode) == code]


def opcode_index(model, name: str) -> int:
    """Index of ``name`` in the model's operator codes, added if missing."""
    schema = _schema()
    code = getattr(schema.BuiltinOperator, name)
    for i, c in enumerate(model.operatorCodes):
        if max(c.builtinCode, c.deprecatedBuiltinCode) == code:
            return i
    new = schema.OperatorCodeT()
    new.builtinCode = code
    new.deprecatedBuiltinCode = min(code, 127)
    new.version = 1
    model.operatorCodes.append(new)
    return len(model.operatorCodes) - 1


def add_const(model, values: np.ndarray, name: str) -> int:
    """A new constant int32 tensor; returns its index."""
    schema = _schema()
    buf = schema.BufferT()
    buf.data = np.ascontiguousarray(values).view(np.uint8).reshape(-1).tolist()
    model.buffers.append(buf)
    t = schema.TensorT()
    t.shape = list(values.shape)
    t.type = {np.dtype(np.int32): schema.TensorType.INT32, np.dtype(np.int16): schema.TensorType.INT16,
              np.dtype(np.int8): schema.TensorType.INT8}[values.dtype]
    t.buffer = len(model.buffers) - 1
    t.name = name.encode()
    sub = model.subgraphs[0]
    sub.tensors.append(t)
    return len(sub.tensors) - 1


def to_int32(model) -> None:
    """Every int8 activation becomes an unquantized int32 tensor (the int32 kernels vs TFLM)."""
    schema = _schema()
    sub = model.subgraphs[0]
    for t in sub.tensors:
        if t.type == schema.TensorType.INT8 and (t.buffer == 0 or not model.buffers[t.buffer].data):
            t.type = schema.TensorType.INT32
            t.quantization = None


def reshapes_to_expand_squeeze(model) -> None:
    """RESHAPEs that add a unit axis become EXPAND_DIMS, those that drop one become SQUEEZE."""
    schema = _schema()
    sub = model.subgraphs[0]
    for op in ops_of(model, "RESHAPE"):
        src, dst = list(sub.tensors[op.inputs[0]].shape), list(sub.tensors[op.outputs[0]].shape)
        if len(dst) == len(src) + 1:
            axis = next(i for i in range(len(dst)) if dst[:i] + dst[i + 1:] == src)
            op.opcodeIndex = opcode_index(model, "EXPAND_DIMS")
            op.inputs = [op.inputs[0], add_const(model, np.array([axis - len(dst)], np.int32), "axis")]
            op.builtinOptionsType = schema.BuiltinOptions.ExpandDimsOptions
            op.builtinOptions = schema.ExpandDimsOptionsT()
        elif len(dst) == len(src) - 1:
            axis = next(i for i in range(len(src)) if src[:i] + src[i + 1:] == dst)
            op.opcodeIndex = opcode_index(model, "SQUEEZE")
            op.inputs = [op.inputs[0]]
            op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
            op.builtinOptions = schema.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [axis]


def strided_slice_flags(ellipsis: int = 0, new_axis: int = 0, offset: bool = False):
    """Set the STRIDED_SLICE options TFLite Micro's kernel never reads."""

    def edit(model) -> None:
        for op in ops_of(model, "STRIDED_SLICE"):
            op.builtinOptions.ellipsisMask = ellipsis
            op.builtinOptions.newAxisMask = new_axis
            op.builtinOptions.offset = offset

    return edit


def padv2_value_int16(model) -> None:
    """The converter gives a 16x8 PADV2 a float32 constant (which TFLM refuses); make it int16."""
    schema = _schema()
    sub = model.subgraphs[0]
    for op in ops_of(model, "PADV2"):
        value = sub.tensors[op.inputs[2]]
        value.type = schema.TensorType.INT16
        model.buffers[value.buffer].data = np.array([1234], np.int16).view(np.uint8).tolist()
        value.quantization = sub.tensors[op.outputs[0]].quantization


# ---------------------------------------------------------------------------------- models built directly

_TYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64}


def tensor_spec(shape, dtype: str = "int8", data=None, quant: tuple[float, int] | None = (0.05, 3)):
    """One tensor of :func:`single_op`: a model input when ``data`` is None, else a constant."""
    return dict(shape=tuple(int(d) for d in shape), dtype=dtype, data=data,
                quant=None if dtype in ("int32", "int64") or quant is None else quant)


def single_op(opcode: str, inputs: list[dict], outputs: list[dict], options=None, options_type: str = "") -> bytes:
    """A one-op .tflite built with the schema's object API (no converter: fast, any shape/option)."""
    import flatbuffers

    schema = _schema()
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT()]
    model.operatorCodes = []
    sub = schema.SubGraphT()
    sub.tensors, sub.inputs = [], []

    def add(spec, name) -> int:
        t = schema.TensorT()
        t.shape = list(spec["shape"])
        t.type = getattr(schema.TensorType, spec["dtype"].upper())
        t.name = name.encode()
        t.buffer = 0
        if spec["data"] is not None:
            buf = schema.BufferT()
            buf.data = np.ascontiguousarray(spec["data"], _TYPES[spec["dtype"]]).view(np.uint8).reshape(-1).tolist()
            model.buffers.append(buf)
            t.buffer = len(model.buffers) - 1
        if spec["quant"] is not None:
            t.quantization = schema.QuantizationParametersT()
            t.quantization.scale, t.quantization.zeroPoint = [spec["quant"][0]], [spec["quant"][1]]
        sub.tensors.append(t)
        index = len(sub.tensors) - 1
        if spec["data"] is None and name.startswith("in"):
            sub.inputs.append(index)
        return index

    op = schema.OperatorT()
    op.opcodeIndex = opcode_index(model, opcode)
    op.inputs = [add(s, f"in{i}") for i, s in enumerate(inputs)]
    op.outputs = [add(s, f"out{i}") for i, s in enumerate(outputs)]
    sub.outputs = list(op.outputs)
    if options is not None:
        op.builtinOptionsType = getattr(schema.BuiltinOptions, options_type)
        op.builtinOptions = options
    sub.operators = [op]
    model.subgraphs = [sub]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def options(table: str, **values):
    """A builtin options object, e.g. ``options("StridedSliceOptions", beginMask=1)``."""
    obj = getattr(_schema(), f"{table}T")()
    for key, value in values.items():
        setattr(obj, key, value)
    return obj
