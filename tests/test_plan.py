"""Memory planner: no live overlap, aliasing, scratch, and arena sizes against TFLite Micro."""

from __future__ import annotations

import itertools

import pytest

from tinykit.ir import read_model
from tinykit.ir.ops import op_handler
from tinykit.models import reference_model
from tinykit.plan import ALIGNMENT, plan_memory

# TFLite Micro's arena_used_bytes() for the reference kernels (ANCHORS.md).
TFLM_ARENA_BYTES = {"kws": 22_772, "ic": 54_340, "vww": 100_660, "ad": 2_260, "hello_world": 676}


def _assert_no_live_overlap(plan) -> None:
    for a, b in itertools.combinations(plan.buffers, 2):
        if a.first <= b.last and b.first <= a.last:
            assert a.offset + a.size <= b.offset or b.offset + b.size <= a.offset, (a, b)


@pytest.mark.parametrize("name", sorted(TFLM_ARENA_BYTES))
def test_arena_beats_tflm_and_is_near_lower_bound(name: str) -> None:
    plan = plan_memory(read_model(reference_model(name)))
    assert plan.arena_bytes <= TFLM_ARENA_BYTES[name]
    assert plan.arena_bytes <= 1.10 * plan.lower_bound_bytes
    assert all(b.offset % ALIGNMENT == 0 for b in plan.buffers)
    _assert_no_live_overlap(plan)


@pytest.mark.parametrize("name", sorted(TFLM_ARENA_BYTES))
def test_every_activation_is_placed(name: str) -> None:
    graph = read_model(reference_model(name))
    plan = plan_memory(graph)
    for op in graph.operators:
        for index in (*op.inputs, *op.outputs):
            if index >= 0 and not graph.tensors[index].is_constant:
                offset = plan.offsets[index]
                assert offset >= 0 and offset + graph.tensors[index].nbytes <= plan.arena_bytes


def test_reshape_aliases_its_input() -> None:
    graph = read_model(reference_model("kws"))
    plan = plan_memory(graph)
    (reshape,) = [op for op in graph.operators if op.opcode == "RESHAPE"]
    assert plan.offsets[reshape.inputs[0]] == plan.offsets[reshape.outputs[0]]


def test_lifetimes_cover_graph_inputs_and_outputs() -> None:
    graph = read_model(reference_model("ic"))
    plan = plan_memory(graph)
    last = len(graph.operators) - 1
    by_tensor = {t: b for b in plan.buffers for t in b.tensors}
    assert all(by_tensor[i].first == 0 for i in graph.inputs)
    assert all(by_tensor[i].last == last for i in graph.outputs)
    # the residual branch of the first ADD stays alive across the block it skips
    add = next(op for op in graph.operators if op.opcode == "ADD")
    assert all(by_tensor[i].last >= add.index for i in add.inputs)


def test_scratch_buffers_are_planned(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = op_handler("CONV_2D")
    monkeypatch.setattr(type(handler), "scratch_bytes", lambda self, op, graph: 1000 + op.index)
    graph = read_model(reference_model("kws"))
    plan = plan_memory(graph)
    convs = [op.index for op in graph.operators if op.opcode == "CONV_2D"]
    assert set(convs) <= set(plan.scratch_offsets)
    assert all(plan.scratch_bytes[i] == 1000 + i for i in convs)
    assert plan.lower_bound_bytes >= 16_000 + 1000
    _assert_no_live_overlap(plan)


def test_live_bytes_per_step() -> None:
    graph = read_model(reference_model("kws"))
    plan = plan_memory(graph)
    assert len(plan.live_bytes) == len(graph.operators)
    assert max(plan.live_bytes) == plan.lower_bound_bytes
    first_conv_scratch = plan.scratch_bytes.get(0, 0)
    assert plan.live_bytes[0] == 490 + 8000 + first_conv_scratch  # input + first conv output + scratch


def test_elementwise_ops_run_in_place() -> None:
    """ResNet's residual ADDs write into the branch input that dies there; the graph input never."""
    graph = read_model(reference_model("ic"))
    plan = plan_memory(graph)
    adds = [op for op in graph.operators if op.opcode == "ADD"]
    assert any(plan.offsets[op.outputs[0]] in {plan.offsets[i] for i in op.inputs} for op in adds)
    input_buffers = [b for b in plan.buffers if set(b.tensors) & set(graph.inputs)]
    assert [b.tensors for b in input_buffers] == [list(graph.inputs)]
