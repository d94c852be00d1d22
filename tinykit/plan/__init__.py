"""The memory plan: tensor lifetimes, placement in one arena, aliases and in-place reuse."""

from tinykit.plan.arena import (
    ALIGNMENT,
    Buffer,
    MemoryPlan,
    plan_memory,
    scratch_buffers,
    tensor_buffers,
)

__all__ = ["ALIGNMENT", "Buffer", "MemoryPlan", "plan_memory", "scratch_buffers", "tensor_buffers"]
