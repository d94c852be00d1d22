"""Model builders of the math stream's tests (binary arithmetic, comparisons, reductions): Keras
builders for ``opzoo.Case``, flatbuffer edits for what TFLite's converter cannot produce, and
``tf_function_model`` for graphs with int32/bool tensors (no quantization), converted once and cached.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import opzoo


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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
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


def prelu(shape, shared_axes=None, const_alpha=True):
    """Keras PReLU (a learned alpha per unshared position)."""
    k = opzoo._k()
    inp = k.Input(shape, batch_size=1)
    layer = k.layers.PReLU(shared_axes=shared_axes, alpha_initializer=k.initializers.RandomUniform(-0.6, 0.9))
    return k.Model(inp, layer(inp))


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
