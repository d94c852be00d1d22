"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE) lowered to state tensors.

The TFLite converter keeps a model's ``tf.Variable`` state (``experimental_enable_resource_variables``)
as resources: VAR_HANDLE names one by (container, shared_name), READ_VARIABLE copies its bytes out,
ASSIGN_VARIABLE copies bytes in, and CALL_ONCE runs an init subgraph (VAR_HANDLE + ASSIGN_VARIABLE
of constants) on the first invoke. tinykit has no resources at run time: the reader turns each
variable into a variable tensor of the main graph (the state region, kept across invocations),
READ_VARIABLE and ASSIGN_VARIABLE into byte copies from/to it, and the init subgraph into the
tensor's ``initial`` value. VAR_HANDLE and CALL_ONCE then do nothing on the device and are recorded
as ``"resource"`` entries of ``Graph.folded``.

TFLite Micro's semantics, kept exactly (micro_resource_variable.cc, call_once.cc):
- the first ASSIGN_VARIABLE *prepared* (subgraph 0 in op order, then the others by index) fixes the
  variable's size and its default byte, the int8 cast of that value tensor's first zero point (0
  without quantization); the buffer starts filled with it;
- CALL_ONCE runs the init subgraph on the first invoke only: ``Reset()`` refills every variable with
  its default byte and does not run the init subgraph again. So NAME_init() = reset + initial
  values, NAME_reset() = default bytes, as ``interpreter.reset()`` does.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tinykit.errors import ModelFormatError, UnsupportedOpError
from tinykit.ir.graph import RESOURCE, FoldedOp, Operator, Tensor

RESOURCE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})
#: the only ops an init subgraph may hold: it must compute nothing but constant assignments
INIT_OPS = frozenset({"VAR_HANDLE", "ASSIGN_VARIABLE"})


@dataclass
class _Variable:
    """One resource: the main graph's tensor that becomes its storage, and what fixes its layout."""

    name: str
    index: int
    value: Tensor | None = None  # the first-prepared assignment's value tensor
    initial: np.ndarray | None = None


@dataclass(frozen=True)
class Subgraph:
    """The reader's view of one subgraph: tensors and ops (opcode, decoded options, wiring)."""

    tensors: tuple[Tensor, ...]
    operators: tuple[Operator, ...]


def init_subgraphs(main: Subgraph, count: int, source: str) -> list[int]:
    """Indices of the subgraphs CALL_ONCE runs; every other subgraph beyond the first is refused."""
    wanted = []
    for op in main.operators:
        if op.opcode != "CALL_ONCE":
            continue
        index = int(op.options.get("init_subgraph_index", 0))
        if not 0 < index < count:
            raise ModelFormatError(f"{source}: operator {op.index} (CALL_ONCE) runs subgraph {index}, "
                                   f"which does not exist (the model has {count})")
        wanted.append(index)
    if sorted(set(wanted)) != list(range(1, count)):
        raise ModelFormatError(
            f"{source}: model has {count} subgraphs; tinykit supports exactly one, plus the init "
            "subgraphs of CALL_ONCE (no control flow or multi-signature models)")
    return sorted(set(wanted))


def lower_resources(main: Subgraph, inits: list[tuple[int, Subgraph]], source: str) -> tuple[Subgraph, list[FoldedOp]]:
    """``main`` with its resources lowered to state tensors (see the module docstring); ``inits`` are
    the init subgraphs with their index in the file, in the order TFLite Micro prepares them."""
    if not any(op.opcode in RESOURCE_OPS for op in main.operators):
        return main, []
    _check_order(main)
    handles = _handles(main, source)
    variables: dict[tuple[str, str], _Variable] = {}
    for key, index in handles.values():
        variables.setdefault(key, _Variable(key[1] or main.tensors[index].name, index))
    for op in main.operators:
        if op.opcode == "ASSIGN_VARIABLE":
            where = f"{source}: operator {op.index}"
            _assign(variables[_key(op, handles, source)], main.tensors[op.inputs[1]], where)
    for number, sub in inits:
        _run_init(sub, variables, f"{source}: init subgraph {number}")
    tensors = list(main.tensors)
    for var in variables.values():
        tensors[var.index] = _state_tensor(main.tensors[var.index], var)
    operators, records = [], []
    for op in main.operators:
        if op.opcode in ("VAR_HANDLE", "CALL_ONCE"):
            records.append(FoldedOp(op.index, op.opcode, tuple(handles[o][1] for o in op.outputs if o in handles),
                                    kind="resource"))
            continue
        if op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
            op = _rewired(op, variables, handles, source)
        operators.append(op)
    lowered = Subgraph(tuple(tensors), tuple(operators))
    _check_no_resource_left(lowered, source)
    return lowered, records


def _check_order(main: Subgraph) -> None:
    """tinykit applies the init values at NAME_init(): no variable may be used before CALL_ONCE."""
    last_call = max((i for i, op in enumerate(main.operators) if op.opcode == "CALL_ONCE"), default=-1)
    for op in main.operators[:last_call]:
        if op.opcode in ("READ_VARIABLE", "ASSIGN_VARIABLE"):
            raise UnsupportedOpError(f"op {op.index} ({op.opcode}) uses a resource variable before CALL_ONCE "
                                     "runs its init subgraph (tinykit sets the initial values before the "
                                     "first invoke)")


def _handles(sub: Subgraph, source: str) -> dict[int, tuple[tuple[str, str], int]]:
    """Resource tensor -> (its (container, shared_name) key, the main tensor standing for the key)."""
    result: dict[int, tuple[tuple[str, str], int]] = {}
    first: dict[tuple[str, str], int] = {}
    for op in sub.operators:
        if op.opcode != "VAR_HANDLE":
            continue
        if len(op.outputs) != 1 or op.outputs[0] < 0 or op.inputs:
            raise ModelFormatError(f"{source}: operator {op.index} (VAR_HANDLE) must have no input and one output")
        key = (str(op.options.get("container") or ""), str(op.options.get("shared_name") or ""))
        result[op.outputs[0]] = (key, first.setdefault(key, op.outputs[0]))
    return result


def _key(op: Operator, handles: dict, source: str) -> tuple[str, str]:
    expected = 2 if op.opcode == "ASSIGN_VARIABLE" else 1
    outputs = 0 if op.opcode == "ASSIGN_VARIABLE" else 1
    if len(op.inputs) != expected or len(op.outputs) != outputs or any(i < 0 for i in (*op.inputs, *op.outputs)):
        raise ModelFormatError(f"{source}: operator {op.index} ({op.opcode}) must have {expected} input(s) and "
                               f"{outputs} output(s)")
    if op.inputs[0] not in handles:
        raise ModelFormatError(f"{source}: operator {op.index} ({op.opcode}) reads tensor {op.inputs[0]}, "
                               "which no VAR_HANDLE produces")
    return handles[op.inputs[0]][0]


def _assign(var: _Variable, value: Tensor, where: str) -> None:
    """The first assignment fixes the variable's size; every later one must copy as many bytes."""
    if value.dtype == RESOURCE:
        raise ModelFormatError(f"{where} (ASSIGN_VARIABLE) assigns a resource handle")
    if var.value is None:
        var.value = value
    elif value.nbytes != var.value.nbytes:
        raise ModelFormatError(
            f"{where} (ASSIGN_VARIABLE) assigns {value.nbytes} bytes to resource variable "
            f"'{var.name}', whose first assignment fixed {var.value.nbytes} bytes")


def _run_init(sub: Subgraph, variables: dict[tuple[str, str], _Variable], source: str) -> None:
    """The init subgraph's constant assignments become the variables' initial values (``source``
    names the subgraph in errors)."""
    handles = _handles(sub, source)
    for op in sub.operators:
        if op.opcode not in INIT_OPS:
            raise UnsupportedOpError(f"the init subgraph of CALL_ONCE runs {op.opcode}; tinykit supports init "
                                     "subgraphs that assign constants (VAR_HANDLE + ASSIGN_VARIABLE) only")
        if op.opcode == "VAR_HANDLE":
            continue
        var = variables.get(_key(op, handles, source))
        if var is None:
            continue  # a variable the main graph never uses: initialising it changes nothing
        value = sub.tensors[op.inputs[1]]
        if value.data is None:
            raise UnsupportedOpError(f"the init subgraph of CALL_ONCE assigns '{var.name}' a value that is not "
                                     "a constant; tinykit supports constant initial values only")
        _assign(var, value, f"{source} operator {op.index}")
        var.initial = value.data


def _state_tensor(handle: Tensor, var: _Variable) -> Tensor:
    """The variable as a state tensor of the main graph, laid out like its first assignment."""
    value = var.value
    if value is None:
        return handle  # never assigned: a READ_VARIABLE of it is refused when rewired
    zero_point = value.quantization.zero_point[0] if value.quantization else 0
    fill = int(np.array(zero_point).astype(np.int8).view(np.uint8))  # TFLM keeps it as an int8_t
    initial = None
    if var.initial is not None:
        initial = np.frombuffer(np.ascontiguousarray(var.initial).tobytes(), dtype=np.dtype(value.dtype))
        initial = initial.reshape(value.shape).copy()
        initial.flags.writeable = False
    return dataclasses.replace(handle, name=var.name, shape=value.shape, dtype=value.dtype,
                               quantization=value.quantization, data=None, is_variable=True,
                               initial=initial, fill=fill)


def _rewired(op: Operator, variables: dict, handles: dict, source: str) -> Operator:
    """READ_VARIABLE / ASSIGN_VARIABLE reading the variable's state tensor instead of its handle."""
    var = variables[_key(op, handles, source)]
    if var.value is None:
        raise ModelFormatError(f"{source}: operator {op.index} (READ_VARIABLE) reads resource variable "
                               f"'{var.name}', which no ASSIGN_VARIABLE ever assigns")
    return dataclasses.replace(op, inputs=(var.index, *op.inputs[1:]))


def read_sizes_match(sub: Subgraph, source: str) -> None:
    """Every READ_VARIABLE copies out exactly the variable's bytes (TFLite Micro only DCHECKs it)."""
    for op in sub.operators:
        if op.opcode != "READ_VARIABLE":
            continue
        var, out = sub.tensors[op.inputs[0]], sub.tensors[op.outputs[0]]
        if var.nbytes != out.nbytes:
            raise ModelFormatError(f"{source}: operator {op.index} (READ_VARIABLE) reads {out.nbytes} bytes from "
                                   f"resource variable '{var.name}', which holds {var.nbytes}")


def _check_no_resource_left(sub: Subgraph, source: str) -> None:
    read_sizes_match(sub, source)
    for op in sub.operators:
        for index in (*op.inputs, *op.outputs):
            if index >= 0 and sub.tensors[index].dtype == RESOURCE:
                raise UnsupportedOpError(f"op {op.index} ({op.opcode}) takes a resource handle; tinykit supports "
                                         "resources through READ_VARIABLE and ASSIGN_VARIABLE only")
