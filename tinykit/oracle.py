"""The host reference: what the tflite-micro Python runtime computes for given input bytes.

Every on-device or host-compiled result in tinykit is judged against these bytes ("bit-exact vs
the tflite-micro reference runtime"), so the oracle is deliberately tiny: raw bytes in, raw bytes
out, no dequantization, no reshaping beyond what the runtime needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from tinykit.errors import DataError, ModelFormatError

# Seed of the default random inputs: fixed so two runs of `measure` see the same inputs.
DEFAULT_SEED = 0

# A step of a sequence (see run_steps) that puts the model's state back to its initial value.
RESET = None

Step = bytes | None


@dataclass(frozen=True)
class TensorSpec:
    """Shape and dtype of one model input or output, as the runtime sees it."""

    shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


# Arena of the reference interpreter: room for every tensor of the model at once, twice over (the
# runtime's default of a few KB cannot even hold one 16x8 layer of the corpus), plus its own data.
ARENA_OVERHEAD_BYTES = 1 << 20


def _arena_size(model_bytes: bytes) -> int:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    total = 0
    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for s in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(s)
            for t in range(subgraph.TensorsLength()):
                shape = subgraph.Tensors(t).ShapeAsNumpy()
                total += 8 * int(np.prod(shape, dtype=np.int64)) if isinstance(shape, np.ndarray) else 8
    except Exception:  # a corrupt flatbuffer: the runtime itself reports it
        total = 0
    return 2 * total + ARENA_OVERHEAD_BYTES


def _interpreter(model_bytes: bytes):
    from tflite_micro.python.tflite_micro import runtime

    from tinykit.ir.tflm import captured_output

    with captured_output() as printed:  # the runtime's own complaint, instead of noise on the terminal
        try:
            return runtime.Interpreter.from_bytes(model_bytes, arena_size=_arena_size(model_bytes))
        except (RuntimeError, ValueError) as err:
            error = err
    said = f" ({' '.join(printed[0].split())[:160]})" if printed else ""
    raise ModelFormatError(f"the tflite-micro runtime cannot load the model: {error}{said}") from None


def _read(model_path: str | Path) -> bytes:
    try:
        return Path(model_path).read_bytes()
    except OSError as err:
        raise ModelFormatError(f"cannot read model {model_path}: {err.strerror}") from None


def _io_counts(model_bytes: bytes) -> tuple[int, int]:
    """Number of inputs and outputs of subgraph 0 (the runtime has no call for it)."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        subgraph = schema.Model.GetRootAs(model_bytes, 0).Subgraphs(0)
        return subgraph.InputsLength(), subgraph.OutputsLength()
    except Exception as err:  # a corrupt flatbuffer raises anything from struct.error to IndexError
        raise ModelFormatError(f"not a readable .tflite model: {err}") from None


def _specs(details, count: int) -> list[TensorSpec]:
    return [
        TensorSpec(tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"]))
        for d in (details(i) for i in range(count))
    ]


@lru_cache(maxsize=8)
def _model_specs(model_bytes: bytes) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    n_in, n_out = _io_counts(model_bytes)
    interp = _interpreter(model_bytes)
    return tuple(_specs(interp.get_input_details, n_in)), tuple(_specs(interp.get_output_details, n_out))


def input_specs(model_path: str | Path) -> list[TensorSpec]:
    """Shape and dtype of every model input, in order."""
    return list(_model_specs(_read(model_path))[0])


def output_specs(model_path: str | Path) -> list[TensorSpec]:
    """Shape and dtype of every model output, in order."""
    return list(_model_specs(_read(model_path))[1])


def model_sha256(model_path: str | Path) -> str:
    return hashlib.sha256(_read(model_path)).hexdigest()


def split_input(specs: list[TensorSpec], data: bytes) -> list[np.ndarray]:
    """One flat input blob (all model inputs concatenated, as `db load` sends it) -> arrays."""
    total = sum(s.nbytes for s in specs)
    if len(data) != total:
        raise DataError(f"input has {len(data)} bytes, the model expects {total}")
    arrays, offset = [], 0
    for spec in specs:
        chunk = data[offset : offset + spec.nbytes]
        arrays.append(np.frombuffer(chunk, dtype=spec.dtype).reshape(spec.shape))
        offset += spec.nbytes
    return arrays


@lru_cache(maxsize=8)
def _stateful(model_bytes: bytes) -> bool:
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    try:
        model = schema.Model.GetRootAs(model_bytes, 0)
        for g in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(g)
            if any(subgraph.Tensors(t).IsVariable() for t in range(subgraph.TensorsLength())):
                return True
        return any(model.OperatorCodes(c).BuiltinCode() == schema.BuiltinOperator.VAR_HANDLE
                   for c in range(model.OperatorCodesLength()))
    except Exception as err:  # a corrupt flatbuffer raises anything from struct.error to IndexError
        raise ModelFormatError(f"not a readable .tflite model: {err}") from None


def is_stateful(model_path: str | Path) -> bool:
    """Whether the model keeps state from one invocation to the next (variable tensors of LSTM/SVDF,
    or resource variables): its outputs then depend on the inputs before, not only on this one."""
    return _stateful(_read(model_path))


def sequence_steps(inputs: list[bytes], stateful: bool) -> list[Step]:
    """The steps that check a model on ``inputs``: each input once for a stateless model; for a
    stateful one the inputs as one sequence, a reset, then the same sequence again (every step of
    both must match, which also checks that a reset really restores the initial state)."""
    return [*inputs, RESET, *inputs] if stateful else list(inputs)


def run_steps(model_path: str | Path, steps: list[Step]) -> list[list[bytes]]:
    """Run ``steps`` (input blobs, and RESET) through one interpreter, starting from the initial
    state; for each input step, the raw bytes of every output. A stateful model carries its state
    from one input to the next, as on the device; a stateless model sees each input alone."""
    model_bytes = _read(model_path)
    specs = list(_model_specs(model_bytes)[0])
    n_out = len(_model_specs(model_bytes)[1])
    stateful = _stateful(model_bytes)
    interp = _interpreter(model_bytes)
    results: list[list[bytes]] = []
    for data in steps:
        if data is RESET or not stateful:
            interp.reset()  # MicroInterpreter::Reset: variable tensors to their initial value
        if data is RESET:
            continue
        for i, array in enumerate(split_input(specs, data)):
            interp.set_input(array, i)
        interp.invoke()
        results.append([np.ascontiguousarray(interp.get_output(i)).tobytes() for i in range(n_out)])
    return results


def reference_outputs(model_path: str | Path, inputs: list[bytes]) -> list[list[bytes]]:
    """For each input blob, the raw bytes of every output the reference runtime computes (for a
    stateful model, the inputs are one sequence from the initial state: see run_steps)."""
    return run_steps(model_path, list(inputs))


def random_inputs(graph_or_path, n: int, seed: int = DEFAULT_SEED) -> list[bytes]:
    """``n`` reproducible random input blobs covering each input dtype's full range.

    Accepts a model path or a ``tinykit.ir.Graph`` (its input tensors give shapes and dtypes).
    """
    if isinstance(graph_or_path, (str, Path)):
        specs = input_specs(graph_or_path)
    else:
        tensors = [graph_or_path.tensors[i] for i in graph_or_path.inputs]
        specs = [TensorSpec(tuple(t.shape), np.dtype(t.dtype)) for t in tensors]
    rng = np.random.default_rng(seed)
    blobs = []
    for _ in range(n):
        parts = []
        for spec in specs:
            info = np.iinfo(spec.dtype) if spec.dtype.kind in "iu" else None
            if spec.dtype.kind == "b":  # bool: as many false as true (a cast normal would be all true)
                arr = rng.integers(0, 2, size=spec.shape).astype(np.bool_)
            elif info is None:
                arr = rng.standard_normal(spec.shape).astype(spec.dtype)
            else:
                arr = rng.integers(info.min, info.max, size=spec.shape, endpoint=True, dtype=spec.dtype)
            parts.append(arr.tobytes())
        blobs.append(b"".join(parts))
    return blobs
