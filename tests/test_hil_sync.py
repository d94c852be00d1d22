"""A reply is never matched to the wrong command: stale and late lines against the DEVICE SIMULATOR.

The issue's trace: the reply to the opening lone ``%`` (``e-[Empty command]``) arrived after the
client had stopped draining and was taken as the reply to ``name%``. The client now synchronises
with a ``tk-sync NONCE`` echo instead of waiting for silence; these tests replay that trace and its
relatives (a late boot banner, the late reply to a command that timed out) deterministically.
"""

from __future__ import annotations

import pytest
from sim_device import BOOT_LINES, Faults, SimDevice, SimPty, SimServer

from tinykit import oracle
from tinykit.device import DeviceClient, protocol
from tinykit.device.link import QUIET_S
from tinykit.errors import DeviceError
from tinykit.models import reference_model

HELLO = reference_model("hello_world")
# Client timeouts for these tests (short: the simulator answers in microseconds).
COMMAND_S = 0.5
BOOT_S = 3.0
FAST = {"command_timeout": COMMAND_S, "boot_timeout": BOOT_S, "infer_timeout": 2.0}
# A "late" reply: longer than the old drain's quiet period, and longer than a command's timeout.
LATE_S = max(3 * QUIET_S, 2 * COMMAND_S)


def _serve(device: SimDevice, **kw) -> SimServer:
    return SimServer(device, **kw).__enter__()


def test_late_reply_to_the_flush_is_not_taken_for_name():
    """The issue's trace: `e-[Empty command]` arrives after a quiet period longer than QUIET_S."""
    device = SimDevice(HELLO, faults=Faults(late={"": 1}, late_s=LATE_S))
    server = _serve(device)
    try:
        with DeviceClient(server.url, **FAST) as dev:
            assert dev.wait_ready() == "tinykit simulator qemu-m4"
            assert dev.faults == []
    finally:
        server.__exit__(None, None, None)
    assert device.commands[:2] == ["", f"tk-sync {device.commands[1].split()[1]}"]


def test_late_reply_to_a_timed_out_command_is_discarded():
    """`tk-out` times out; its late reply must answer neither the retry nor the next command."""
    device = SimDevice(HELLO, faults=Faults(late={"tk-out": 1}, late_s=LATE_S))
    server = _serve(device)
    data = b"\x21"
    try:
        with DeviceClient(server.url, **FAST) as dev:
            dev.wait_ready()
            dev.load_input(data)
            dev.run_once()
            assert dev.outputs() == oracle.reference_outputs(HELLO, [data])[0]
            assert len(dev.faults) == 1 and "no m-ready" in dev.faults[0]
            assert dev.cycles() == device.last_cycles  # its own reply, not tk-out's second copy
            assert dev.info()["input_bytes"] == device.input_bytes
            assert len(dev.faults) == 1, dev.faults
    finally:
        server.__exit__(None, None, None)
    assert device.commands.count("tk-out") == 2


def test_late_boot_banner_is_discarded():
    """A board that reboots when the port opens: the first sync is lost, the banner comes later."""
    device = SimDevice(HELLO)
    server = _serve(device, boot_delay_s=2 * COMMAND_S)
    try:
        with DeviceClient(server.url, **FAST) as dev:
            assert dev.wait_ready().startswith("tinykit simulator")
            dev.load_input(b"\x05")
            dev.run_once()
            assert dev.outputs() == oracle.reference_outputs(HELLO, [b"\x05"])[0]
            assert dev.faults == []
    finally:
        server.__exit__(None, None, None)
    assert BOOT_LINES[0] == "m-timestamp-mode-performance"


def test_every_command_before_wait_ready_is_synchronised_too():
    """A library user who skips wait_ready still never reads the boot banner as a reply."""
    device = SimDevice(HELLO)
    server = _serve(device)
    try:
        with DeviceClient(server.url, **FAST) as dev:
            assert dev.info()["board"] == "qemu-m4"
    finally:
        server.__exit__(None, None, None)
    assert device.commands[0] == "" and device.commands[1].startswith("tk-sync ")


def test_stale_sync_echo_of_an_earlier_nonce_is_not_enough():
    """Only the latest nonce counts: an echo of an earlier one is followed by more stale lines."""
    device = SimDevice(HELLO, faults=Faults(late={"tk-sync": 1}, late_s=LATE_S))
    server = _serve(device)
    try:
        with DeviceClient(server.url, **FAST) as dev:
            assert dev.wait_ready().startswith("tinykit simulator")
            assert dev.name().startswith("tinykit simulator")
    finally:
        server.__exit__(None, None, None)
    syncs = [c for c in device.commands if c.startswith("tk-sync")]
    assert len(syncs) >= 2 and len(set(syncs)) == len(syncs)  # the first timed out, fresh nonces followed


def test_device_without_tk_sync_is_one_clear_error():
    """Firmware that does not know tk-sync (not tinykit's): a bounded DeviceError naming the cause."""

    class NoSync(SimDevice):
        def _tk_sync(self, args):
            return ["e-[Unknown command: tk-sync]"]

    server = _serve(NoSync(HELLO))
    try:
        with DeviceClient(server.url, command_timeout=0.2, boot_timeout=0.5, max_attempts=2) as dev, \
                pytest.raises(DeviceError, match=r"no echo of tk-sync .* tinykit firmware"):
            dev.wait_ready()
    finally:
        server.__exit__(None, None, None)


def test_late_flush_reply_on_a_pty():
    """The same trace on a pseudo-terminal (what a USB CDC board is to the host)."""
    with SimPty(SimDevice(HELLO, faults=Faults(late={"": 1}, late_s=LATE_S))) as pty, \
            DeviceClient(pty.url, **FAST) as dev:
        assert dev.wait_ready() == "tinykit simulator qemu-m4"
        dev.load_input(b"\x07")
        dev.run_once()
        assert dev.outputs() == oracle.reference_outputs(HELLO, [b"\x07"])[0]


@pytest.mark.parametrize(("token", "ok"), [("0", True), ("0123456789abcdef", True), ("ABC", False),
                                            ("0123456789abcdef0", False), ("xyz", False)])
def test_sync_echo_grammar(token, ok):
    line = protocol.parse_line(f"m-tk-sync-[{token}]")
    assert (line is not None and line.kind == "tk_sync" and line.groups == (token,)) == ok
    assert protocol.sync_command("ab") == b"%tk-sync ab%"
