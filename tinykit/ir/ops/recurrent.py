"""Recurrent ops with state: SVDF and UNIDIRECTIONAL_SEQUENCE_LSTM.

Their state lives in variable tensors (inputs the op reads and overwrites) that keep their values
from one invocation to the next; the planner gives them their own region of the arena
(tinykit/plan). The checks mirror TFLite Micro's Prepare (svdf_common.cc, lstm_eval_common.cc):
what TFLM refuses, or would run with undefined results, is refused here with the reason.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from tinykit.ir.graph import Graph, Operator, Tensor
from tinykit.ir.ops.base import OpHandler, input_tensor, output_tensor, register, unsupported

# The integer SVDF's feature and time weights; the state has the time weights' type.
SVDF_STATE_TYPES = ("int8", "int16")


def _require_constant(op: Operator, tensor: Tensor | None, role: str, dtypes: tuple[str, ...]) -> Tensor:
    if tensor is None:
        raise unsupported(op, f"{role} is absent")
    if not tensor.is_constant:
        raise unsupported(op, f"non-constant {role}")
    if tensor.dtype not in dtypes:
        raise unsupported(op, f"{tensor.dtype} {role} (tinykit runs {' or '.join(dtypes)})")
    return tensor


def _require_variable(op: Operator, tensor: Tensor, role: str) -> None:
    if not tensor.is_variable:
        raise unsupported(op, f"its {role} (tensor {tensor.index}) is not a variable tensor, as TFLite Micro requires")


def _require(op: Operator, condition: bool, what: str) -> None:
    if not condition:
        raise unsupported(op, what)


@register
class Svdf(OpHandler):
    """SVDF on int8 input and output, int8 feature weights, int8 or int16 time weights and state.

    TFLM's integer path ignores the fused activation (only its float path applies it), and its
    Prepare reads the bias' scale, so an int8 SVDF without a bias cannot run there either.
    """

    opcode = "SVDF"
    num_inputs = (5, 5)
    optional_inputs = frozenset({3})
    options_table = "SVDFOptions"
    options_required = True  # rank 0 (the default) divides by zero
    input_ranks = MappingProxyType({0: (2,), 1: (2,), 2: (2,), 3: (1,), 4: (2,)})
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        inp, out, state = input_tensor(graph, op, 0), output_tensor(graph, op), input_tensor(graph, op, 4)
        _require(op, inp.dtype == "int8" and out.dtype == "int8",
                 f"{inp.dtype} input and {out.dtype} output (tinykit runs the int8 SVDF; float is out of scope)")
        _require_constant(op, input_tensor(graph, op, 1), "feature weights", ("int8",))
        time = _require_constant(op, input_tensor(graph, op, 2), "time weights", SVDF_STATE_TYPES)
        bias = input_tensor(graph, op, 3)
        _require(op, bias is not None, "no bias (TFLite Micro's int8 SVDF reads the bias' scale in Prepare)")
        _require_constant(op, bias, "bias", ("int32",))
        _require_variable(op, state, "state")
        _require(op, state.dtype == time.dtype,
                 f"{state.dtype} state with {time.dtype} time weights (TFLite Micro reads the state as the time "
                 "weights' type)")
        self._check_shapes(op, graph)
        self._check_bias_scale(op, graph)

    def _check_shapes(self, op: Operator, graph: Graph) -> None:
        batch, input_size, filters, units, memory = svdf_sizes(op, graph)
        rank = op.options.get("rank", 0)
        _require(op, rank >= 1 and filters % rank == 0, f"rank {rank} does not divide the {filters} filters")
        _require(op, input_tensor(graph, op, 1).shape[1] == input_size,
                 f"feature weights {list(input_tensor(graph, op, 1).shape)} for input size {input_size}")
        _require(op, input_tensor(graph, op, 2).shape[0] == filters,
                 f"time weights {list(input_tensor(graph, op, 2).shape)} for {filters} filters")
        _require(op, input_tensor(graph, op, 3).shape[0] == units, f"bias of {input_tensor(graph, op, 3).shape[0]} "
                 f"entries for {units} units")
        state = input_tensor(graph, op, 4)
        _require(op, tuple(state.shape) == (batch, memory * filters),
                 f"state shape {list(state.shape)}, expected {[batch, memory * filters]}")

    def _check_bias_scale(self, op: Operator, graph: Graph) -> None:
        state, time, bias = (input_tensor(graph, op, i) for i in (4, 2, 3))
        product = float(np.float32(state.scale) * np.float32(time.scale))
        _require(op, abs(float(np.float32(bias.scale)) - product) < 1e-5,
                 f"bias scale {bias.scale:g} differs from state scale x time weights scale {product:g} "
                 "(TFLite Micro's Prepare refuses it)")

    def output_shapes(self, op, graph):
        batch, _, _, units, _ = svdf_sizes(op, graph)
        return [(batch, units)]

    def macs(self, op, graph):
        batch, input_size, filters, _, memory = svdf_sizes(op, graph)
        return batch * filters * (input_size + memory)


def svdf_sizes(op: Operator, graph: Graph) -> tuple[int, int, int, int, int]:
    """(batch, input size, filters, units, memory) as TFLM's SVDF derives them."""
    batch, input_size = input_tensor(graph, op, 0).shape
    filters = input_tensor(graph, op, 1).shape[0]
    rank = max(int(op.options.get("rank", 1) or 1), 1)
    return int(batch), int(input_size), int(filters), int(filters) // rank, int(input_tensor(graph, op, 2).shape[1])
