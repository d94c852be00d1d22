"""`tinykit measure` and tinykit.measure against the DEVICE SIMULATOR: results, validation, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sim_device import SIM_CYCLES, Faults, SimDevice, SimServer

from tinykit import measure, oracle, report
from tinykit.cli import main
from tinykit.device import client
from tinykit.errors import DataError, TinykitError
from tinykit.models import reference_model

KWS = reference_model("kws")
HELLO = reference_model("hello_world")


@pytest.fixture
def fast_client(monkeypatch):
    """Shorten the client's named timeouts so failure paths finish quickly."""
    monkeypatch.setattr(client, "COMMAND_TIMEOUT_S", 0.4)
    monkeypatch.setattr(client, "BOOT_TIMEOUT_S", 1.0)
    monkeypatch.setattr(client, "INFER_TIMEOUT_S", 2.0)


@pytest.fixture
def sim():
    servers = []

    def start(faults: Faults | None = None, model=KWS, **kw):
        server = SimServer(SimDevice(model, faults=faults, **kw)).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def assert_one_error_line(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.output
    for needle in needles:
        assert needle in errors[0], errors[0]
    assert "Traceback" not in result.output


# -- inputs ----------------------------------------------------------------------------------------
def test_load_inputs_npy_npz_bin_and_dir(tmp_path):
    arr = np.arange(-5, 5, dtype=np.int8).reshape(2, 5)
    np.save(tmp_path / "a.npy", arr)
    np.savez(tmp_path / "b.npz", x=arr[0], y=arr[1])
    (tmp_path / "c.bin").write_bytes(bytes(5))
    assert measure.load_inputs(tmp_path / "a.npy", 5) == [arr[0].tobytes(), arr[1].tobytes()]
    assert measure.load_inputs(tmp_path / "b.npz", 5) == [arr[0].tobytes(), arr[1].tobytes()]
    assert measure.load_inputs(tmp_path / "c.bin", 5) == [bytes(5)]
    assert len(measure.load_inputs(tmp_path, 5)) == 5


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [("x.bin", bytes(4), "4 bytes"), ("x.npy", b"not numpy", "not a readable"),
     ("x.npz", b"PK\x03\x04junk", "not a readable"), ("x.txt", b"1", "must be")],
)
def test_load_inputs_rejects_bad_files(tmp_path, name, content, message):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(DataError, match=message):
        measure.load_inputs(tmp_path / name, 5)


def test_load_inputs_rejects_wrong_dtype_and_shape(tmp_path):
    np.save(tmp_path / "f.npy", np.zeros(5, dtype=np.float32))
    with pytest.raises(DataError, match="int8"):
        measure.load_inputs(tmp_path / "f.npy", 5)
    np.save(tmp_path / "s.npy", np.zeros((2, 3), dtype=np.int8))
    with pytest.raises(DataError, match="does not hold inputs of 5 bytes"):
        measure.load_inputs(tmp_path / "s.npy", 5)


def test_labels_count_must_match(tmp_path):
    (tmp_path / "l.txt").write_text("1\n2\n")
    assert measure.load_labels(tmp_path / "l.txt", 2) == [1, 2]
    with pytest.raises(DataError, match="2 labels for 3 inputs"):
        measure.load_labels(tmp_path / "l.txt", 3)


def test_compare_outputs_counts_bytes_and_max_diff():
    res = measure.compare_outputs([[b"\x00\x05"], [b"\x7f"]], [[b"\x00\x03"], [b"\x80"]])
    assert res["mismatched_bytes"] == 2 and res["max_abs_diff"] == 255 and res["mismatched_inputs"] == [0, 1]


def test_stats_median_p90_max():
    s = measure.stats(list(range(1, 11)))
    assert (s["median"], s["max"], s["min"]) == (5.5, 10, 1) and s["p90"] == pytest.approx(9.1)


def test_oracle_random_inputs_reproducible():
    a = oracle.random_inputs(KWS, 2, seed=1)
    assert a == oracle.random_inputs(KWS, 2, seed=1) and a[0] != a[1] and len(a[0]) == 490
    outs = oracle.reference_outputs(KWS, a)
    assert len(outs) == 2 and len(outs[0]) == 1 and len(outs[0][0]) == 12


# -- CLI against the simulator -------------------------------------------------------------------------
def test_measure_json_against_simulator(sim, tmp_path):
    server = sim()
    out = tmp_path / "r" / "results.json"
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--model", str(KWS),
                 "--count", "4", "--runs", "2", "--json", "-o", str(out))
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == json.loads(out.read_text())
    assert data["mismatched_bytes"] == 0 and data["validation"]["compared_bytes"] == 4 * 12
    assert data["inputs"] == 4 and data["latency"]["samples"] == 8
    assert data["emulated"] is True and "instructions_per_inference" in data
    assert "cycles_per_inference" not in data and "latency_us" not in data  # never ms on QEMU
    assert SIM_CYCLES <= data["instructions_per_inference"] < SIM_CYCLES + 100
    assert data["energy_estimate"]["label"] == "estimate"
    assert data["model_sha256"] == oracle.model_sha256(KWS)
    for key in ("tinykit_version", "command_line", "board", "toolchain", "layers", "arena_bytes",
                "stack_used_bytes"):
        assert key in data
    assert (tmp_path / "r" / "results.layers.png").stat().st_size > 1000


def test_measure_reports_accuracy_with_labels(sim, tmp_path):
    server = sim()
    inputs = oracle.random_inputs(KWS, 3)
    np.save(tmp_path / "in.npy", np.stack([np.frombuffer(b, dtype=np.int8) for b in inputs]))
    preds = [int(np.argmax(np.frombuffer(o[0], dtype=np.int8))) for o in oracle.reference_outputs(KWS, inputs)]
    (tmp_path / "labels.txt").write_text(f"{preds[0]}\n{preds[1]}\n{(preds[2] + 1) % 12}\n")
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--model", str(KWS), "--inputs",
                 str(tmp_path / "in.npy"), "--labels", str(tmp_path / "labels.txt"), "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["accuracy"] == pytest.approx(2 / 3)


def test_measure_detects_wrong_output_byte(sim):
    server = sim(Faults(wrong_output=True))
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--model", str(KWS), "--count", "2",
                 "--json")
    assert res.exit_code == 1
    data = json.loads(res.output)
    assert data["mismatched_bytes"] == 2 and data["validation"]["max_abs_diff"] >= 1


def test_measure_human_report_and_recovered_fault(sim):
    server = sim(Faults(reset={"tk-run": 1}))
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--model", str(KWS), "--count", "2")
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "bit-exact" in text and "instructions per inference on the emulated core" in text
    assert "recovered from" in text and "estimate" in text


def test_measure_trace_logs_every_line(sim):
    server = sim(model=HELLO)
    res = CliRunner().invoke(main, ["measure", "--board", "qemu-m4", "--port", server.url, "--model",
                                    str(HELLO), "--count", "1", "--json", "--trace"])
    assert res.exit_code == 0, res.output
    assert "'> tk-run%'" in res.output and "'< m-tk-run-done'" in res.output


def test_measure_build_dir_reads_device_json(sim, tmp_path):
    server = sim(model=HELLO)
    (tmp_path / "device.json").write_text(json.dumps({"url": server.url, "board": "qemu-m4", "pid": 1}))
    res = invoke("measure", "--board", "qemu-m4", "--build", str(tmp_path), "--model", str(HELLO),
                 "--count", "2", "--json")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["mismatched_bytes"] == 0


def test_measure_without_model_uses_device_input_size(sim):
    server = sim(model=HELLO)
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--count", "2", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["validation"]["checked"] is False and data["inputs"] == 2


# -- bad input: exit 2, one error line, no results file ----------------------------------------------
def test_unknown_board(sim):
    assert_one_error_line(invoke("measure", "--board", "no-such-board", "--port", "loop://"), "unknown board")


def test_port_that_does_not_exist(tmp_path):
    out = tmp_path / "r.json"
    res = invoke("measure", "--board", "qemu-m4", "--port", "/dev/ttyTINYKIT_NOPE", "-o", str(out))
    assert_one_error_line(res, "cannot open serial port /dev/ttyTINYKIT_NOPE")
    assert not out.exists()


def test_input_file_of_wrong_size(sim, tmp_path):
    (tmp_path / "x.bin").write_bytes(bytes(489))
    res = invoke("measure", "--board", "qemu-m4", "--port", sim().url, "--model", str(KWS),
                 "--inputs", str(tmp_path / "x.bin"))
    assert_one_error_line(res, "489 bytes", "490")


def test_malformed_input_file(sim, tmp_path):
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY garbage")
    res = invoke("measure", "--board", "qemu-m4", "--port", sim().url, "--model", str(KWS),
                 "--inputs", str(tmp_path / "x.npy"))
    assert_one_error_line(res, "not a readable .npy file")


@pytest.mark.parametrize(
    ("faults", "needle"),
    [(Faults(silent={"name": 99}), "no m-ready"),                 # device not answering
     (Faults(garble={"tk-out": 99}), "garbled line"),            # garbled beyond the retry budget
     (Faults(reset={"tk-run": 99}), "device reset")],            # resets on every inference
)
def test_device_failures_exit_2_without_results_file(sim, tmp_path, fast_client, faults, needle):
    out = tmp_path / "results.json"
    res = invoke("measure", "--board", "qemu-m4", "--port", sim(faults).url, "--model", str(KWS),
                 "--count", "2", "-o", str(out))
    assert_one_error_line(res, needle, "gave up after 3 attempts")
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_results_dir_unwritable(sim, tmp_path):
    (tmp_path / "file").write_text("not a directory")
    server = sim()
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--model", str(KWS),
                 "-o", str(tmp_path / "file" / "results.json"))
    assert_one_error_line(res, "cannot write")
    assert server.device.commands == []  # failed before talking to the device


def test_device_running_another_model(sim):
    res = invoke("measure", "--board", "qemu-m4", "--port", sim(model=HELLO).url, "--model", str(KWS))
    assert_one_error_line(res, "the device runs model")


def test_need_port_or_build():
    assert_one_error_line(invoke("measure", "--board", "qemu-m4"), "--port, --build or --place")


def test_build_dir_without_device_json(tmp_path):
    assert_one_error_line(invoke("measure", "--board", "qemu-m4", "--build", str(tmp_path)), "device.json")


def test_atomic_write_leaves_no_temp_files(tmp_path):
    report.write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
    with pytest.raises(TinykitError):
        report.write_json_atomic(tmp_path / "a.json" / "b.json", {"x": 1})


def test_real_board_reports_cycles_and_microseconds(sim):
    """A non-emulated board: cycles per inference and µs at the board clock (simulated device)."""
    from tinykit.targets.boards import load_board

    board = load_board("nucleo-l4r5zi")
    server = sim(board=board.id)
    res = invoke("measure", "--board", board.id, "--port", server.url, "--model", str(KWS), "--count", "2",
                 "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["emulated"] is False and "instructions_per_inference" not in data
    assert data["latency"]["unit"] == "cycles"
    assert data["latency_us"] == pytest.approx(data["cycles_per_inference"] / board.clock_hz * 1e6)


def test_board_mismatch_is_reported(sim):
    res = invoke("measure", "--board", "qemu-m4", "--port", sim(board="qemu-m7").url, "--model", str(KWS))
    assert_one_error_line(res, "reports board 'qemu-m7'")


@pytest.mark.hw
def test_measure_on_real_board(hw_board):
    """Real hardware (pytest --board B --port P): the flashed firmware answers and is bit-exact."""
    board_id, port = hw_board
    res = invoke("run", "hello_world", "--board", board_id, "--port", port, "--count", "5", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["mismatched_bytes"] == 0 and data["emulated"] is False and data["cycles_per_inference"] > 0


def test_human_report_with_labels_but_no_model(sim, tmp_path):
    server = sim(model=HELLO)
    (tmp_path / "labels.txt").write_text("0\n0\n")
    res = invoke("measure", "--board", "qemu-m4", "--port", server.url, "--count", "2", "--labels",
                 str(tmp_path / "labels.txt"))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "accuracy (device / host)" in text and "not checked" in text
