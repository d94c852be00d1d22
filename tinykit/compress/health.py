"""Health check of an int8 conversion: float vs int8 agreement, accuracy, per-layer SQNR.

The float and int8 ``.tflite`` files come from the same Keras graph, so after dropping the
QUANTIZE / DEQUANTIZE ops their operators line up one to one; each int8 op's output (read from the
reference interpreter with every intermediate tensor preserved) is dequantized and compared with the
float op's output as a signal-to-quantization-noise ratio. A layer below ``MIN_SQNR_DB`` or an
accuracy drop above ``max_drop`` becomes a warning naming it; ``strict`` turns warnings into errors.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

import numpy as np

from tinykit.errors import QuantizationError

MIN_SQNR_DB = 12.0
MIN_AGREEMENT = 0.90
LAYER_SAMPLES = 32
SKIP_OPS = {"QUANTIZE", "DEQUANTIZE"}


@dataclass
class LayerHealth:
    index: int
    op: str
    name: str
    sqnr_db: float


@dataclass
class Health:
    """Result of the check; ``warnings`` is empty for a healthy conversion."""

    float_accuracy: float | None
    int8_accuracy: float | None
    agreement: float
    layers: list[LayerHealth] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def interpreter(model: bytes, preserve: bool = False):
    import warnings

    import tensorflow as tf

    warnings.filterwarnings("ignore", module="tensorflow.lite")

    # Reference kernels, no XNNPACK delegate: ops stay visible and match tflite-micro's arithmetic.
    interp = tf.lite.Interpreter(model_content=model, experimental_preserve_all_tensors=preserve,
                                 experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF)
    interp.allocate_tensors()
    return interp


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    """Float input -> the model's input dtype using its scale and zero point."""
    scale, zp = detail["quantization"]
    if detail["dtype"] == np.float32 or scale == 0:
        return x.astype(np.float32)
    info = np.iinfo(detail["dtype"])
    return np.clip(np.round(x / scale + zp), info.min, info.max).astype(detail["dtype"])


def dequantize(t: np.ndarray, detail: dict) -> np.ndarray:
    scale, zp = detail["quantization"]
    if t.dtype == np.float32 or scale == 0:
        return t.astype(np.float32)
    return (t.astype(np.float32) - zp) * scale


def predict(model: bytes, x: np.ndarray) -> np.ndarray:
    """Dequantized outputs of a one-input one-output .tflite for every sample in ``x``."""
    interp = interpreter(model)
    inp, out = interp.get_input_details()[0], interp.get_output_details()[0]
    results = []
    for sample in x:
        interp.set_tensor(inp["index"], quantize_input(sample[None], inp))
        interp.invoke()
        results.append(dequantize(interp.get_tensor(out["index"]), out)[0])
    return np.stack(results)


def _op_outputs(model: bytes, x: np.ndarray) -> tuple[list[dict], list[list[np.ndarray]]]:
    """Ops (without (DE)QUANTIZE) and their dequantized outputs for each sample."""
    interp = interpreter(model, preserve=True)
    inp = interp.get_input_details()[0]
    ops = [op for op in interp._get_ops_details() if op["op_name"] not in SKIP_OPS]
    details = {d["index"]: d for d in interp.get_tensor_details()}
    per_op: list[list[np.ndarray]] = [[] for _ in ops]
    for sample in x:
        interp.set_tensor(inp["index"], quantize_input(sample[None], inp))
        interp.invoke()
        for i, op in enumerate(ops):
            idx = op["outputs"][0]
            per_op[i].append(dequantize(interp.get_tensor(idx), details[idx]))
    return [{"op": op["op_name"], "name": short_name(details[op["outputs"][0]]["name"])} for op in ops], per_op


def short_name(tensor_name: str) -> str:
    """'model/conv0_relu_1/Relu;model/conv0_bn_1/...' -> 'conv0_relu/Relu' (the Keras layer it came from)."""
    first = tensor_name.split(";")[0]
    parts = first.split("/")
    if len(parts) >= 3:
        parts = parts[1:]
    parts[0] = re.sub(r"_\d+$", "", parts[0])
    return "/".join(parts)


def sqnr_db(ref: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((ref - test) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0:
        return 99.0
    return round(float(10 * np.log10(max(signal, 1e-20) / noise)), 2)


def layer_health(float_model: bytes, int8_model: bytes, x: np.ndarray) -> list[LayerHealth]:
    """Per-op SQNR of the int8 model against the float model on a few samples."""
    f_ops, f_out = _op_outputs(float_model, x[:LAYER_SAMPLES])
    q_ops, q_out = _op_outputs(int8_model, x[:LAYER_SAMPLES])
    if [o["op"] for o in f_ops] != [o["op"] for o in q_ops]:
        return []
    return [LayerHealth(i, q["op"], q["name"], sqnr_db(np.concatenate([a.ravel() for a in fo]),
                                                         np.concatenate([b.ravel() for b in qo])))
            for i, (q, fo, qo) in enumerate(zip(q_ops, f_out, q_out, strict=True))]


def check(float_model: bytes, int8_model: bytes, x: np.ndarray, y: np.ndarray | None,
          max_drop: float = 0.01, strict: bool = False) -> Health:
    """Compare float and int8 models on held-out data; warn (or raise if strict) when unhealthy."""
    fp, qp = predict(float_model, x), predict(int8_model, x)
    classifier = y is not None and y.ndim == 1
    if classifier:
        f_acc = float(np.mean(fp.argmax(-1) == y))
        q_acc = float(np.mean(qp.argmax(-1) == y))
        agreement = float(np.mean(fp.argmax(-1) == qp.argmax(-1)))
    else:
        f_acc = q_acc = None
        agreement = float(1.0 / (1.0 + np.mean((fp - qp) ** 2) / (np.mean(fp**2) + 1e-12)))
    health = Health(f_acc, q_acc, agreement, layer_health(float_model, int8_model, x))
    if not health.layers:
        health.notes.append("per-layer SQNR unavailable: the float and int8 graphs have different ops")
    if classifier and f_acc - q_acc > max_drop:
        health.warnings.append(f"int8 accuracy {q_acc:.4f} is {100 * (f_acc - q_acc):.1f} points "
                               f"below float {f_acc:.4f}")
    if agreement < MIN_AGREEMENT:
        health.warnings.append(f"float and int8 agree on only {100 * agreement:.1f}% of held-out samples")
    for layer in health.layers:
        if layer.sqnr_db < MIN_SQNR_DB and layer.op != "SOFTMAX":
            health.warnings.append(f"layer {layer.index} {layer.op} '{layer.name}' has SQNR "
                                   f"{layer.sqnr_db:.1f} dB (< {MIN_SQNR_DB:.0f} dB)")
    if strict and health.warnings:
        raise QuantizationError("unhealthy int8 conversion: " + "; ".join(health.warnings[:3]),
                                hint="check the representative data set, or try --qat")
    return health
