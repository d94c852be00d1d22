"""Model builders of the math stream's tests (binary arithmetic, comparisons, reductions): Keras
builders for ``opzoo.Case``, flatbuffer edits for what TFLite's converter cannot produce, and
``tf_function_model`` for graphs with int32/bool tensors (no quantization), converted once and cached.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path

import numpy as np
import opzoo

from tinykit.files import write_atomic


def tf_function_model(fn: Callable, signature: list[tuple[tuple[int, ...], str]], name: str) -> Path:
    """Convert ``fn`` (TF ops on tensors of ``signature``: (shape, dtype) per input) without
    quantization through ``TFLiteConverter.from_concrete_functions``; cached like the op zoo."""
    key = hashlib.sha256("\n".join([opzoo.CACHE_VERSION, opzoo._tf_version(), inspect.getsource(fn),
                                     inspect.getsource(tf_function_model), repr(signature)]).encode())
    path = opzoo.CACHE_DIR / f"{name}-{key.hexdigest()[:20]}.tflite"
    if path.is_file():
        return path
    import tensorflow as tf

    specs = [tf.TensorSpec(shape, getattr(tf, dtype)) for shape, dtype in signature]
    function = tf.function(lambda *args: fn(tf, *args), input_signature=specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    data = converter.convert()
    write_atomic(path, data)
    return path


TF_OPS = {
    "add": ("ADD", lambda tf, x, y: tf.add(x, y)),
    "sub": ("SUB", lambda tf, x, y: tf.subtract(x, y)),
    "rsub": ("SUB", lambda tf, x, y: tf.subtract(y, x)),
    "mul": ("MUL", lambda tf, x, y: tf.multiply(x, y)),
    "sqdiff": ("SQUARED_DIFFERENCE", lambda tf, x, y: tf.math.squared_difference(x, y)),
    "max": ("MAXIMUM", lambda tf, x, y: tf.maximum(x, y)),
    "min": ("MINIMUM", lambda tf, x, y: tf.minimum(x, y)),
    "div": ("DIV", lambda tf, x, y: tf.math.divide(x, y)),
    "sub_relu": ("SUB", lambda tf, x, y: tf.nn.relu(x - y)),
    "add_relu6": ("ADD", lambda tf, x, y: tf.nn.relu6(x + y)),
}


def arith(ops, shape_a, shape_b, const_b=False):
    """One output per op in ``ops`` (keys of TF_OPS) of input a and input b (or a constant b)."""
    import tensorflow as tf

    k = opzoo._k()
    a = k.Input(shape_a[1:], batch_size=shape_a[0])
    outs = []
    if const_b:
        value = np.random.default_rng(1).uniform(-1, 1, shape_b).astype(np.float32)
        for name in ops:
            fn = TF_OPS[name][1]
            outs.append(k.layers.Lambda(lambda t, fn=fn: fn(tf, t, tf.constant(value)))(a))
        return k.Model(a, outs)
    b = k.Input(shape_b[1:], batch_size=shape_b[0])
    for name in ops:
        fn = TF_OPS[name][1]
        outs.append(k.layers.Lambda(lambda ts, fn=fn: fn(tf, ts[0], ts[1]))([a, b]))
    return k.Model([a, b], outs)


def add_chain(shape, count):
    """``count`` inputs summed by a chain of ADDs (edited into one ADD_N by ``adds_to_add_n``: TFLite's
    quantizer leaves tf.math.add_n in float, TFLM runs it in int8)."""
    k = opzoo._k()
    inputs = [k.Input(shape, batch_size=1) for _ in range(count)]
    return k.Model(inputs, k.layers.Add()(inputs))


def adds_to_add_n(model) -> None:
    """Flatbuffer edit: the chain of ADDs over the graph inputs becomes one ADD_N of all of them,
    every input carrying the first input's quantization (TFLM's ADD_N requires one)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    sub = model.subgraphs[0]
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.ADD_N
    code.version = 1
    model.operatorCodes.append(code)
    first = sub.tensors[sub.inputs[0]].quantization
    for index in sub.inputs:
        sub.tensors[index].quantization.scale = list(first.scale)
        sub.tensors[index].quantization.zeroPoint = list(first.zeroPoint)
    op = sub.operators[0]
    op.opcodeIndex = len(model.operatorCodes) - 1
    op.inputs = list(sub.inputs)
    op.outputs = list(sub.outputs)
    op.builtinOptionsType = schema.BuiltinOptions.AddNOptions
    op.builtinOptions = schema.AddNOptionsT()
    sub.operators = [op]


def prelu_to_int16(model) -> None:
    """Flatbuffer edit: a converted int8 PRELU becomes 16x8 (int16 input and output, zero points 0,
    the int8 alpha kept): TFLite's converter has no 16x8 PRELU, TFLM runs one."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    sub = model.subgraphs[0]
    for index in (*sub.inputs, *sub.outputs):
        t = sub.tensors[index]
        t.type = schema.TensorType.INT16
        t.quantization.scale = [float(np.float32(t.quantization.scale[0] / 200.0))]
        t.quantization.zeroPoint = [0]


def add_sub_to_max_min(model) -> None:
    """Flatbuffer edit: every ADD becomes MAXIMUM and every SUB MINIMUM (TFLM compares the stored
    values whatever their quantization; Keras' own int16 MAXIMUM needs int16 requantizations)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    ops = schema.BuiltinOperator
    for code in model.operatorCodes:
        new = {ops.ADD: ops.MAXIMUM, ops.SUB: ops.MINIMUM}.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if new is not None:
            code.builtinCode = code.deprecatedBuiltinCode = new
    for op in model.subgraphs[0].operators:
        if op.builtinOptionsType in (schema.BuiltinOptions.AddOptions, schema.BuiltinOptions.SubOptions):
            op.builtinOptionsType = schema.BuiltinOptions.MaximumMinimumOptions
            op.builtinOptions = schema.MaximumMinimumOptionsT()


CMP_OPS = {
    "eq": ("EQUAL", lambda tf, x, y: tf.equal(x, y)),
    "ne": ("NOT_EQUAL", lambda tf, x, y: tf.not_equal(x, y)),
    "lt": ("LESS", lambda tf, x, y: tf.less(x, y)),
    "le": ("LESS_EQUAL", lambda tf, x, y: tf.less_equal(x, y)),
    "gt": ("GREATER", lambda tf, x, y: tf.greater(x, y)),
    "ge": ("GREATER_EQUAL", lambda tf, x, y: tf.greater_equal(x, y)),
}


def compare(ops, shape_a, shape_b, const_b=False):
    """One bool output per comparison in ``ops`` (keys of CMP_OPS) of input a and input b (or a
    constant b)."""
    import tensorflow as tf

    k = opzoo._k()
    a = k.Input(shape_a[1:], batch_size=shape_a[0])
    if const_b:
        value = np.random.default_rng(2).uniform(-1, 1, shape_b).astype(np.float32)
        outs = [k.layers.Lambda(lambda t, fn=CMP_OPS[n][1]: fn(tf, t, tf.constant(value)))(a) for n in ops]
        return k.Model(a, outs)
    b = k.Input(shape_b[1:], batch_size=shape_b[0])
    outs = [k.layers.Lambda(lambda ts, fn=CMP_OPS[n][1]: fn(tf, ts[0], ts[1]))([a, b]) for n in ops]
    return k.Model([a, b], outs)


def retype_activations(model, dtype: str = "INT16", divisor: float = 200.0) -> None:
    """Flatbuffer edit: every non-constant int8 tensor becomes ``dtype`` with zero point 0 and its
    scale divided by ``divisor`` (bool tensors untouched): a 16x8 version of a converted int8 graph
    for ops TFLite's converter has no 16x8 mode for."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    sub = model.subgraphs[0]
    for t in sub.tensors:
        if t.type != schema.TensorType.INT8 or model.buffers[t.buffer].data is not None:
            continue
        t.type = getattr(schema.TensorType, dtype)
        if t.quantization is not None and t.quantization.scale is not None:
            t.quantization.scale = [float(np.float32(s / divisor)) for s in t.quantization.scale]
            t.quantization.zeroPoint = [0] * len(t.quantization.scale)


def int16_activations(model) -> None:
    retype_activations(model)


def less_greater_to_equal(model) -> None:
    """Flatbuffer edit: LESS becomes EQUAL and GREATER NOT_EQUAL (TFLite's quantizer leaves int8
    EQUAL/NOT_EQUAL in float; TFLM runs them on int8 with the same input rescaling as LESS)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    ops = schema.BuiltinOperator
    table = {ops.LESS: (ops.EQUAL, "EqualOptions"), ops.GREATER: (ops.NOT_EQUAL, "NotEqualOptions")}
    for code in model.operatorCodes:
        new = table.get(max(code.builtinCode, code.deprecatedBuiltinCode))
        if new is not None:
            code.builtinCode = code.deprecatedBuiltinCode = new[0]
    for op in model.subgraphs[0].operators:
        if op.builtinOptionsType in (schema.BuiltinOptions.LessOptions, schema.BuiltinOptions.GreaterOptions):
            name = "EqualOptions" if op.builtinOptionsType == schema.BuiltinOptions.LessOptions else "NotEqualOptions"
            op.builtinOptionsType = getattr(schema.BuiltinOptions, name)
            op.builtinOptions = getattr(schema, f"{name}T")()


def condition_as_input(model) -> None:
    """Flatbuffer edit: the comparison feeding SELECT_V2 is removed and its bool output becomes a
    graph input, so a test drives the condition directly (random true/false)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    sub = model.subgraphs[0]
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    keep, conditions = [], []
    for op in sub.operators:
        if codes[op.opcodeIndex] == schema.BuiltinOperator.GREATER:
            conditions.append(op.outputs[0])
        else:
            keep.append(op)
    sub.operators = keep
    used = {i for op in keep for i in op.inputs}
    sub.inputs = [i for i in sub.inputs if i in used] + conditions


def select_int16(model) -> None:
    """Flatbuffer edit: the condition becomes a graph input and x, y, output int16 (TFLite's
    converter has no 16x8 SELECT_V2; TFLM selects int16)."""
    condition_as_input(model)
    retype_activations(model)


REDUCERS = {"mean": "MEAN", "sum": "SUM", "max": "REDUCE_MAX", "min": "REDUCE_MIN"}


def reduce(kinds, shape, axes, keepdims=False, batch=1):
    """One output per reduction in ``kinds`` (keys of REDUCERS) of the input over ``axes``."""
    import tensorflow as tf

    fns = {"mean": tf.reduce_mean, "sum": tf.reduce_sum, "max": tf.reduce_max, "min": tf.reduce_min}
    k = opzoo._k()
    inp = k.Input(shape, batch_size=batch)
    outs = [k.layers.Lambda(lambda t, fn=fns[kind]: fn(t, axis=list(axes), keepdims=keepdims))(inp)
            for kind in kinds]
    return k.Model(inp, outs)


def arg_min_max(shape, axis, output_type="int32"):
    """tf.argmax and tf.argmin along ``axis`` (TFLM writes int32 indices only)."""
    import tensorflow as tf

    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    dtype = getattr(tf, output_type)
    outs = [k.layers.Lambda(lambda t: tf.math.argmax(t, axis=axis, output_type=dtype))(inp),
            k.layers.Lambda(lambda t: tf.math.argmin(t, axis=axis, output_type=dtype))(inp)]
    return k.Model(inp, outs)


def scaled_copies(shape, count=4):
    """``count`` outputs x * (1.5 + i): int8 MULs by a constant, the vehicle of ``muls_to_cumsums``."""
    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    return k.Model(inp, [k.layers.Lambda(lambda t, f=1.5 + i: t * f)(inp) for i in range(count)])


def mix8(shape):
    """Several of the stream's int8 ops in one graph (the emulated-board sample): SUB, MAXIMUM,
    SQUARED_DIFFERENCE, REDUCE_MAX -> GREATER -> SELECT_V2 (broadcast), MEAN, ARG_MAX,
    AVERAGE_POOL_2D, broadcast MUL."""
    import tensorflow as tf

    k = opzoo._k()
    a, b = k.Input(shape, batch_size=1), k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    s = lam(lambda ts: ts[0] - ts[1])([a, b])
    m = lam(lambda ts: tf.maximum(ts[0], ts[1]))([a, b])
    d = lam(lambda ts: tf.math.squared_difference(ts[0], ts[1]))([a, b])
    peak_a = lam(lambda t: tf.reduce_max(t, axis=[1, 2], keepdims=True))(a)
    peak_b = lam(lambda t: tf.reduce_max(t, axis=[1, 2], keepdims=True))(b)
    w = lam(lambda ts: tf.where(ts[0] > ts[1], ts[2], ts[3]))([peak_a, peak_b, s, m])
    r = lam(lambda t: tf.reduce_mean(t, axis=[1, 2]))(s)
    am = lam(lambda t: tf.math.argmax(t, axis=-1, output_type=tf.int32))(a)
    p = k.layers.AveragePooling2D(2)(m)
    g = lam(lambda ts: ts[0] * ts[1])([d, peak_b])
    return k.Model([a, b], [s, d, w, r, am, p, g])


def mix16(shape):
    """The stream's 16x8 ops in one graph: ADD/SUB/MUL with broadcast, MEAN, SUM, both poolings."""
    import tensorflow as tf

    k = opzoo._k()
    a, b = k.Input(shape, batch_size=1), k.Input(shape[-1:], batch_size=1)
    lam = k.layers.Lambda
    s = lam(lambda ts: ts[0] - ts[1])([a, b])
    t = lam(lambda ts: ts[0] * ts[1] + ts[0])([s, a])
    r = lam(lambda v: tf.reduce_mean(v, axis=[1, 2]))(t)
    u = lam(lambda v: tf.reduce_sum(v, axis=-1, keepdims=True))(s)
    return k.Model([a, b], [r, u, k.layers.AveragePooling2D(2)(t), k.layers.MaxPooling2D(2, padding="same")(s)])


def bench_binary(shape, int16=False):
    """Elementwise and broadcast binary ops, comparisons, SELECT_V2 and reductions on ``shape``
    inputs (the per-op instruction figures of docs/BENCHMARKS.md)."""
    import tensorflow as tf

    k = opzoo._k()
    a, b = k.Input(shape, batch_size=1), k.Input(shape, batch_size=1)
    lam = k.layers.Lambda
    outs = [lam(lambda ts: ts[0] + ts[1])([a, b]), lam(lambda ts: ts[0] - ts[1])([a, b]),
            lam(lambda ts: ts[0] * ts[1])([a, b]), lam(lambda ts: tf.math.squared_difference(ts[0], ts[1]))([a, b]),
            lam(lambda ts: ts[0] * ts[1][:, :1, :1, :])([a, b]),
            lam(lambda t: tf.reduce_mean(t, axis=[1, 2]))(a), lam(lambda t: tf.reduce_sum(t, axis=[-1]))(a),
            k.layers.AveragePooling2D(2)(a), k.layers.MaxPooling2D(2)(b)]
    if not int16:
        outs += [lam(lambda ts: tf.maximum(ts[0], ts[1]))([a, b]), lam(lambda ts: ts[0] < ts[1])([a, b]),
                 lam(lambda ts: tf.where(ts[0][:, :1, :1, :] > 0.0, ts[0], ts[1]))([a, b]),
                 lam(lambda t: tf.reduce_max(t, axis=[1, 2]))(b),
                 lam(lambda t: tf.math.argmax(t, axis=-1, output_type=tf.int32))(a)]
    return k.Model([a, b], outs)


# ---- several independent groups in one model (fewer conversions for the same coverage) --------


def _input_name(inputs: list, offset: int = 0) -> str:
    """Zero-padded input names: TFLite's converter orders the inputs of a Keras model by name, so
    ``input_10`` would otherwise come before ``input_2`` and calibration would feed the wrong shapes."""
    return f"in{len(inputs) + offset:02d}"


def arith_set(groups, const_groups=()):
    """Each group ``(ops, shape_a, shape_b)`` gets its own two inputs (first dimension = batch) and one
    output per op (keys of TF_OPS); each const group ``(ops, shape_a, shape_b)`` one input against a
    constant of ``shape_b``."""
    import tensorflow as tf

    k = opzoo._k()
    inputs, outs = [], []
    for ops, shape_a, shape_b in groups:
        a = k.Input(shape_a[1:], batch_size=shape_a[0], name=_input_name(inputs))
        b = k.Input(shape_b[1:], batch_size=shape_b[0], name=_input_name(inputs, 1))
        inputs += [a, b]
        outs += [k.layers.Lambda(lambda ts, fn=TF_OPS[n][1]: fn(tf, ts[0], ts[1]))([a, b]) for n in ops]
    for g, (ops, shape_a, shape_b) in enumerate(const_groups):
        a = k.Input(shape_a[1:], batch_size=shape_a[0], name=_input_name(inputs))
        value = np.random.default_rng(1 + g).uniform(-1, 1, shape_b).astype(np.float32)
        inputs.append(a)
        outs += [k.layers.Lambda(lambda t, fn=TF_OPS[n][1], v=value: fn(tf, t, tf.constant(v)))(a) for n in ops]
    return k.Model(inputs, outs)


def reduce_set(groups):
    """Each group ``(kinds, shape, axes, keepdims)`` (shape with batch) reduces its own input."""
    import tensorflow as tf

    fns = {"mean": tf.reduce_mean, "sum": tf.reduce_sum, "max": tf.reduce_max, "min": tf.reduce_min}
    k = opzoo._k()
    inputs, outs = [], []
    for kinds, shape, axes, keepdims in groups:
        inp = k.Input(shape[1:], batch_size=shape[0], name=_input_name(inputs))
        inputs.append(inp)
        outs += [k.layers.Lambda(lambda t, fn=fns[kind], ax=list(axes), kd=keepdims: fn(t, axis=ax, keepdims=kd))(inp)
                 for kind in kinds]
    return k.Model(inputs, outs)


def pool_set(groups):
    """Each group ``(kind, shape, size, strides, padding, relu)`` pools its own input."""
    k = opzoo._k()
    inputs, outs = [], []
    for kind, shape, size, strides, padding, relu in groups:
        inp = k.Input(shape, batch_size=1, name=_input_name(inputs))
        layer = k.layers.AveragePooling2D if kind == "avg" else k.layers.MaxPooling2D
        x = layer(size, strides=strides, padding=padding)(inp)
        inputs.append(inp)
        outs.append(k.layers.ReLU()(x) if relu else x)
    return k.Model(inputs, outs)


def arg_set(groups):
    """Each group ``(shape, axis)``: tf.argmax and tf.argmin of its own input, int32 indices."""
    import tensorflow as tf

    k = opzoo._k()
    inputs, outs = [], []
    for shape, axis in groups:
        inp = k.Input(shape, batch_size=1, name=_input_name(inputs))
        inputs.append(inp)
        outs += [k.layers.Lambda(lambda t, ax=axis: tf.math.argmax(t, axis=ax, output_type=tf.int32))(inp),
                 k.layers.Lambda(lambda t, ax=axis: tf.math.argmin(t, axis=ax, output_type=tf.int32))(inp)]
    return k.Model(inputs, outs)


def prelu_set(groups):
    """Each group ``(shape, shared_axes)``: a Keras PReLU of its own input."""
    k = opzoo._k()
    inputs, outs = [], []
    for shape, shared_axes in groups:
        inp = k.Input(shape, batch_size=1, name=_input_name(inputs))
        inputs.append(inp)
        init = k.initializers.RandomUniform(-0.6, 0.9)
        outs.append(k.layers.PReLU(shared_axes=shared_axes, alpha_initializer=init)(inp))
    return k.Model(inputs, outs)


def select_set(shape, cond_shapes, threshold=0.2):
    """For each condition shape: tf.where(c > threshold, x, y) with inputs x, y of ``shape`` and c."""
    import tensorflow as tf

    k = opzoo._k()
    inputs, outs = [], []
    for cond_shape in cond_shapes:
        x, y, c = (k.Input(s, batch_size=1, name=_input_name(inputs, i))
                   for i, s in enumerate((shape, shape, cond_shape)))
        inputs += [x, y, c]
        outs.append(k.layers.Lambda(lambda ts: tf.where(ts[2] > threshold, ts[0], ts[1]))([x, y, c]))
    return k.Model(inputs, outs)


def muls_to_cumsums(axes: tuple[int, ...]):
    """Flatbuffer edit: the i-th MUL becomes CUMSUM(x, axes[i // 4]) with (exclusive, reverse) the
    (i % 4)-th combination (TFLite's quantizer leaves tf.math.cumsum in float; TFLM runs int8)."""

    def edit(model) -> None:
        from move_models import _schema, add_const, opcode_index, ops_of

        schema = _schema()
        code = opcode_index(model, "CUMSUM")
        axis_ts = [add_const(model, np.array([a], np.int32), f"cumsum_axis{i}") for i, a in enumerate(axes)]
        for i, op in enumerate(ops_of(model, "MUL")):
            op.opcodeIndex = code
            op.inputs = [op.inputs[0], axis_ts[i // 4]]
            op.builtinOptionsType = schema.BuiltinOptions.CumsumOptions
            op.builtinOptions = schema.CumsumOptionsT()
            op.builtinOptions.exclusive, op.builtinOptions.reverse = bool(i & 2), bool(i & 1)

    return edit
