"""On-device measurement: load inputs, run inferences, read raw outputs, judge them, summarise.

The device is reached through :class:`~tinykit.device.DeviceClient` over any pyserial URL. Every
output byte is compared with the tflite-micro reference runtime (:mod:`tinykit.oracle`); latency
is reported in the unit the board can honestly give: core cycles (and µs at the board clock) on
silicon, *instructions per inference on the emulated core* under QEMU, never milliseconds there.

Results (the dict :func:`measure` returns; `tinykit measure`/`run` add provenance and sizes):
``board``, ``emulated``, ``clock_hz``, ``model_sha256``, ``inputs``, ``runs``;
``instructions_per_inference`` (emulated) or ``cycles_per_inference`` + ``latency_us`` (real),
the median of ``latency`` {unit, description, median, p90, max, min, samples};
``mismatched_bytes`` and ``validation`` {checked, max_abs_diff, mismatched_inputs, compared_bytes};
``accuracy``/``host_accuracy`` (with labels); ``energy_estimate`` (label "estimate") and
``energy_measured`` (with --power); ``layers`` [{index, name, cycles}] of the first input;
``arena_bytes``, ``stack_bytes``, ``stack_used_bytes`` (from the device); ``macs``;
``device_faults`` (transient faults the client recovered from); ``device`` {name, info, url};
``stateful`` and ``steps``.

A stateful model (LSTM/SVDF variable tensors) is measured as sequences: `tk-reset`, the inputs one
after the other, and that again (at least twice, ``runs`` times if more), every step compared with
the reference runtime running the same steps (:func:`tinykit.oracle.run_steps`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykit import oracle
from tinykit.data.model_inputs import INPUT_SUFFIXES, UINT8_OFFSET, load_inputs  # noqa: F401  (re-exported)
from tinykit.device import DeviceClient
from tinykit.errors import DataError, DeviceError

# Random inputs `measure` uses when none are given (fixed seed: oracle.DEFAULT_SEED).
DEFAULT_NUM_INPUTS = 10
# Inferences per input whose cycle counts feed the statistics.
DEFAULT_RUNS = 1
# Under --power: runs (energy windows) and `infer N 0` inferences per run; the median run is reported.
POWER_RUNS = 5
POWER_INFERENCES_PER_RUN = 10

Progress = Callable[[int, int], None]


@dataclass
class MeasureRequest:
    """Everything `measure` needs; the CLI and `run` fill it in."""

    url: str
    board: Any  # tinykit.targets.boards.Board
    model_path: Path | None = None
    inputs_path: Path | None = None
    labels_path: Path | None = None
    num_inputs: int = DEFAULT_NUM_INPUTS
    runs: int = DEFAULT_RUNS
    power: str | None = None  # "KIND:PORT" for tinykit.power.open_monitor
    trace: Callable[[str], None] | None = None
    progress: Progress | None = None
    client_options: dict[str, Any] = field(default_factory=dict)
    inputs: list[bytes] | None = None  # given in memory (the HIL helpers), instead of inputs_path
    labels: list[int] | None = None  # one per input, instead of labels_path
    device_info: dict[str, Any] = field(default_factory=dict)  # tk-info, filled in by measure_on


# -- labels ------------------------------------------------------------------------------------
def load_labels(path: str | Path, count: int) -> list[int]:
    """Integer class labels, one per input, from a .npy or a text file (one per line)."""
    path = Path(path)
    try:
        if path.suffix == ".npy":
            labels = [int(v) for v in np.load(path, allow_pickle=False).reshape(-1)]
        else:
            labels = [int(tok) for tok in path.read_text().split()]
    except (OSError, ValueError) as err:
        raise DataError(f"labels file {path}: {err}") from None
    if len(labels) != count:
        raise DataError(f"labels file {path} has {len(labels)} labels for {count} inputs")
    return labels


# -- statistics and validation -----------------------------------------------------------------
def stats(values: list[int]) -> dict[str, float]:
    """median / p90 / max / min over runs (p90 by linear interpolation)."""
    arr = np.asarray(values, dtype=np.float64)
    out = {"median": np.median(arr), "p90": np.percentile(arr, 90), "max": arr.max(), "min": arr.min()}
    return {**{k: int(v) if float(v).is_integer() else float(v) for k, v in out.items()}, "samples": len(values)}


def compare_outputs(device: list[list[bytes]], host: list[list[bytes]],
                    dtypes: list[np.dtype] | None = None) -> dict[str, Any]:
    """Byte-by-byte comparison of every output of every input; the largest difference of the values
    each output holds (``dtypes``, int8 when not given)."""
    mismatched, max_diff, bad_inputs, total = 0, 0, [], 0
    for i, (dev_outs, host_outs) in enumerate(zip(device, host, strict=True)):
        wrong = 0
        if [len(o) for o in dev_outs] != [len(o) for o in host_outs]:
            raise DeviceError(
                f"input {i}: device output sizes {[len(o) for o in dev_outs]} differ from the model's "
                f"{[len(o) for o in host_outs]}", hint="is the device running this model?")
        for k, (d, h) in enumerate(zip(dev_outs, host_outs, strict=True)):
            dtype = np.dtype(dtypes[k]) if dtypes else np.dtype(np.int8)
            wrong += int(np.count_nonzero(np.frombuffer(d, np.uint8) != np.frombuffer(h, np.uint8)))
            diff = np.abs(np.frombuffer(d, dtype).astype(np.float64) - np.frombuffer(h, dtype).astype(np.float64))
            value = diff.max(initial=0.0)
            max_diff = max(max_diff, int(value) if float(value).is_integer() else float(value))
            total += len(d)
        mismatched += wrong
        if wrong:
            bad_inputs.append(i)
    return {"checked": True, "mismatched_bytes": mismatched, "max_abs_diff": max_diff,
            "mismatched_inputs": bad_inputs, "compared_bytes": total}


def accuracy(outputs: list[list[bytes]], labels: list[int], dtype: np.dtype | None = None) -> float:
    """Top-1 accuracy of output 0 (argmax of its raw values, int8 unless ``dtype``; scale > 0
    keeps the order)."""
    preds = [int(np.argmax(np.frombuffer(o[0], dtype=dtype or np.int8))) for o in outputs]
    return float(np.mean([p == y for p, y in zip(preds, labels, strict=True)]))


# -- the measurement itself --------------------------------------------------------------------
def _prepare_inputs(req: MeasureRequest, input_bytes: int) -> list[bytes]:
    if req.inputs is not None:
        return list(req.inputs)
    if req.inputs_path is not None:
        return load_inputs(req.inputs_path, oracle.input_specs(req.model_path) if req.model_path else input_bytes)
    if req.model_path is not None:
        return oracle.random_inputs(req.model_path, req.num_inputs)
    rng = np.random.default_rng(oracle.DEFAULT_SEED)
    return [rng.integers(-128, 127, size=input_bytes, endpoint=True, dtype=np.int8).tobytes()
            for _ in range(req.num_inputs)]


def _check_device(info: dict[str, Any], req: MeasureRequest, sha: str | None, input_bytes: int | None) -> None:
    if sha and str(info.get("model", "")) and not sha.startswith(str(info.get("model"))):
        raise DeviceError(
            f"the device runs model {info.get('model')}, not {Path(req.model_path).name} ({sha[:16]})",
            hint="build and flash this model first (`tinykit run MODEL`), or pass the matching --model",
        )
    if info.get("board") and info["board"] != req.board.id:
        raise DeviceError(f"the device reports board {info['board']!r}, not {req.board.id!r}")
    if input_bytes is not None and info.get("input_bytes") not in (None, input_bytes):
        raise DeviceError(f"the device expects {info['input_bytes']} input bytes, the model {input_bytes}")


def at_device_clock(req: MeasureRequest, info: dict[str, Any]) -> MeasureRequest:
    """The request with the board at the clock the firmware reports (a `--clock reset` build runs slower)."""
    from tinykit.targets.boards import board_at_clock

    clock = info.get("clock")
    if clock in (None, "") or int(clock) == req.board.clock_hz:
        return req
    reset = board_at_clock(req.board, "reset")
    if int(clock) != reset.clock_hz:
        raise DeviceError(f"the device reports a {int(clock) / 1e6:g} MHz clock; {req.board.id} runs at "
                          f"{req.board.clock_hz / 1e6:g} MHz (or {reset.clock_hz / 1e6:g} MHz with --clock reset)",
                          hint="rebuild and flash the firmware for this board")
    return dataclasses.replace(req, board=reset)


def stateful_steps(inputs: list[bytes], runs: int) -> list[oracle.Step]:
    """A stateful model's measurement: max(runs, 2) passes over the inputs, each from a reset."""
    return [step for _ in range(max(runs, 2)) for step in (oracle.RESET, *inputs)]


def device_bytes(info: dict[str, Any], model_input: bytes) -> bytes:
    """What to send for one model input: firmware declaring uint8 data (tk-info ``input_data=uint8``)
    subtracts 128 from each byte it receives, so it is sent each byte plus 128."""
    if info.get("input_data") != "uint8":
        return model_input
    return (np.frombuffer(model_input, dtype=np.uint8) ^ 0x80).tobytes()


def _load(dev: DeviceClient, info: dict[str, Any], blob: bytes, sizes: list[int] | None) -> None:
    """One blob onto the device (CRC-checked): with `db load`, or input by input (`tk-load I N`) for
    a model with several inputs (``sizes``: the byte size of each)."""
    if sizes is None or len(sizes) < 2:
        dev.load_input(device_bytes(info, blob))
        return
    offsets = itertools.pairwise(np.cumsum([0, *sizes]))
    dev.load_inputs([device_bytes(info, blob[int(a):int(b)]) for a, b in offsets])


def run_sequence(dev: DeviceClient, steps: list[oracle.Step], progress: Progress | None = None,
                 info: dict[str, Any] | None = None, sizes: list[int] | None = None) -> dict[str, Any]:
    """A stateful model's steps on the device: one inference per input step (the state carries
    over), `tk-reset` at each RESET step; the cycles and outputs of every input step. ``info``
    (tk-info) says how the device wants its input bytes, ``sizes`` how the blob splits into inputs."""
    cycles: list[int] = []
    outputs: list[list[bytes]] = []
    layers: list[tuple[str, int]] = []
    total = sum(step is not oracle.RESET for step in steps)
    for step in steps:
        if step is oracle.RESET:
            dev.reset_state()
            continue
        _load(dev, info or {}, step, sizes)
        dev.run_once()
        cycles.append(dev.cycles())
        outputs.append(dev.outputs())
        if len(outputs) == 1:
            layers = dev.layers()
        if progress:
            progress(len(outputs), total)
    return {"cycles": cycles, "outputs": outputs, "layers": layers}


def _run_inputs(dev: DeviceClient, req: MeasureRequest, inputs: list[bytes], sizes: list[int] | None) -> dict[str, Any]:
    cycles: list[int] = []
    outputs: list[list[bytes]] = []
    layers: list[tuple[str, int]] = []
    for i, blob in enumerate(inputs):
        _load(dev, req.device_info, blob, sizes)  # checks the device's CRC of the loaded bytes
        for _ in range(req.runs):
            dev.run_once()
            cycles.append(dev.cycles())
        outputs.append(dev.outputs())
        if i == 0:
            layers = dev.layers()
        if req.progress:
            req.progress(i + 1, len(inputs))
    return {"cycles": cycles, "outputs": outputs, "layers": layers}


def _measure_power(mon: Any, dev: DeviceClient) -> dict[str, Any]:
    """Energy windows from a power monitor while the DUT runs `infer N 0` (MLPerf energy mode)."""
    from tinykit.power import measure_energy

    summary = measure_energy(mon, run_inferences=lambda: dev.infer(POWER_INFERENCES_PER_RUN, 0),
                             runs=POWER_RUNS, inferences_per_run=POWER_INFERENCES_PER_RUN)
    return {"label": "measured", **summary.to_dict()}


def energy_estimate(board: Any, cycles_per_inference: float) -> dict[str, Any] | None:
    """The board power model's energy estimate (labelled "estimate"); None if unavailable."""
    try:
        from tinykit.power import estimate_energy
    except ImportError:  # integration point: tinykit.power (PWR) not present in this tree
        return None
    note = "instructions on the emulated core taken as cycles" if board.emulated else ""
    return estimate_energy(board, round(cycles_per_inference), cycles_note=note).to_dict()


def latency_summary(board: Any, cycles: list[int]) -> dict[str, Any]:
    """Latency in the unit the board can honestly report (see module docstring)."""
    s = stats(cycles)
    if board.emulated:
        return {"unit": "instructions", "description": "instructions per inference on the emulated core",
                **s}
    per_us = 1e6 / board.clock_hz
    return {"unit": "cycles", "description": f"core cycles per inference at {board.clock_hz} Hz", **s,
            "us": {k: s[k] * per_us for k in ("median", "p90", "max", "min")}}


def measure(req: MeasureRequest) -> dict[str, Any]:
    """Run the whole measurement; returns the results dict (the caller writes it)."""
    if req.power:
        from tinykit.power import open_monitor
    stateful = oracle.is_stateful(req.model_path) if req.model_path else False
    if req.model_path:  # a bad inputs file fails before the device (or the monitor) is touched
        req = dataclasses.replace(req, inputs=_prepare_inputs(req, _input_bytes(req.model_path)))
    with contextlib.ExitStack() as stack:
        # The monitor first: configuring it powers the DUT on, which resets it.
        # The DUT runs at the board's own supply voltage (the monitor is its supply).
        supply_mv = round(req.board.power.supply_voltage_v * 1000)
        mon = stack.enter_context(open_monitor(req.power, voltage_mv=supply_mv)) if req.power else None
        dev = stack.enter_context(
            DeviceClient(req.url, baud=req.board.uart.baud, trace=req.trace, stateful=stateful,
                         **req.client_options))
        return measure_on(dev, req, mon)


def measure_on(dev: DeviceClient, req: MeasureRequest, mon: Any = None) -> dict[str, Any]:
    """The measurement on a client the caller keeps open (the pytest plugin's session device)."""
    sha = oracle.model_sha256(req.model_path) if req.model_path else None
    stateful = dev.stateful
    input_bytes = _input_bytes(req.model_path) if req.model_path else None
    inputs = _prepare_inputs(req, input_bytes) if input_bytes is not None else None
    name = dev.wait_ready()
    info = dev.info()
    _check_device(info, req, sha, input_bytes)
    req = dataclasses.replace(at_device_clock(req, info), device_info=info)
    if inputs is None:
        inputs = _prepare_inputs(req, int(info["input_bytes"]))
    labels = _labels(req, len(inputs))
    steps = stateful_steps(inputs, req.runs) if stateful else None
    sizes = [s.nbytes for s in oracle.input_specs(req.model_path)] if req.model_path else None
    raw = run_sequence(dev, steps, req.progress, info, sizes) if steps else _run_inputs(dev, req, inputs, sizes)
    power = _measure_power(mon, dev) if mon is not None else None
    # the stack's high-water mark (painted stack) after these inferences, not before them
    info["stack_used"] = dev.info().get("stack_used", info.get("stack_used"))
    raw["steps"] = steps
    return _summarise(req, name, info, sha, inputs, labels, raw, power, list(dev.faults))


def _input_bytes(model_path: Path) -> int:
    return sum(s.nbytes for s in oracle.input_specs(model_path))


def _labels(req: MeasureRequest, count: int) -> list[int] | None:
    if req.labels is not None:
        if len(req.labels) != count:
            raise DataError(f"{len(req.labels)} labels for {count} inputs")
        return list(req.labels)
    return load_labels(req.labels_path, count) if req.labels_path else None


def _reference(req: MeasureRequest, inputs: list[bytes], steps: list[oracle.Step] | None) -> list | None:
    if req.model_path is None:
        return None
    return oracle.run_steps(req.model_path, steps) if steps else oracle.reference_outputs(req.model_path, inputs)


def _summarise(req, name, info, sha, inputs, labels, raw, power, faults) -> dict[str, Any]:
    latency = latency_summary(req.board, raw["cycles"])
    host = _reference(req, inputs, raw["steps"])
    dtypes = [s.dtype for s in oracle.output_specs(req.model_path)] if req.model_path else [np.dtype(np.int8)]
    validation = (compare_outputs(raw["outputs"], host, dtypes) if host
                  else {"checked": False, "mismatched_bytes": None})
    first = raw["outputs"][:len(inputs)]  # a stateful model's first pass: one output per input
    key = "instructions_per_inference" if req.board.emulated else "cycles_per_inference"
    result: dict[str, Any] = {
        "board": req.board.id, "board_name": req.board.name, "emulated": req.board.emulated,
        "clock_hz": req.board.clock_hz, "model_sha256": sha,
        "model_path": str(req.model_path) if req.model_path else None,
        "device": {"name": name, "info": info, "url": req.url},
        "inputs": len(inputs), "runs": req.runs,
        key: latency["median"], "latency": latency,
        "mismatched_bytes": validation["mismatched_bytes"], "validation": validation,
        "accuracy": accuracy(first, labels, dtypes[0]) if labels else None,
        "host_accuracy": accuracy(host[:len(inputs)], labels, dtypes[0]) if labels and host else None,
        "energy_estimate": energy_estimate(req.board, latency["median"]),
        "energy_measured": power,
        "layers": [{"index": i, "name": n, "cycles": c} for i, (n, c) in enumerate(raw["layers"])],
        "arena_bytes": info.get("arena"), "stack_bytes": info.get("stack"),
        "stack_used_bytes": info.get("stack_used"), "device_faults": faults,
        "stateful": raw["steps"] is not None,
        "steps": len(raw["outputs"]),
    }
    if not req.board.emulated:
        result["latency_us"] = latency["us"]["median"]
    result["macs"] = _macs(req.model_path) if req.model_path else None
    return result


def _macs(model_path: Path) -> int | None:
    """Multiply-accumulates per inference from the IR (for per-MAC figures); None if unreadable."""
    try:
        from tinykit.ir import read_model

        return int(read_model(model_path).total_macs)
    except Exception:  # the IR rejecting a model must not lose a finished measurement
        return None
