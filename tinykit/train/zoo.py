"""Model zoo (Keras 3): the MLPerf Tiny shapes plus small generic nets, each with a width knob.

Every classifier ends ``Dense(name="logits")`` then ``Softmax(name="softmax")`` so distillation can
read logits and the int8 model ends in SOFTMAX like the reference models. Global pooling is an
``AveragePooling2D`` over the whole map + ``Flatten`` (AVERAGE_POOL_2D + RESHAPE in TFLite), the
op set the MLPerf reference models use.
"""

from __future__ import annotations

from collections.abc import Callable

from tinykit.errors import TrainingError

# Faster-moving BatchNorm statistics than Keras' 0.99: short fine-tunes (pruning, small data sets)
# otherwise leave inference-mode statistics far from the data.
BN_MOMENTUM = 0.9


def _ch(n: int, width: float) -> int:
    return max(1, round(n * width))


def _head(layers, x, num_classes: int):
    if len(x.shape) == 4:
        x = layers.AveragePooling2D(pool_size=tuple(x.shape[1:3]), name="avg_pool")(x)
        x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(num_classes, name="logits")(x)
    return layers.Softmax(name="softmax")(x)


def _conv_bn(layers, x, filters, kernel, strides=1, name="conv", relu=True):
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x) if relu else x


def _dw_bn(layers, x, strides=1, name="dw"):
    x = layers.DepthwiseConv2D(3, strides=strides, padding="same", use_bias=False, name=name)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return layers.ReLU(name=f"{name}_relu")(x)


def ds_cnn(keras, input_shape, num_classes, width=1.0):
    """MLPerf Tiny KWS DS-CNN: 10x4/2 conv then 4 depthwise-separable blocks of 64*width channels."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    c = _ch(64, width)
    x = _conv_bn(layers, inp, c, (10, 4), strides=2, name="conv0")
    x = layers.Dropout(0.2, name="drop0")(x)
    for i in range(1, 5):
        x = _dw_bn(layers, x, name=f"dw{i}")
        x = _conv_bn(layers, x, c, 1, name=f"pw{i}")
    x = layers.Dropout(0.4, name="drop1")(x)
    return keras.Model(inp, _head(layers, x, num_classes), name="ds_cnn")


def small_cnn(keras, input_shape, num_classes, width=1.0):
    """Two conv blocks with max pooling: a quick baseline for images or spectrograms."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    x = _conv_bn(layers, inp, _ch(16, width), 3, name="conv1")
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = _conv_bn(layers, x, _ch(32, width), 3, name="conv2")
    x = layers.MaxPooling2D(2, name="pool2")(x)
    return keras.Model(inp, _head(layers, x, num_classes), name="cnn")


def _res_block(layers, x, filters, strides, name):
    y = _conv_bn(layers, x, filters, 3, strides=strides, name=f"{name}_a")
    y = _conv_bn(layers, y, filters, 3, name=f"{name}_b", relu=False)
    if strides != 1 or x.shape[-1] != filters:
        x = layers.Conv2D(filters, 1, strides=strides, padding="same", name=f"{name}_short")(x)
    return layers.ReLU(name=f"{name}_out")(layers.Add(name=f"{name}_add")([x, y]))


def resnet8(keras, input_shape, num_classes, width=1.0):
    """MLPerf Tiny IC ResNet-8: 16-32-64 channels (times width), three residual stacks."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    x = _conv_bn(layers, inp, _ch(16, width), 3, name="conv0")
    for i, (filters, strides) in enumerate(((16, 1), (32, 2), (64, 2)), start=1):
        x = _res_block(layers, x, _ch(filters, width), strides, name=f"stack{i}")
    return keras.Model(inp, _head(layers, x, num_classes), name="resnet8")


MOBILENET_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
                    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def mobilenet_v1(keras, input_shape, num_classes, width=0.25):
    """MobileNetV1 with width multiplier (MLPerf Tiny VWW uses 0.25 at 96x96)."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    x = _conv_bn(layers, inp, _ch(32, width), 3, strides=2, name="conv0")
    for i, (filters, strides) in enumerate(MOBILENET_BLOCKS, start=1):
        if strides == 2 and min(x.shape[1:3]) < 2:
            strides = 1
        x = _dw_bn(layers, x, strides=strides, name=f"dw{i}")
        x = _conv_bn(layers, x, _ch(filters, width), 1, name=f"pw{i}")
    return keras.Model(inp, _head(layers, x, num_classes), name="mobilenet_v1")


def autoencoder(keras, input_shape, num_classes=0, width=1.0):
    """MLPerf Tiny AD: fully connected 128x4 - 8 - 128x4 autoencoder (reconstructs its input)."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    x = layers.Flatten(name="flatten")(inp) if len(input_shape) > 1 else inp
    flat = x.shape[-1]
    for i, units in enumerate((128, 128, 128, 128, 8, 128, 128, 128, 128)):
        x = layers.Dense(_ch(units, width) if units != 8 else 8, name=f"fc{i}")(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"fc{i}_bn")(x)
        x = layers.ReLU(name=f"fc{i}_relu")(x)
    x = layers.Dense(flat, name="recon")(x)
    if len(input_shape) > 1:
        x = layers.Reshape(input_shape, name="unflatten")(x)
    return keras.Model(inp, x, name="autoencoder")


def mlp(keras, input_shape, num_classes, width=1.0):
    """Two hidden ReLU layers of 64*width units."""
    layers = keras.layers
    inp = keras.Input(shape=input_shape, name="input")
    x = layers.Flatten(name="flatten")(inp) if len(input_shape) > 1 else inp
    x = layers.ReLU(name="fc1_relu")(layers.Dense(_ch(64, width), name="fc1")(x))
    x = layers.ReLU(name="fc2_relu")(layers.Dense(_ch(64, width), name="fc2")(x))
    return keras.Model(inp, _head(layers, x, num_classes), name="mlp")


ZOO: dict[str, Callable] = {
    "ds-cnn": ds_cnn, "cnn": small_cnn, "resnet8": resnet8,
    "mobilenet-v1": mobilenet_v1, "autoencoder": autoencoder, "mlp": mlp,
}


def build_model(name: str, input_shape, num_classes: int, width: float | None = None):
    """Build a zoo model by name; ``width`` scales every hidden layer's channels."""
    import keras

    if name not in ZOO:
        raise TrainingError(f"unknown model {name!r}", hint=f"choose one of {', '.join(ZOO)}")
    if width is not None and width <= 0:
        raise TrainingError(f"width must be positive, got {width}")
    kwargs = {} if width is None else {"width": width}
    try:
        return ZOO[name](keras, tuple(input_shape), num_classes, **kwargs)
    except ValueError as err:
        raise TrainingError(f"cannot build {name} for input {tuple(input_shape)}: {err}") from err
