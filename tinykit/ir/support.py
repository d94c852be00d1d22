"""Which ops tinykit cannot run, why, whether TFLite Micro can, and the one error line saying so.

Every command that reads a model refuses an unrunnable one through :func:`unsupported_error`, so a
user sees the same line everywhere: every such op with its index, not just the first. Whether
TFLite Micro itself could run an op is decided by its runtime (:func:`tinykit.ir.tflm.probe`): the
op alone, with its own tensors and options, is loaded into the pinned ``tflite-micro`` interpreter;
no kernel registered for it, or its Prepare failing, means TFLite Micro cannot run it either (the
runtime's own message is quoted). Custom ops are not loaded: their options are opaque bytes whose
parsing is the custom kernel's business, and a malformed one can crash the runtime.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tinykit.errors import UnsupportedOpError
from tinykit.ir import tflm
from tinykit.ir.graph import Graph, Operator
from tinykit.ir.ops import op_handler, supported_ops

# Longest quote of the runtime's message in a reason (its lines can carry a source path).
_MAX_RUNTIME_MESSAGE = 120


def judge_unsupported(graph: Graph) -> Graph:
    """``graph`` with each unsupported op's reason completed by TFLite Micro's verdict on it."""
    if not graph.unsupported_ops:
        return graph
    ops = tuple(op if op.supported else _judged(graph, op) for op in graph.operators)
    return dataclasses.replace(graph, operators=ops)


def _handler_reason(op: Operator) -> str:
    """The handler's reason without the ``OPCODE (op N): `` prefix the one-line format adds back."""
    reason = op.unsupported_reason
    prefix = f"{op.opcode} (op {op.index}): "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def _judged(graph: Graph, op: Operator) -> Operator:
    if op.opcode.startswith("CUSTOM:"):
        name = op.opcode.split(":", 1)[1]
        kind = "a TFLite Micro signal-library op" if name.startswith("Signal") else "a custom op"
        reason = f"{kind}; tinykit runs TFLite builtin ops only"
        return dataclasses.replace(op, unsupported_reason=reason, tflm_runs=None)
    if op.opcode.startswith("BUILTIN_"):
        reason = f"builtin opcode {op.opcode[8:]} is newer than the TFLite schema tinykit and TFLite Micro read"
        return dataclasses.replace(op, unsupported_reason=reason, tflm_runs=False)
    verdict = tflm.probe(graph, op)
    ours = "no tinykit kernel for this op yet" if op_handler(op.opcode) is None else _handler_reason(op)
    if verdict.ok:
        reason = f"{ours} (TFLite Micro runs it)" if op_handler(op.opcode) is None else ours
    else:
        said = " ".join(verdict.message.split())[:_MAX_RUNTIME_MESSAGE]
        how = f"its runtime {said}" if verdict.crashed else f"its runtime says: {said}"
        reason = f"{ours}; TFLite Micro cannot run it either ({how})"
    return dataclasses.replace(op, unsupported_reason=reason, tflm_runs=verdict.ok)


def op_refusal(op: Operator) -> str:
    """One op's part of the refusal: ``op N OPCODE: reason``."""
    reason = _handler_reason(op) or "not supported"
    return f"op {op.index} {op.opcode}: {reason}"


def unsupported_error(graph: Graph) -> UnsupportedOpError:
    """One line naming every op tinykit cannot run, with its index; the supported set as the hint."""
    ops = graph.unsupported_ops
    listed = "; ".join(op_refusal(op) for op in ops)
    noun = "op" if len(ops) == 1 else "ops"
    return UnsupportedOpError(f"{graph.path or 'model'}: {len(ops)} unsupported {noun}: {listed}",
                              hint="supported ops: " + ", ".join(supported_ops()))


def unsupported_rows(graph: Graph) -> list[dict]:
    """Every op tinykit cannot run, as the JSON reports (`inspect --json`, `quantize --json`) list them."""
    return [{"index": op.index, "op": op.opcode, "reason": op.unsupported_reason, "tflite_micro_runs": op.tflm_runs}
            for op in graph.unsupported_ops]


def require_supported(graph: Graph) -> Graph:
    """``graph`` itself, or the one-line refusal when any op cannot run."""
    if graph.unsupported_ops:
        raise unsupported_error(graph)
    return graph


def check_written_model(path: str | Path) -> Graph:
    """The check that ends `quantize` and `fit`: the model they wrote, read and judged as `inspect`
    judges it; every op tinykit cannot run is named in the one refusal line, and the hint says the
    file is there all the same (a model tinykit cannot run yet is still a valid TFLite model)."""
    from tinykit.ir.reader import read_model

    graph = read_model(path)
    if graph.unsupported_ops:
        err = unsupported_error(graph)
        err.hint = (f"{path} is written, but tinykit cannot generate C for it until these ops are supported; "
                    f"`tinykit inspect {path}` shows every layer")
        raise err
    return graph
