"""``tinykit inspect``: what a model costs, layer by layer, and whether it fits a board.

The report is a plain dict (the ``--json`` output) built from the graph and the memory plan; the CLI
only renders it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any

from tinykit.errors import QuantizationError
from tinykit.ir import FoldedOp, Graph, is_keras_model, read_model
from tinykit.ir.support import unsupported_rows
from tinykit.plan import MemoryPlan, plan_memory

# Folded tensors up to this many elements show their values (shape vectors, axes).
FOLDED_VALUES_SHOWN = 16


def load_for_inspection(model: Path, data: Path | None) -> Graph:
    """Read a .tflite, or quantize a Keras model first when calibration data is given; ops the code
    generator would refuse are marked unsupported, so inspect accepts exactly what generate does."""
    if not is_keras_model(model):
        return with_lowering_refusals(read_model(model))
    if data is None:
        raise QuantizationError(
            f"{model} is a Keras model: inspect needs --data DIR (representative data for int8 calibration)",
            hint=f"tinykit inspect {model} --data DATASET_DIR",
        )
    from tinykit.compress.quantize import quantize_model
    from tinykit.tflog import tensorflow_log

    with tempfile.TemporaryDirectory(prefix="tinykit-inspect-") as tmp:
        out = Path(tmp) / f"{model.stem}_int8.tflite"
        # TensorFlow's own output goes next to the model (inspect has no output folder), or is dropped
        log_dir = model.parent if os.access(model.parent, os.W_OK) else Path(tmp)
        with tensorflow_log(log_dir):
            result = quantize_model(model, data, out)
        return with_lowering_refusals(read_model(result.tflite_path))


def with_lowering_refusals(graph: Graph) -> Graph:
    """``graph`` with every op whose C lowering refuses it marked unsupported (with the reason)."""
    from tinykit.codegen.context import lowering_refusals

    if graph.unsupported_ops:
        return graph  # no plan without every op; inspect reports those already
    refusals = lowering_refusals(graph, plan_memory(graph))
    if not refusals:
        return graph
    ops = tuple(op if op.index not in refusals else dataclasses.replace(
        op, supported=False, unsupported_reason=refusals[op.index].removeprefix(f"op {op.index} ({op.opcode}): "))
        for op in graph.operators)
    return dataclasses.replace(graph, operators=ops)


def inspect_graph(graph: Graph, board: str | None = None) -> dict[str, Any]:
    """The inspect report: per-op rows, totals, unsupported ops, optional board fit."""
    plan = plan_memory(graph) if not graph.unsupported_ops else None
    report: dict[str, Any] = {
        "model": {
            "path": graph.path,
            "sha256": graph.sha256,
            "inputs": [_tensor_summary(t) for t in graph.input_tensors],
            "outputs": [_tensor_summary(t) for t in graph.output_tensors],
        },
        "ops": [_op_row(graph, op, step, plan) for step, op in enumerate(graph.operators)],
        "folded": [_folded_row(graph, record) for record in graph.folded],
        "totals": {
            "ops": len(graph.operators),
            "macs": graph.total_macs,
            "params": graph.params,
            "weight_bytes": graph.weight_bytes,
            "arena_bytes": plan.arena_bytes if plan else None,
            "arena_lower_bound_bytes": plan.lower_bound_bytes if plan else None,
            # variable tensors (LSTM/SVDF state): their own region of the arena, kept between inferences
            "state_bytes": plan.state_bytes if plan else sum(t.nbytes for t in graph.variable_tensors),
            "state_tensors": [t.index for t in graph.variable_tensors],
        },
        "unsupported_ops": unsupported_rows(graph),
    }
    if board is not None and plan is not None:
        report["board"] = board_fit(board, plan, graph)
    return report


def _tensor_summary(tensor) -> dict[str, Any]:
    return {"name": tensor.name, "shape": list(tensor.shape), "dtype": tensor.dtype,
            "scale": tensor.scale, "zero_point": tensor.zero_point}


def _op_row(graph: Graph, op, step: int, plan: MemoryPlan | None) -> dict[str, Any]:
    constants = [graph.tensors[i] for i in op.inputs if i >= 0 and graph.tensors[i].is_constant]
    return {
        "index": op.index,
        "op": op.opcode,
        "output_shape": list(graph.tensors[op.outputs[0]].shape) if op.outputs else [],
        "params": sum(t.num_elements for t in constants),
        "macs": op.macs,
        "weight_bytes": sum(t.nbytes for t in constants),
        "live_bytes": plan.live_bytes[step] if plan else None,
        "supported": op.supported,
    }


def _folded_row(graph: Graph, record: FoldedOp) -> dict[str, Any]:
    """An op that does not run on the device: folded into constants (shown, when small) or dead."""
    row: dict[str, Any] = {"index": record.index, "op": record.opcode, "kind": record.kind, "tensors": []}
    for index in record.outputs:
        tensor = graph.tensors[index]
        item = {"index": index, "name": tensor.name, "shape": list(tensor.shape), "dtype": tensor.dtype}
        if tensor.is_constant and tensor.num_elements <= FOLDED_VALUES_SHOWN:
            item["values"] = tensor.data.reshape(-1).tolist()
        row["tensors"].append(item)
    return row


def board_fit(board_id: str, plan: MemoryPlan, graph: Graph) -> dict[str, Any]:
    """Whether arena + runtime fit the board's RAM and weights + code its flash, and by how much."""
    from tinykit.targets.boards import estimate_fit, load_board

    board = load_board(board_id)
    fit = estimate_fit(board, plan.arena_bytes, graph.weight_bytes)
    return {
        "id": board.id,
        "fits": fit.fits,
        "ram_needed": fit.ram_needed,
        "ram_available": fit.ram_available,
        "flash_needed": fit.flash_needed,
        "flash_available": fit.flash_available,
        "ram_missing": max(0, fit.ram_needed - fit.ram_available),
        "flash_missing": max(0, fit.flash_needed - fit.flash_available),
    }
