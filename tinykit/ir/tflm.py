"""One op at a time through the tflite-micro runtime: constant folding and "can TFLite Micro run it?".

Both questions are answered by the oracle itself rather than by per-op Python code: the op is cut
out of the graph into a one-op model (its tensors, its options, its constant buffers; non-constant
inputs become the small model's inputs) and handed to the pinned ``tflite-micro`` interpreter.
Loading the model runs TFLite Micro's Prepare, so a refusal there is TFLite Micro's own verdict;
invoking it gives the op's outputs with TFLite Micro's exact semantics, for every op and dtype.

The runtime reports problems with ``MicroPrintf`` on the process's stdout/stderr; those lines are
captured (at the file-descriptor level) so they never reach a CLI user's terminal, and the first
one becomes the reason tinykit reports.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flatbuffers
import numpy as np
from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

from tinykit.ir.graph import Graph, Operator, Tensor

_TENSOR_TYPES = {k.lower(): v for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
_BUILTIN_CODES = {k: v for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_TYPES = {k: v for k, v in vars(schema.BuiltinOptions).items() if not k.startswith("_")}
# Builtin codes above this live only in the 32-bit field; the deprecated 8-bit one then holds it.
_PLACEHOLDER_FOR_GREATER_OP_CODES = 127
# Arena for a one-op model: its tensors twice over plus the interpreter's own bookkeeping.
_ARENA_OVERHEAD_BYTES = 64 * 1024
# No op of a model a microcontroller runs needs more; a corrupt shape must not allocate gigabytes.
MAX_ARENA_BYTES = 256 << 20
# The runtime runs in a forked child (see in_child); one op's Prepare or Invoke takes milliseconds.
CHILD_TIMEOUT_S = 60


@dataclass(frozen=True)
class RuntimeVerdict:
    """What the runtime said about one op: ``ok`` when it prepared it, else its first message
    (``crashed``: the runtime died or hung on it, ``message`` says how)."""

    ok: bool
    message: str = ""
    crashed: bool = False


def _opcode_entry(op: Operator) -> Any:
    code = schema.OperatorCodeT()
    builtin = _BUILTIN_CODES[op.opcode]
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, _PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    return code


def encode_options(op: Operator) -> tuple[int, Any]:
    """The op's decoded options back as a schema options object (the reader's decoding inverted)."""
    from tinykit.ir.reader import OPTION_ENUMS, snake_case

    if not op.options_type:
        return 0, None
    cls = getattr(schema, f"{op.options_type}T", None)
    if cls is None or op.options_type not in _OPTION_TYPES:
        raise ValueError(f"unknown options table {op.options_type}")
    obj = cls()
    attrs = {snake_case(name): name for name in vars(obj)}
    for key, value in op.options.items():
        if key in OPTION_ENUMS:
            value = {name: code for code, name in OPTION_ENUMS[key].items()}[value]
        elif isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, str):
            value = value.encode("utf-8")
        setattr(obj, attrs[key], value)
    return _OPTION_TYPES[op.options_type], obj


def _tensor_entry(tensor: Tensor, buffer: int) -> Any:
    t = schema.TensorT()
    t.shape = list(tensor.shape)
    t.type = _TENSOR_TYPES[tensor.dtype]
    t.buffer = buffer
    t.name = (tensor.name or f"t{tensor.index}").encode("utf-8")
    t.isVariable = tensor.is_variable
    if tensor.quantization is not None:
        q = schema.QuantizationParametersT()
        q.scale = list(tensor.quantization.scale)
        q.zeroPoint = list(tensor.quantization.zero_point)
        q.quantizedDimension = tensor.quantization.axis
        t.quantization = q
    return t


def one_op_model(graph: Graph, op: Operator) -> tuple[bytes, list[Tensor]]:
    """``op`` alone as a .tflite model; also returns the tensors that became the model's inputs.

    Constant inputs keep their data, variable ones (state) stay variable; every other input becomes
    a subgraph input; the op's outputs are the subgraph outputs. Raises ValueError for what cannot
    be expressed (custom ops).
    """
    if op.opcode not in _BUILTIN_CODES:
        raise ValueError(f"{op.opcode} is not a builtin op")
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [_opcode_entry(op)]
    model.buffers = [schema.BufferT()]
    local: dict[int, int] = {}
    tensors, inputs = [], []
    for index in (*op.inputs, *op.outputs, *op.intermediates):
        if index < 0 or index in local:
            continue
        tensor = graph.tensors[index]
        buffer = 0
        if tensor.is_constant:
            entry = schema.BufferT()
            entry.data = np.ascontiguousarray(tensor.data).view(np.uint8).reshape(-1)
            model.buffers.append(entry)
            buffer = len(model.buffers) - 1
        elif index in op.inputs and not tensor.is_variable:
            inputs.append(tensor)
        local[index] = len(tensors)
        tensors.append(_tensor_entry(tensor, buffer))
    operator = schema.OperatorT()
    operator.opcodeIndex = 0
    operator.inputs = [local.get(i, -1) for i in op.inputs]
    operator.outputs = [local[i] for i in op.outputs]
    operator.intermediates = [local[i] for i in op.intermediates if i >= 0] or None
    operator.builtinOptionsType, operator.builtinOptions = encode_options(op)
    subgraph = schema.SubGraphT()
    subgraph.tensors = tensors
    subgraph.inputs = [local[t.index] for t in inputs]
    subgraph.outputs = list(operator.outputs)
    subgraph.operators = [operator]
    model.subgraphs = [subgraph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), inputs


@contextlib.contextmanager
def captured_output() -> Iterator[list[str]]:
    """Route fds 1 and 2 to a temporary file for the duration; yields the list the lines land in."""
    lines: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(1), os.dup(2)
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield lines
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            lines.extend(line.strip() for line in text.splitlines() if line.strip())


def _arena_bytes(graph: Graph, op: Operator) -> int:
    used = sum(graph.tensors[i].nbytes for i in (*op.inputs, *op.outputs, *op.intermediates) if i >= 0)
    return 2 * used + _ARENA_OVERHEAD_BYTES


def _load(graph: Graph, op: Operator) -> tuple[Any, list[Tensor], RuntimeVerdict]:
    """(interpreter or None, its input tensors, the runtime's verdict) for ``op`` alone."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        data, inputs = one_op_model(graph, op)
    except (ValueError, KeyError, TypeError) as err:
        return None, [], RuntimeVerdict(False, f"cannot be cut out as a one-op model ({err})")
    arena = _arena_bytes(graph, op)
    if arena > MAX_ARENA_BYTES:
        return None, inputs, RuntimeVerdict(False, f"its tensors need a {arena:,}-byte arena, beyond any board")
    with captured_output() as printed:
        try:
            interp = runtime.Interpreter.from_bytes(data, arena_size=arena)
        except (RuntimeError, ValueError) as err:
            interp, error = None, err
    if interp is None:
        return None, inputs, RuntimeVerdict(False, printed[0] if printed else str(error))
    return interp, inputs, RuntimeVerdict(True)


def _probe_here(graph: Graph, op: Operator) -> RuntimeVerdict:
    return _load(graph, op)[2]


def _evaluate_here(graph: Graph, op: Operator) -> list[np.ndarray] | None:
    interp, inputs, verdict = _load(graph, op)
    if not verdict.ok:
        return None
    with captured_output():
        try:
            for i, tensor in enumerate(inputs):
                interp.set_input(np.zeros(tensor.shape, np.dtype(tensor.dtype)), i)
            interp.invoke()
            return [np.array(interp.get_output(i)) for i in range(len(op.outputs))]
        except (RuntimeError, ValueError):
            return None


def probe(graph: Graph, op: Operator) -> RuntimeVerdict:
    """Whether the tflite-micro runtime finds a kernel for ``op`` and its Prepare accepts it."""
    done, result = in_child(_probe_here, graph, op)
    return result if done else RuntimeVerdict(False, result, crashed=True)


def evaluate(graph: Graph, op: Operator) -> list[np.ndarray] | None:
    """The op's outputs as the runtime computes them (non-constant inputs read as zeros, which is
    only meaningful for ops that ignore their values, like SHAPE); None if the runtime refuses."""
    done, result = in_child(_evaluate_here, graph, op)
    return result if done else None


def in_child(fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """``fn(*args)`` in a forked child process: ``(True, result)``, or ``(False, what happened)``
    when it crashed or hung. TFLite Micro aborts or faults on some tensor and option combinations a
    malformed model can hold (an ADD of int16 and float32); that must not take tinykit down."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, leave without running the parent's exit handlers
        code = 1
        try:
            os.close(read_fd)
            payload = pickle.dumps(fn(*args))
            with os.fdopen(write_fd, "wb") as pipe:
                pipe.write(payload)
            code = 0
        finally:
            os._exit(code)
    os.close(write_fd)
    payload, hung = _read_child(read_fd, pid)
    _, status = os.waitpid(pid, 0)
    if hung:
        return False, f"did not finish in {CHILD_TIMEOUT_S} s"
    if os.WIFSIGNALED(status):
        return False, f"crashed ({signal.Signals(os.WTERMSIG(status)).name})"
    if os.WEXITSTATUS(status) != 0 or not payload:
        return False, "failed"
    return True, pickle.loads(payload)


def _read_child(read_fd: int, pid: int) -> tuple[bytes, bool]:
    """Everything the child writes until it exits, or (b"", True) after it was killed for a hang."""
    chunks, deadline = [], time.monotonic() + CHILD_TIMEOUT_S
    with os.fdopen(read_fd, "rb", buffering=0) as pipe:
        while True:
            ready, _, _ = select.select([pipe], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                os.kill(pid, signal.SIGKILL)
                return b"", True
            chunk = pipe.read(1 << 16)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
