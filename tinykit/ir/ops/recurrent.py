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


# ------------------------------------------------------------------------------------------- LSTM

# UNIDIRECTIONAL_SEQUENCE_LSTM input positions (TFLM lstm_shared.h).
LSTM_INPUT, LSTM_HIDDEN_STATE, LSTM_CELL_STATE = 0, 18, 19
LSTM_INPUT_WEIGHTS = (1, 2, 3, 4)  # input-to-{input, forget, cell, output} gate weights
LSTM_RECURRENT_WEIGHTS = (5, 6, 7, 8)
LSTM_BIASES = (12, 13, 14, 15)
# Variants TFLM does not run: peephole (9-11), projection (16-17), layer norm (20-23).
LSTM_VARIANTS = {"peephole": (9, 10, 11), "projection": (16, 17), "layer norm": (20, 21, 22, 23)}
# The cell gate's activation: TFLM runs sigmoid or tanh, and a flatbuffer can only name tanh (the
# schema's ActivationFunctionType has no sigmoid); anything else hits TFLM's TFLITE_ASSERT_FALSE.
LSTM_CELL_ACTIVATIONS = ("TANH",)
# Bias type of each activation type: the 8x8 LSTM sums in int32, the 16x8 one in int64.
LSTM_BIAS_TYPES = {"int8": "int32", "int16": "int64"}


def _ceil4(n: int) -> int:
    return (n + 3) // 4 * 4


def lstm_scratch_bytes(input_size: int, state_size: int, activation_type: str) -> int:
    """= tk_lstm_s8_buffer_size() / tk_lstm_s16_buffer_size(): the four gates' int16 outputs of one
    batch row (TFLM's four buffers), and for 16x8 4-byte aligned, zero-padded int16 copies of the
    input row and the hidden state for the SMLAD dot products."""
    gates = 4 * _ceil4(state_size) * 2
    copies = (_ceil4(input_size) + _ceil4(state_size)) * 2 if activation_type == "int16" else 0
    return gates + copies


def lstm_sizes(op: Operator, graph: Graph) -> tuple[int, int, int, int]:
    """(batches, time steps, input size, state size) as TFLM's CreateLstmSizeInfo derives them."""
    shape = input_tensor(graph, op, LSTM_INPUT).shape
    hidden = input_tensor(graph, op, LSTM_HIDDEN_STATE)
    time_major = bool(op.options.get("time_major", False))
    batches, steps = (shape[1], shape[0]) if time_major else (shape[0], shape[1])
    state = hidden.shape[1] if hidden is not None and len(hidden.shape) >= 2 else 0
    return int(batches), int(steps), int(shape[2]), int(state)


@register
class UnidirectionalSequenceLstm(OpHandler):
    """The standard (Keras) LSTM that TFLM runs: int8 (8x8 -> int16 cell, int32 bias) or 16x8
    (int16 activations, int8 weights, int64 bias), int16 cell state, no peephole, projection,
    layer norm or CIFG, batch- or time-major. Intermediate tensors are ignored, as TFLM does."""

    opcode = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    num_inputs = (20, 24)
    optional_inputs = frozenset({1, 5, 9, 10, 11, 12, 16, 17})
    options_table = "UnidirectionalSequenceLSTMOptions"
    input_ranks = MappingProxyType({0: (3,)})
    activation_types = ("int8", "int16")

    def validate(self, op: Operator, graph: Graph) -> None:
        _require(op, len(op.inputs) == 24, f"{len(op.inputs)} inputs (TFLite Micro's LSTM takes all 24)")
        for variant, positions in LSTM_VARIANTS.items():
            _require(op, all(input_tensor(graph, op, i) is None for i in positions),
                     f"an LSTM with {variant} (TFLite Micro runs the standard LSTM only)")
        inp, out = input_tensor(graph, op, LSTM_INPUT), output_tensor(graph, op)
        _require(op, inp.dtype in LSTM_BIAS_TYPES and out.dtype == inp.dtype,
                 f"{inp.dtype} input and {out.dtype} output (tinykit runs int8 and 16x8; float is out of scope)")
        self._check_state(op, graph, inp)
        self._check_weights(op, graph, LSTM_BIAS_TYPES[inp.dtype])
        activation = op.options.get("fused_activation_function", "NONE")
        _require(op, activation in LSTM_CELL_ACTIVATIONS,
                 f"cell gate activation {activation} (TFLite Micro runs TANH)")
        self._check_shapes(op, graph)

    def _check_state(self, op: Operator, graph: Graph, inp: Tensor) -> None:
        hidden, cell = input_tensor(graph, op, LSTM_HIDDEN_STATE), input_tensor(graph, op, LSTM_CELL_STATE)
        _require(op, hidden is not None and cell is not None, "its hidden or cell state is absent")
        _require_variable(op, hidden, "hidden state")
        _require_variable(op, cell, "cell state")
        _require(op, hidden.dtype == inp.dtype, f"{hidden.dtype} hidden state for {inp.dtype} input")
        _require(op, cell.dtype == "int16", f"{cell.dtype} cell state (the quantized LSTM's is int16)")
        _require(op, len(hidden.shape) == 2, f"hidden state of rank {len(hidden.shape)} (TFLM reads its 2nd "
                 "dimension as the state size)")

    def _check_weights(self, op: Operator, graph: Graph, bias_type: str) -> None:
        for i in (*LSTM_INPUT_WEIGHTS, *LSTM_RECURRENT_WEIGHTS):
            w = _require_constant(op, input_tensor(graph, op, i), f"weights (input {i})", ("int8",))
            q = w.quantization
            _require(op, q is not None and len(q.scale) == 1,
                     f"per-channel weights (input {i}): TFLite Micro's LSTM takes one scale per gate matrix")
            _require(op, q.zero_point[0] == 0, f"weights (input {i}) with zero point {q.zero_point[0]}")
        for i in LSTM_BIASES:
            _require_constant(op, input_tensor(graph, op, i), f"gate bias (input {i})", (bias_type,))

    def _check_shapes(self, op: Operator, graph: Graph) -> None:
        batches, _steps, input_size, state = lstm_sizes(op, graph)
        expected = {**{i: (state, input_size) for i in LSTM_INPUT_WEIGHTS},
                    **{i: (state, state) for i in LSTM_RECURRENT_WEIGHTS}, **{i: (state,) for i in LSTM_BIASES}}
        for i, shape in expected.items():
            actual = tuple(input_tensor(graph, op, i).shape)
            _require(op, actual == shape, f"input {i} has shape {list(actual)}, expected {list(shape)}")
        for i in (LSTM_HIDDEN_STATE, LSTM_CELL_STATE):
            _require(op, input_tensor(graph, op, i).num_elements == batches * state,
                     f"state (input {i}) of {input_tensor(graph, op, i).num_elements} values for {batches} x {state}")

    def output_shapes(self, op, graph):
        shape = input_tensor(graph, op, LSTM_INPUT).shape
        return [(shape[0], shape[1], lstm_sizes(op, graph)[3])]

    def macs(self, op, graph):
        batches, steps, input_size, state = lstm_sizes(op, graph)
        return batches * steps * 4 * state * (input_size + state)

    def scratch_bytes(self, op, graph):
        _, _, input_size, state = lstm_sizes(op, graph)
        return lstm_scratch_bytes(input_size, state, input_tensor(graph, op, LSTM_INPUT).dtype)
