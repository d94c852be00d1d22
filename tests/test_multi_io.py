"""Models with several inputs and outputs, in any order, and int16 / int32 graph I/O: the generated
library API (per-index types, sizes, scales, zero points, typed accessors), host verification, the
firmware protocol (`tk-load I N`, `tk-out I`, `m-results` of int16/int32 outputs) and `measure`."""

from __future__ import annotations

import ctypes
import json
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from codegen_helpers import edit_tflite
from firmware_helpers import RawDevice
from opzoo import Case, convert
from sim_device import SimDevice, SimServer

from tinykit import oracle
from tinykit.cli import main
from tinykit.data.model_inputs import load_inputs
from tinykit.errors import DataError
from tinykit.ir import read_model
from tinykit.verify import build_host_library, verify_host

TYPE_ENUM = {"int8": 0, "uint8": 1, "int16": 2, "int32": 4, "float32": 7}


def two_in_two_out(shape_a=(6,), shape_b=(4,)):
    """Two inputs of different sizes, two outputs of different sizes (offsets must not be mixed up)."""
    import tf_keras as k

    a = k.Input(shape_a, batch_size=1, name="first")  # names fix the converter's order of the inputs
    b = k.Input(shape_b, batch_size=1, name="second")
    x = k.layers.Concatenate()([k.layers.Dense(5)(a), k.layers.Dense(5)(b)])
    first = k.layers.Dense(3, activation="relu")(x)
    second = k.layers.Add()([k.layers.Dense(shape_b[-1])(a), b])
    return k.Model([a, b], [first, second])


def small_conv(shape=(5, 5, 2)):
    import tf_keras as k

    inp = k.Input(shape, batch_size=1)
    return k.Model(inp, k.layers.Conv2D(3, 3, padding="same", activation="relu")(inp))


def reverse_io(model) -> None:
    """Flatbuffer edit: list the subgraph's inputs and outputs in the opposite order."""
    sub = model.subgraphs[0]
    sub.inputs, sub.outputs = list(sub.inputs)[::-1], list(sub.outputs)[::-1]


def int32_output(model) -> None:
    """Flatbuffer edit: the int8 output requantized to int32 (QUANTIZE int8 -> int32) is the output."""
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as s

    sub = model.subgraphs[0]
    old = sub.outputs[0]
    t = s.TensorT()
    t.shape, t.type, t.name, t.buffer = list(sub.tensors[old].shape), s.TensorType.INT32, b"out32", 0
    q = s.QuantizationParametersT()
    q.scale, q.zeroPoint = [sub.tensors[old].quantization.scale[0] / 300.0], [7]
    t.quantization = q
    sub.tensors.append(t)
    code = s.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = s.BuiltinOperator.QUANTIZE
    code.version = 1
    model.operatorCodes.append(code)
    op = s.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = len(model.operatorCodes) - 1, [old], [len(sub.tensors) - 1]
    sub.operators.append(op)
    sub.outputs = [len(sub.tensors) - 1]


CASES = {
    "two_in_two_out": Case("core_two_in_two_out", two_in_two_out, expect=("FULLY_CONNECTED", "ADD")),
    "reversed_io": Case("core_reversed_io", two_in_two_out, expect=("FULLY_CONNECTED",), edit=reverse_io),
    "int16_io": Case("core_int16_io", small_conv, expect=("CONV_2D",), activations="int16"),
    "int32_output": Case("core_int32_output", small_conv, expect=("CONV_2D", "QUANTIZE"), edit=int32_output),
}


@pytest.fixture(scope="module")
def models() -> dict[str, Path]:
    return {name: convert(case) for name, case in CASES.items()}


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(CASES))
def test_host_bit_exact(models, name: str) -> None:
    assert verify_host(models[name], n_inputs=24).mismatched_bytes == 0


@pytest.mark.host
def test_converted_io_types_and_order(models, tmp_path: Path) -> None:
    def io(path):
        g = read_model(path)
        return ([g.tensors[i].dtype for i in g.inputs], [g.tensors[i].dtype for i in g.outputs],
                [g.tensors[i].shape for i in g.inputs], [g.tensors[i].shape for i in g.outputs])

    assert io(models["int16_io"])[:2] == (["int16"], ["int16"])
    assert io(models["int32_output"])[:2] == (["int8"], ["int32"])
    # reversed from this very file: two conversions of one Keras model may list their outputs differently
    reversed_path = edit_tflite(models["two_in_two_out"], tmp_path / "reversed.tflite", reverse_io)
    plain, reversed_ = io(models["two_in_two_out"]), io(reversed_path)
    assert reversed_[2] == plain[2][::-1] and reversed_[3] == plain[3][::-1]
    assert len(set(plain[2])) == 2 and len(set(plain[3])) == 2  # sizes differ: offsets cannot be confused


def _library(path: Path, tmp_path: Path):
    from tinykit.codegen import generate

    lib = generate(path, tmp_path / "lib", name="net")
    so = ctypes.CDLL(str(build_host_library(lib.dir, "net")))
    for kind in ("input", "output"):
        getattr(so, f"net_{kind}_scale").restype = ctypes.c_float
        for fn in (kind, f"{kind}0", f"{kind}1"):
            if hasattr(so, f"net_{fn}"):
                getattr(so, f"net_{fn}").restype = ctypes.c_void_p
        for fn in ("bytes", "elements"):
            getattr(so, f"net_{kind}_{fn}").restype = ctypes.c_size_t
    return lib, so


@pytest.mark.host
@pytest.mark.parametrize("name", sorted(CASES))
def test_library_api_per_index(models, name: str, tmp_path: Path) -> None:
    """Every per-index query of the generated library agrees with the model, for every input/output."""
    graph = read_model(models[name])
    lib, so = _library(models[name], tmp_path)
    header = (lib.dir / "net.h").read_text()
    for kind, indices in (("input", graph.inputs), ("output", graph.outputs)):
        for i, index in enumerate(indices):
            t = graph.tensors[index]
            assert getattr(so, f"net_{kind}_type")(i) == TYPE_ENUM[t.dtype]
            assert getattr(so, f"net_{kind}_elements")(i) == t.num_elements
            assert getattr(so, f"net_{kind}_bytes")(i) == t.nbytes
            assert getattr(so, f"net_{kind}_zero_point")(i) == t.zero_point
            assert getattr(so, f"net_{kind}_scale")(i) == pytest.approx(t.scale, rel=1e-6)
            assert getattr(so, f"net_{kind}{i}")() == getattr(so, f"net_{kind}")(i)
            upper = f"NET_{kind.upper()}{i}"
            assert f"#define {upper}_DIMS {{{', '.join(map(str, t.shape))}}}" in header
            assert f"#define {upper}_TYPE TK_TYPE_{t.dtype.upper()}" in header
        count = len(indices)
        assert getattr(so, f"net_{kind}_elements")(count) == 0 and getattr(so, f"net_{kind}")(count) is None
    manifest = json.loads((lib.dir / "manifest.json").read_text())
    assert [io["dtype"] for io in manifest["outputs"]] == [graph.tensors[i].dtype for i in graph.outputs]


@pytest.mark.host
def test_measure_loads_each_input_on_its_own(models) -> None:
    """A two-input model is measured input by input (`tk-load I N`) and every output compared."""
    from tinykit.measure import MeasureRequest, measure
    from tinykit.targets.boards import load_board

    path = models["reversed_io"]
    device = SimDevice(path)
    with SimServer(device) as server:
        result = measure(MeasureRequest(url=server.url, board=load_board("qemu-m4"), model_path=path, num_inputs=3))
    sizes = [s.nbytes for s in oracle.input_specs(path)]
    assert result["mismatched_bytes"] == 0 and result["validation"]["compared_bytes"] == 3 * sum(
        s.nbytes for s in oracle.output_specs(path))
    loads = [c for c in device.commands if c.startswith(("tk-load", "db load"))]
    assert loads == [f"tk-load {i} {n}" for _ in range(3) for i, n in enumerate(sizes)]


@pytest.mark.host
def test_input_files_for_several_inputs_and_int16(models, tmp_path: Path) -> None:
    specs = oracle.input_specs(models["two_in_two_out"])
    rng = np.random.default_rng(0)
    arrays = [rng.integers(-128, 128, (4, *spec.shape[1:]), dtype=np.int8) for spec in specs]
    np.savez(tmp_path / "two.npz", input_0=arrays[0], input_1=arrays[1])
    blobs = load_inputs(tmp_path / "two.npz", specs)
    assert blobs == [arrays[0][k].tobytes() + arrays[1][k].tobytes() for k in range(4)]
    np.savez(tmp_path / "bad.npz", x=arrays[0])
    with pytest.raises(DataError, match="needs arrays input_0, input_1"):
        load_inputs(tmp_path / "bad.npz", specs)
    np.save(tmp_path / "one.npy", arrays[0])
    with pytest.raises(DataError, match="the model has 2 inputs"):
        load_inputs(tmp_path / "one.npy", specs)
    (spec16,) = oracle.input_specs(models["int16_io"])
    np.save(tmp_path / "i16.npy", np.zeros((2, *spec16.shape[1:]), np.int16))
    assert len(load_inputs(tmp_path / "i16.npy", [spec16])) == 2
    np.save(tmp_path / "i8.npy", np.zeros((2, *spec16.shape[1:]), np.int8))
    with pytest.raises(DataError, match="must be int16 arrays"):
        load_inputs(tmp_path / "i8.npy", [spec16])


# ---------------------------------------------------------------------------------------------- qemu


def _flash(path: Path, out: Path):
    from tinykit.firmware.build import build_firmware
    from tinykit.flash import get_flasher

    build = build_firmware(path, "qemu-m4", out)
    return get_flasher("qemu-m4").flash(build.dir)


@pytest.mark.qemu
def test_tk_load_and_tk_out_by_index_on_qemu(models, tmp_path: Path) -> None:
    """The firmware side, byte for byte with plain pyserial: each input loaded on its own, each
    output read on its own, bad indices and sizes refused."""
    path = models["reversed_io"]
    sizes = [s.nbytes for s in oracle.input_specs(path)]
    blob = oracle.random_inputs(path, 1, seed=3)[0]
    parts = [blob[:sizes[0]], blob[sizes[0]:]]
    (ref,) = oracle.reference_outputs(path, [blob])
    with _flash(path, tmp_path / "fw") as link:
        dev = RawDevice(link.url)
        dev.until_ready()
        assert dev.cmd(f"tk-load 2 {sizes[0]}") == ["e-[No such input: 2]"]
        assert dev.cmd(f"tk-load 1 {sizes[1] + 1}") == [f"e-[Input 1 has {sizes[1]} bytes]"]
        assert dev.cmd("tk-load 1") == ["e-[Command 'tk-load' requires an input index and a byte count]"]
        for i in (1, 0):  # any order
            assert dev.cmd(f"tk-load {i} {sizes[i]}") == [f"m-[Expecting {sizes[i]} bytes]"]
            assert dev.cmd("db " + parts[i].hex()) == ["m-load-done"]
            assert dev.cmd("tk-crc") == [f"m-tk-crc-[{zlib.crc32(parts[i]):08x}]"]
        assert dev.cmd("tk-run") == ["m-tk-run-done"]
        assert dev.outputs() == ref
        assert dev.cmd("tk-out 1") == [f"m-tk-out-1-[{ref[1].hex()}]"]
        assert dev.cmd("tk-out 2") == ["e-[No such output: 2]"]
        # the MLPerf way still works: the whole blob with `db load`
        dev.load(blob[::-1])
        dev.cmd("tk-run")
        assert dev.outputs() == oracle.reference_outputs(path, [blob[::-1]])[0]
        dev.close()


def _results(path: Path, out: Path) -> tuple[list[float], list[float]]:
    """`m-results` of the device for a random input, and the host's dequantized output 0."""
    blob = oracle.random_inputs(path, 1, seed=4)[0]
    (ref,) = oracle.reference_outputs(path, [blob])
    graph = read_model(path)
    t = graph.tensors[graph.outputs[0]]
    expected = (t.scale * (np.frombuffer(ref[0], np.dtype(t.dtype)).astype(np.float64) - t.zero_point)).tolist()
    with _flash(path, out) as link:
        dev = RawDevice(link.url)
        dev.until_ready()
        dev.load(blob)
        line = dev.cmd("infer 1 0")[-1]
        dev.close()
    return [float(v) for v in re.fullmatch(r"m-results-\[(.*)\]", line).group(1).split(",")], expected


@pytest.mark.qemu
@pytest.mark.parametrize("name", ["int16_io", "int32_output"])
def test_mlperf_results_dequantize_int16_and_int32(models, name: str, tmp_path: Path) -> None:
    got, expected = _results(models[name], tmp_path / "fw")
    assert len(got) == len(expected)
    assert np.allclose(got, expected, atol=1.5e-3, rtol=1e-5), (got[:8], expected[:8])


@pytest.mark.qemu
@pytest.mark.parametrize("name", ["reversed_io", "int16_io"])
def test_run_several_io_and_int16_bit_exact_on_qemu(models, name: str, tmp_path: Path) -> None:
    res = CliRunner().invoke(main, ["run", str(models[name]), "--json", "-o", str(tmp_path), "--count", "4"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["mismatched_bytes"] == 0
    assert data["validation"]["compared_bytes"] == 4 * sum(s.nbytes for s in oracle.output_specs(models[name]))
