"""The serial protocol client against the DEVICE SIMULATOR (tests/sim_device.py), faults included."""

from __future__ import annotations

import time
import zlib

import pytest
from sim_device import BOOT_LINES, SIM_CYCLES, Faults, SimDevice, SimPty, SimServer

from tinykit import oracle
from tinykit.device import DeviceClient, protocol
from tinykit.errors import DeviceError
from tinykit.models import reference_model

# Short timeouts so fault tests finish in a second or two.
FAST = {"command_timeout": 0.4, "boot_timeout": 1.0, "infer_timeout": 2.0}
HELLO = reference_model("hello_world")


@pytest.fixture
def sim():
    """A factory: sim(faults=..., model=...) -> (SimDevice, url)."""
    servers = []

    def start(faults: Faults | None = None, model=HELLO, **kw):
        device = SimDevice(model, faults=faults, **kw)
        server = SimServer(device).__enter__()
        servers.append(server)
        return device, server.url

    yield start
    for server in servers:
        server.__exit__(None, None, None)


# -- protocol grammar ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "kind", "groups"),
    [
        ("m-ready", "ready", ()),
        ("m-results-[0.000,0.996]", "results", ("0.000,0.996",)),
        ("m-lap-us-123456", "lap_us", ("123456",)),
        ("m-tk-out-0-[80ff00]", "tk_out", ("0", "80ff00")),
        ("m-tk-out-1-[]", "tk_out", ("1", "")),
        ("m-tk-crc-[0badf00d]", "tk_crc", ("0badf00d",)),
        ("m-tk-cycles-[42]", "tk_cycles", ("42",)),
        ("m-tk-layer-3-[CONV_2D,1200]", "tk_layer", ("3", "CONV_2D", "1200")),
        ("m-[Expecting 490 bytes]", "expecting", ("490",)),
        ("e-[Unknown command: foo]", "error", ("Unknown command: foo",)),
        ("m-timestamp-mode-performance", "timestamp_mode", ("performance",)),
        ("m-buffer-00-01-02", "buffer", ("02",)),
    ],
)
def test_parse_line_accepts_protocol_lines(text, kind, groups):
    line = protocol.parse_line(text)
    assert line is not None and line.kind == kind and line.groups == groups


@pytest.mark.parametrize(
    "text",
    ["m-resu1ts-[1]", "m-tk-out-0-[8g]", "m-tk-out-0-[8]", "m-tk-crc-[123]", "m-lap-us-", "garbage", "m-ready!"],
)
def test_parse_line_rejects_garbled(text):
    assert protocol.parse_line(text) is None


def test_commands_end_with_percent_and_fit_in_80_chars():
    assert protocol.command("infer", 20, 5) == b"infer 20 5%"
    chunks = protocol.db_chunks(bytes(range(100)))
    assert all(c.endswith(b"%") and len(c) - 1 <= protocol.MAX_COMMAND_CHARS for c in chunks)
    assert b"".join(bytes.fromhex(c[3:-1].decode()) for c in chunks) == bytes(range(100))
    with pytest.raises(ValueError):
        protocol.command("x" * 81)


def test_info_round_trip():
    info = {"board": "qemu-m4", "arena": 1024, "emulated": 1}
    assert protocol.parse_info(protocol.format_info(info)) == info


# -- client against the simulator ---------------------------------------------------------------
def test_happy_path_outputs_match_oracle(sim):
    model = reference_model("kws")
    device, url = sim(model=model)
    data = oracle.random_inputs(model, 1, seed=3)[0]
    lines: list[str] = []
    with DeviceClient(url, trace=lines.append, **FAST) as dev:
        assert dev.wait_ready().startswith("tinykit simulator")
        assert dev.info()["input_bytes"] == 490
        assert dev.load_input(data) == zlib.crc32(data)
        dev.run_once()
        assert dev.cycles() == SIM_CYCLES + zlib.crc32(data) % 100
        assert dev.outputs() == oracle.reference_outputs(model, [data])[0]
        assert [c for _, c in dev.layers()] == [60_000, 40_000, 23_456]
        res = dev.infer(3, 1)
        assert res["elapsed_us"] == 15 and len(res["results"]) == 12
        assert dev.faults == []
    assert "> tk-run%" in lines and "< m-tk-run-done" in lines  # --trace sees both directions
    assert "tk-run" in device.commands


@pytest.mark.parametrize(
    ("kind", "command"),
    [("silent", "tk-out"), ("garble", "tk-out"), ("drop_ready", "tk-crc"), ("reset", "tk-run"),
     ("reset", "tk-out"), ("garble", "db"), ("silent", "db load")],
)
def test_single_fault_is_recovered(sim, kind, command):
    device, url = sim(Faults(**{kind: {command: 1}}))
    data = b"\x05"
    with DeviceClient(url, **FAST) as dev:
        dev.wait_ready()
        dev.load_input(data)
        dev.run_once()
        outs = dev.outputs()
        assert len(dev.faults) == 1, dev.faults
    assert outs == oracle.reference_outputs(HELLO, [data])[0]
    if kind == "reset":  # the client re-loaded the input and re-ran the inference after the reset
        assert device.commands.count("tk-run") >= 2 and device.commands.count("db load 1") == 2


@pytest.mark.parametrize(
    ("kind", "message"),
    [("silent", "no m-ready"), ("garble", "garbled line"), ("reset", "device reset")],
)
def test_persistent_fault_becomes_device_error(sim, kind, message):
    _, url = sim(Faults(**{kind: {"tk-out": 99}}))
    with DeviceClient(url, **FAST) as dev:
        dev.wait_ready()
        dev.load_input(b"\x01")
        dev.run_once()
        start = time.monotonic()
        with pytest.raises(DeviceError, match=message) as err:
            dev.outputs()
    assert "tk-out" in str(err.value) and "3 attempts" in str(err.value)
    assert time.monotonic() - start < 15  # bounded: never hangs


def test_device_error_line_names_command_and_message(sim):
    _, url = sim()
    with DeviceClient(url, **FAST) as dev:
        dev.wait_ready()
        with pytest.raises(DeviceError, match=r"device rejected 'tk-run': No input loaded"):
            dev.run_once()
        with pytest.raises(DeviceError, match="Unknown command: bogus"):
            dev._transact(protocol.command("bogus"))
        assert dev.faults == []  # e-[...] is deterministic: not retried


def test_silent_device_times_out(sim):
    _, url = sim(Faults(silent={"name": 99}))
    with DeviceClient(url, **FAST) as dev, pytest.raises(DeviceError, match="no m-ready"):
        dev.wait_ready()


def test_boot_lines_before_first_command_are_tolerated(sim):
    _, url = sim()
    with DeviceClient(url, **FAST) as dev:
        assert dev.wait_ready()
        assert dev.faults == []
    assert BOOT_LINES[-1] == "m-ready"


def test_loop_url_echo_is_garbled_not_a_hang():
    # loop:// echoes what is written: "name%" comes back without a line end -> timeout, bounded.
    with DeviceClient("loop://", command_timeout=0.2, boot_timeout=0.3) as dev:
        start = time.monotonic()
        with pytest.raises(DeviceError, match="gave up after"):
            dev.name()
    assert time.monotonic() - start < 5


def test_loop_url_parses_canned_reply():
    with DeviceClient("loop://", **FAST) as dev:
        # Pre-load the loop with a reply; the command echo "tk-cycles%" then precedes it on one line.
        # (loop:// cannot echo a sync nonce: take the line as synchronised.)
        dev._synced = True
        dev._port.write(b"\r\nm-tk-cycles-[777]\r\nm-ready\r\n")
        assert dev.cycles() == 777


def test_missing_port_is_device_error():
    with pytest.raises(DeviceError, match="cannot open serial port /dev/ttyTINYKIT_NOPE"):
        DeviceClient("/dev/ttyTINYKIT_NOPE")


def test_client_over_a_tty_path():
    """The same client on a pseudo-terminal path (what /dev/ttyACM0 is), with a recovered fault."""
    with SimPty(SimDevice(HELLO, faults=Faults(garble={"tk-out": 1}))) as pty:
        assert pty.url.startswith("/dev/")
        with DeviceClient(pty.url, **FAST) as dev:
            dev.wait_ready()
            dev.load_input(b"\x10")
            dev.run_once()
            assert dev.outputs() == oracle.reference_outputs(HELLO, [b"\x10"])[0]
            assert len(dev.faults) == 1


def test_connection_lost_is_reported_at_once():
    """The far end going away (QEMU killed, cable pulled) is a DeviceError, not a retry loop."""
    server = SimServer(SimDevice(HELLO)).__enter__()
    with DeviceClient(server.url, **FAST) as dev:
        dev.wait_ready()
        server.__exit__(None, None, None)
        start = time.monotonic()
        with pytest.raises(DeviceError, match="lost the connection"):
            dev.name()
        assert time.monotonic() - start < 1.0


def test_hang_detection_adapts_to_the_first_inference(sim, monkeypatch):
    """After one timed inference a hung one is detected in seconds, not after INFER_TIMEOUT_S."""
    from tinykit.device import client

    monkeypatch.setattr(client, "INFER_MIN_TIMEOUT_S", 0.5)
    device, url = sim()
    with DeviceClient(url, command_timeout=0.3, boot_timeout=0.5, infer_timeout=60.0) as dev:
        dev.wait_ready()
        dev.load_input(b"\x01")
        dev.run_once()
        assert dev.infer_timeout == 0.5
        device.faults.silent["tk-run"] = 99
        start = time.monotonic()
        with pytest.raises(DeviceError, match="tk-run"):
            dev.run_once()
    assert time.monotonic() - start < 10


def test_infer_in_energy_mode_needs_no_lap_lines():
    """Energy-mode firmware marks time on a GPIO pin: its `infer` reply has no m-lap-us lines."""

    class EnergyModeSim(SimDevice):
        def _infer(self, args):
            return [line for line in super()._infer(args) if not line.startswith("m-lap-us")]

    with SimServer(EnergyModeSim(HELLO)) as server, DeviceClient(server.url, **FAST) as dev:
        dev.wait_ready()
        dev.load_input(b"\x02")
        res = dev.infer(5, 0)
    assert res["elapsed_us"] is None and res["lap_us"] == [] and len(res["results"]) == 1
