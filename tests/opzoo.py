"""The op zoo: small Keras models covering every op and option tinykit's code generator supports.

Each :class:`Case` names a builder (a function returning a ``tf_keras`` model) with its keyword
arguments, how to convert it (per-channel or per-tensor weights, int8 or float model I/O, the
range of the representative data) and the TFLite ops the converted model must contain, so a
converter change that stops producing the intended op fails loudly instead of silently testing
something else. Converted models are cached on disk, keyed by the builder's source, its
arguments and the TensorFlow version, so a test session converts each model at most once.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tinykit.files import write_atomic

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

CACHE_DIR = Path(os.environ.get("TINYKIT_OPZOO_CACHE", "/tmp/tinykit-opzoo"))
CACHE_VERSION = "1"


@dataclass(frozen=True)
class Case:
    """One zoo model: ``build(**kwargs)`` -> keras.Model, converted as described."""

    name: str
    build: Callable[..., object]
    kwargs: dict = field(default_factory=dict)
    expect: tuple[str, ...] = ()
    per_channel: bool = True
    float_io: bool = False
    rep_range: tuple[float, float] = (-1.0, 1.0)
    exhaustive: bool = False  # int8 inputs: every byte value (and, for two inputs, every pair) is fed
    activations: str = "int8"  # "int16": 16x8 conversion (int16 activations, int8 weights, int64 bias)
    edit: Callable[[object], None] | None = None  # optional flatbuffer edit after conversion

    def key(self) -> str:
        parts = [CACHE_VERSION, _tf_version(), inspect.getsource(convert), inspect.getsource(_randomize),
                 inspect.getsource(self.build), repr(sorted(self.kwargs.items())),
                 repr((self.per_channel, self.float_io, self.rep_range, self.activations))]
        if self.edit is not None:
            parts.append(inspect.getsource(self.edit))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]


# ---------------------------------------------------------------------------------------------
# conversion (cached)


def _tf_version() -> str:
    """TensorFlow's version without importing it (a warm cache then never loads TensorFlow)."""
    from importlib import metadata

    for dist in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


def _randomize(model, seed: int) -> None:
    """Non-trivial weights: biases and batch-norm statistics are zero/one by default."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        new = []
        for var in layer.weights:
            shape, name = tuple(var.shape), var.name
            if "variance" in name:
                new.append(rng.uniform(0.5, 1.5, shape))
            elif "bias" in name or "beta" in name or "mean" in name:
                new.append(rng.normal(0, 0.3, shape))
            elif "gamma" in name:
                new.append(rng.uniform(0.5, 1.5, shape))
            else:
                new.append(var.numpy())
        if new:
            layer.set_weights([np.asarray(w, np.float32) for w in new])


def convert(case: Case) -> Path:
    """The case's int8 .tflite (converted once, then read from the cache)."""
    path = CACHE_DIR / f"{case.name}-{case.key()}.tflite"
    if path.is_file():
        return path
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    model = case.build(**case.kwargs)
    _randomize(model, 0)
    shapes = [tuple(int(d) for d in t.shape) for t in model.inputs]
    names = [t.name.split(":")[0] for t in model.inputs]
    rng = np.random.default_rng(0)
    lo, hi = case.rep_range

    def representative():  # by input name: the converted graph orders its inputs its own way
        for _ in range(24):
            yield {name: rng.uniform(lo, hi, size=s).astype(np.float32) for name, s in zip(names, shapes, strict=True)}

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    if case.activations == "int16":
        ops_set, io_type = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, tf.int16
    else:
        ops_set, io_type = tf.lite.OpsSet.TFLITE_BUILTINS_INT8, tf.int8
    converter.target_spec.supported_ops = [ops_set]
    if not case.float_io:
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    if not case.per_channel:
        converter._experimental_disable_per_channel = True
    data = converter.convert()
    if case.edit is not None:
        data = _edit(data, case.edit)
    write_atomic(path, data)
    return path


def _edit(data: bytes, fn: Callable[[object], None]) -> bytes:
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(data), 0)
    fn(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def set_softmax_beta(model, beta: float = 0.37) -> None:
    """Flatbuffer edit: give every SOFTMAX a non-default beta (Keras always writes 1.0)."""
    for op in model.subgraphs[0].operators:
        opts = op.builtinOptions
        if opts is not None and type(opts).__name__ == "SoftmaxOptionsT":
            opts.beta = 0.37


# ---------------------------------------------------------------------------------------------
# builders (tf_keras); each returns an uncompiled model with batch size 1


def _k():
    import tf_keras

    return tf_keras


def conv(shape, filters, kernel, strides=1, padding="same", dilation=1, activation=None, bn=False):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(filters, kernel, strides=strides, padding=padding, dilation_rate=dilation,
                        use_bias=not bn)(inp)
    if bn:
        x = k.layers.BatchNormalization()(x)
    if activation:
        x = k.layers.Activation(activation)(x) if activation != "relu6" else k.layers.ReLU(6.0)(x)
    return k.Model(inp, x)


def depthwise(shape, kernel, strides=1, padding="same", dilation=1, multiplier=1, activation=None):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.DepthwiseConv2D(kernel, strides=strides, padding=padding, dilation_rate=dilation,
                                 depth_multiplier=multiplier)(inp)
    if activation:
        x = k.layers.ReLU(6.0)(x) if activation == "relu6" else k.layers.Activation(activation)(x)
    return k.Model(inp, x)


def dense(shape, units, activation=None):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Dense(units)(inp)
    if activation:
        x = k.layers.ReLU(6.0)(x) if activation == "relu6" else k.layers.Activation(activation)(x)
    return k.Model(inp, x)


def pool(shape, kind, size, strides, padding, relu=False):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    layer = k.layers.AveragePooling2D if kind == "avg" else k.layers.MaxPooling2D
    x = layer(size, strides=strides, padding=padding)(inp)
    if relu:
        x = k.layers.ReLU()(x)
    return k.Model(inp, x)


def mean(shape, keepdims=False, conv_first=True):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(shape[-1], 1)(inp) if conv_first else inp
    x = k.layers.GlobalAveragePooling2D(keepdims=keepdims)(x)
    return k.Model(inp, x)


def binary(kind, shape_a, shape_b, relu=False, const_b=False):
    """ADD or MUL of two model inputs (or of an input and a constant), numpy broadcasting."""
    k = _k()
    op = (lambda u, v: u + v) if kind == "add" else (lambda u, v: u * v)
    a = k.Input(shape_a[1:], batch_size=shape_a[0])
    if const_b:
        value = np.random.default_rng(1).uniform(-1, 1, shape_b).astype(np.float32)
        inputs, x = [a], k.layers.Lambda(lambda t: op(t, value))(a)
    else:
        b = k.Input(shape_b[1:], batch_size=shape_b[0])
        inputs, x = [a, b], k.layers.Lambda(lambda ts: op(ts[0], ts[1]))([a, b])
    if relu:
        x = k.layers.ReLU()(x)
    return k.Model(inputs, x)


def softmax(shape, dense_first=True):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Dense(shape[-1])(inp) if dense_first else inp
    x = k.layers.Softmax()(x)
    return k.Model(inp, x)


def pad(shape, paddings):
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Lambda(lambda t: tf.pad(t, paddings))(inp)
    return k.Model(inp, x)


def zero_pad_conv(shape, padding):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.ZeroPadding2D(padding)(inp)
    x = k.layers.Conv2D(4, 3, strides=2)(x)
    return k.Model(inp, x)


def concat(shape, axis, branches=2, rescale=True):
    """Concatenation of branches with different ranges (the converter may add QUANTIZE ops)."""
    k = _k()
    inp = k.Input(shape, batch_size=1)
    outs = []
    for i in range(branches):
        ch = 2 + i if axis == -1 else 2
        y = k.layers.Conv2D(ch, 1)(inp) if len(shape) == 3 else k.layers.Dense(ch + 1)(inp)
        if rescale:
            y = k.layers.Lambda(lambda t, s=float(1 + 2 * i): t * s)(y)
        outs.append(y)
    x = k.layers.Concatenate(axis=axis)(outs)
    return k.Model(inp, x)


def activation(kind, shape=(256,)):
    """One elementwise activation straight on the model input (tested on all 256 input bytes)."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    fns = {
        "logistic": lambda t: k.layers.Activation("sigmoid")(t),
        "tanh": lambda t: k.layers.Activation("tanh")(t),
        "relu": lambda t: k.layers.ReLU()(t),
        "relu6": lambda t: k.layers.ReLU(6.0)(t),
        "leaky_relu": lambda t: k.layers.LeakyReLU(0.15)(t),
        "leaky_relu_neg": lambda t: k.layers.LeakyReLU(-0.4)(t),
        "hard_swish": lambda t: k.layers.Lambda(lambda v: v * tf.nn.relu6(v + 3.0) / 6.0)(t),
    }
    return k.Model(inp, fns[kind](inp))


def float_io_dense(shape, units):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Dense(units, activation="relu")(inp)
    x = k.layers.Dense(units)(x)
    return k.Model(inp, x)


def reshape(shape):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(2, 3, padding="same")(inp)
    x = k.layers.Reshape((shape[0] * shape[1] // 2, 4))(x)
    x = k.layers.Dense(3)(x)
    x = k.layers.Flatten()(x)
    return k.Model(inp, x)


def to_vector(shape):
    """Conv to 1x1xC then a reshape to a vector (edited into SQUEEZE by ``reshape_to_squeeze``)."""
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(5, shape[:2], padding="valid")(inp)
    x = k.layers.Reshape((5,))(x)
    return k.Model(inp, x)


def reshape_to_squeeze(model) -> None:
    """Flatbuffer edit: turn every RESHAPE into SQUEEZE(dims 1, 2) (the converter never emits SQUEEZE)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.SQUEEZE
    code.version = 1
    model.operatorCodes.append(code)
    index = len(model.operatorCodes) - 1
    for op in model.subgraphs[0].operators:
        opcode = model.operatorCodes[op.opcodeIndex]
        if max(opcode.builtinCode, opcode.deprecatedBuiltinCode) == schema.BuiltinOperator.RESHAPE:
            op.opcodeIndex = index
            op.inputs = [op.inputs[0]]
            op.builtinOptionsType = schema.BuiltinOptions.SqueezeOptions
            op.builtinOptions = schema.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [1, 2]


def mean_same_quantization(model) -> None:
    """Flatbuffer edit: give MEAN's output its input's quantization (TFLM's truncating-mean path)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    sub = model.subgraphs[0]
    for op in sub.operators:
        if model.operatorCodes[op.opcodeIndex].builtinCode == schema.BuiltinOperator.MEAN:
            src, dst = sub.tensors[op.inputs[0]].quantization, sub.tensors[op.outputs[0]].quantization
            dst.scale, dst.zeroPoint = list(src.scale), list(src.zeroPoint)


def relu_to_quantize(model) -> None:
    """Flatbuffer edit: turn every RELU into an int8 -> int8 QUANTIZE between the same two grids."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    for code in model.operatorCodes:
        if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.RELU:
            code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.QUANTIZE


def concat_rescaled_input(shape):
    """The model input concatenated with a rescaled copy of itself (shared-scale constraint)."""
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Concatenate()([inp, k.layers.Lambda(lambda t: t * 4.0)(inp)])
    return k.Model(inp, x)


def small_cnn(shape, classes=5):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(8, 3, strides=2, padding="same", use_bias=False)(inp)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU()(x)
    x = k.layers.DepthwiseConv2D(3, padding="same")(x)
    x = k.layers.ReLU(6.0)(x)
    x = k.layers.Conv2D(12, 1)(x)
    x = k.layers.MaxPooling2D(2)(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Dense(classes)(x)
    x = k.layers.Softmax()(x)
    return k.Model(inp, x)


def residual(shape):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(shape[-1], 3, padding="same", activation="relu")(inp)
    y = k.layers.Conv2D(shape[-1], 3, padding="same")(x)
    x = k.layers.Add()([x, y])
    x = k.layers.ReLU()(x)
    x = k.layers.AveragePooling2D(2)(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(4)(x)
    return k.Model(inp, x)


def mobilenet_v3_block(shape):
    """Hard-swish, squeeze-excite (mean, dense, hard-sigmoid, broadcast MUL), residual ADD."""
    import tensorflow as tf

    k = _k()
    inp = k.Input(shape, batch_size=1)
    c = shape[-1]
    x = k.layers.Conv2D(2 * c, 1)(inp)
    x = k.layers.Lambda(lambda v: v * tf.nn.relu6(v + 3.0) / 6.0)(x)
    x = k.layers.DepthwiseConv2D(3, padding="same")(x)
    s = k.layers.GlobalAveragePooling2D(keepdims=True)(x)
    s = k.layers.Conv2D(4, 1, activation="relu")(s)
    s = k.layers.Conv2D(2 * c, 1)(s)
    s = k.layers.Lambda(lambda v: tf.nn.relu6(v + 3.0) / 6.0)(s)
    x = k.layers.Multiply()([x, s])
    x = k.layers.Conv2D(c, 1)(x)
    x = k.layers.Add()([x, inp])
    x = k.layers.Activation("tanh")(x)
    return k.Model(inp, x)


def kws_like(shape):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    x = k.layers.Conv2D(16, (5, 3), strides=2, padding="same", activation="relu")(inp)
    x = k.layers.DepthwiseConv2D(3, padding="same", activation="relu")(x)
    x = k.layers.Conv2D(16, 1, activation="relu")(x)
    x = k.layers.Dropout(0.1)(x)
    x = k.layers.AveragePooling2D(pool_size=(x.shape[1], x.shape[2]))(x)
    x = k.layers.Flatten()(x)
    x = k.layers.Dense(6)(x)
    x = k.layers.Softmax()(x)
    return k.Model(inp, x)


def batch_two(shape):
    """Batch 2 through conv, pooling, mean, dense and softmax."""
    k = _k()
    inp = k.Input(shape, batch_size=2)
    x = k.layers.Conv2D(6, 3, padding="same", activation="relu")(inp)
    x = k.layers.AveragePooling2D(2)(x)
    x = k.layers.DepthwiseConv2D(3, padding="same")(x)
    x = k.layers.MaxPooling2D(2, padding="same")(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    x = k.layers.Dense(5)(x)
    x = k.layers.Softmax()(x)
    return k.Model(inp, x)


def two_outputs(shape):
    """Two model outputs (logits and probabilities) from two inputs."""
    k = _k()
    a = k.Input(shape, batch_size=1)
    b = k.Input(shape, batch_size=1)
    x = k.layers.Concatenate()([k.layers.Dense(6)(a), k.layers.Dense(6)(b)])
    logits = k.layers.Dense(4)(x)
    return k.Model([a, b], [logits, k.layers.Softmax()(logits)])


def leaky_concat_pad(shape):
    k = _k()
    inp = k.Input(shape, batch_size=1)
    a = k.layers.Conv2D(3, 3, padding="same")(inp)
    a = k.layers.LeakyReLU(0.2)(a)
    b = k.layers.MaxPooling2D(3, strides=1, padding="same")(inp)
    x = k.layers.Concatenate()([a, b])
    x = k.layers.ZeroPadding2D(((1, 0), (0, 2)))(x)
    x = k.layers.Conv2D(4, 3, strides=(2, 1))(x)
    x = k.layers.Activation("sigmoid")(x)
    return k.Model(inp, x)


# ---------------------------------------------------------------------------------------------
# the zoo


def _cases() -> list[Case]:
    c = Case
    return [
        # CONV_2D: padding, strides, dilation, activations, per-tensor/per-channel, odd/prime sizes
        c("conv3x3_same_relu", conv, dict(shape=(9, 9, 3), filters=8, kernel=3, activation="relu"), ("CONV_2D",)),
        c("conv3x3_valid_s2_pt", conv, dict(shape=(11, 13, 2), filters=5, kernel=3, strides=2, padding="valid"),
          ("CONV_2D",), per_channel=False),
        c("conv5x5_same_s2_relu6", conv, dict(shape=(7, 7, 5), filters=3, kernel=5, strides=2,
                                              activation="relu6"), ("CONV_2D",)),
        c("conv1x1_relu_bn", conv, dict(shape=(6, 6, 16), filters=7, kernel=1, activation="relu", bn=True),
          ("CONV_2D",)),
        c("conv3x3_dil2_same", conv, dict(shape=(10, 10, 3), filters=4, kernel=3, dilation=2), ("CONV_2D",)),
        c("conv2x3_dil23_valid_pt", conv, dict(shape=(12, 13, 2), filters=3, kernel=(2, 3), dilation=(2, 3),
                                               padding="valid"), ("CONV_2D",), per_channel=False),
        c("conv7x7_valid_prime", conv, dict(shape=(13, 11, 1), filters=2, kernel=7, padding="valid",
                                            activation="relu"), ("CONV_2D",)),
        c("conv1x5_s12_same", conv, dict(shape=(5, 17, 3), filters=6, kernel=(1, 5), strides=(1, 2)),
          ("CONV_2D",)),
        c("conv3x3_s3_same_pt_relu6", conv, dict(shape=(10, 8, 4), filters=5, kernel=3, strides=3,
                                                 activation="relu6"), ("CONV_2D",), per_channel=False),
        # DEPTHWISE_CONV_2D
        c("dw3x3_same_relu6", depthwise, dict(shape=(8, 8, 8), kernel=3, activation="relu6"),
          ("DEPTHWISE_CONV_2D",)),
        c("dw3x3_valid_s2_mult2_pt", depthwise, dict(shape=(9, 9, 3), kernel=3, strides=2, padding="valid",
                                                     multiplier=2), ("DEPTHWISE_CONV_2D",), per_channel=False),
        c("dw5x5_dil2_relu", depthwise, dict(shape=(10, 10, 4), kernel=5, dilation=2, activation="relu"),
          ("DEPTHWISE_CONV_2D",)),
        c("dw1x1_mult3", depthwise, dict(shape=(5, 7, 2), kernel=1, multiplier=3), ("DEPTHWISE_CONV_2D",)),
        c("dw3x5_s2_same_odd", depthwise, dict(shape=(11, 7, 5), kernel=(3, 5), strides=2),
          ("DEPTHWISE_CONV_2D",)),
        # FULLY_CONNECTED
        c("fc_prime_relu", dense, dict(shape=(37,), units=13, activation="relu"), ("FULLY_CONNECTED",)),
        c("fc_keep_num_dims", dense, dict(shape=(5, 12), units=7), ("FULLY_CONNECTED",)),
        c("fc_pt_relu6", dense, dict(shape=(64,), units=10, activation="relu6"), ("FULLY_CONNECTED",),
          per_channel=False),
        # pooling
        c("avgpool2_valid", pool, dict(shape=(8, 8, 3), kind="avg", size=2, strides=2, padding="valid"),
          ("AVERAGE_POOL_2D",)),
        c("avgpool3_s2_same_odd", pool, dict(shape=(9, 7, 4), kind="avg", size=3, strides=2, padding="same"),
          ("AVERAGE_POOL_2D",)),
        c("avgpool_relu", pool, dict(shape=(6, 6, 2), kind="avg", size=(2, 3), strides=(1, 2),
                                     padding="same", relu=True), ("AVERAGE_POOL_2D",)),
        c("maxpool3_s1_same", pool, dict(shape=(7, 7, 5), kind="max", size=3, strides=1, padding="same"),
          ("MAX_POOL_2D",)),
        c("maxpool2_valid_odd", pool, dict(shape=(9, 9, 3), kind="max", size=2, strides=2, padding="valid"),
          ("MAX_POOL_2D",)),
        # MEAN
        c("mean_hw", mean, dict(shape=(5, 5, 8)), ("MEAN",)),
        c("mean_hw_keepdims", mean, dict(shape=(6, 3, 4), keepdims=True), ("MEAN",)),
        c("mean_hw_input", mean, dict(shape=(7, 9, 3), conv_first=False), ("MEAN",)),
        c("mean_same_quant", mean, dict(shape=(4, 5, 6)), ("MEAN",), edit=mean_same_quantization),
        c("mean_same_quant_keepdims", mean, dict(shape=(3, 3, 4), keepdims=True), ("MEAN",),
          edit=mean_same_quantization),
        # ADD / MUL with broadcasting
        c("add_same", binary, dict(kind="add", shape_a=(1, 4, 5, 3), shape_b=(1, 4, 5, 3)), ("ADD",)),
        c("add_bcast_channel", binary, dict(kind="add", shape_a=(1, 4, 4, 3), shape_b=(1, 1, 1, 3)), ("ADD",)),
        c("add_bcast_hw", binary, dict(kind="add", shape_a=(1, 4, 1, 3), shape_b=(1, 1, 5, 3), relu=True),
          ("ADD",)),
        c("add_const_2d", binary, dict(kind="add", shape_a=(1, 7), shape_b=(7,), const_b=True), ("ADD",)),
        c("add_all_pairs", binary, dict(kind="add", shape_a=(1, 256, 1), shape_b=(1, 1, 32)), ("ADD",),
          exhaustive=True),
        c("mul_all_pairs", binary, dict(kind="mul", shape_a=(1, 256, 1), shape_b=(1, 1, 32)), ("MUL",),
          exhaustive=True),
        c("mul_same", binary, dict(kind="mul", shape_a=(1, 3, 3, 5), shape_b=(1, 3, 3, 5)), ("MUL",)),
        c("mul_bcast_channel", binary, dict(kind="mul", shape_a=(1, 6, 6, 4), shape_b=(1, 1, 1, 4)), ("MUL",)),
        c("mul_bcast_rows", binary, dict(kind="mul", shape_a=(1, 5, 6), shape_b=(1, 5, 1)), ("MUL",)),
        c("mul_const", binary, dict(kind="mul", shape_a=(1, 2, 3, 4), shape_b=(3, 1), const_b=True), ("MUL",)),
        # SOFTMAX
        c("softmax_2d", softmax, dict(shape=(10,)), ("SOFTMAX",)),
        c("softmax_4d", softmax, dict(shape=(3, 4, 10)), ("SOFTMAX",)),
        c("softmax_wide_input", softmax, dict(shape=(33,), dense_first=False), ("SOFTMAX",), rep_range=(-12, 9)),
        c("softmax_beta", softmax, dict(shape=(17,)), ("SOFTMAX",), edit=set_softmax_beta),
        # PAD / CONCATENATION
        c("pad_hw", zero_pad_conv, dict(shape=(5, 5, 3), padding=((1, 2), (3, 0))), ("PAD",)),
        c("pad_channels", pad, dict(shape=(4, 3, 2), paddings=[[0, 0], [1, 0], [0, 0], [1, 2]]), ("PAD",)),
        c("concat_channels", concat, dict(shape=(4, 4, 3), axis=-1), ("CONCATENATION",)),
        c("concat_h_three", concat, dict(shape=(3, 5, 2), axis=1, branches=3), ("CONCATENATION",)),
        c("concat_2d", concat, dict(shape=(6,), axis=-1, rescale=False), ("CONCATENATION",)),
        # elementwise activations, every int8 input value
        *[c(f"act_{kind}", activation, dict(kind=kind), (op,), rep_range=rng, exhaustive=True)
          for kind, op, rng in (("logistic", "LOGISTIC", (-6, 5)), ("tanh", "TANH", (-3, 4)),
                                ("relu", "RELU", (-2, 5)), ("relu6", "RELU6", (-3, 9)),
                                ("leaky_relu", "LEAKY_RELU", (-4, 3)), ("leaky_relu_neg", "LEAKY_RELU", (-2, 2)),
                                ("hard_swish", "HARD_SWISH", (-5, 6)))],
        c("requantize_int8", activation, dict(kind="relu"), ("QUANTIZE",), rep_range=(-2, 5), exhaustive=True,
          edit=relu_to_quantize),
        # float model I/O: QUANTIZE at the input, DEQUANTIZE at the output
        c("float_io_dense", float_io_dense, dict(shape=(20,), units=9), ("QUANTIZE", "DEQUANTIZE"), float_io=True),
        c("float_io_softmax", softmax, dict(shape=(12,)), ("QUANTIZE", "SOFTMAX", "DEQUANTIZE"), float_io=True),
        # RESHAPE / SQUEEZE and multi-op models
        c("reshape", reshape, dict(shape=(4, 6, 3)), ("RESHAPE", "FULLY_CONNECTED")),
        c("squeeze", to_vector, dict(shape=(3, 3, 2)), ("SQUEEZE",), edit=reshape_to_squeeze),
        c("concat_rescaled_input", concat_rescaled_input, dict(shape=(7,)), ("CONCATENATION",)),
        c("small_cnn", small_cnn, dict(shape=(12, 12, 3)), ("CONV_2D", "DEPTHWISE_CONV_2D", "MEAN", "SOFTMAX")),
        c("residual", residual, dict(shape=(6, 6, 4)), ("ADD", "AVERAGE_POOL_2D", "FULLY_CONNECTED")),
        c("mobilenet_v3_block", mobilenet_v3_block, dict(shape=(6, 6, 4)), ("HARD_SWISH", "MUL", "MEAN", "ADD")),
        c("kws_like", kws_like, dict(shape=(25, 10, 1)), ("CONV_2D", "DEPTHWISE_CONV_2D", "SOFTMAX")),
        c("batch_two", batch_two, dict(shape=(8, 6, 3)), ("CONV_2D", "AVERAGE_POOL_2D", "MEAN", "SOFTMAX")),
        c("two_outputs", two_outputs, dict(shape=(9,)), ("CONCATENATION", "SOFTMAX")),
        c("leaky_concat_pad", leaky_concat_pad, dict(shape=(7, 6, 2)),
          ("LEAKY_RELU", "CONCATENATION", "PAD", "LOGISTIC")),
    ]


CASES: list[Case] = _cases()
CASES_BY_NAME = {case.name: case for case in CASES}

# Every op of the code generator issue: the zoo must contain each in at least one model.
ISSUE_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "ADD", "MUL",
             "RESHAPE", "SQUEEZE", "SOFTMAX", "MEAN", "PAD", "CONCATENATION", "LOGISTIC", "TANH", "RELU", "RELU6",
             "LEAKY_RELU", "HARD_SWISH", "QUANTIZE", "DEQUANTIZE")


# ---------------------------------------------------------------------------------------------
# the larger randomized sweep (marked slow in the tests)


def _rand_shape(rng, rank: int, lo: int = 1, hi: int = 6) -> tuple[int, ...]:
    return tuple(rng.randint(lo, hi) for _ in range(rank))


def _sweep_case(rng, i: int) -> Case:
    kind = ("pool", "binary", "softmax", "pad", "concat", "mean", "conv", "depthwise")[i % 8]
    h, w, ch = rng.randint(3, 12), rng.randint(3, 12), rng.randint(1, 6)
    pc = rng.random() < 0.5
    if kind == "pool":
        padding = rng.choice(("same", "valid"))
        size = (rng.randint(1, min(4, h)), rng.randint(1, min(4, w)))
        args = dict(shape=(h, w, ch), kind=rng.choice(("avg", "max")), size=size,
                    strides=(rng.randint(1, 3), rng.randint(1, 3)), padding=padding, relu=rng.random() < 0.3)
        return Case(f"sweep{i}_pool", pool, args, ("AVERAGE_POOL_2D",) if args["kind"] == "avg" else ("MAX_POOL_2D",))
    if kind == "binary":
        rank = rng.randint(2, 4)
        base = (1, *_rand_shape(rng, rank - 1, 1, 5))
        a = tuple(d if rng.random() < 0.7 else 1 for d in base)
        b = tuple(d if rng.random() < 0.7 else 1 for d in base)
        op = rng.choice(("add", "mul"))
        return Case(f"sweep{i}_{op}", binary, dict(kind=op, shape_a=a, shape_b=b, relu=rng.random() < 0.3),
                    (op.upper(),))
    if kind == "softmax":
        shape = (*_rand_shape(rng, rng.randint(0, 2), 1, 4), rng.randint(2, 40))
        return Case(f"sweep{i}_softmax", softmax, dict(shape=shape, dense_first=rng.random() < 0.5), ("SOFTMAX",),
                    rep_range=(-rng.uniform(1, 10), rng.uniform(1, 10)))
    if kind == "pad":
        pads = [[0, 0]] + [[rng.randint(0, 3), rng.randint(0, 3)] for _ in range(3)]
        return Case(f"sweep{i}_pad", pad, dict(shape=(h, w, ch), paddings=pads), ("PAD",))
    if kind == "concat":
        axis = rng.choice((1, 2, -1))
        return Case(f"sweep{i}_concat", concat, dict(shape=(h, w, ch), axis=axis, branches=rng.randint(2, 4),
                                                     rescale=rng.random() < 0.5), ("CONCATENATION",))
    if kind == "mean":
        return Case(f"sweep{i}_mean", mean, dict(shape=(h, w, ch), keepdims=rng.random() < 0.5,
                                                 conv_first=rng.random() < 0.7), ("MEAN",))
    kernel = (rng.randint(1, min(5, h)), rng.randint(1, min(5, w)))
    dilation = rng.choice((1, 1, 2)) if max(kernel) * 2 <= min(h, w) else 1
    strides = 1 if dilation > 1 else (rng.randint(1, 3), rng.randint(1, 3))
    act = rng.choice((None, "relu", "relu6"))
    padding = rng.choice(("same", "valid"))
    if kind == "conv":
        args = dict(shape=(h, w, ch), filters=rng.randint(1, 9), kernel=kernel, strides=strides, padding=padding,
                    dilation=dilation, activation=act)
        return Case(f"sweep{i}_conv", conv, args, ("CONV_2D",), per_channel=pc)
    args = dict(shape=(h, w, ch), kernel=kernel, strides=strides, padding=padding, dilation=dilation,
                multiplier=rng.randint(1, 3), activation=act)
    return Case(f"sweep{i}_depthwise", depthwise, args, ("DEPTHWISE_CONV_2D",), per_channel=pc)


def sweep_cases(n: int = 48, seed: int = 20261121) -> list[Case]:
    import random

    rng = random.Random(seed)
    return [_sweep_case(rng, i) for i in range(n)]


SWEEP_CASES: list[Case] = sweep_cases()
CASES_BY_NAME.update({case.name: case for case in SWEEP_CASES})


def exhaustive_inputs(sizes: list[int]) -> list[bytes]:
    """Blobs that feed every byte value to each int8 input; with a 256-element input 0 broadcast
    against input 1, every pair of values meets once (ADD/MUL all-pairs cases)."""
    count = max((256 + n - 1) // n for n in sizes)
    return [b"".join(bytes((j * n + t) % 256 for t in range(n)) for n in sizes) for j in range(count)]


# ---------------------------------------------------------------------------------------------
# checking a case against the reference runtime

RANDOM_INPUTS = 16


def graph_of(case: Case):
    from tinykit.ir import read_model

    return read_model(convert(case))


def case_inputs(case: Case, path: Path) -> list[bytes]:
    """Seeded random inputs, plus every byte value for ``exhaustive`` cases and rounding ties for
    float-input cases."""
    from tinykit import oracle

    seed = zlib.crc32(case.name.encode())
    blobs = oracle.random_inputs(path, RANDOM_INPUTS, seed=seed)
    if case.exhaustive:
        blobs = exhaustive_inputs([spec.nbytes for spec in oracle.input_specs(path)]) + blobs
    if case.float_io:
        blobs += _rounding_tie_inputs(path)
    return blobs


def _rounding_tie_inputs(path: Path) -> list[bytes]:
    """Float inputs at and next to the half-way points of the input QUANTIZE's grid (round half away).

    Values with |x / scale| >= 2^31 are left out: TFLM's float -> int32 cast is undefined there
    (the x86 oracle yields INT32_MIN, hence -128, for a huge positive input; tinykit saturates).
    """
    graph = read_path(path)
    quant = next(op for op in graph.operators if op.opcode == "QUANTIZE")
    scale = np.float32(graph.tensors[quant.outputs[0]].scale)
    k = np.arange(-140, 140, dtype=np.float32) + np.float32(0.5)
    ties = (k * scale).astype(np.float32)
    values = np.concatenate([ties, np.nextafter(ties, np.float32(np.inf)), np.nextafter(ties, np.float32(-np.inf)),
                             np.array([0.0, -0.0, 1e6, -1e6], np.float32)])
    values = values[np.abs(values.astype(np.float64) / float(scale)) < 2.0**31]  # 1e6 overflows an int16 grid
    n = graph.tensors[graph.inputs[0]].num_elements
    values = np.resize(values, ((values.size + n - 1) // n) * n).astype(np.float32)
    return [chunk.tobytes() for chunk in values.reshape(-1, n)]


def read_path(path: Path):
    from tinykit.ir import read_model

    return read_model(path)


def check_bit_exact(case: Case, dsp_emulate: bool = False, defines: tuple[str, ...] = ()) -> None:
    """Convert (cached), check the intended ops are there, generate, compile and compare every
    output byte with the tflite-micro runtime on the case's inputs; AssertionError on a difference.
    ``dsp_emulate`` / ``defines`` select the kernels' build (see tinykit.verify.load_host_model)."""
    from tinykit import oracle
    from tinykit.verify import load_host_model

    name = case.name
    path = convert(case)
    graph = graph_of(case)
    ops = {op.opcode for op in graph.operators}
    assert set(case.expect) <= ops, f"{name}: converter produced {sorted(ops)}, expected {case.expect}"
    host, _ = load_host_model(path, dsp_emulate, defines=defines)
    # a stateful model (LSTM/SVDF) runs the inputs as a sequence, a reset, then the sequence again
    steps = oracle.sequence_steps(case_inputs(case, path), oracle.is_stateful(path))
    refs = oracle.run_steps(path, steps)
    for k, (ours, ref) in enumerate(zip(host.run_steps(steps), refs, strict=True)):
        for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
            if a != b:
                diff = np.nonzero(np.frombuffer(a, np.uint8) != np.frombuffer(b, np.uint8))[0]
                raise AssertionError(f"{name}: input {k} output {i}: {len(diff)} bytes differ, first at byte {diff[0]}")


# ---------------------------------------------------------------------------------------------
# one op under other quantizations (flatbuffer edits of a converted case)


def requantize_first_op(quant: list[tuple[float, int]], options: dict | None = None, op_index: int = 0):
    """Flatbuffer edit: give op ``op_index``'s inputs and output (in that order) the ``(scale, zero
    point)`` pairs of ``quant`` and set builtin option attributes (e.g. ``fusedActivationFunction``)."""

    def edit(model) -> None:
        sub = model.subgraphs[0]
        op = sub.operators[op_index]
        tensors = [*op.inputs[:len(quant) - 1], op.outputs[0]]
        for index, (scale, zp) in zip(tensors, quant, strict=True):
            sub.tensors[index].quantization.scale = [scale]
            sub.tensors[index].quantization.zeroPoint = [zp]
        for name, value in (options or {}).items():
            setattr(op.builtinOptions, name, value)

    return edit


def check_requantized(case: Case, edit, path: Path, blobs_for=None, n_random: int = 6, seed: int = 0) -> bool:
    """Write ``case`` edited by ``edit`` to ``path`` and compare generated C with the runtime on
    ``blobs_for(sizes)`` (default: random inputs). Returns False when tinykit refuses the model and
    TFLM refuses it too (the only acceptable refusal); AssertionError on any difference."""
    from tinykit import oracle
    from tinykit.errors import ModelFormatError, UnsupportedOpError
    from tinykit.verify import load_host_model

    path.write_bytes(_edit(convert(case).read_bytes(), edit))
    try:
        host, _ = load_host_model(path)
    except UnsupportedOpError as err:
        try:
            oracle.reference_outputs(path, oracle.random_inputs(path, 1))
        except ModelFormatError:
            return False
        raise AssertionError(f"{case.name}: tinykit refuses what TFLM runs: {err}") from None
    sizes = host.input_sizes
    blobs = blobs_for(sizes) if blobs_for else oracle.random_inputs(path, n_random, seed=seed)
    for k, (blob, ref) in enumerate(zip(blobs, oracle.reference_outputs(path, blobs), strict=True)):
        parts, offset = [], 0
        for size in sizes:
            parts.append(blob[offset:offset + size])
            offset += size
        ours = host.run(parts)
        if ours != ref:
            raise AssertionError(f"{case.name}: input {k} differs from TFLM")
    return True
