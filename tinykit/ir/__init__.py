"""The model reader and the immutable graph (IR) every later stage works on."""

from tinykit.ir.graph import FoldedOp, Graph, Operator, Quantization, Tensor
from tinykit.ir.ops import OpHandler, op_handler, supported_ops
from tinykit.ir.reader import is_keras_model, parse_model, read_model

__all__ = [
    "FoldedOp",
    "Graph",
    "OpHandler",
    "Operator",
    "Quantization",
    "Tensor",
    "is_keras_model",
    "op_handler",
    "parse_model",
    "read_model",
    "supported_ops",
]
