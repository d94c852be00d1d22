"""State of recurrent models (LSTM/SVDF variable tensors): plan, reset, oracle sequences, measure.

A stateful model's outputs depend on every input since the last reset, so it is compared as a
sequence: the inputs one after the other, a reset, then the same inputs again (every step).
The corpus models end in a softmax that saturates on random inputs; the tests here also cut them
after their recurrent op (its output becomes the graph output) so that state errors cannot hide.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from recurrent_models import SvdfSpec, svdf_model
from sim_device import Faults, SimDevice, SimServer

from tinykit import measure, oracle
from tinykit.cli import main
from tinykit.codegen import generate
from tinykit.device import DeviceClient, client
from tinykit.errors import DeviceError
from tinykit.ir import read_model
from tinykit.models import reference_model
from tinykit.plan import ALIGNMENT, plan_memory

pytestmark = pytest.mark.host

CORPUS = Path(__file__).resolve().parent / "corpus"
KWS_SVDF = CORPUS / "keyword_scrambled.tflite"
LSTM = CORPUS / "micro_speech_lstm.tflite"


def with_outputs(src: Path, dst: Path, outputs: list[int]) -> Path:
    """A copy of ``src`` whose graph outputs are the tensors ``outputs`` (a flatbuffer edit)."""
    import flatbuffers
    from tflite_micro.tensorflow.lite.micro.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(bytearray(src.read_bytes()), 0)
    model.subgraphs[0].outputs = outputs
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    dst.write_bytes(bytes(builder.Output()))
    return dst


@pytest.fixture(scope="module")
def lstm_cut(tmp_path_factory) -> Path:
    """micro_speech_lstm with the LSTM's output (all 49 steps) as the graph output."""
    return with_outputs(LSTM, tmp_path_factory.mktemp("cut") / "lstm_cut.tflite", [23])


# -- the plan --------------------------------------------------------------------------------------
def test_variable_tensors_get_their_own_region() -> None:
    graph = read_model(KWS_SVDF)
    plan = plan_memory(graph)
    state = [t.index for t in graph.variable_tensors]
    assert len(state) == 7 and graph.stateful and list(plan.state_tensors) == state
    assert plan.state_bytes == sum((graph.tensors[i].nbytes + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT for i in state)
    ends = sorted((plan.offsets[i], plan.offsets[i] + graph.tensors[i].nbytes) for i in state)
    assert ends[0][0] == 0 and ends[-1][1] <= plan.state_bytes
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ends))
    for buf in plan.buffers:  # nothing else ever touches the state region, and state lives throughout
        if set(buf.tensors) & set(state):
            assert (buf.first, buf.last) == (0, len(graph.operators) - 1)
        else:
            assert buf.offset >= plan.state_bytes
    assert plan.arena_bytes >= plan.state_bytes and min(plan.live_bytes) >= plan.state_bytes


def test_stateless_model_has_no_state_region() -> None:
    graph = read_model(reference_model("kws"))
    plan = plan_memory(graph)
    assert not graph.stateful and plan.state_bytes == 0 and plan.state_tensors == ()


def test_variable_tensor_is_never_a_constant() -> None:
    graph = read_model(LSTM)
    states = graph.variable_tensors
    assert [t.dtype for t in states] == ["int8", "int16"]
    assert all(not t.is_constant for t in states)  # the converter gives them buffers: ignored, as TFLM does
    assert [t.reset_byte for t in states] == [0xFF, 0]  # int8 hidden state: its zero point -1; int16: 0


# -- the oracle ------------------------------------------------------------------------------------
def test_oracle_runs_a_stateful_model_as_a_sequence(lstm_cut: Path) -> None:
    assert oracle.is_stateful(lstm_cut) and not oracle.is_stateful(CORPUS / "seanet_add0.tflite")
    (x,) = oracle.random_inputs(lstm_cut, 1)
    first, second, after_reset = oracle.run_steps(lstm_cut, [x, x, oracle.RESET, x])
    assert first != second  # the state carried over
    assert after_reset == first  # and the reset restored the initial state
    assert oracle.reference_outputs(lstm_cut, [x, x]) == [first, second]
    assert oracle.sequence_steps([b"a", b"b"], True) == [b"a", b"b", oracle.RESET, b"a", b"b"]
    assert oracle.sequence_steps([b"a", b"b"], False) == [b"a", b"b"]


# -- measure and the device client (against the simulator) --------------------------------------
def _measure(url: str, model: Path, *extra: str):
    return CliRunner().invoke(main, ["measure", "--board", "qemu-m4", "--port", url, "--model", str(model),
                                     "--json", *extra])


def test_measure_replays_the_sequence_after_tk_reset(lstm_cut: Path) -> None:
    with SimServer(SimDevice(lstm_cut)) as server:
        res = _measure(server.url, lstm_cut, "--count", "3")
        commands = server.device.commands
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["stateful"] is True and data["steps"] == 6 and data["mismatched_bytes"] == 0
    assert data["validation"]["compared_bytes"] == 6 * 49 * 80
    assert commands.count("tk-reset") == 2 and commands.count("tk-run") == 6
    with SimServer(SimDevice(lstm_cut)) as server:
        text = " ".join(CliRunner().invoke(main, ["measure", "--board", "qemu-m4", "--port", server.url, "--model",
                                                  str(lstm_cut), "--count", "2"]).output.split())
    assert "compared as sequences: 4 inferences" in text and "bit-exact" in text


def test_measure_sees_a_device_that_does_not_reset(lstm_cut: Path) -> None:
    with SimServer(SimDevice(lstm_cut, faults=Faults(ignore_reset=True))) as server:
        res = _measure(server.url, lstm_cut, "--count", "2")
    assert res.exit_code == 1, res.output
    data = json.loads(res.output)
    assert data["mismatched_bytes"] > 0 and data["validation"]["mismatched_inputs"] == [2, 3]


def test_device_reset_in_a_sequence_is_an_error(lstm_cut: Path, monkeypatch) -> None:
    monkeypatch.setattr(client, "BOOT_TIMEOUT_S", 1.0)
    (x,) = oracle.random_inputs(lstm_cut, 1)
    with (SimServer(SimDevice(lstm_cut, faults=Faults(reset={"tk-run": 1}))) as server,
          DeviceClient(server.url, stateful=True) as dev):
        dev.wait_ready()
        dev.load_input(x)
        dev.run_once()  # a reset before any state was built is recovered from
        assert dev.outputs() == oracle.reference_outputs(lstm_cut, [x])[0]
        server.device.faults.reset["tk-run"] = 1
        with pytest.raises(DeviceError, match=r"after 1 inferences of a stateful sequence.*lost"):
            dev.run_once()  # one inference of state is gone: no replay can restore it


def test_stateful_steps() -> None:
    assert measure.stateful_steps([b"a"], 1) == [oracle.RESET, b"a", oracle.RESET, b"a"]
    assert len(measure.stateful_steps([b"a", b"b"], 3)) == 9


def test_inspect_reports_state_separately() -> None:
    res = CliRunner().invoke(main, ["inspect", str(KWS_SVDF), "--json"])
    totals = json.loads(res.output[: res.output.rindex("}") + 1])["totals"]
    assert totals["state_tensors"] == [4, 12, 20, 28, 36, 41, 46]
    assert totals["state_bytes"] == 4 * 1024 + 3 * 2048


def test_generated_library_has_reset_and_state_region(tmp_path: Path) -> None:
    path = svdf_model(SvdfSpec("state8", state="int8", rank=2, memory=6, units=4))
    lib = generate(path, tmp_path / "lib", name="kws")
    header, source = (tmp_path / "lib" / "kws.h").read_text(), (tmp_path / "lib" / "kws.c").read_text()
    state = read_model(path).variable_tensors[0]
    assert lib.manifest["stateful"] is True and lib.manifest["state_bytes"] == 48
    assert "#define KWS_STATE_BYTES 48" in header and "tk_status kws_reset(void);" in header
    fill = state.zero_point  # int8 state: reset to its zero point, not 0
    assert fill != 0 and f"kws_arena[0u + i] = {fill};" in source and "return kws_reset();" in source
    hello = generate(reference_model("hello_world"), tmp_path / "hello")
    assert hello.manifest["stateful"] is False and "MODEL_STATE_BYTES 0" in (tmp_path / "hello" / "model.h").read_text()
